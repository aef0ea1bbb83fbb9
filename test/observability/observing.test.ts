import { createKeyhouse } from '../../src/app';
import { loadConfig } from '../../src/config';
import { documentKeys } from '../../src/domain/workspaces';
import { OPEN_PENDING_REUSE_MS, Metrics } from '../../src/observability/metrics';
import { createDocumentStore } from '../../src/store/keyvStore';
import { tempDir, uniqueNamespace } from '../helpers/env';
import { FakeSlack } from '../helpers/fakeSlack';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import {
  type KeyhouseProcess,
  type LogLine,
  processSettings,
  startKeyhouse,
} from '../helpers/keyhouseProcess';
import { RecordingStore } from '../helpers/recordingStore';
import { RedisProcess } from '../helpers/redisServer';
import { SlackUser, visibleText } from '../helpers/slackUser';
import { KeyFactory } from '../helpers/sshKeygen';

/**
 * What an operator sees: GET /metrics after commands, key deliveries and a store failure, and the log
 * of a real process, every line of it a JSON object.
 */
const keys = new KeyFactory();
afterAll(() => keys.cleanup());

const METRICS_TOKEN = 'metrics-secret-0123456789';

/** The sum of the samples of `name` whose labels include `labels`, or undefined when there is none. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const has = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    if (Object.entries(labels).every(([key, value]) => has[key] === value)) {
      total = (total ?? 0) + Number(match[3]);
    }
  }
  return total;
}

/** Every label value of `name`'s samples, per label. */
function labelValues(text: string, name: string, label: string): string[] {
  const values = new Set<string>();
  for (const match of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} `, 'gm'))) {
    const value = new RegExp(`${label}="([^"]*)"`).exec(match[1] ?? '')?.[1];
    if (value !== undefined) values.add(value);
  }
  return [...values];
}

const tokenIn = (text: string): string => {
  const token = /```(khk_[^`]+)```/.exec(text)?.[1];
  if (!token) throw new Error(`no token in: ${text}`);
  return token;
};

describe('a real process, driven through Slack and the key route', () => {
  const slack = new FakeSlack();
  let keyhouse: KeyhouseProcess;
  let owner: SlackUser;

  beforeAll(async () => {
    await slack.start();
    keyhouse = await startKeyhouse({ ...processSettings(slack), LOG_LEVEL: 'debug', METRICS_TOKEN });
    owner = new SlackUser(keyhouse.url, slack, 'UOWNER1');
  }, 30_000);
  afterAll(async () => {
    await slack.settle();
    await keyhouse.stop();
    await slack.stop();
  });

  const scrape = async (authorization?: string) => {
    const response = await fetch(`${keyhouse.url}/metrics`, {
      headers: authorization ? { authorization } : {},
    });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      text: await response.text(),
    };
  };

  test('GET /metrics needs METRICS_TOKEN as a Bearer token', async () => {
    for (const wrong of [undefined, 'Bearer nope', `Bearer ${METRICS_TOKEN}x`, `Basic ${METRICS_TOKEN}`]) {
      const answer = await scrape(wrong);
      expect(answer.status).toBe(401);
      expect(answer.text).not.toContain('keyhouse_');
    }
    const answer = await scrape(`Bearer ${METRICS_TOKEN}`);
    expect(answer.status).toBe(200);
    expect(answer.type).toMatch(/^text\/plain; version=0\.0\.4/);
    // prom-client's process metrics are there too.
    expect(sample(answer.text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(answer.text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  test('commands, refusals and deliveries (200, 304, 401) move their counters; labels stay bounded', async () => {
    const before = (await scrape(`Bearer ${METRICS_TOKEN}`)).text;
    const at = (text: string, name: string, labels: Record<string, string> = {}) =>
      (sample(text, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);

    expect(visibleText((await owner.command('/project', 'create web')).body)).toContain('Created project');
    const key = keys.generate('ed25519', { comment: 'laptop' });
    expect(visibleText((await owner.command('/sshkey', `add web ${key.publicLine}`)).body)).toContain(
      'Added key',
    );
    const token = tokenIn(visibleText((await owner.command('/project', 'token web fleet')).body));
    expect(visibleText((await owner.command('/project', 'rename nosuch other')).body)).toMatch(/no project/i);
    const secret = keys.generate('ed25519');
    expect(visibleText((await owner.command('/sshkey', `add web ${secret.privateText}`)).body)).toMatch(
      /private\* key/,
    );
    // A member's key is a request: the pending gauge counts it.
    await owner.command('/project', 'grant web <@UALICE> member');
    const alice = new SlackUser(keyhouse.url, slack, 'UALICE');
    expect(
      visibleText((await alice.command('/sshkey', `add web ${keys.generate('ed25519').publicLine}`)).body),
    ).toMatch(/request/i);

    const list = visibleText((await owner.command('/project', 'list')).body);
    const id = /web[^\n]*?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/.exec(list)?.[1];
    expect(id).toBeDefined();
    const url = `${keyhouse.url}/v1/projects/${id}/authorized_keys`;
    const first = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(first.status).toBe(200);
    await first.text();
    const again = await fetch(url, {
      headers: { authorization: `Bearer ${token}`, 'if-none-match': first.headers.get('etag')! },
    });
    expect(again.status).toBe(304);
    const wrong = await fetch(url, { headers: { authorization: `Bearer khk_${'x'.repeat(43)}` } });
    expect(wrong.status).toBe(401);

    await new Promise((resolve) => setTimeout(resolve, 300)); // the pending index is written after the commit
    const after = (await scrape(`Bearer ${METRICS_TOKEN}`)).text;
    expect(at(after, 'keyhouse_slack_requests_total', { kind: '/project', outcome: 'ok' })).toBe(4);
    expect(at(after, 'keyhouse_slack_requests_total', { kind: '/project', outcome: 'refused' })).toBe(1);
    expect(at(after, 'keyhouse_slack_requests_total', { kind: '/sshkey', outcome: 'ok' })).toBe(2);
    expect(at(after, 'keyhouse_slack_requests_total', { kind: '/sshkey', outcome: 'refused' })).toBe(1);
    expect(at(after, 'keyhouse_slack_request_duration_seconds_count', { kind: '/sshkey' })).toBe(3);
    expect(at(after, 'keyhouse_key_deliveries_total', { status: '200' })).toBe(1);
    expect(at(after, 'keyhouse_key_deliveries_total', { status: '304' })).toBe(1);
    expect(at(after, 'keyhouse_key_deliveries_total', { status: '401' })).toBe(1);
    expect(at(after, 'keyhouse_key_delivery_duration_seconds_count')).toBe(3);
    expect(at(after, 'keyhouse_store_operation_duration_seconds_count', { op: 'write' })).toBeGreaterThan(0);
    expect(at(after, 'keyhouse_store_operation_duration_seconds_count', { op: 'get_many' })).toBeGreaterThan(
      0,
    );
    expect(at(after, 'keyhouse_lock_wait_seconds_count')).toBeGreaterThan(0);
    expect(sample(after, 'keyhouse_pending_requests')).toBe(1);
    expect(sample(after, 'keyhouse_store_errors_total') ?? 0).toBe(0);
    expect(sample(after, 'keyhouse_lock_busy_total')).toBe(0);
    expect(after).toMatch(/^# TYPE keyhouse_sweep_runs_total counter$/m);

    // Bounded labels: the app's own kinds, statuses, operations; nothing a user typed, no IDs.
    expect(labelValues(after, 'keyhouse_slack_requests_total', 'kind').sort()).toEqual([
      '/project',
      '/sshkey',
    ]);
    expect(labelValues(after, 'keyhouse_key_deliveries_total', 'status').sort()).toEqual([
      '200',
      '304',
      '401',
    ]);
    for (const label of ['project', 'user', 'team', 'instance']) expect(after).not.toContain(`${label}="`);
    expect(after).not.toContain(id);
    expect(after).not.toContain(token);
  }, 60_000);

  test('every log line is a JSON object with time, level and msg; each Slack request is one line of identifiers', async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const lines: LogLine[] = keyhouse.logs(); // fails if any line is not JSON with time, level and msg
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.filter((line) => line.level === 'debug').length).toBeGreaterThan(0); // Bolt's, at debug
    const requests = lines.filter((line) => line.msg === 'slack request');
    expect(requests.length).toBe(8); // the commands of the test above, one line each
    for (const line of requests) {
      expect(Object.keys(line).sort()).toEqual(
        ['duration_ms', 'kind', 'level', 'msg', 'outcome', 'team', 'time', 'user'].sort(),
      );
      expect(line.level).toBe('info');
      expect(['/org', '/project', '/sshkey']).toContain(line.kind);
      expect(line.team).toBe('T0001');
      expect(['UOWNER1', 'UALICE']).toContain(line.user);
      expect(['ok', 'refused', 'error']).toContain(line.outcome);
      expect(typeof line.duration_ms).toBe('number');
    }
    expect(requests).toContainEqual(
      expect.objectContaining({ kind: '/sshkey', user: 'UOWNER1', outcome: 'refused' }),
    );
    expect(requests).toContainEqual(
      expect.objectContaining({ kind: '/sshkey', user: 'UALICE', outcome: 'ok' }),
    );
    // Bolt's own lines during a request carry its fields too.
    expect(
      lines.filter((line) => line.msg !== 'slack request' && line.kind === '/project').length,
    ).toBeGreaterThan(0);
  });

  test('a private key or a khk_ token sent in a request never reaches the log, even at debug level', async () => {
    const from = keyhouse.stderr().length;
    const secret = keys.generate('ed25519');
    const token = `khk_${'T0k3n-_'.repeat(7)}`;
    await owner.command('/sshkey', `add web ${secret.privateText}`);
    await owner.command('/sshkey', `list web ${token}`);
    await owner.command('/project', `show ${token}`);
    await fetch(`${keyhouse.url}/v1/projects/${token}/authorized_keys?instance=${token}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const written = keyhouse.stderr().slice(from);
    const lines = keyhouse.logs();
    expect(written).not.toContain(token.slice(4, 24));
    expect(written).not.toContain('xoxb-test'); // the bot token, which the Web API client knows
    for (const body of secret.privateText
      .split('\n')
      .filter((l) => l.length > 20 && !l.startsWith('-----'))) {
      expect(written).not.toContain(body.slice(0, 20));
    }
    expect(lines.filter((line) => line.msg === 'slack request').slice(-3)).toEqual([
      expect.objectContaining({ kind: '/sshkey', outcome: 'refused' }),
      expect.objectContaining({ kind: '/sshkey', outcome: 'refused' }),
      expect.objectContaining({ kind: '/project', outcome: 'refused' }),
    ]);
  }, 30_000);
});

describe('Socket Mode, where Bolt logs every message it receives at debug level', () => {
  const slack = new FakeSlack();
  let keyhouse: KeyhouseProcess;

  beforeAll(async () => {
    await slack.start();
    keyhouse = await startKeyhouse({
      ...processSettings(slack),
      SLACK_APP_TOKEN: 'xapp-1-A0SOCKET-0123456789',
      LOG_LEVEL: 'debug',
    });
  }, 30_000);
  afterAll(async () => {
    await slack.settle();
    await keyhouse.stop();
    await slack.stop();
  });

  const command = (text: string, extra: Record<string, string> = {}) =>
    slack.sendEnvelope('slash_commands', {
      ...extra,
      team_id: 'T0001',
      user_id: 'UOWNER1',
      channel_id: 'C0GENERAL',
      command: '/sshkey',
      text,
      response_url: slack.newResponseUrl(),
      trigger_id: 'trigger-socket',
    });

  test('tokens in a message are redacted, a private key withholds the line; requests are logged and counted', async () => {
    const token = `khk_${'S0ck3t-_'.repeat(6)}`;
    const secret = keys.generate('ed25519');
    await command('list default', { token }); // a field of the payload
    await command(`add default ${secret.privateText}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const written = keyhouse.stderr();
    const lines = keyhouse.logs(); // every line JSON
    expect(written).toContain('khk_[redacted]'); // the message as received, token redacted
    expect(written).not.toContain(token.slice(4, 24));
    expect(written).not.toContain('A0SOCKET-0123456789');
    expect(lines.some((line) => line.msg === '[log line withheld: it contained private key material]')).toBe(
      true,
    );
    for (const body of secret.privateText
      .split('\n')
      .filter((l) => l.length > 20 && !l.startsWith('-----'))) {
      expect(written).not.toContain(body.slice(0, 20));
    }
    const requests = lines.filter((line) => line.msg === 'slack request');
    // In the order they finished: the refusal needs no storage.
    expect(requests.map((line) => [line.kind, line.user, line.outcome]).sort()).toEqual([
      ['/sshkey', 'UOWNER1', 'ok'],
      ['/sshkey', 'UOWNER1', 'refused'],
    ]);
    // /metrics is on the same HTTP server in Socket Mode.
    const metrics = await (await fetch(`${keyhouse.url}/metrics`)).text();
    expect(sample(metrics, 'keyhouse_slack_requests_total', { kind: '/sshkey' })).toBe(2);
  }, 30_000);
});

describe('a store that fails: a Redis of its own, killed', () => {
  const redis = new RedisProcess();
  let harness: Harness;

  beforeAll(async () => {
    await redis.start();
    harness = await startHarness({ backend: 'redis', env: { REDIS_URL: redis.url } });
  });
  afterAll(async () => {
    await harness.stop();
    await redis.kill();
  });

  const scrape = async () => {
    const response = await fetch(`${harness.apps[0]!.url}/metrics`);
    expect(response.status).toBe(200); // no METRICS_TOKEN: open
    return response.text();
  };

  test('store errors, failed requests and sweeps and 503 deliveries are counted; the pending gauge keeps its last value', async () => {
    const owner = harness.user(OWNER_ID);
    const keyhouse = harness.apps[0]!.keyhouse;
    await owner.command('/project', 'create web');
    const token = tokenIn(visibleText((await owner.command('/project', 'token web')).body));
    await owner.command('/project', 'grant web <@UALICE> member');
    await harness.user('UALICE').command('/sshkey', `add web ${keys.generate('ed25519').publicLine}`);
    await keyhouse.sweep();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = await scrape();
    expect(sample(before, 'keyhouse_pending_requests')).toBe(1);
    expect(sample(before, 'keyhouse_sweep_runs_total', { outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sample(before, 'keyhouse_store_errors_total') ?? 0).toBe(0);
    const { project } = await keyhouse.domain.projects.show({ teamId: 'T0001', userId: OWNER_ID }, 'web');

    await redis.kill();
    expect(visibleText((await owner.command('/project', 'create api')).body)).toContain(
      'Storage is unavailable right now',
    );
    expect(visibleText((await owner.command('/sshkey', 'list web')).body)).toContain(
      'Storage is unavailable right now',
    );
    const keys503 = await fetch(`${harness.apps[0]!.url}/v1/projects/${project.id}/authorized_keys`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(keys503.status).toBe(503);
    await expect(keyhouse.sweep()).rejects.toThrow();

    const after = await scrape();
    expect(sample(after, 'keyhouse_store_errors_total')).toBeGreaterThanOrEqual(4);
    // A command's failed read counts as a read; only the key fetch's counts under the key route.
    expect(sample(after, 'keyhouse_store_errors_total', { op: 'get_many' })).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'keyhouse_store_errors_total', { op: 'key_route' })).toBe(1);
    expect(sample(after, 'keyhouse_slack_requests_total', { kind: '/project', outcome: 'error' })).toBe(1);
    expect(sample(after, 'keyhouse_key_deliveries_total', { status: '503' })).toBe(1);
    expect(sample(after, 'keyhouse_sweep_runs_total', { outcome: 'error' })).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'keyhouse_pending_requests')).toBe(1); // the last value read
  }, 30_000);
});

test('a lock held past the wait: the waiter is refused as busy, counted once; lock waits are timed', async () => {
  const metrics = new Metrics({ defaultMetrics: false });
  const store = createDocumentStore({
    dataDir: tempDir(),
    namespace: uniqueNamespace(),
    metrics,
    lock: { leaseMs: 5_000, waitMs: 100 },
  });
  try {
    let release!: () => void;
    const holding = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const held = new Promise<void>((resolve) => (entered = resolve));
    const holder = store.withLock('org:T1', async () => {
      entered();
      await holding;
    });
    await held;
    await expect(store.withLock('org:T1', () => Promise.resolve())).rejects.toMatchObject({ code: 'busy' });
    // A "busy" from inside the critical section (a write that lost its lock) is not a lock refusal.
    release();
    await holder;
    await expect(
      store.withLock('org:T1', () => Promise.reject(Object.assign(new Error('inner'), { code: 'busy' }))),
    ).rejects.toThrow();
    const text = await metrics.registry.metrics();
    expect(sample(text, 'keyhouse_lock_busy_total')).toBe(1);
    expect(sample(text, 'keyhouse_lock_wait_seconds_count')).toBe(2);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeUndefined(); // its own registry only
  } finally {
    await store.close();
  }
});

test('open scrapes (no METRICS_TOKEN) share one read of the pending count, reused for a few seconds', async () => {
  const slack = new FakeSlack();
  await slack.start();
  let store: RecordingStore | undefined;
  const keyhouse = createKeyhouse(loadConfig({ ...processSettings(slack), LOG_LEVEL: 'error' }), {
    wrapStore: (inner) => (store = new RecordingStore(inner)),
  });
  const { port } = await keyhouse.start();
  const pendingReads = () => store!.reads.filter((key) => key === documentKeys.pendingIndex()).length;
  const scrapes = (n: number) =>
    Promise.all(
      Array.from({ length: n }, async () => {
        const response = await fetch(`http://127.0.0.1:${port}/metrics`);
        expect(response.status).toBe(200);
        return sample(await response.text(), 'keyhouse_pending_requests');
      }),
    );
  try {
    store!.reset();
    expect(await scrapes(50)).toEqual(Array.from({ length: 50 }, () => 0));
    expect(pendingReads()).toBe(1);
    await scrapes(50);
    expect(pendingReads()).toBe(1);
    // Once the read is older than that, the next scrape reads again.
    await new Promise((resolve) => setTimeout(resolve, OPEN_PENDING_REUSE_MS + 100));
    await scrapes(1);
    expect(pendingReads()).toBe(2);
  } finally {
    await keyhouse.stop();
    await slack.stop();
  }
}, 30_000);
