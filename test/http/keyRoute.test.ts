import { createKeyhouse, type Keyhouse } from '../../src/app';
import { loadConfig } from '../../src/config';
import { tokenIndexKey } from '../../src/domain/delivery';
import { keySetKeys } from '../../src/domain/deliveryKeySet';
import { MAX_RESOURCES_PER_PROJECT } from '../../src/domain/limits';
import { documentKeys } from '../../src/domain/workspaces';
import { FakeSlack } from '../helpers/fakeSlack';
import { processSettings } from '../helpers/keyhouseProcess';
import { OWNER_ID, startHarness } from '../helpers/harness';
import { RecordingStore } from '../helpers/recordingStore';

/**
 * The key route authenticates before it reads, and its budgets hold: proven on the real app over real
 * HTTP, with the real store wrapped only to record what is asked of it.
 */
const owner = { teamId: 'T0001', userId: OWNER_ID };
const WRONG = `khk_${'W'.repeat(43)}`;

interface Running {
  keyhouse: Keyhouse;
  store: RecordingStore;
  url: string;
  slack: FakeSlack;
  stop(): Promise<void>;
}

async function start(env: Record<string, string> = {}): Promise<Running> {
  const slack = new FakeSlack();
  await slack.start();
  let store: RecordingStore | undefined;
  const keyhouse = createKeyhouse(
    loadConfig({
      ...processSettings(slack),
      LOG_LEVEL: 'error',
      ...env,
    }),
    { wrapStore: (inner) => (store = new RecordingStore(inner)) },
  );
  const { port } = await keyhouse.start();
  return {
    keyhouse,
    store: store!,
    url: `http://127.0.0.1:${port}`,
    slack,
    async stop() {
      await keyhouse.stop();
      await slack.stop();
    },
  };
}

const fetchKeys = (url: string, projectId: string, token: string, query = '') =>
  fetch(`${url}/v1/projects/${projectId}/authorized_keys${query}`, {
    headers: { authorization: `Bearer ${token}` },
  });

async function projectWithToken(keyhouse: Keyhouse, name: string): Promise<{ id: string; token: string }> {
  const project = await keyhouse.domain.projects.create(owner, name);
  const { token } = await keyhouse.domain.delivery.createToken(owner, name, 'fleet');
  return { id: project.id, token };
}

async function inBatches(total: number, width: number, send: () => Promise<Response>): Promise<number[]> {
  const statuses: number[] = [];
  for (let done = 0; done < total; done += width) {
    const batch = await Promise.all(Array.from({ length: Math.min(width, total - done) }, send));
    for (const response of batch) {
      statuses.push(response.status);
      await response.arrayBuffer();
    }
  }
  return statuses;
}

describe('authenticate before reading', () => {
  let run: Running;
  beforeEach(async () => {
    run = await start({ KEY_RATE_LIMIT_PER_IP: '0', KEY_AUTH_FAILURES_PER_IP: '0' });
  });
  afterEach(() => run.stop());

  test('a wrong token costs one small read and never the project; a malformed one costs nothing', async () => {
    const web = await projectWithToken(run.keyhouse, 'web');
    run.store.reset();
    expect((await fetchKeys(run.url, web.id, WRONG)).status).toBe(401);
    expect(run.store.reads).toEqual([tokenIndexKey(web.id), keySetKeys.head(web.id)]);

    run.store.reset();
    for (const [id, token] of [
      [web.id, 'khk_short'],
      [web.id, `khk_${'A'.repeat(42)}!`],
      [web.id, `xoxb-${'A'.repeat(43)}`],
      ['not-a-project', web.token],
      [`${web.id}x`, web.token],
    ] as const) {
      expect((await fetchKeys(run.url, id, token)).status).toBe(401);
    }
    expect(run.store.reads).toEqual([]);

    run.store.reset();
    const good = await fetchKeys(run.url, web.id, web.token);
    expect(good.status).toBe(200);
    // The served lines are read once per version by each replica, then served from memory.
    expect(run.store.reads).toEqual([
      tokenIndexKey(web.id),
      keySetKeys.head(web.id),
      keySetKeys.lines(web.id),
    ]);
  });

  test('a flood of 2,000 wrong tokens reads no project and takes no lock; an admin command meanwhile is served', async () => {
    const web = await projectWithToken(run.keyhouse, 'web');
    run.store.reset();
    const flood = inBatches(2000, 50, () => fetchKeys(run.url, web.id, WRONG));
    const started = Date.now();
    await run.keyhouse.domain.resources.add(owner, 'web', 'database', 'main-db');
    const { token: key } = await run.keyhouse.domain.delivery.createToken(owner, 'web', 'second');
    const commandMs = Date.now() - started;
    const statuses = await flood;
    expect(statuses.every((s) => s === 401)).toBe(true);
    expect(commandMs).toBeLessThan(2_000);
    const projectReads = run.store.reads.filter((k) => k === documentKeys.project(web.id));
    // Only the two commands read the project (each inside its transaction), none of the 2,000 requests.
    expect(projectReads.length).toBeLessThanOrEqual(2);
    expect(run.store.locks.filter((l) => l.includes('T0001'))).toHaveLength(2);
    expect((await fetchKeys(run.url, web.id, key)).status).toBe(200);
  }, 60_000);

  test('revoking a token updates the index in the same change; a project made before the index gets it once', async () => {
    const web = await projectWithToken(run.keyhouse, 'web');
    expect((await fetchKeys(run.url, web.id, web.token)).status).toBe(200);
    await run.keyhouse.domain.delivery.revokeTokens(owner, 'web', 'fleet');
    run.store.reset();
    expect((await fetchKeys(run.url, web.id, web.token)).status).toBe(401);
    expect(run.store.reads).toEqual([tokenIndexKey(web.id), keySetKeys.head(web.id)]);

    // As if the tokens were made before the index existed.
    const { token } = await run.keyhouse.domain.delivery.createToken(owner, 'web', 'old');
    await run.keyhouse.store.write({ delete: [tokenIndexKey(web.id)] });
    run.store.reset();
    const answers = await Promise.all([
      fetchKeys(run.url, web.id, token),
      fetchKeys(run.url, web.id, WRONG),
      fetchKeys(run.url, web.id, token),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 401]);
    expect(await run.keyhouse.store.get(tokenIndexKey(web.id))).toEqual({
      tokens: [{ id: expect.any(String), hash: expect.stringMatching(/^[0-9a-f]{64}$/) }],
    });
    run.store.reset();
    expect((await fetchKeys(run.url, web.id, WRONG)).status).toBe(401);
    expect(run.store.reads).toEqual([tokenIndexKey(web.id), keySetKeys.head(web.id)]);
  });
});

test('deleting a project removes its token hashes with it', async () => {
  const run = await start();
  try {
    const web = await projectWithToken(run.keyhouse, 'web');
    expect(await run.keyhouse.store.get(tokenIndexKey(web.id))).toBeDefined();
    await run.keyhouse.domain.projects.delete(owner, 'web', 'web');
    expect(await run.keyhouse.store.get(tokenIndexKey(web.id))).toBeUndefined();
    expect((await fetchKeys(run.url, web.id, web.token)).status).toBe(401);
  } finally {
    await run.stop();
  }
});

describe('rate limits', () => {
  test('past the per-address budget: 429 with Retry-After, and the body says so', async () => {
    const run = await start({ KEY_RATE_LIMIT_PER_IP: '5' });
    try {
      const web = await projectWithToken(run.keyhouse, 'web');
      const statuses = await inBatches(5, 5, () => fetchKeys(run.url, web.id, web.token));
      expect(statuses).toEqual([200, 200, 200, 200, 200]);
      const refused = await fetchKeys(run.url, web.id, web.token);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expect(await refused.text()).toMatch(
        /^too many requests from this address \(5 a minute\): try again in \d+ s\n$/,
      );
      // Health is not limited.
      expect((await fetch(`${run.url}/healthz`)).status).toBe(200);
    } finally {
      await run.stop();
    }
  });

  test('the per-project budget counts authenticated requests only; other projects are unaffected', async () => {
    const run = await start({ KEY_RATE_LIMIT_PER_PROJECT: '3' });
    try {
      const web = await projectWithToken(run.keyhouse, 'web');
      const api = await projectWithToken(run.keyhouse, 'api');
      for (let i = 0; i < 10; i += 1) expect((await fetchKeys(run.url, web.id, WRONG)).status).toBe(401);
      expect(await inBatches(3, 3, () => fetchKeys(run.url, web.id, web.token))).toEqual([200, 200, 200]);
      const refused = await fetchKeys(run.url, web.id, web.token);
      expect(refused.status).toBe(429);
      expect(await refused.text()).toMatch(/too many requests for this project/);
      expect((await fetchKeys(run.url, api.id, api.token)).status).toBe(200);
    } finally {
      await run.stop();
    }
  });

  test('wrong tokens have a smaller budget; past it the address is refused without a read, good token or not', async () => {
    const run = await start({ KEY_AUTH_FAILURES_PER_IP: '3' });
    try {
      const web = await projectWithToken(run.keyhouse, 'web');
      for (let i = 0; i < 3; i += 1) expect((await fetchKeys(run.url, web.id, WRONG)).status).toBe(401);
      const fourth = await fetchKeys(run.url, web.id, WRONG);
      expect(fourth.status).toBe(429);
      expect(await fourth.text()).toMatch(/too many wrong tokens/);
      run.store.reset();
      const good = await fetchKeys(run.url, web.id, web.token);
      expect(good.status).toBe(429);
      expect(good.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(run.store.reads).toEqual([]);
      expect(run.store.hits).toEqual([]);
    } finally {
      await run.stop();
    }
  });

  test('two replicas on one Redis share the count (far from the limit, each sends its hits every tenth of a second)', async () => {
    const harness = await startHarness({ replicas: 2, env: { KEY_RATE_LIMIT_PER_IP: '6' } });
    try {
      const keyhouse = harness.apps[0]!.keyhouse;
      const web = await projectWithToken(keyhouse, 'web');
      const statuses: number[] = [];
      for (let i = 0; i < 8; i += 1) {
        const response = await fetchKeys(harness.apps[i % 2]!.url, web.id, web.token);
        statuses.push(response.status);
        await new Promise((resolve) => setTimeout(resolve, 300)); // past the replicas' batches
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
    } finally {
      await harness.stop();
    }
  });

  test('when storage is away, the limits let requests through and the route answers 503', async () => {
    const run = await start({ REDIS_URL: 'redis://127.0.0.1:1', KEY_RATE_LIMIT_PER_IP: '1' });
    try {
      for (let i = 0; i < 2; i += 1) {
        const answer = await fetchKeys(run.url, '00000000-0000-4000-8000-000000000000', WRONG);
        expect(answer.status).toBe(503);
        expect(answer.headers.get('retry-after')).toBe('5');
      }
      expect((await fetch(`${run.url}/readyz`)).status).toBe(503);
      expect((await fetch(`${run.url}/healthz`)).status).toBe(200);
    } finally {
      await run.stop();
    }
  }, 30_000);
});

describe('instance registration', () => {
  test('new instances per token are capped per minute; known instances always check in', async () => {
    const run = await start({ KEY_REGISTRATIONS_PER_TOKEN: '2' });
    try {
      const web = await projectWithToken(run.keyhouse, 'web');
      for (const name of ['web-1', 'web-2']) {
        const answer = await fetchKeys(run.url, web.id, web.token, `?instance=${name}`);
        expect(answer.status).toBe(200);
        expect(answer.headers.get('x-keyhouse-registration')).toBeNull();
      }
      const third = await fetchKeys(run.url, web.id, web.token, '?instance=web-3');
      expect(third.status).toBe(200);
      expect(third.headers.get('x-keyhouse-registration')).toMatch(
        /^refused: this token registered 2 new instances/,
      );
      for (let i = 0; i < 5; i += 1) {
        const known = await fetchKeys(run.url, web.id, web.token, '?instance=web-1');
        expect(known.status).toBe(200);
        expect(known.headers.get('x-keyhouse-registration')).toBeNull();
      }
      const { project } = await run.keyhouse.domain.projects.show(owner, 'web');
      expect(project.resources.map((r) => r.name).sort()).toEqual(['web-1', 'web-2']);
    } finally {
      await run.stop();
    }
  });

  test('a full project serves the keys but registers no more instances', async () => {
    const run = await start({ KEY_REGISTRATIONS_PER_TOKEN: '0' });
    try {
      const web = await projectWithToken(run.keyhouse, 'web');
      await run.keyhouse.domain.workspaces.mutate('T0001', async (tx) => {
        const project = await tx.project('web');
        for (let i = 0; project.resources.length < MAX_RESOURCES_PER_PROJECT; i += 1) {
          project.resources.push({
            id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
            type: 'instance',
            name: `seed-${i}`,
            addedBy: 'keyhouse',
            createdAt: tx.at,
          });
        }
        tx.save(project);
      });
      run.store.reset();
      const refused = await fetchKeys(run.url, web.id, web.token, '?instance=one-too-many');
      expect(refused.status).toBe(200);
      expect(refused.headers.get('x-keyhouse-registration')).toMatch(
        new RegExp(`^refused: the project holds ${MAX_RESOURCES_PER_PROJECT} resources`),
      );
      expect(run.store.locks).toEqual([]); // refused without taking the workspace lock
      const known = await fetchKeys(run.url, web.id, web.token, '?instance=seed-7');
      expect(known.status).toBe(200);
      expect(known.headers.get('x-keyhouse-registration')).toBeNull();
      const { project } = await run.keyhouse.domain.projects.show(owner, 'web');
      expect(project.resources).toHaveLength(MAX_RESOURCES_PER_PROJECT);
      expect(project.resources.some((r) => r.name === 'one-too-many')).toBe(false);
    } finally {
      await run.stop();
    }
  }, 30_000);
});
