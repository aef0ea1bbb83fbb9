import type { KnownBlock, View } from '@slack/types';
import type { ExpiryNotice } from '../../domain/delivery';
import type { Reminder } from '../../domain/reminders';
import type { CancelOutcome } from '../../domain/requester';
import { EXTENSION_CHOICES } from '../../domain/requester';
import type { KeyRequest, SshKey } from '../../domain/model';
import { ACTION, CALLBACK, FIELD } from '../ids';
import { button, code, context, escapeText, section, user, when } from './format';
import type { Message } from './messages';

/**
 * What a requester sees, by direct message, at every stage of their request and of a temporary key:
 * filed (with Cancel request), reminded, decided or expired; a temporary key's I'm done and Extend.
 */

const mentions = (ids: string[]): string => ids.map(user).join(', ');

const keyIn = (name: string, fingerprint: string, projectName: string): string =>
  `*${escapeText(name)}* (${code(fingerprint)}) in *${escapeText(projectName)}*`;

const since = (iso: string): string =>
  `<!date^${Math.floor(Date.parse(iso) / 1000)}^{ago}|${iso.slice(0, 16).replace('T', ' ')} UTC>`;

/** What a request asks for, in words: a key to add, or more time on one. */
function asked(request: KeyRequest): string {
  const key = keyIn(request.key.name, request.key.fingerprint, request.projectName);
  return request.extension ? `${request.extension.for} more on ${key}` : `the key ${key}`;
}

// ——— the buttons ———

/** The value of I'm done and Extend: which key of which project (both UUIDs). */
export const keyControlValue = (projectId: string, keyId: string): string => `${projectId}:${keyId}`;

export function decodeKeyControl(
  value: string | undefined,
): { projectId: string; keyId: string } | undefined {
  const match = /^([0-9a-f-]{36}):([0-9a-f-]{36})$/i.exec(value ?? '');
  return match ? { projectId: match[1] as string, keyId: match[2] as string } : undefined;
}

function keyControls(projectId: string, keyId: string): KnownBlock {
  const value = keyControlValue(projectId, keyId);
  return {
    type: 'actions',
    block_id: 'key_controls',
    elements: [
      button(ACTION.keyDone, "I'm done", value, 'danger'),
      button(ACTION.keyExtend, 'Extend', value),
    ],
  };
}

function cancelControl(request: KeyRequest): KnownBlock {
  return {
    type: 'actions',
    block_id: 'request_controls',
    elements: [button(ACTION.cancelRequest, 'Cancel request', request.id, 'danger')],
  };
}

const CONTROLS_NOTE =
  "*I'm done* removes the key now (instances stop accepting it at their next fetch). *Extend* asks for more time.";

// ——— requests ———

/** The requester's direct message when their request is filed (or joined), with Cancel request. */
export function renderRequestFiled(request: KeyRequest, joined: boolean, where: string): Message {
  const lead = joined
    ? `:inbox_tray: You joined the pending request for ${asked(request)} (${where}).`
    : `:inbox_tray: You asked for ${asked(request)} (${where}).`;
  const text =
    `${lead} You will hear here when its approvers are reminded and when it is decided. ` +
    `It closes ${when(request.expiresAt)}.`;
  return { text, blocks: [section(text), cancelControl(request)] };
}

/** The thread reply under a pending request's card: who should decide, and from the third, the owners. */
export function renderReminder({ request, number, approvers, owners }: Reminder): Message {
  const who = approvers.length ? `${mentions(approvers)} ` : '';
  let text =
    `${who}:bell: Reminder ${number}: ${mentions(request.requesters)} asked for ${asked(request)} ${since(request.createdAt)} ` +
    `and is still waiting. Approve or deny it on the card; it closes ${when(request.expiresAt)}.`;
  if (owners.length) text += `\n:rotating_light: Escalated to the organization owners: ${mentions(owners)}.`;
  else if (!approvers.length)
    text += '\nNobody can decide it yet: an organization owner must make someone an admin of the project.';
  return { text, blocks: [section(text)] };
}

/**
 * The requester's direct message once a reminder went out: who it actually reached (`reached`), or,
 * posted under a card in `channel` with nobody to mention, that nobody can decide it yet.
 */
export function renderReminderSent(
  { request, number, owners }: Reminder,
  reached: string[],
  channel?: string,
): Message {
  const escalated = owners.some((id) => reached.includes(id)) ? ', escalated to the organization owners' : '';
  const lead = reached.length
    ? `:bell: Keyhouse reminded ${mentions(reached)} of your request for ${asked(request)} (reminder ${number}${escalated}).`
    : `:bell: Keyhouse posted reminder ${number} of your request for ${asked(request)} under its card in <#${channel ?? ''}>, but nobody can decide it yet: ask an organization owner to make someone an admin of the project.`;
  const text = `${lead} It is still waiting and closes ${when(request.expiresAt)}.`;
  return { text, blocks: [section(text), cancelControl(request)] };
}

/** Replaces the filed message once its requester cancelled (or left) the request. */
export function renderCancelled({ request, outcome }: CancelOutcome): Message {
  const text =
    outcome === 'cancelled'
      ? `:no_entry_sign: You cancelled your request for ${asked(request)}. Nothing was changed, and its card says so.`
      : `:no_entry_sign: You left the request for ${asked(request)}. It stays open for ${mentions(request.requesters)}.`;
  return { text, blocks: [section(text)] };
}

/**
 * The direct message to `recipient`, one of its requesters, once a request is closed: approved (with
 * I'm done and Extend when the key is temporary and theirs), denied with the reason, expired, or closed.
 */
export function renderRequesterOutcome(request: KeyRequest, recipient?: string): Message {
  const key = keyIn(request.key.name, request.key.fingerprint, request.projectName);
  const approvers = mentions(request.approvals.map((a) => a.userId));
  // As applied at approval; requests approved before it was recorded carry it in the key asked for.
  const expiresAt = request.keyId && !request.keyOwner ? request.key.expiresAt : request.keyExpiresAt;
  const owner = request.keyOwner ?? request.requesters[0];
  let text: string;
  switch (request.status) {
    case 'approved':
      text = request.extension
        ? `:white_check_mark: ${approvers} gave you ${request.extension.for} more on ${key}: it now expires ${when(expiresAt ?? request.decidedAt ?? request.createdAt)}.`
        : owner && !request.requesters.includes(owner)
          ? `:white_check_mark: Approved by ${approvers}: ${key} is in the project, added directly by ${user(owner)} meanwhile, so it is theirs` +
            (expiresAt ? ` and expires ${when(expiresAt)}.` : '.')
          : `:white_check_mark: Approved by ${approvers}: ${key} is now in the project` +
            (expiresAt ? ` until ${when(expiresAt)}.` : '.');
      break;
    case 'denied':
      text =
        `:x: ${user(request.decidedBy ?? '')} denied your request for ${asked(request)}.` +
        (request.denyReason ? ` Reason: ${escapeText(request.denyReason)}` : ' No reason was given.');
      break;
    case 'expired':
      text = `:hourglass: Your request for ${asked(request)} expired without a decision. Ask again if you still need it.`;
      break;
    case 'withdrawn':
      text =
        request.closeReason === 'key_removed'
          ? `:no_entry: Your request for ${asked(request)} was closed: the key was removed.`
          : request.closeReason === 'cancelled'
            ? `:no_entry_sign: Your request for ${asked(request)} was cancelled.`
            : `:no_entry: Your request for ${asked(request)} was closed without a decision: you no longer have access to request keys in the project.`;
      break;
    default:
      text = `${request.approvals.length} of ${request.required} approvals for ${asked(request)}.`;
  }
  const blocks: KnownBlock[] = [section(text)];
  // I'm done and Extend only to whose key it is: never on an admin's key, nor to a joined requester.
  const theirs = owner !== undefined && (recipient ?? owner) === owner;
  if (request.status === 'approved' && expiresAt && request.keyId && theirs) {
    blocks.push(keyControls(request.projectId, request.keyId), context(CONTROLS_NOTE));
  }
  return { text, blocks };
}

// ——— temporary keys ———

/** The owner's direct message when a temporary key is added (directly, or break-glass). */
export function renderTemporaryKeyAdded(key: SshKey, projectId: string, projectName: string): Message {
  const text = `:key: Your key ${keyIn(key.name, key.fingerprint, projectName)} is temporary: instances accept it until ${when(key.expiresAt ?? '')}.`;
  return { text, blocks: [section(text), keyControls(projectId, key.id), context(CONTROLS_NOTE)] };
}

/** A key expires within the hour, or has expired: its owner's direct message, with the controls. */
export function renderKeyExpiryNotice(notice: ExpiryNotice): Message {
  const key = `*${escapeText(notice.keyName)}* in *${escapeText(notice.projectName)}*`;
  const text =
    notice.kind === 'soon'
      ? `:hourglass_flowing_sand: Your SSH key ${key} expires ${when(notice.expiresAt)}. After that instances no longer accept it: *Extend* asks for more time, *I'm done* removes it now.`
      : `:hourglass: Your SSH key ${key} expired ${when(notice.expiresAt)} and is no longer delivered to instances. *Extend* asks for more time; *I'm done* removes it.`;
  return { text, blocks: [section(text), keyControls(notice.projectId, notice.keyId)] };
}

/** Replaces the message whose I'm done was clicked. */
export function renderKeyDone(key: SshKey, projectName: string, closed: number): Message {
  const text =
    `:wave: Removed your key ${keyIn(key.name, key.fingerprint, projectName)}: instances stop accepting it at their next key fetch.` +
    (closed ? ' Your pending request for more time on it is closed.' : '');
  return { text, blocks: [section(text)] };
}

/** An admin's own key extended at once. */
export function renderKeyExtended(key: SshKey, projectName: string): Message {
  const text = `:white_check_mark: Your key ${keyIn(key.name, key.fingerprint, projectName)} now expires ${when(key.expiresAt ?? '')}.`;
  return { text, blocks: [section(text)] };
}

/** The form asking how much more time, and why. */
export function renderExtendModal(
  key: SshKey,
  projectId: string,
  projectName: string,
  direct: boolean,
): View {
  return {
    type: 'modal',
    callback_id: CALLBACK.extendKey,
    title: { type: 'plain_text', text: 'Extend key' },
    submit: { type: 'plain_text', text: direct ? 'Extend' : 'Ask' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: JSON.stringify({ projectId, keyId: key.id }),
    blocks: [
      section(
        `More time for ${keyIn(key.name, key.fingerprint, projectName)}, which expires ${when(key.expiresAt ?? '')}. ` +
          (direct
            ? 'As an admin of the project, yours is extended at once.'
            : 'An approver of the project decides, as for a new key.'),
      ),
      {
        type: 'input',
        block_id: FIELD.extendFor,
        label: { type: 'plain_text', text: 'How much more time' },
        element: {
          type: 'static_select',
          action_id: FIELD.extendFor,
          placeholder: { type: 'plain_text', text: 'Choose' },
          options: EXTENSION_CHOICES.map((choice) => ({
            text: { type: 'plain_text', text: { '1h': '1 hour', '8h': '8 hours', '3d': '3 days' }[choice] },
            value: choice,
          })),
        },
      },
      {
        type: 'input',
        block_id: FIELD.reason,
        optional: true,
        label: { type: 'plain_text', text: 'Reason (shown to the approvers)' },
        element: { type: 'plain_text_input', action_id: FIELD.reason, multiline: true, max_length: 300 },
      },
    ],
  };
}

/** What the form's metadata names. */
export function decodeExtendMetadata(metadata: string): { projectId: string; keyId: string } {
  try {
    const parsed = JSON.parse(metadata) as { projectId?: unknown; keyId?: unknown };
    return {
      projectId: typeof parsed.projectId === 'string' ? parsed.projectId : '',
      keyId: typeof parsed.keyId === 'string' ? parsed.keyId : '',
    };
  } catch {
    return { projectId: '', keyId: '' };
  }
}
