import type { BlockAction, ButtonAction, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Domain } from '../../domain';
import type { Listeners } from './router';
import type { Actor } from '../../domain/model';
import { nameKey } from '../../domain/names';
import { ACTION, FIELD, HOME_TABS, type HomeTab } from '../ids';
import { renderDashboard } from '../render/dashboard';
import { clip, LIMITS } from '../render/limits';
import { addKeyForm } from '../commands/sshkey';
import {
  type Message,
  renderAudit,
  renderKeyList,
  renderMembers,
  renderProjectList,
} from '../render/messages';
import { decodeHomePage, decodeListPage, type ListPage } from '../paging';
import { invalid } from '../../domain/errors';
import { actorOf, errorMessage, respondWithError } from './common';
import { publishHome } from './home';

/** The page a list button asks for; a page past a list that has shrunk shows its last page. */
async function listPage(domain: Domain, actor: Actor, state: ListPage): Promise<Message> {
  switch (state.kind) {
    case 'keys': {
      const { project, keys, now } = await domain.keys.list(actor, state.projectId);
      return renderKeyList(project, keys, now, state.page, true);
    }
    case 'members':
      return renderMembers((await domain.projects.members(actor, state.projectId)).project, state.page, true);
    case 'projects':
      return renderProjectList((await domain.projects.list(actor)).projects, state.page, true);
    case 'audit':
      return renderAudit(
        await domain.organizations.audit(actor, state.projectId, { page: state.page, stream: state.stream }),
      );
  }
}

/**
 * Replaces the message a button was clicked in: through its response URL, else (that URL lasts 30
 * minutes and 5 uses) by its channel and timestamp.
 */
async function replaceMessage(
  body: BlockAction,
  respond: RespondFn,
  client: WebClient,
  message: Message,
): Promise<void> {
  try {
    await respond({ replace_original: true, ...message });
  } catch {
    const { channel_id: channel, message_ts: ts } = body.container as {
      channel_id?: string;
      message_ts?: string;
    };
    if (!channel || !ts) throw new Error('message to update not found');
    await client.chat.update({ channel, ts, ...message });
  }
}

/** Buttons on dashboards and App Home, and the options of the project picker. */
export function registerActions(listeners: Listeners, domain: Domain, publicUrl: string): void {
  listeners.action<BlockAction<ButtonAction>>(
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
        await replaceMessage(
          body,
          respond,
          client,
          renderDashboard(view, domain.workspaces.now(), publicUrl),
        );
      } catch (error) {
        await respondWithError(respond, error, logger);
      }
    },
  );

  listeners.action<BlockAction<ButtonAction>>(
    ACTION.dashboardAddKey,
    async ({ ack, body, action, respond, client, logger }) => {
      await ack();
      const actor = actorOf(body);
      try {
        await client.views.open({
          trigger_id: body.trigger_id,
          view: await addKeyForm(domain, actor, (p) => p.id === action.value, body.channel?.id),
        });
      } catch (error) {
        if (body.container.type === 'view') logger.error(errorMessage(error, logger).text);
        else await respondWithError(respond, error, logger);
      }
    },
  );

  listeners.action<BlockAction<ButtonAction>>(
    { prefix: ACTION.homeTab },
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

  // Next/Previous of a paged list message: the page is loaded for whoever clicks, with their access.
  listeners.action<BlockAction<ButtonAction>>(
    { prefix: ACTION.listPage },
    async ({ ack, body, action, respond, client, logger }) => {
      await ack();
      try {
        const state = decodeListPage(action.value);
        if (!state) throw invalid('This button is from an older version of Keyhouse; run the command again.');
        const message = await listPage(domain, actorOf(body), state);
        await replaceMessage(body, respond, client, message);
      } catch (error) {
        await respondWithError(respond, error, logger);
      }
    },
  );

  listeners.action<BlockAction<ButtonAction>>(
    { prefix: ACTION.homePage },
    async ({ ack, body, action, client, logger }) => {
      await ack();
      const state = decodeHomePage(action.value) ?? { tab: 'overview' as const, page: 1 };
      await publishHome(client, domain, actorOf(body), state.tab, publicUrl, state.page).catch(
        (error: unknown) => errorMessage(error, logger),
      );
    },
  );

  listeners.action<BlockAction<ButtonAction>>(
    ACTION.homeOpenProject,
    async ({ ack, body, action, client, logger }) => {
      await ack();
      await publishHome(client, domain, actorOf(body), { projectId: action.value ?? '' }, publicUrl).catch(
        (error: unknown) => errorMessage(error, logger),
      );
    },
  );

  // More than 100 projects: the add-key form's picker asks for options as the user types.
  listeners.options<'block_suggestion'>(FIELD.project, async ({ ack, body, options }) => {
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
