import { createKeyhouse, type Keyhouse } from '../../src/app';
import { loadConfig } from '../../src/config';
import { tempDir, uniqueNamespace } from '../helpers/env';
import { FakeSlack } from '../helpers/fakeSlack';
import { visibleText } from '../helpers/slackUser';

/** Socket Mode, the manifest's default: Slack connects over a WebSocket, and the HTTP routes still listen. */
let slack: FakeSlack;
let keyhouse: Keyhouse;
let url: string;

beforeAll(async () => {
  slack = new FakeSlack();
  await slack.start();
  keyhouse = createKeyhouse(
    loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_APP_TOKEN: 'xapp-test',
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      DATA_DIR: tempDir(),
      STORE_NAMESPACE: uniqueNamespace(),
      ORG_OWNERS: 'UOWNER1',
      LOG_LEVEL: 'error',
    }),
  );
  const { port } = await keyhouse.start();
  url = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await keyhouse.stop();
  await slack.stop();
});

test('connects through the configured Slack API URL and answers a slash command', async () => {
  expect(slack.of('apps.connections.open')).toHaveLength(1);
  const responseUrl = slack.newResponseUrl();
  const ack = await slack.sendEnvelope('slash_commands', {
    team_id: 'T0001',
    user_id: 'UOWNER1',
    channel_id: 'C0GENERAL',
    command: '/project',
    text: 'create sockets',
    response_url: responseUrl,
    trigger_id: 'trigger-socket',
  });
  expect(ack.envelope_id).toMatch(/^env-/);
  const reply = await slack.waitFor(
    (c) => c.method === 'respond' && c.path === new URL(responseUrl).pathname,
  );
  expect(visibleText(reply.body)).toContain('Created project *sockets*');
});

test('the HTTP routes listen on PORT in Socket Mode too', async () => {
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  expect((await fetch(`${url}/readyz`)).status).toBe(200);
  expect((await fetch(`${url}/slack/events`, { method: 'POST' })).status).toBe(405);
});
