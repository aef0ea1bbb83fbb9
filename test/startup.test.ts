import { loadConfig } from '../src/config';
import { FakeSlack } from './helpers/fakeSlack';
import { launch, startKeyhouse, processSettings } from './helpers/keyhouseProcess';

/** Start-up tells the truth: the real process, a fake Slack, and a store that may not be there. */
const slack = new FakeSlack();
beforeAll(() => slack.start());
afterAll(() => slack.stop());
afterEach(() => slack.failures.clear());

const settings = (): Record<string, string> => processSettings(slack);

test.each(['invalid_auth', 'token_revoked'])(
  'a bot token Slack rejects (%s) stops start-up with one line naming SLACK_BOT_TOKEN',
  async (error) => {
    slack.failures.set('auth.test', error);
    const run = launch(settings());
    expect(await run.exited).toBe(1);
    const lines = run.stderr().trim().split('\n');
    expect(lines).toEqual([
      `Keyhouse cannot start: SLACK_BOT_TOKEN was rejected by Slack (${error}): set it to a current token of your Slack app`,
    ]);
    expect(run.stdout()).not.toMatch(/running/i);
  },
  30_000,
);

test('a Slack that cannot be reached is one warning, and the app starts', async () => {
  const keyhouse = await startKeyhouse({ ...settings(), SLACK_API_URL: 'http://127.0.0.1:1/api/' });
  try {
    expect(keyhouse.stderr()).toMatch(/^Slack could not check SLACK_BOT_TOKEN \(.+\): starting anyway/m);
    expect(keyhouse.stderr()).not.toMatch(/\n\s+at /);
    expect(keyhouse.stdout()).toMatch(/Keyhouse is running/);
    expect((await fetch(`${keyhouse.url}/healthz`)).status).toBe(200);
  } finally {
    await keyhouse.stop();
  }
}, 30_000);

test('a Redis that cannot be reached is one warning; the app runs, /readyz 503, /healthz 200', async () => {
  const keyhouse = await startKeyhouse({ ...settings(), REDIS_URL: 'redis://:secret@127.0.0.1:1' });
  try {
    expect(keyhouse.stderr().trim().split('\n')).toContain(
      'Storage is not reachable yet (Redis at 127.0.0.1:1): /readyz answers 503 until it does',
    );
    expect(keyhouse.stderr()).not.toContain('secret');
    expect(keyhouse.stderr()).not.toMatch(/\n\s+at /);
    expect((await fetch(`${keyhouse.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${keyhouse.url}/healthz`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(keyhouse.alive()).toBe(true);
  } finally {
    await keyhouse.stop();
  }
}, 30_000);

test('a good start prints no warning about Slack or storage', async () => {
  const keyhouse = await startKeyhouse(settings());
  try {
    expect(keyhouse.stderr()).toBe('');
    expect(slack.of('auth.test').length).toBeGreaterThanOrEqual(1);
  } finally {
    await keyhouse.stop();
  }
}, 30_000);

test('in Socket Mode, an app token Slack rejects stops start-up naming SLACK_APP_TOKEN', async () => {
  slack.failures.set('apps.connections.open', 'invalid_auth');
  const run = launch({ ...settings(), SLACK_APP_TOKEN: 'xapp-test' });
  expect(await run.exited).toBe(1);
  expect(run.stderr()).toMatch(
    /^Keyhouse cannot start: SLACK_APP_TOKEN was rejected by Slack \(invalid_auth\): set it to a current app-level token$/m,
  );
  expect(run.stderr()).not.toMatch(/\n\s+at /);
  expect(run.stdout()).not.toMatch(/running/i);
}, 30_000);

describe('STORE_NAMESPACE', () => {
  // Every first segment of a key the store writes: the documents', and the store's own.
  const prefixes = [
    ...[
      'org',
      'project',
      'audit',
      'userkeys',
      'request',
      'requests',
      'keys',
      'checkin',
      'tokenuse',
      'tokens',
    ],
    ...['hit', 'lock', 'commit'],
  ];

  test.each(prefixes)(
    '%s, a prefix of the stored keys, is refused in one line naming STORE_NAMESPACE',
    (name) => {
      for (const spelled of [name, name.toUpperCase()]) {
        expect(() => loadConfig({ ...settings(), STORE_NAMESPACE: spelled })).toThrow(
          new RegExp(
            `^STORE_NAMESPACE must not be ${spelled}, a prefix of Keyhouse's own stored keys \\(.*\\): pick another name, such as keyhouse$`,
          ),
        );
      }
    },
  );

  test.each(['a:b', 'two words', 'org:', 'x'.repeat(65)])('%s is refused', (name) => {
    expect(() => loadConfig({ ...settings(), STORE_NAMESPACE: name })).toThrow(/^STORE_NAMESPACE must be/);
  });

  test.each(['keyhouse', 'orgs', 'prod-org', 'team_1'])('%s is taken', (name) => {
    expect(loadConfig({ ...settings(), STORE_NAMESPACE: name }).storeNamespace).toBe(name);
  });

  test('the process refuses to start on one, with one line', async () => {
    const run = launch({ ...settings(), STORE_NAMESPACE: 'org' });
    expect(await run.exited).toBe(1);
    expect(run.stderr().trim().split('\n')).toEqual([
      expect.stringMatching(/^Keyhouse cannot start: STORE_NAMESPACE must not be org, /),
    ]);
  }, 30_000);
});
