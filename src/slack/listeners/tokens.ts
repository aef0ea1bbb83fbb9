import type { BlockAction, ButtonAction } from '@slack/bolt';
import type { Domain } from '../../domain';
import type { Listeners } from './router';
import { ACTION } from '../ids';
import { decodeRevokeAllValue, renderTokensRevoked } from '../render/delivery';
import { actorOf, respondWithError } from './common';

/**
 * The confirmation of `/project token <project> revoke --all`. The click is checked again (the
 * clicker must manage the project now), and revokes only the tokens that existed when it was asked:
 * a second click, or a late one, revokes nothing more and says so.
 */
export function registerTokens(listeners: Listeners, domain: Domain): void {
  listeners.action<BlockAction<ButtonAction>>(
    ACTION.tokensRevokeAll,
    async ({ ack, body, action, respond, logger }) => {
      await ack();
      try {
        const value = decodeRevokeAllValue(action.value);
        if (!value) throw new Error('unreadable revoke-all button');
        const { project, revoked } = await domain.delivery.revokeTokens(actorOf(body), value.projectId, {
          all: true,
          createdUpTo: value.createdUpTo,
        });
        // The first click replaces the question with its outcome; a repeated one adds a note.
        await respond({ replace_original: revoked.length > 0, ...renderTokensRevoked(project, revoked) });
      } catch (error) {
        await respondWithError(respond, error, logger);
      }
    },
  );

  listeners.action<BlockAction<ButtonAction>>(ACTION.tokensRevokeCancel, async ({ ack, respond }) => {
    await ack();
    await respond({ replace_original: true, text: 'Cancelled: no token was revoked.' });
  });
}
