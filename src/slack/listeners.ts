import type { App, Logger, ViewOutput } from '@slack/bolt';
import type { Domain } from '../domain';
import { DomainError, isDomainError } from '../domain/errors';
import type { Actor } from '../domain/model';
import { orgCommand } from './commands/org';
import { projectCommand } from './commands/project';
import { sshkeyCommand } from './commands/sshkey';
import type { CommandHandler } from './commands/types';
import { UsageError } from './commands/usage';
import { escapeText } from './render/format';
import { type Message, renderError } from './render/messages';
import { CALLBACK, CREATE_FIELD, CREATE_PROJECT_CALLBACK, decodeMetadata, FIELD } from './render/modals';

/** Thin Bolt listeners: ack, parse, call one use case, render. */

const UNEXPECTED =
  'Something went wrong on our side. Try again; if it keeps failing, tell whoever runs Keyhouse.';

/** What the user sees for a failure. Unexpected errors are logged without any user input. */
export function errorMessage(error: unknown, logger: Logger): Message {
  if (error instanceof UsageError) return renderError(error.message, error.usage);
  if (isDomainError(error)) return renderError(error.message);
  logger.error(`unexpected error: ${error instanceof Error ? `${error.name}: ${error.message}` : 'unknown'}`);
  return renderError(UNEXPECTED);
}

const COMMANDS: Record<string, CommandHandler> = {
  '/org': orgCommand,
  '/project': projectCommand,
  '/sshkey': sshkeyCommand,
};

function inputValue(view: ViewOutput, block: string): string {
  return view.state.values[block]?.[block]?.value ?? '';
}

/** Field errors for a modal: the field the domain named, else `fallbackField`. */
function fieldErrors(
  error: DomainError,
  fields: readonly string[],
  fallbackField: string,
): Record<string, string> {
  const field = error.field && fields.includes(error.field) ? error.field : fallbackField;
  return { [field]: error.message.slice(0, 1900) };
}

/** Tells the user something after a modal closes: ephemeral in the channel they came from, else a DM. */
async function notify(
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

export function registerListeners(app: App, domain: Domain): void {
  for (const [name, handler] of Object.entries(COMMANDS)) {
    app.command(name, async ({ command, ack, respond, client, logger }) => {
      await ack();
      const actor: Actor = { teamId: command.team_id, userId: command.user_id };
      try {
        const outcome = await handler(domain, {
          actor,
          text: command.text ?? '',
          channelId: command.channel_id,
        });
        if (outcome.kind === 'modal') {
          await client.views.open({ trigger_id: command.trigger_id, view: outcome.view });
        } else {
          await respond({ response_type: 'ephemeral', ...outcome.message });
        }
      } catch (error) {
        await respond({ response_type: 'ephemeral', ...errorMessage(error, logger) });
      }
    });
  }

  app.view(CALLBACK.deleteProject, async ({ ack, view, body, logger }) => {
    const metadata = decodeMetadata(view.private_metadata);
    const actor: Actor = { teamId: body.team?.id ?? view.team_id, userId: body.user.id };
    if (!metadata) {
      await ack({
        response_action: 'errors',
        errors: { [FIELD.confirmation]: 'This form is out of date. Run the command again.' },
      });
      return;
    }
    try {
      const project = await domain.projects.delete(
        actor,
        metadata.projectId,
        inputValue(view, FIELD.confirmation),
      );
      await ack();
      await notify(app, actor.userId, metadata.channelId, {
        text: `Deleted project ${project.name}.`,
      }).catch((error: unknown) => errorMessage(error, logger));
    } catch (error) {
      if (isDomainError(error)) {
        await ack({
          response_action: 'errors',
          errors: fieldErrors(error, [FIELD.confirmation], FIELD.confirmation),
        });
      } else {
        await ack({
          response_action: 'errors',
          errors: { [FIELD.confirmation]: errorMessage(error, logger).text },
        });
      }
    }
  });

  app.view(CREATE_PROJECT_CALLBACK, async ({ ack, view, body, logger }) => {
    const metadata = decodeMetadata(view.private_metadata);
    const actor: Actor = { teamId: body.team?.id ?? view.team_id, userId: body.user.id };
    const fields = [CREATE_FIELD.name, CREATE_FIELD.description];
    try {
      const project = await domain.projects.create(
        actor,
        inputValue(view, CREATE_FIELD.name),
        inputValue(view, CREATE_FIELD.description),
      );
      await ack();
      await notify(app, actor.userId, metadata?.channelId, {
        text: `:white_check_mark: Created project *${escapeText(project.name)}* (\`${project.id}\`). You are its admin.`,
      }).catch((error: unknown) => errorMessage(error, logger));
    } catch (error) {
      const message = isDomainError(error) ? undefined : errorMessage(error, logger).text;
      await ack({
        response_action: 'errors',
        errors: isDomainError(error)
          ? fieldErrors(error, fields, CREATE_FIELD.name)
          : { [CREATE_FIELD.name]: message ?? '' },
      });
    }
  });
}
