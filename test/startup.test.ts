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
    // The settings were read: the one line is a log line, like every other.
    expect(run.logs()).toEqual([
      {
        time: expect.any(String),
        level: 'error',
        msg: `Keyhouse cannot start: SLACK_BOT_TOKEN was rejected by Slack (${error}): set it to a current token of your Slack app`,
      },
    ]);
    expect(run.stdout()).toBe('');
  },
  30_000,
);

test('a Slack that cannot be reached is one warning, and the app starts', async () => {
  const keyhouse = await startKeyhouse({ ...settings(), SLACK_API_URL: 'http://127.0.0.1:1/api/' });
  try {
    const lines = keyhouse.logs();
    expect(lines.filter((line) => line.level === 'warn')).toEqual([
      expect.objectContaining({
        msg: expect.stringMatching(/^Slack could not check SLACK_BOT_TOKEN \(.+\): starting anyway/),
      }),
    ]);
    expect(keyhouse.stderr()).not.toMatch(/\n\s+at /);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: expect.stringMatching(/^Keyhouse is running/) }),
    );
    expect((await fetch(`${keyhouse.url}/healthz`)).status).toBe(200);
  } finally {
    await keyhouse.stop();
  }
}, 30_000);

test('a Redis that cannot be reached is one warning; the app runs, /readyz 503, /healthz 200', async () => {
  const keyhouse = await startKeyhouse({ ...settings(), REDIS_URL: 'redis://:secret@127.0.0.1:1' });
  try {
    expect(keyhouse.logs()).toContainEqual({
      time: expect.any(String),
      level: 'warn',
      msg: 'Storage is not reachable yet (Redis at 127.0.0.1:1): /readyz answers 503 until it does',
    });
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

test('a good start prints no warning about Slack or storage: one JSON line says it runs', async () => {
  const keyhouse = await startKeyhouse(settings());
  try {
    expect(keyhouse.logs()).toEqual([
      {
        time: expect.any(String),
        level: 'info',
        msg: expect.stringMatching(
          /^Keyhouse is running: HTTP mode \(POST \/slack\/events\), embedded store in .+, HTTP on port \d+\.$/,
        ),
      },
    ]);
    expect(keyhouse.stdout()).toBe('');
    expect(slack.of('auth.test').length).toBeGreaterThanOrEqual(1);
  } finally {
    await keyhouse.stop();
  }
}, 30_000);

test('in Socket Mode, an app token Slack rejects stops start-up naming SLACK_APP_TOKEN', async () => {
  slack.failures.set('apps.connections.open', 'invalid_auth');
  const run = launch({ ...settings(), SLACK_APP_TOKEN: 'xapp-test' });
  expect(await run.exited).toBe(1);
  expect(run.logs()).toContainEqual({
    time: expect.any(String),
    level: 'error',
    msg: 'Keyhouse cannot start: SLACK_APP_TOKEN was rejected by Slack (invalid_auth): set it to a current app-level token',
  });
  expect(run.stderr()).not.toMatch(/\n\s+at /);
  expect(run.logs().filter((line) => /running/i.test(line.msg))).toEqual([]);
}, 30_000);

describe('LOG_FORMAT and METRICS_TOKEN', () => {
  test('a bad LOG_FORMAT stops start-up with one log line, in JSON: the format asked for is not known', async () => {
    const run = launch({ ...settings(), LOG_FORMAT: 'xml' });
    expect(await run.exited).toBe(1);
    expect(run.logs()).toEqual([
      {
        time: expect.any(String),
        level: 'error',
        msg: 'Keyhouse cannot start: LOG_FORMAT must be json or pretty',
      },
    ]);
    expect(run.stdout()).toBe('');
  }, 30_000);

  test('with LOG_FORMAT=pretty, a bad setting stops start-up with one line for people', async () => {
    const run = launch({ ...settings(), LOG_FORMAT: 'pretty', PORT: 'eighty' });
    expect(await run.exited).toBe(1);
    expect(run.stderr()).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ERROR Keyhouse cannot start: PORT must be a port number\n$/,
    );
  }, 30_000);

  test.each(['short', 'with space in it 0123456789'])('METRICS_TOKEN %s is refused in one line', (token) => {
    expect(() => loadConfig({ ...settings(), METRICS_TOKEN: token })).toThrow(
      /^METRICS_TOKEN must be at least 16 printable characters without spaces$/,
    );
  });

  test('LOG_FORMAT=pretty writes lines for people: time, level, message', async () => {
    const keyhouse = await startKeyhouse({ ...settings(), LOG_FORMAT: 'pretty' });
    try {
      expect(keyhouse.stderr()).toMatch(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}Keyhouse is running: HTTP mode .*, HTTP on port \d+\.\n$/,
      );
    } finally {
      await keyhouse.stop();
    }
  }, 30_000);
});

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
    expect(run.logs()).toEqual([
      expect.objectContaining({
        level: 'error',
        msg: expect.stringMatching(/^Keyhouse cannot start: STORE_NAMESPACE must not be org, /),
      }),
    ]);
  }, 30_000);
});
