import type { App, BlockAction, Logger, ViewOutput } from '@slack/bolt';
import type { Actor } from '../../domain/model';
import { type DomainError, isDomainError } from '../../domain/errors';
import { UsageError } from '../commands/usage';
import { type Message, renderError } from '../render/messages';

const UNEXPECTED =
  'Something went wrong on our side. Try again; if it keeps failing, tell whoever runs Keyhouse.';

/** What the user sees for a failure. Unexpected errors are logged without any user input. */
export function errorMessage(error: unknown, logger: Logger): Message {
  if (error instanceof UsageError) return renderError(error.message, error.usage);
  if (isDomainError(error)) return renderError(error.message);
  logger.error(`unexpected error: ${error instanceof Error ? `${error.name}: ${error.message}` : 'unknown'}`);
  return renderError(UNEXPECTED);
}

/** The value of an input block, whatever its element: text, select or conversation picker. */
export function inputValue(view: ViewOutput, block: string): string {
  const state = view.state.values[block]?.[block];
  return state?.value ?? state?.selected_option?.value ?? state?.selected_conversation ?? '';
}

/**
 * Errors for a modal's `response_action: "errors"`: on the field the domain named when the form
 * has it, else on `fallback`. Unexpected errors are logged and shown in general terms.
 */
export function fieldErrors(
  error: unknown,
  fields: readonly string[],
  fallback: string,
  logger: Logger,
): Record<string, string> {
  if (!isDomainError(error))
    return { [fallback]: errorMessage(error, logger).text.replace(/^:warning: /, '') };
  const domainError = error as DomainError;
  const field = domainError.field && fields.includes(domainError.field) ? domainError.field : fallback;
  return { [field]: domainError.message.slice(0, 1900) };
}

/** Tells a user something after a modal closes: ephemeral in the channel they came from, else a DM. */
export async function notify(
  app: App,
  userId: string,
  channelId: string | undefined,
  message: Message,
): Promise<void> {
  if (channelId) {
    try {
      await app.client.chat.postEphemeral({ channel: channelId, user: userId, ...message });
      return;
    } catch {
      // Not in that channel (or it is gone): fall back to a direct message.
    }
  }
  await app.client.chat.postMessage({ channel: userId, ...message });
}

/** Who clicked a button. */
export const actorOf = (body: BlockAction): Actor => ({
  teamId: body.team?.id ?? body.user.team_id ?? '',
  userId: body.user.id,
});
