import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { Domain } from '../../domain';
import type { Actor } from '../../domain/model';
import { nameKey } from '../../domain/names';
import { ACTION, FIELD, HOME_TABS, type HomeTab } from '../ids';
import { renderDashboard } from '../render/dashboard';
import { clip, LIMITS } from '../render/limits';
import { renderAddKeyModal } from '../render/modals';
import { actorOf, errorMessage } from './common';
import { publishHome } from './home';

/** Buttons on dashboards and App Home, and the options of the project picker. */
export function registerActions(app: App, domain: Domain, publicUrl: string): void {
  app.action<BlockAction<ButtonAction>>(
    ACTION.dashboardRefresh,
    async ({ ack, body, action, respond, client, logger }) => {
      await ack();
      const actor = actorOf(body);
      try {
        if (body.container.type === 'view') {
          await publishHome(client, domain, actor, { projectId: action.value ?? '' }, publicUrl);
          return;
        }
        const view = await domain.projects.show(actor, action.value ?? '');
        const dashboard = renderDashboard(view, domain.workspaces.now(), publicUrl);
        try {
          await respond({ replace_original: true, ...dashboard });
        } catch {
          // A response URL lasts 30 minutes and 5 uses; an older dashboard is updated by its timestamp.
          const { channel_id: channel, message_ts: ts } = body.container as {
            channel_id?: string;
            message_ts?: string;
          };
          if (!channel || !ts) throw new Error('dashboard message not found');
          await client.chat.update({ channel, ts, ...dashboard });
        }
      } catch (error) {
        await respond({
          response_type: 'ephemeral',
          replace_original: false,
          ...errorMessage(error, logger),
        });
      }
    },
  );

  app.action<BlockAction<ButtonAction>>(
    ACTION.dashboardAddKey,
    async ({ ack, body, action, respond, client, logger }) => {
      await ack();
      const actor = actorOf(body);
      try {
        const { projects } = await domain.projects.list(actor);
        const selected = projects.find((p) => p.id === action.value);
        await client.views.open({
          trigger_id: body.trigger_id,
          view: renderAddKeyModal(projects, selected, body.channel?.id),
        });
      } catch (error) {
        if (body.container.type === 'view') logger.error(errorMessage(error, logger).text);
        else
          await respond({
            response_type: 'ephemeral',
            replace_original: false,
            ...errorMessage(error, logger),
          });
      }
    },
  );

  app.action<BlockAction<ButtonAction>>(
    new RegExp(`^${ACTION.homeTab}_`),
    async ({ ack, body, action, client, logger }) => {
      await ack();
      const tab = (HOME_TABS as readonly string[]).includes(action.value ?? '')
        ? (action.value as HomeTab)
        : 'overview';
      await publishHome(client, domain, actorOf(body), tab, publicUrl).catch((error: unknown) =>
        errorMessage(error, logger),
      );
    },
  );

  app.action<BlockAction<ButtonAction>>(
    ACTION.homeOpenProject,
    async ({ ack, body, action, client, logger }) => {
      await ack();
      await publishHome(client, domain, actorOf(body), { projectId: action.value ?? '' }, publicUrl).catch(
        (error: unknown) => errorMessage(error, logger),
      );
    },
  );

  // More than 100 projects: the add-key form's picker asks for options as the user types.
  app.options<'block_suggestion'>(FIELD.project, async ({ ack, body, options }) => {
    const actor: Actor = { teamId: body.team?.id ?? '', userId: body.user.id };
    const query = nameKey(options.value ?? '');
    const { projects } = await domain.projects.list(actor);
    const matches = projects
      .filter((p) => nameKey(p.name).includes(query))
      .slice(0, LIMITS.staticSelectOptions);
    await ack({
      options: matches.map((p) => ({
        text: {
          type: 'plain_text',
          text: clip(`${p.name}${p.isDefault ? ' (default)' : ''}`, LIMITS.optionText),
        },
        value: p.id,
      })),
    });
  });
}
