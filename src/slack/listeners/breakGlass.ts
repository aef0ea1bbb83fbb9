import type { App, BlockAction, ButtonAction, Logger } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Domain } from '../../domain';
import type { Listeners } from './router';
import type { BreakGlassAdded, BreakGlassRecord } from '../../domain/breakGlass';
import type { KeyRemoved } from '../../domain/events';
import type { Actor } from '../../domain/model';
import { postApprovalCards } from '../approvalCards';
import { ACTION } from '../ids';
import {
  renderBreakGlassAdded,
  renderBreakGlassCard,
  renderOwnerRemovedNotice,
  renderRemovedNotice,
  renderReviewNotice,
  renderUnreviewedNotice,
} from '../render/breakGlass';
import type { Message } from '../render/messages';
import { announceDecision, tellClicker } from './approvals';
import { actorOf, errorMessage } from './common';
import { publishHome } from './home';

/**
 * Posts a new break-glass key's card where its approvers are, as request cards go: the project's
 * approvals channel, else the organization's, else a direct message to each approver other than the
 * key's owner. Returns what to tell the on-call engineer. Never throws: the key is in and served
 * whatever happens to its card, and the approvers also find it in App Home (Pending approvals).
 */
export async function deliverBreakGlass(
  client: WebClient,
  domain: Domain,
  actor: Actor,
  added: BreakGlassAdded,
  logger?: Logger,
): Promise<Message> {
  try {
    return await postBreakGlassCards(client, domain, actor, added);
  } catch (error) {
    logger?.warn(
      `posting a break-glass card failed: ${error instanceof Error ? error.message : 'unknown error'}`,
    );
    return renderBreakGlassAdded(added, undefined);
  }
}

async function postBreakGlassCards(
  client: WebClient,
  domain: Domain,
  actor: Actor,
  added: BreakGlassAdded,
): Promise<Message> {
  const { record } = added;
  const { cards, where } = await postApprovalCards(
    client,
    await domain.approvals.approversFor(actor, record.projectId),
    renderBreakGlassCard(record),
    (id) => id === record.owner,
    'but nobody else can review it yet: ask an organization owner to make someone an admin of the project',
  );
  if (cards.length) {
    const attached = await domain.breakGlass.attachCards(actor, record.id, cards).catch(() => undefined);
    // Not recorded: the cards work, but will not change after the review (its reviewer is told).
    if (!attached) return renderBreakGlassAdded(added, where, true);
    // Reviewed in the moment between posting and attaching: bring the fresh cards up to date.
    if (attached.review) await updateCards(client, attached);
  }
  return renderBreakGlassAdded(added, where);
}

async function updateCards(client: WebClient, record: BreakGlassRecord): Promise<void> {
  const card = renderBreakGlassCard(record);
  await Promise.allSettled(
    record.cards.map(({ channel, ts }) => client.chat.update({ channel, ts, ...card })),
  );
}

/** After a review: every card updated in place, a reply in each card's thread, the key's owner told. */
export async function announceReview(client: WebClient, record: BreakGlassRecord): Promise<void> {
  const card = renderBreakGlassCard(record);
  const notice = renderReviewNotice(record);
  const calls: Promise<unknown>[] = [];
  for (const { channel, ts } of record.cards) {
    calls.push(client.chat.update({ channel, ts, ...card }));
    calls.push(client.chat.postMessage({ channel, thread_ts: ts, ...notice }));
  }
  calls.push(client.chat.postMessage({ channel: record.owner, ...notice }));
  // Each is best effort: a deleted card or a closed DM must not hide the others.
  await Promise.allSettled(calls);
}

/**
 * Marks break-glass keys that expired unreviewed (each once, whichever replica runs it first), turns
 * their cards to "Expired unreviewed" and tells the organization's owners. Returns how many.
 */
export async function reviewOverdueBreakGlass(
  client: WebClient,
  domain: Domain,
  now?: Date,
): Promise<number> {
  const marked = await domain.breakGlass.markUnreviewed(now);
  for (const { record, owners } of marked) {
    const notice = renderUnreviewedNotice(record);
    await Promise.allSettled([
      updateCards(client, record),
      ...owners.map((owner) => client.chat.postMessage({ channel: owner, ...notice })),
    ]);
  }
  return marked.length;
}

/**
 * A key removed another way (an admin, its owner's I'm done): an admin's removal closes its break-glass
 * review (the cards stop offering Keep and Revoke), its owner's leaves it open (the cards say it is
 * gone and still to review); its pending requests for more time are closed on their cards.
 */
async function announceKeyRemoved(client: WebClient, event: KeyRemoved): Promise<void> {
  const calls: Promise<unknown>[] = event.closed.map((request) =>
    announceDecision(client, { request, outcome: 'withdrawn' }),
  );
  if (event.breakGlass) {
    const record = event.breakGlass;
    const notice = renderRemovedNotice(record);
    calls.push(updateCards(client, record));
    for (const { channel, ts } of record.cards) {
      calls.push(client.chat.postMessage({ channel, thread_ts: ts, ...notice }));
    }
  }
  if (event.stillToReview) {
    const record = event.stillToReview;
    const notice = renderOwnerRemovedNotice(record);
    calls.push(updateCards(client, record));
    for (const { channel, ts } of record.cards) {
      calls.push(client.chat.postMessage({ channel, thread_ts: ts, ...notice }));
    }
  }
  await Promise.allSettled(calls);
}

/** Keep and Revoke on a break-glass card: decided once, whoever clicks first on whichever replica. */
export function registerBreakGlass(app: App, listeners: Listeners, domain: Domain, publicUrl: string): void {
  domain.workspaces.events.onKeyRemoved((event) => {
    void announceKeyRemoved(app.client, event);
  });
  const buttons = [
    [ACTION.breakGlassKeep, 'keep'],
    [ACTION.breakGlassRevoke, 'revoke'],
  ] as const;
  for (const [actionId, decision] of buttons) {
    listeners.action<BlockAction<ButtonAction>>(
      actionId,
      async ({ ack, body, action, respond, client, logger }) => {
        await ack();
        const actor = actorOf(body);
        try {
          const { record } = await domain.breakGlass.review(actor, action.value ?? '', decision);
          await announceReview(client, record);
          // The one whose click decides is answered by the card itself, when Keyhouse knows where it
          // is; else (its card never recorded, or App Home) by a word of their own.
          if (record.cards.length === 0 || body.container.type === 'view') {
            await tellClicker(body, respond, client, renderReviewNotice(record));
          }
        } catch (error) {
          await tellClicker(body, respond, client, errorMessage(error, logger)).catch(() => undefined);
        }
        if (body.container.type === 'view') {
          await publishHome(client, domain, actor, 'approvals', publicUrl).catch(() => undefined);
        }
      },
    );
  }
}
