import type { Domain } from '../../domain';
import type { Listeners } from './router';
import type { Actor } from '../../domain/model';
import { orgCommand } from '../commands/org';
import { projectCommand } from '../commands/project';
import { sshkeyCommand } from '../commands/sshkey';
import type { CommandHandler } from '../commands/types';
import { deliverRequest } from './approvals';
import { deliverBreakGlass } from './breakGlass';
import { errorMessage } from './common';

const COMMANDS: Record<string, CommandHandler> = {
  '/org': orgCommand,
  '/project': projectCommand,
  '/sshkey': sshkeyCommand,
};

export function registerCommands(listeners: Listeners, domain: Domain, publicUrl: string): void {
  for (const [name, handler] of Object.entries(COMMANDS)) {
    listeners.command(name, async ({ command, ack, respond, client, logger }) => {
      await ack();
      const actor: Actor = { teamId: command.team_id, userId: command.user_id };
      try {
        const outcome = await handler(domain, {
          actor,
          text: command.text ?? '',
          channelId: command.channel_id,
          ...(command.team_domain ? { teamName: command.team_domain } : {}),
          publicUrl,
        });
        if (outcome.kind === 'modal') {
          await client.views.open({ trigger_id: command.trigger_id, view: outcome.view });
        } else if (outcome.kind === 'breakglass') {
          const message = await deliverBreakGlass(client, domain, actor, outcome.added, logger);
          await respond({ response_type: 'ephemeral', ...message });
        } else if (outcome.kind === 'requested') {
          const message = await deliverRequest(client, domain, actor, outcome.request, outcome.joined);
          await respond({ response_type: 'ephemeral', ...message });
        } else {
          const responseType = outcome.kind === 'broadcast' ? 'in_channel' : 'ephemeral';
          await respond({ response_type: responseType, ...outcome.message });
        }
      } catch (error) {
        await respond({ response_type: 'ephemeral', ...errorMessage(error, logger) });
      }
    });
  }
}
