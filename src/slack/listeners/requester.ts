import type { App, BlockAction, ButtonAction, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Domain } from '../../domain';
import type { Listeners } from './router';
import { invalid } from '../../domain/errors';
import type { Actor, KeyRequest } from '../../domain/model';
import type { ExtendOutcome } from '../../domain/requester';
import { ACTION, CALLBACK, FIELD } from '../ids';
import type { Message } from '../render/messages';
import {
  decodeExtendMetadata,
  decodeKeyControl,
  renderCancelled,
  renderExtendModal,
  renderKeyDone,
  renderKeyExtended,
  renderRequestFiled,
  renderTemporaryKeyAdded,
} from '../render/requester';
import { announceDecision, deliverRequest } from './approvals';
import { actorOf, fieldErrors, inputValue, respondWithError } from './common';

/**
 * The requester's own buttons and form: Cancel request, I'm done, Extend. Each asks the domain, which
 * checks that the clicker is the person concerned; the message clicked is then replaced by the outcome.
 */

/** The requester's direct message when their request is filed; best effort, like every notice. */
export async function tellRequesterFiled(
  client: WebClient,
  actor: Actor,
  request: KeyRequest,
  joined: boolean,
  where: string,
): Promise<void> {
  await client.chat
    .postMessage({ channel: actor.userId, ...renderRequestFiled(request, joined, where) })
    .catch(() => undefined);
}

/** Replaces the message a button was clicked in (a direct message, through its response URL). */
async function replaceClicked(respond: RespondFn, message: Message): Promise<void> {
  await respond({ replace_original: true, ...message });
}

const badButton = () =>
  invalid('This button is from an older version of Keyhouse. Use `/sshkey list` to find the key.');

export function registerRequester(app: App, listeners: Listeners, domain: Domain): void {
  // A temporary key added directly: its owner gets its controls by direct message.
  domain.workspaces.events.onTemporaryKeyAdded(({ key, projectId, projectName }) => {
    app.client.chat
      .postMessage({ channel: key.addedBy, ...renderTemporaryKeyAdded(key, projectId, projectName) })
      .catch((error: unknown) =>
        app.logger.warn(
          `telling the owner of a temporary key failed: ${error instanceof Error ? error.message : 'unknown'}`,
        ),
      );
  });

  listeners.action<BlockAction<ButtonAction>>(
    ACTION.cancelRequest,
    async ({ ack, body, action, respond, client, logger }) => {
      await ack();
      try {
        const result = await domain.requester.cancel(actorOf(body), action.value ?? '');
        // The cards say it is cancelled (or show who still asks), whether or not the answer below arrives.
        await announceDecision(client, {
          request: result.request,
          outcome: result.outcome === 'cancelled' ? 'withdrawn' : 'recorded',
        });
        await replaceClicked(respond, renderCancelled(result));
      } catch (error) {
        await respondWithError(respond, error, logger);
      }
    },
  );

  listeners.action<BlockAction<ButtonAction>>(
    ACTION.keyDone,
    async ({ ack, body, action, respond, logger }) => {
      await ack();
      try {
        const target = decodeKeyControl(action.value);
        if (!target) throw badButton();
        const { key, project, closed } = await domain.requester.finish(
          actorOf(body),
          target.projectId,
          target.keyId,
        );
        // Closed requests for more time and a closed break-glass review are announced on their cards
        // by the key-removed listener (see breakGlass.ts), as for any removal.
        await replaceClicked(respond, renderKeyDone(key, project.name, closed.length));
      } catch (error) {
        await respondWithError(respond, error, logger);
      }
    },
  );

  listeners.action<BlockAction<ButtonAction>>(
    ACTION.keyExtend,
    async ({ ack, body, action, respond, client, logger }) => {
      await ack();
      try {
        const target = decodeKeyControl(action.value);
        if (!target) throw badButton();
        const { key, project, direct } = await domain.requester.prepareExtension(
          actorOf(body),
          target.projectId,
          target.keyId,
        );
        await client.views.open({
          trigger_id: body.trigger_id,
          view: renderExtendModal(key, project.id, project.name, direct),
        });
      } catch (error) {
        await respondWithError(respond, error, logger);
      }
    },
  );

  listeners.view(CALLBACK.extendKey, async ({ ack, view, body, client, logger }) => {
    const actor: Actor = { teamId: body.team?.id ?? view.team_id, userId: body.user.id };
    const { projectId, keyId } = decodeExtendMetadata(view.private_metadata);
    let outcome: ExtendOutcome;
    try {
      const reason = inputValue(view, FIELD.reason).trim();
      outcome = await domain.requester.extend(actor, projectId, keyId, {
        for: inputValue(view, FIELD.extendFor),
        ...(reason ? { reason } : {}),
      });
    } catch (error) {
      await ack({
        response_action: 'errors',
        errors: fieldErrors(error, [FIELD.extendFor, FIELD.reason], FIELD.extendFor, logger),
      });
      return;
    }
    await ack();
    try {
      if (outcome.kind === 'extended') {
        await client.chat.postMessage({
          channel: actor.userId,
          ...renderKeyExtended(outcome.key, outcome.project.name),
        });
      } else {
        // The cards go to the approvers; the requester hears by direct message (with Cancel request).
        await deliverRequest(client, domain, actor, outcome.request, false);
      }
    } catch (error) {
      // Done and recorded: only telling about it failed.
      logger.warn(
        `telling about more time for a key failed: ${error instanceof Error ? error.message : 'unknown'}`,
      );
    }
  });
}
