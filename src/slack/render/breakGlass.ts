import type { KnownBlock, View } from '@slack/types';
import type { BreakGlassAdded, BreakGlassRecord } from '../../domain/breakGlass';
import type { Organization } from '../../domain/model';
import { quoteName } from '../../domain/projects';
import { ACTION, CALLBACK } from '../ids';
import { button, code, context, escapeText, header, section, user, when } from './format';
import { clip, clipMrkdwn, LIMITS } from './limits';
import type { Message } from './messages';

/** Break-glass in Slack: the on-call group, the review card, and what its owner and the owners are told. */

/** The on-call group as Slack shows it (a group mention), or how to set one. */
export function onCallGroupText(organization: Organization): string {
  const group = organization.settings.oncallGroup;
  if (!group) return '_not set_ (`/org set oncall-group @group`): nobody may use break-glass';
  const handle = group.handle ? `|@${escapeText(group.handle)}` : '';
  return `<!subteam^${group.id}${handle}> (may add break-glass keys)`;
}

export function renderOnCallGroupSet(organization: Organization): Message {
  const group = organization.settings.oncallGroup;
  const text = group
    ? `On-call group: ${onCallGroupText(organization)}. Its members may add break-glass keys to projects where an admin turned break-glass on (${code('/project set <project> break-glass on')}); Keyhouse reads the group's members from Slack, at most a minute old.`
    : 'The on-call group is cleared: nobody may add break-glass keys until an owner sets one with `/org set oncall-group @group`.';
  return { text, blocks: [section(text)] };
}

const keyName = (record: BreakGlassRecord): string =>
  `*${escapeText(record.keyName)}* (${code(record.fingerprint)}) in *${escapeText(record.projectName)}*`;

function statusLine(record: BreakGlassRecord): string {
  const gone = record.ownerRemovedAt
    ? `its owner removed it ${when(record.ownerRemovedAt)}, so it is no longer served`
    : undefined;
  if (record.review?.decision === 'kept') {
    return `:white_check_mark: *Kept* by ${user(record.review.by)} ${when(record.review.at)}: ${gone ?? `it stays until ${when(record.expiresAt)}`}.`;
  }
  if (record.review?.decision === 'removed') {
    return `:wastebasket: *Removed* by ${user(record.review.by)} ${when(record.review.at)} before anyone reviewed it: it is no longer served, and there is nothing left to keep or revoke.`;
  }
  if (record.review?.decision === 'revoked') {
    return `:no_entry: *Revoked* by ${user(record.review.by)} ${when(record.review.at)}: ${gone ?? 'the key was removed and is no longer served'}.`;
  }
  if (record.unreviewedAt) {
    return `:warning: *Expired unreviewed* ${when(record.expiresAt)}: nobody reviewed it in time; the organization owners were told.`;
  }
  if (gone) {
    return `:rotating_light: *Waiting for review*: ${gone}, but it still needs a review. *Keep* it if its use was right, or *Revoke* it to bar ${user(record.owner)} from break-glass here for a while.`;
  }
  return ':rotating_light: *Waiting for review*: *Keep* it, or *Revoke* it to remove it at once.';
}

/** The card approvers review from: who, which key, why, until when; Keep and Revoke while open. */
export function renderBreakGlassCard(record: BreakGlassRecord): Message {
  const blocks: KnownBlock[] = [
    header(`Break-glass key · ${record.projectName}`),
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Who*\n${user(record.owner)}` },
        { type: 'mrkdwn', text: `*Project*\n${escapeText(record.projectName)}` },
        { type: 'mrkdwn', text: `*Key name*\n${clipMrkdwn(escapeText(record.keyName), 200)}` },
        { type: 'mrkdwn', text: `*Fingerprint*\n${code(record.fingerprint)}` },
        { type: 'mrkdwn', text: `*Added*\n${when(record.createdAt)}` },
        { type: 'mrkdwn', text: `*Until*\n${when(record.expiresAt)}` },
      ],
    },
    section(`*Why*\n${clipMrkdwn(escapeText(record.reason), LIMITS.sectionText - 20)}`),
    section(statusLine(record)),
  ];
  const open = !record.review && !record.unreviewedAt;
  if (open) {
    blocks.push({
      type: 'actions',
      block_id: 'breakglass_actions',
      elements: [
        button(ACTION.breakGlassKeep, 'Keep', record.id, 'primary'),
        button(ACTION.breakGlassRevoke, 'Revoke', record.id, 'danger'),
      ],
    });
    blocks.push(
      context(
        `${record.ownerRemovedAt ? 'The key was added at once and served until its owner removed it.' : 'The key was added at once and is served now.'} Any admin of *${escapeText(record.projectName)}* or organization owner other than ${user(record.owner)} reviews it, once.`,
      ),
    );
  }
  const status = record.review
    ? `${record.review.decision} by <@${record.review.by}>`
    : record.unreviewedAt
      ? 'expired unreviewed'
      : 'waiting for review';
  return {
    text: `Break-glass key in ${escapeText(record.projectName)} by <@${record.owner}>: ${status}`,
    blocks,
  };
}

/**
 * What the on-call engineer is told once the key is in: served now, until when, who reviews it.
 * `where` is absent when its card could not be posted; `unrecorded` when it was posted but Keyhouse
 * could not note where (so the card will not change after the review).
 */
export function renderBreakGlassAdded(
  added: BreakGlassAdded,
  where: string | undefined,
  unrecorded = false,
): Message {
  const { key, project } = added;
  const capped = added.capped ? ` (cut to the project's break-glass maximum, ${added.max})` : '';
  const inHome = "its approvers also find it in Keyhouse's App Home, under *Pending approvals*";
  const card =
    where === undefined
      ? `Keyhouse could not post its card just now, but ${inHome}, to keep or revoke it.`
      : unrecorded
        ? `Its card went to the approvers (${where}), though Keyhouse could not note where, so the card will not show the review; ${inHome}.`
        : `Its card went to the approvers (${where}); one of them will keep or revoke it.`;
  const text =
    `:rotating_light: Break-glass key *${escapeText(key.name)}* added to *${escapeText(project.name)}* and served now, until ${when(key.expiresAt)}${capped}.\n` +
    `${key.type} ${key.bits} · ${code(key.fingerprint)}\n` +
    card;
  return { text: `Break-glass key ${key.name} added to ${project.name}`, blocks: [section(text)] };
}

/** Shown in place of the add-key form once a break-glass key is in. */
export function renderBreakGlassAddedModal(added: BreakGlassAdded): View {
  const { key, project } = added;
  const capped = added.capped ? ` (cut to the project's maximum, ${added.max})` : '';
  return {
    type: 'modal',
    callback_id: CALLBACK.addKey,
    title: { type: 'plain_text', text: clip('Break-glass key added', LIMITS.modalTitle) },
    close: { type: 'plain_text', text: 'Close' },
    private_metadata: JSON.stringify({ projectId: project.id }),
    blocks: [
      section(
        `:rotating_light: Added *${escapeText(key.name)}* to *${escapeText(project.name)}*. It is served now, until ${when(key.expiresAt)}${capped}.`,
      ),
      section(`*Fingerprint:* ${code(key.fingerprint)}\n*Type:* ${key.type} ${key.bits}`),
      context('The approvers get a card to keep or revoke it; you will get a message when they do.'),
    ],
  };
}

/** Thread reply under each card, and the key owner's message, once the key is reviewed. */
export function renderReviewNotice(record: BreakGlassRecord): Message {
  const by = user(record.review?.by ?? '');
  const text =
    record.review?.decision === 'revoked'
      ? `:no_entry: ${by} revoked the break-glass key ${keyName(record)}: ${record.ownerRemovedAt ? 'its owner had removed it already, and' : 'it was removed and is no longer served;'} no break-glass key for ${user(record.owner)} in this project for a while.`
      : `:white_check_mark: ${by} reviewed the break-glass key ${keyName(record)} and kept it, until ${when(record.expiresAt)}.`;
  return { text, blocks: [section(text)] };
}

/** Thread reply under each card once the key went another way (an admin removed it, its owner was done). */
export function renderRemovedNotice(record: BreakGlassRecord): Message {
  const by = record.review?.by ?? '';
  const who = by === record.owner ? `its owner ${user(by)}, done with it,` : user(by);
  const text = `:wastebasket: ${who} removed the break-glass key ${keyName(record)} before anyone reviewed it: it is no longer served, and there is nothing left to keep or revoke.`;
  return { text, blocks: [section(text)] };
}

/** Thread reply under each card once its owner removed the key: no longer served, still to review. */
export function renderOwnerRemovedNotice(record: BreakGlassRecord): Message {
  const text = `:wastebasket: ${user(record.owner)} removed their break-glass key ${keyName(record)}: it is no longer served. It still needs a review: *Keep* or *Revoke* it on the card before ${when(record.expiresAt)}, or it is recorded as unreviewed.`;
  return { text, blocks: [section(text)] };
}

/** The organization owners' message about a break-glass key nobody reviewed before it expired. */
export function renderUnreviewedNotice(record: BreakGlassRecord): Message {
  const text =
    `:warning: The break-glass key ${keyName(record)} of ${user(record.owner)} expired ${when(record.expiresAt)} and nobody reviewed it. ` +
    `It is recorded as unreviewed. Reason given: ${clipMrkdwn(escapeText(record.reason), 1000)}\n` +
    `Check what it was used for; ${code(`/org audit ${quoteName(record.projectName)}`)} shows the record.`;
  return { text, blocks: [section(text)] };
}
