import { ConfigError, loadConfig } from '../src/config';
import { FakeSlack } from './helpers/fakeSlack';
import { launch, processSettings } from './helpers/keyhouseProcess';

/** REDIS_CLUSTER_NODES, REDIS_SENTINELS and REDIS_SENTINEL_NAME: read, or refused in one line naming them. */
const base = { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: 'secret' };

const refusal = (env: Record<string, string>): string => {
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('the settings were accepted');
};

test('a cluster is its nodes, as host:port or as URLs that carry credentials and TLS', () => {
  expect(
    loadConfig({ ...base, REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002' }).redisCluster,
  ).toEqual([
    { host: '10.0.0.1', port: 7000 },
    { host: '10.0.0.2', port: 7001 },
    { host: '::1', port: 7002 },
  ]);
  expect(
    loadConfig({ ...base, REDIS_CLUSTER_NODES: 'rediss://app:p%40ss@redis-1.internal:6380' }).redisCluster,
  ).toEqual([{ host: 'redis-1.internal', port: 6380, username: 'app', password: 'p@ss', tls: true }]);
  const config = loadConfig({ ...base, REDIS_CLUSTER_NODES: '10.0.0.1:7000' });
  expect(config.redisUrl).toBeUndefined();
  expect(config.redisSentinel).toBeUndefined();
});

test('Sentinel is the Sentinels and the name of the master they watch', () => {
  expect(
    loadConfig({ ...base, REDIS_SENTINELS: '10.0.0.1:26379,10.0.0.2:26379', REDIS_SENTINEL_NAME: 'mymaster' })
      .redisSentinel,
  ).toEqual({
    name: 'mymaster',
    sentinels: [
      { host: '10.0.0.1', port: 26379 },
      { host: '10.0.0.2', port: 26379 },
    ],
  });
});

test('a bad or clashing Redis setting is refused in one line naming it', () => {
  expect(refusal({ REDIS_CLUSTER_NODES: '10.0.0.1' })).toBe(
    'REDIS_CLUSTER_NODES must list host:port pairs separated by commas (such as 10.0.0.1:6379,10.0.0.2:6379); "10.0.0.1" is not one',
  );
  expect(refusal({ REDIS_CLUSTER_NODES: '10.0.0.1:70000' })).toMatch(
    /^REDIS_CLUSTER_NODES must list host:port/,
  );
  expect(refusal({ REDIS_CLUSTER_NODES: 'redis://:hunter2@10.0.0.1' })).not.toContain('hunter2');
  expect(refusal({ REDIS_CLUSTER_NODES: 'redis://:pw@10.0.0.1:7000,10.0.0.2:7001' })).toMatch(
    /^REDIS_CLUSTER_NODES must give every entry the same URL form/,
  );
  expect(refusal({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: '10.0.0.1:7000' })).toBe(
    'REDIS_CLUSTER_NODES cannot be used with REDIS_URL: set one of them (a server, a cluster or Sentinel)',
  );
  expect(refusal({ REDIS_CLUSTER_NODES: '10.0.0.1:7000', REDIS_SENTINELS: '10.0.0.1:26379' })).toMatch(
    /^REDIS_SENTINELS cannot be used with REDIS_CLUSTER_NODES/,
  );
  expect(refusal({ REDIS_SENTINELS: '10.0.0.1:26379' })).toMatch(
    /^REDIS_SENTINEL_NAME is missing: with REDIS_SENTINELS, set it to the name of the master/,
  );
  expect(refusal({ REDIS_SENTINEL_NAME: 'mymaster' })).toMatch(/^REDIS_SENTINELS is missing/);
  expect(refusal({ REDIS_SENTINELS: '10.0.0.1:26379', REDIS_SENTINEL_NAME: 'my master' })).toMatch(
    /^REDIS_SENTINEL_NAME must be the name of the master the Sentinels monitor/,
  );
});

/** Passwords that break a URL unless percent-encoded: a '/' in it, or an '@' in it. */
const passwordsInUrls = ['redis://u:S3cretPass/x@h:7000', 'redis://u:S3cret@Pass@h'];

test.each(passwordsInUrls)('%s, refused or not, is never repeated with its password', (value) => {
  for (const name of ['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS']) {
    let message = '';
    try {
      loadConfig({ ...base, [name]: value, REDIS_SENTINEL_NAME: name === 'REDIS_SENTINELS' ? 'm' : '' });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      message = error.message;
      expect(message).toMatch(new RegExp(`^${name} must `));
    }
    expect(message).not.toMatch(/S3cret|Pass/);
  }
  // Written without a URL's scheme, an entry's part before its last @ is not repeated either.
  expect(refusal({ REDIS_CLUSTER_NODES: 'u:S3cret@Pass@h' })).toMatch(/"…@h" is not one$/);
});

test.each([
  'redis://:Pa/ss@h:6379',
  'redis://:p?w@h:6379',
  'redis://:pw@h:notaport',
  'redis://:%zz@h:6379',
  'redis://h:6379/db',
  'redis://',
])('REDIS_URL %s is refused in one line naming it and saying what a valid one looks like', (value) => {
  const message = refusal({ REDIS_URL: value });
  expect(message).toMatch(
    /^REDIS_URL must be a URL such as redis:\/\/host:6379 or rediss:\/\/user:password@host:6380\/0 \(a password holding \/ \? # @ or % written %2F %3F %23 %40 %25\)$/,
  );
  expect(loadConfig({ ...base, REDIS_URL: 'rediss://app:p%40ss%2F@redis.internal:6380/2' }).redisUrl).toBe(
    'rediss://app:p%40ss%2F@redis.internal:6380/2',
  );
  for (const name of ['REDIS_CLUSTER_NODES', 'REDIS_SENTINELS']) {
    expect(
      refusal({ [name]: 'redis://:%zz@h:6379', REDIS_SENTINEL_NAME: name === 'REDIS_SENTINELS' ? 'm' : '' }),
    ).toMatch(
      new RegExp(`^${name} must list host:port pairs .*; entry 1, a URL not repeated here, is not one$`),
    );
  }
});

test.each([
  ['REDIS_URL', 'redis://:%zz@h:6379'],
  ['REDIS_URL', 'redis://u:S3cretPass/x@h:7000'],
  ['REDIS_CLUSTER_NODES', 'redis://u:S3cret@Pass@h'],
  ['REDIS_SENTINELS', 'redis://u:S3cretPass/x@h:7000'],
])(
  'the process refuses %s=%s in one line naming it, without the password',
  async (name, value) => {
    const slack = new FakeSlack();
    await slack.start();
    try {
      const run = launch({
        ...processSettings(slack),
        [name]: value,
        ...(name === 'REDIS_SENTINELS' ? { REDIS_SENTINEL_NAME: 'mymaster' } : {}),
      });
      expect(await run.exited).toBe(1);
      expect(run.logs()).toEqual([
        expect.objectContaining({
          level: 'error',
          msg: expect.stringMatching(`^Keyhouse cannot start: ${name} must `),
        }),
      ]);
      expect(run.stderr() + run.stdout()).not.toMatch(/S3cret|Pass|zz/);
    } finally {
      await slack.stop();
    }
  },
  30_000,
);

test('the process stops at start with that one line', async () => {
  const slack = new FakeSlack();
  await slack.start();
  try {
    const run = launch({ ...processSettings(slack), REDIS_CLUSTER_NODES: 'redis-1' });
    expect(await run.exited).toBe(1);
    expect(run.logs()).toEqual([
      {
        time: expect.any(String),
        level: 'error',
        msg: 'Keyhouse cannot start: REDIS_CLUSTER_NODES must list host:port pairs separated by commas (such as 10.0.0.1:6379,10.0.0.2:6379); "redis-1" is not one',
      },
    ]);
  } finally {
    await slack.stop();
  }
}, 30_000);
