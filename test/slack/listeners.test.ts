import { App, LogLevel } from '@slack/bolt';
import { Listeners } from '../../src/slack/listeners/router';

/**
 * The listeners are handed to Bolt as one listener per kind of request: each request still reaches the
 * one listener of its ID (exact, else by prefix), and nothing else.
 */
function boltWith(listeners: Listeners): App {
  const app = new App({
    // Answers at once, as the app's own does: no call to Slack.
    authorize: async () => ({ botToken: 'xoxb-test', botId: 'B1', botUserId: 'UB1' }),
    signingSecret: 'secret',
    logLevel: LogLevel.ERROR,
  });
  listeners.attach(app);
  return app;
}

const block = (actionId: string) => ({
  type: 'block_actions',
  team: { id: 'T1' },
  user: { id: 'U1', team_id: 'T1' },
  actions: [{ type: 'button', action_id: actionId, block_id: 'b', action_ts: '1' }],
});

async function deliver(app: App, body: Record<string, unknown>): Promise<boolean> {
  let acked = false;
  await app.processEvent({
    body,
    ack: async () => {
      acked = true;
    },
  });
  return acked;
}

describe('listeners by ID', () => {
  test('each request reaches the listener of its ID: exact first, then a prefix; no other', async () => {
    const heard: string[] = [];
    const listeners = new Listeners();
    listeners.action('list_page', async ({ ack }) => {
      heard.push('exact');
      await ack();
    });
    listeners.action({ prefix: 'list_page' }, async ({ ack, action }) => {
      heard.push(`prefix ${(action as { action_id: string }).action_id}`);
      await ack();
    });
    listeners.command('/sshkey', async ({ ack, command }) => {
      heard.push(`command ${command.text}`);
      await ack();
    });
    const app = boltWith(listeners);
    expect(await deliver(app, block('list_page'))).toBe(true);
    expect(await deliver(app, block('list_page_next'))).toBe(true);
    // Neither its ID nor a prefix: no listener answers it (observeSlackRequests answers those first).
    expect(await deliver(app, block('list_pages'))).toBe(false);
    expect(
      await deliver(app, {
        command: '/sshkey',
        text: 'list',
        team_id: 'T1',
        user_id: 'U1',
        channel_id: 'C1',
      }),
    ).toBe(true);
    expect(
      await deliver(app, { command: '/other', text: 'x', team_id: 'T1', user_id: 'U1', channel_id: 'C1' }),
    ).toBe(false);
    expect(heard).toEqual(['exact', 'prefix list_page_next', 'command list']);
  });

  test('a second listener for one ID is refused at start', () => {
    const listeners = new Listeners();
    listeners.view('sshkey_add', async () => undefined);
    expect(() => listeners.view('sshkey_add', async () => undefined)).toThrow(
      'a second view listener for sshkey_add',
    );
    listeners.action({ prefix: 'home_tab' }, async () => undefined);
    expect(() => listeners.action({ prefix: 'home_tab' }, async () => undefined)).toThrow(
      'a second action listener for home_tab_',
    );
  });
});
