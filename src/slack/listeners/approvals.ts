import type { BlockAction, ButtonAction, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Domain } from '../../domain';
import type { Listeners } from './router';
import type { DecisionResult } from '../../domain/approvals';
import type { Actor, KeyRequest } from '../../domain/model';
import { postApprovalCards } from '../approvalCards';
import { ACTION, CALLBACK, FIELD } from '../ids';
import {
  renderDecisionNotice,
  renderDenyModal,
  renderRequestCard,
  renderRequestSent,
} from '../render/approvals';
import { escapeText } from '../render/format';
import type { Message } from '../render/messages';
import { renderRequesterOutcome } from '../render/requester';
import { tellRequesterFiled } from './requester';
import { actorOf, errorMessage, fieldErrors, inputValue } from './common';
import { publishHome } from './home';

/**
 * Posts a new request's card where its approvers are: the project's approvals channel, else the
 * organization's, else a direct message to each approver. Returns what to tell the requester.
 */
export async function deliverRequest(
  client: WebClient,
  domain: Domain,
  actor: Actor,
  request: KeyRequest,
  joined: boolean,
): Promise<Message> {
  if (joined) {
    const where = request.cards[0] ? `see <#${request.cards[0].channel}>` : 'the approvers have it';
    await tellRequesterFiled(client, actor, request, true, where);
    return renderRequestSent(request, true, where);
  }
  const { cards, where } = await postApprovalCards(
    client,
    await domain.approvals.approversFor(actor, request.projectId),
    renderRequestCard(request),
    (id) => request.requesters.includes(id),
    'but nobody else can approve it yet: ask an organization owner to make someone an admin of the project',
  );
  if (cards.length) {
    const attached = await domain.approvals.attachCards(actor, request.id, cards);
    // Decided in the moment between posting and attaching: bring the fresh cards up to date.
    if (attached.status !== 'pending')
      await announceDecision(client, { request: attached, outcome: attached.status });
  }
  await tellRequesterFiled(client, actor, request, false, where);
  return renderRequestSent(request, false, where);
}

/** After a decision: every card updated in place, a reply in each card's thread, the requesters told. */
export async function announceDecision(client: WebClient, result: DecisionResult): Promise<void> {
  const { request } = result;
  const card = renderRequestCard(request);
  const closed = result.outcome !== 'recorded';
  const notice = renderDecisionNotice(request);
  const calls: Promise<unknown>[] = [];
  for (const { channel, ts } of request.cards) {
    calls.push(client.chat.update({ channel, ts, ...card }));
    if (closed) calls.push(client.chat.postMessage({ channel, thread_ts: ts, ...notice }));
  }
  // A requester who cancelled sees their own message updated instead.
  if (closed && request.closeReason !== 'cancelled') {
    for (const requester of request.requesters)
      calls.push(
        client.chat.postMessage({ channel: requester, ...renderRequesterOutcome(request, requester) }),
      );
  }
  // Each is best effort: a deleted card or a closed DM must not hide the others.
  await Promise.allSettled(calls);
}

/** Tells only the person who clicked: ephemerally under the message, or by DM from App Home. */
export async function tellClicker(
  body: BlockAction,
  respond: RespondFn,
  client: WebClient,
  message: Message,
): Promise<void> {
  if (body.container.type === 'view') await client.chat.postMessage({ channel: body.user.id, ...message });
  else await respond({ response_type: 'ephemeral', replace_original: false, ...message });
}

export function registerApprovals(listeners: Listeners, domain: Domain, publicUrl: string): void {
  listeners.action<BlockAction<ButtonAction>>(
    ACTION.approve,
    async ({ ack, body, action, respond, client, logger }) => {
      await ack();
      const actor = actorOf(body);
      try {
        const result = await domain.approvals.decide(actor, action.value ?? '', 'approve');
        await announceDecision(client, result);
        if (result.outcome === 'recorded') {
          const left = result.request.required - result.request.approvals.length;
          await tellClicker(body, respond, client, {
            text: `Your approval is recorded. ${left} more needed from other admins.`,
          });
        } else if (result.outcome === 'expired') {
          await tellClicker(body, respond, client, { text: 'This request had expired; nothing was added.' });
        } else if (result.outcome === 'withdrawn' && result.request.closeReason === 'key_removed') {
          await tellClicker(body, respond, client, {
            text: 'Nothing was changed: the key this request asked more time for has been removed, so the request is closed.',
          });
        } else if (result.outcome === 'withdrawn') {
          const { request } = result;
          await tellClicker(body, respond, client, {
            text: `Nothing was added: ${request.requesters.map((r) => `<@${r}>`).join(', ')} may no longer request keys in *${escapeText(request.projectName)}*, so the request is closed.`,
          });
        }
      } catch (error) {
        await tellClicker(body, respond, client, errorMessage(error, logger));
      }
      if (body.container.type === 'view')
        await publishHome(client, domain, actor, 'approvals', publicUrl).catch(() => undefined);
    },
  );

  listeners.action<BlockAction<ButtonAction>>(
    ACTION.deny,
    async ({ ack, body, action, respond, client, logger }) => {
      await ack();
      try {
        const request = await domain.approvals.prepareDecision(actorOf(body), action.value ?? '');
        await client.views.open({ trigger_id: body.trigger_id, view: renderDenyModal(request) });
      } catch (error) {
        await tellClicker(body, respond, client, errorMessage(error, logger));
      }
    },
  );

  listeners.view(CALLBACK.denyRequest, async ({ ack, view, body, client, logger }) => {
    const actor: Actor = { teamId: body.team?.id ?? view.team_id, userId: body.user.id };
    let requestId = '';
    try {
      requestId = (JSON.parse(view.private_metadata) as { requestId?: string }).requestId ?? '';
    } catch {
      // An unreadable form is answered below as a missing request.
    }
    try {
      const result = await domain.approvals.decide(
        actor,
        requestId,
        'deny',
        inputValue(view, FIELD.denyReason),
      );
      await ack();
      await announceDecision(client, result);
    } catch (error) {
      await ack({ response_action: 'errors', errors: fieldErrors(error, [], FIELD.denyReason, logger) });
    }
  });
}

/** Closes requests whose time is up and updates their cards; every replica may run it, each request closes once. */
export async function expireRequests(client: WebClient, domain: Domain, now?: Date): Promise<KeyRequest[]> {
  const expired = await domain.approvals.expireDue(now);
  for (const request of expired) await announceDecision(client, { request, outcome: 'expired' });
  return expired;
}
