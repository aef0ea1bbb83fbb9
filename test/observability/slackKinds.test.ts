import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeSlackRequest, SUBSCRIBED_EVENTS } from '../../src/observability/slackRequests';
import { FakeSlack } from '../helpers/fakeSlack';
import { type KeyhouseProcess, processSettings, startKeyhouse } from '../helpers/keyhouseProcess';
import { signedPost, SlackClientOf } from '../helpers/slackUser';

/** A request's `kind` is one of Keyhouse's own names; one Keyhouse has no listener for is answered at once. */

test("an event's kind is its type only when it is one manifest.yml subscribes to", () => {
  const manifest = readFileSync(join(__dirname, '..', '..', 'manifest.yml'), 'utf8');
  const botEvents = /bot_events:\n((?:\s+- \S+\n)+)/.exec(manifest)?.[1];
  expect([...SUBSCRIBED_EVENTS].sort()).toEqual(
    [...(botEvents ?? '').matchAll(/- (\S+)/g)].map((match) => match[1]).sort(),
  );
  const kindOf = (type: string) => describeSlackRequest({ type: 'event_callback', event: { type } }).kind;
  expect(kindOf('app_home_opened')).toBe('app_home_opened');
  for (const type of ['evil_type_unique_aaaa', 'message', 'Bad-Type', 'x'.repeat(60)]) {
    expect(kindOf(type)).toBe('other');
  }
});

describe('a request Keyhouse has no listener for', () => {
  const slack = new FakeSlack();
  let keyhouse: KeyhouseProcess;
  beforeAll(async () => {
    await slack.start();
    keyhouse = await startKeyhouse(processSettings(slack));
  }, 30_000);
  afterAll(async () => {
    await keyhouse.stop();
    await slack.stop();
  });

  test('is answered at once and logged as refused, under kind other', async () => {
    const client = new SlackClientOf(keyhouse.url, 'UOWNER1');
    const started = Date.now();
    await client.click('user-text-AAAA', 'v', { responseUrl: slack.newResponseUrl() });
    // IDs that start with one of Keyhouse's own, which Keyhouse listens to exactly.
    await client.click('request_approve_AAAA', 'v', { responseUrl: slack.newResponseUrl() });
    await client.click('dashboard_refreshAAAA', 'v', { responseUrl: slack.newResponseUrl() });
    expect(await client.submitForm({ callback_id: 'cb-forged-XYZ', private_metadata: '{}' }, {})).toEqual({});
    expect(await client.options('UNIQUEOPT', 'search text')).toEqual({ options: [] });
    const command = await signedPost(
      keyhouse.url,
      new URLSearchParams({
        team_id: 'T0001',
        user_id: 'UOWNER1',
        command: '/evil',
        text: 'hi',
        response_url: slack.newResponseUrl(),
        trigger_id: 't',
      }).toString(),
      'application/x-www-form-urlencoded',
    );
    expect(command.status).toBe(200);
    await client.event({ type: 'evil_type_unique_aaaa', user: 'UOWNER1' });
    // Each answered well within Slack's 3 s, not after Bolt's timeout.
    expect(Date.now() - started).toBeLessThan(2_500);

    await new Promise((resolve) => setTimeout(resolve, 200));
    const requests = keyhouse.logs().filter((line) => line.msg === 'slack request');
    expect(requests.map(({ kind, outcome }) => ({ kind, outcome }))).toEqual([
      ...Array.from({ length: 6 }, () => ({ kind: 'other', outcome: 'refused' })),
      { kind: 'other', outcome: 'ok' }, // an event is answered by Bolt before it is looked at
    ]);
    expect(JSON.stringify(keyhouse.logs())).not.toMatch(/AAAA|XYZ|UNIQUEOPT|evil|not acknowledged/);
  }, 30_000);
});
