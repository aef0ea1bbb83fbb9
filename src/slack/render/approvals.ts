import type { KnownBlock, View } from '@slack/types';
import { REQUESTER_GONE } from '../../domain/approvals';
import type { KeyRequest } from '../../domain/model';
import { ACTION, CALLBACK, FIELD } from '../ids';
import { button, code, context, escapeText, header, section, user, when } from './format';
import { clipMrkdwn, LIMITS } from './limits';
import type { Message } from './messages';

/** The approval card: everything an approver needs to decide in one click, and later, what was decided. */

const ago = (iso: string): string => {
  const seconds = Math.floor(Date.parse(iso) / 1000);
  return `<!date^${seconds}^{ago}|${iso.slice(0, 16).replace('T', ' ')} UTC>`;
};

function outcomeLine(request: KeyRequest): string {
  const approvers = request.approvals.map((a) => user(a.userId)).join(', ');
  switch (request.status) {
    case 'pending':
      return request.required > 1
        ? `:hourglass_flowing_sand: *Waiting* — ${request.approvals.length} of ${request.required} approvals${approvers ? `: ${approvers}` : ''}`
        : ':hourglass_flowing_sand: *Waiting for a decision*';
    case 'approved':
      return request.extension
        ? `:white_check_mark: *Approved* by ${approvers} ${when(request.decidedAt ?? request.createdAt)} — the key now expires ${when(request.key.expiresAt ?? request.createdAt)}.`
        : `:white_check_mark: *Approved* by ${approvers} ${when(request.decidedAt ?? request.createdAt)} — the key is in the project.`;
    case 'denied':
      return (
        `:x: *Denied* by ${user(request.decidedBy ?? '')} ${when(request.decidedAt ?? request.createdAt)}` +
        (request.denyReason ? `\n>${escapeText(request.denyReason)}` : '')
      );
    case 'expired':
      return `:hourglass: *Expired* ${when(request.expiresAt)} without a decision.`;
    case 'withdrawn':
      return `:no_entry: *${request.closeReason === 'cancelled' ? 'Cancelled' : 'Closed'}* ${when(request.decidedAt ?? request.createdAt)} ${withdrawnWhy(request)}`;
  }
}

/** Why a request closed undecided, and that nothing changed. */
function withdrawnWhy(request: KeyRequest): string {
  if (request.closeReason === 'cancelled')
    return `by ${user(request.decidedBy ?? '')}, who asked for it. Nothing was changed.`;
  if (request.closeReason === 'key_removed')
    return 'without a decision: the key was removed. Nothing was changed.';
  return `without a decision: ${REQUESTER_GONE} to the project. Nothing was added.`;
}

/** When the key would expire: as asked, else the project's key lifetime counted from approval, else never. */
const keyExpiry = (request: KeyRequest): string =>
  request.key.expiresAt
    ? when(request.key.expiresAt)
    : request.keyLifetime
      ? `${request.keyLifetime} after approval (the project's max key lifetime)`
      : 'never';

export function renderRequestCard(request: KeyRequest): Message {
  const { key, extension } = request;
  const requesters = request.requesters.map(user).join(', ');
  const blocks: KnownBlock[] = [
    header(`${extension ? 'SSH key extension' : 'SSH key request'} · ${request.projectName}`),
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Requester*\n${requesters}` },
        { type: 'mrkdwn', text: `*Project*\n${escapeText(request.projectName)}` },
        { type: 'mrkdwn', text: `*Key name*\n${clipMrkdwn(escapeText(key.name), 200)}` },
        { type: 'mrkdwn', text: `*Type*\n${key.type} ${key.bits}` },
        { type: 'mrkdwn', text: `*Fingerprint*\n${code(key.fingerprint)}` },
        {
          type: 'mrkdwn',
          text: extension
            ? `*More time*\n${escapeText(extension.for)} for a ${extension.breakGlass ? 'break-glass' : 'temporary'} key (expires ${when(extension.previousExpiresAt)})`
            : `*Key expiry*\n${keyExpiry(request)}`,
        },
        { type: 'mrkdwn', text: `*Requested*\n${ago(request.createdAt)}` },
        { type: 'mrkdwn', text: `*Request closes*\n${when(request.expiresAt)}` },
      ],
    },
    section(
      `*Reason*\n${request.reason ? clipMrkdwn(escapeText(request.reason), LIMITS.sectionText - 20) : '_none given_'}`,
    ),
    section(outcomeLine(request)),
  ];
  if (request.status === 'pending') {
    blocks.push({
      type: 'actions',
      block_id: 'request_actions',
      elements: [
        button(ACTION.approve, 'Approve', request.id, 'primary'),
        button(ACTION.deny, 'Deny', request.id, 'danger'),
      ],
    });
    blocks.push(
      context(
        `Only an admin of *${escapeText(request.projectName)}* or an organization owner who is not the requester can decide.`,
      ),
    );
  }
  const status = {
    pending: 'waiting for approval',
    approved: 'approved',
    denied: 'denied',
    expired: 'expired',
    withdrawn:
      request.closeReason === 'cancelled'
        ? 'cancelled'
        : request.closeReason === 'key_removed'
          ? 'closed, the key was removed'
          : `closed, ${REQUESTER_GONE}`,
  }[request.status];
  return {
    text: `SSH key ${extension ? 'extension' : 'request'} for ${request.projectName} by ${request.requesters.map((r) => `<@${r}>`).join(', ')}: ${status}`,
    blocks,
  };
}

/** Thread reply and requester message once a request is closed. */
export function renderDecisionNotice(request: KeyRequest): Message {
  const name = `*${escapeText(request.key.name)}* (${code(request.key.fingerprint)}) in *${escapeText(request.projectName)}*`;
  const text = {
    approved: request.extension
      ? `:white_check_mark: Approved by ${request.approvals.map((a) => user(a.userId)).join(', ')}: ${name} now expires ${when(request.key.expiresAt ?? request.createdAt)}.`
      : `:white_check_mark: Approved by ${request.approvals.map((a) => user(a.userId)).join(', ')}: ${name} is now in the project.`,
    denied: `:x: Denied by ${user(request.decidedBy ?? '')}: ${name}.${request.denyReason ? ` Reason: ${escapeText(request.denyReason)}` : ''}`,
    expired: `:hourglass: The request for ${name} expired without a decision.`,
    withdrawn: `:no_entry: The request for ${name} was ${request.closeReason === 'cancelled' ? 'cancelled' : 'closed'} ${withdrawnWhy(request)}`,
    pending: `${request.approvals.length} of ${request.required} approvals for ${name}.`,
  }[request.status];
  return { text, blocks: [section(text)] };
}

export function renderDenyModal(request: KeyRequest, channel?: string): View {
  return {
    type: 'modal',
    callback_id: CALLBACK.denyRequest,
    title: { type: 'plain_text', text: 'Deny key request' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: JSON.stringify({
      projectId: request.projectId,
      requestId: request.id,
      ...(channel ? { channelId: channel } : {}),
    }),
    blocks: [
      section(
        `Deny ${user(request.requesters[0] ?? '')}'s request for *${escapeText(request.key.name)}* (${code(request.key.fingerprint)}) in *${escapeText(request.projectName)}*?`,
      ),
      {
        type: 'input',
        block_id: FIELD.denyReason,
        optional: true,
        label: { type: 'plain_text', text: 'Reason (sent to the requester)' },
        element: { type: 'plain_text_input', action_id: FIELD.denyReason, multiline: true, max_length: 300 },
      },
    ],
  };
}

export function renderRequestSent(request: KeyRequest, joined: boolean, where: string): Message {
  const lead = joined
    ? `A request for this key is already waiting for approval, so yours joined it (${where}).`
    : `Your request to add *${escapeText(request.key.name)}* (${code(request.key.fingerprint)}) to *${escapeText(request.projectName)}* is waiting for approval: ${where}.`;
  const text = `:hourglass_flowing_sand: ${lead} You will get a message when it is decided; it closes ${when(request.expiresAt)}.`;
  return { text, blocks: [section(text)] };
}
