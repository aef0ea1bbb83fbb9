import type {
  AnyMiddlewareArgs,
  App,
  BlockAction,
  Logger,
  Middleware,
  RespondFn,
  ViewOutput,
} from '@slack/bolt';
import type { Actor } from '../../domain/model';
import { type DomainError, isDomainError } from '../../domain/errors';
import { containsPrivateKeyMaterial, PRIVATE_KEY_MESSAGE } from '../../domain/keys/privateKey';
import { noteOutcome } from '../../observability/requestScope';
import { UsageError } from '../commands/usage';
import { plainFromDomain } from '../render/format';
import { type Message, renderError } from '../render/messages';

const UNEXPECTED =
  'Something went wrong on our side. Try again; if it keeps failing, tell whoever runs Keyhouse.';

/** A button's failure, told only to whoever clicked it, below the message they clicked in. */
export const respondWithError = (respond: RespondFn, error: unknown, logger: Logger): Promise<unknown> =>
  respond({ response_type: 'ephemeral', replace_original: false, ...errorMessage(error, logger) });

/** What the user sees for a failure. Unexpected errors are logged without any user input. */
export function errorMessage(error: unknown, logger: Logger): Message {
  noteOutcome(refusalOrError(error));
  if (error instanceof UsageError) return renderError(error.message, error.usage);
  if (isDomainError(error)) return renderError(error.message);
  logger.error(`unexpected error: ${error instanceof Error ? `${error.name}: ${error.message}` : 'unknown'}`);
  return renderError(UNEXPECTED);
}

/** How a failure told to the user ends the request: a refusal with its reason, or an error on our side. */
const refusalOrError = (error: unknown): 'refused' | 'error' =>
  error instanceof UsageError || (isDomainError(error) && error.code !== 'storage_unavailable')
    ? 'refused'
    : 'error';

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
  // Slack shows a field's error as plain text: no markup, no entities.
  noteOutcome(refusalOrError(error));
  if (!isDomainError(error)) {
    errorMessage(error, logger); // logs it
    return { [fallback]: UNEXPECTED };
  }
  const domainError = error as DomainError;
  const field = domainError.field && fields.includes(domainError.field) ? domainError.field : fallback;
  return { [field]: plainFromDomain(domainError.message).slice(0, 1900) };
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

/** Every string inside a value: a form field's text, selected options, rich text. */
function stringsIn(value: unknown, into: string[] = []): string[] {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) for (const inner of value) stringsIn(inner, into);
  else if (value && typeof value === 'object')
    for (const inner of Object.values(value)) stringsIn(inner, into);
  return into;
}

const holdsPrivateKey = (value: unknown): boolean => containsPrivateKeyMaterial(stringsIn(value).join('\n'));

/**
 * The one Slack-edge guard against pasted private keys, run first for every request (`app.use` in
 * listeners/index.ts, so a listener added later is covered too): a slash command's whole text, every
 * field of a submitted form, the values of a clicked action, a picker's typed search. On a match nothing else runs: nothing is stored, and the answer
 * is the private-key warning, never the input (a form gets it on the field that held the key).
 */
export const guardPrivateKeys: Middleware<AnyMiddlewareArgs> = async (args) => {
  const { body, next } = args;
  if ('command' in args && holdsPrivateKey(args.command.text)) {
    noteOutcome('refused');
    await args.ack();
    await args.respond({ response_type: 'ephemeral', ...renderError(PRIVATE_KEY_MESSAGE) });
    return;
  }
  if (body.type === 'view_submission' && 'view' in args) {
    const values = args.view.state.values;
    const field = Object.keys(values).find((block) => holdsPrivateKey(values[block]));
    if (field !== undefined) {
      noteOutcome('refused');
      await args.ack({
        response_action: 'errors',
        errors: { [field]: plainFromDomain(PRIVATE_KEY_MESSAGE) },
      });
      return;
    }
  }
  if (body.type === 'block_actions' && 'action' in args && holdsPrivateKey(body.actions)) {
    noteOutcome('refused');
    await args.ack();
    const message = renderError(PRIVATE_KEY_MESSAGE);
    if (body.response_url)
      await args.respond({ response_type: 'ephemeral', replace_original: false, ...message });
    else await args.client.chat.postMessage({ channel: body.user.id, ...message });
    return;
  }
  if (body.type === 'block_suggestion' && 'options' in args && holdsPrivateKey(body.value)) {
    noteOutcome('refused');
    await args.ack({ options: [] });
    return;
  }
  await next();
};
