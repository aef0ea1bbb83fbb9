import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { RedisClusterProcesses, redisCli } from '../helpers/redisCluster';
import { KeyFactory } from '../helpers/sshKeygen';
import { visibleText } from '../helpers/slackUser';
import { expectNoneLostOrDoubled, type Outcome, outcomeOf, streamOfAdds } from '../helpers/addStream';
import { replicaScenarios } from '../helpers/replicaScenarios';

/**
 * Two app instances on a real three-master Redis Cluster (REDIS_CLUSTER_NODES), as replicas behind a
 * load balancer: the replica scenarios hold, a workspace's keys share its hash tag, and a master killed
 * mid-run costs answers "storage unavailable", never a lost or doubled change.
 */
jest.setTimeout(120_000);

const keys = new KeyFactory();
const cluster = new RedisClusterProcesses();
let harness: Harness;

beforeAll(() => cluster.start());
afterAll(async () => {
  await cluster.stop();
  keys.cleanup();
});
afterEach(() => harness?.stop());

const start = (env: Record<string, string> = {}) =>
  startHarness({ replicas: 2, backend: 'redis', env: { REDIS_CLUSTER_NODES: cluster.nodes, ...env } });

const domainOf = (i: number) => harness.apps[i]!.keyhouse.domain;
const owner = { teamId: 'T0001', userId: OWNER_ID };

/** Every key of `namespace`, from every master. */
const storedKeys = (namespace: string): string[] =>
  cluster.masters.flatMap((m) =>
    redisCli(m.port, '--scan', '--pattern', `${namespace}*`).split('\n').filter(Boolean),
  );

/** How many times the masters ran `command` since their statistics were last reset. */
const calls = (command: string): number =>
  cluster.masters
    .map((m) =>
      Number(
        new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(redisCli(m.port, 'info', 'commandstats'))?.[1] ??
          0,
      ),
    )
    .reduce((a, b) => a + b, 0);

describe('replicas on a cluster', () => {
  beforeEach(async () => {
    harness = await start();
  });

  replicaScenarios(() => harness, keys);

  test("a workspace's documents, locks and commit records carry its team's hash tag; deployment-wide documents have their own", async () => {
    await harness.user(OWNER_ID).command('/project', 'create web');
    await harness.user(OWNER_ID).command('/sshkey', `add web ${keys.generate('ed25519').publicLine}`);
    const other = { teamId: 'T0002', userId: OWNER_ID };
    await domainOf(1).projects.create(other, 'api');
    const namespace = harness.namespace;
    const stored = storedKeys(namespace);
    const { project } = await domainOf(0).projects.show(owner, 'web');
    const { project: api } = await domainOf(0).projects.show(other, 'api');
    // The documents of each workspace, in its slot; the mapping from a project to its team beside them.
    expect(stored).toEqual(
      expect.arrayContaining([
        `${namespace}::${namespace}:{T0001}:org:T0001`,
        `${namespace}::${namespace}:{T0001}:project:${project.id}`,
        `${namespace}::${namespace}:{T0001}:keyset:${project.id}`,
        `${namespace}::${namespace}:{T0002}:org:T0002`,
        `${namespace}::${namespace}:{T0002}:project:${api.id}`,
        `${namespace}:workspace-of:${project.id}`,
        `${namespace}::${namespace}:{deployment:signing-key}:deployment:signing-key`,
      ]),
    );
    for (const key of stored) {
      if (key.startsWith(`${namespace}:workspace-of:`) || key.startsWith(`${namespace}:hit:`)) continue;
      // Every other key has a hash tag: a team, or a deployment-wide document's own name.
      expect(key).toMatch(
        /\{(T000[12]|deployment:signing-key|requests:pending|keys:expiring|keys:breakglass)\}/,
      );
    }
    expect(redisCli(cluster.masters[0]!.port, '-c', 'get', `${namespace}:workspace-of:${api.id}`)).toBe(
      'T0002',
    );
    // Both teams' documents are where each replica reads them.
    expect((await domainOf(1).projects.show(owner, 'web')).project.keys).toHaveLength(1);
  });

  test('an add is three scripts: the lock taken with its documents, the write and the release, even on a replica that did not make the project', async () => {
    await harness.user(OWNER_ID, 0).command('/project', 'create fresh');
    // The other replica has read the organization (so it guesses the project's documents), never the project.
    await harness.user(OWNER_ID, 1).command('/project', 'list');
    const window = async () => {
      for (const m of cluster.masters) redisCli(m.port, 'config', 'resetstat');
      const reply = await harness
        .user(OWNER_ID, 1)
        .command('/sshkey', `add fresh ${keys.generate('ed25519').publicLine}`);
      expect(visibleText(reply.body)).toContain('Added key');
      await new Promise((resolve) => setTimeout(resolve, 200)); // the release, sent without waiting
      // Scripts run by clients (claiming an ID for the team would be one more), and MGETs (the lock
      // script's own is the one expected).
      return { scripts: calls('evalsha') + calls('eval'), mget: calls('mget') };
    };
    // The first add on this replica: its documents were found with the lock, so nothing is claimed.
    const first = await window();
    expect(first.scripts).toBe(3);
    // The apps' minutely sweep reads the deployment's indexes (no scripts while nothing is due): a window
    // it fell into is measured again.
    const counted = first.mget === 1 ? first : await window();
    expect(counted).toEqual({ scripts: 3, mget: 1 });
  });

  test('the key route reads a project in one round trip once its team is known, on either replica', async () => {
    harness = await restart({
      KEY_RATE_LIMIT_PER_IP: '0',
      KEY_RATE_LIMIT_PER_PROJECT: '0',
      KEY_AUTH_FAILURES_PER_IP: '0',
    });
    await harness.user(OWNER_ID).command('/project', 'create web');
    await harness.user(OWNER_ID).command('/sshkey', `add web ${keys.generate('ed25519').publicLine}`);
    const text = visibleText((await harness.user(OWNER_ID).command('/project', 'token web')).body);
    const token = /```(khk_[^`]+)```/.exec(text)?.[1];
    const { project } = await domainOf(0).projects.show(owner, 'web');
    const fetchKeys = (app: number) =>
      fetch(`${harness.apps[app]!.url}/v1/projects/${project.id}/authorized_keys`, {
        headers: { authorization: `Bearer ${token}` },
      });
    // First fetches: the second replica learns the project's team (and each writes the token's use).
    for (const app of [0, 1]) expect((await fetchKeys(app)).status).toBe(200);
    // Ten fetches, counting every command the masters run meanwhile. The apps' minutely sweep reads the
    // deployment's indexes: a window it fell into is measured again (it cannot run twice in a minute).
    const window = async () => {
      for (const m of cluster.masters) redisCli(m.port, 'config', 'resetstat');
      for (let i = 0; i < 10; i += 1) {
        const response = await fetchKeys(i % 2);
        expect(response.status).toBe(200);
        expect(await response.text()).toContain('# keyhouse project=');
      }
      return { mget: calls('mget'), get: calls('get'), scripts: calls('evalsha') + calls('eval') };
    };
    const once = await window();
    const counted = once.get === 0 ? once : await window();
    expect(counted).toEqual({ mget: 10, get: 0, scripts: 0 });
  });
});

describe('requests on a cluster', () => {
  test('a request filed on one replica is approved once by clicks on both, and the sweep of the other expires the next', async () => {
    harness = await start();
    const domain = domainOf(0);
    await domain.projects.create(owner, 'web');
    await domain.projects.grant(owner, 'web', 'UALICE', 'member');
    await domain.projects.grant(owner, 'web', 'UBOB', 'admin');
    const isCard = (c: { method: string; body: Record<string, unknown> }) =>
      c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? []).includes('request_approve');
    const ask = async (app: number) => {
      const before = harness.slack.calls.filter(isCard).length;
      const line = keys.generate('ed25519').publicLine;
      await harness.user('UALICE', app).command('/sshkey', `add web --reason "on call" ${line}`);
      const until = Date.now() + 5_000;
      while (harness.slack.calls.filter(isCard).length === before && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const card = harness.slack.calls.filter(isCard)[before]!;
      return (JSON.stringify(card.body.blocks).match(/"value":"([0-9a-f-]{36})"/) ?? [])[1]!;
    };
    const first = await ask(0);
    await Promise.all(
      [0, 1].map((app) =>
        harness.client('UBOB', app).click('request_approve', first, {
          responseUrl: harness.slack.newResponseUrl(),
          channelId: 'C0APPROVE',
        }),
      ),
    );
    const until = Date.now() + 5_000;
    while ((await domainOf(1).approvals.get(owner, first)).status === 'pending' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await domainOf(1).approvals.get(owner, first)).status).toBe('approved');
    expect((await domainOf(1).keys.list(owner, 'web')).keys).toHaveLength(1);

    // The next request is in the deployment's pending index (its own slot); the other replica's sweep,
    // run past its deadline, reads the index and closes it in its workspace.
    const second = await ask(1);
    await harness.apps[1]!.keyhouse.domain.workspaces.settled();
    const swept = await harness.apps[0]!.keyhouse.sweep(new Date(Date.now() + 3 * 24 * 3600_000));
    expect(swept.expiredRequests.map((r) => r.id)).toEqual([second]);
    expect((await domainOf(1).approvals.get(owner, second)).status).toBe('expired');
    expect((await domainOf(0).keys.list(owner, 'web')).keys).toHaveLength(1);
  });
});

/** A team whose workspace lives on another master than `team`'s. */
function teamElsewhere(team: string): string {
  const master = cluster.masterOf(cluster.slotOf(`{${team}}`)).port;
  for (let i = 2; i < 200; i += 1) {
    const candidate = `T${String(i).padStart(4, '0')}`;
    if (cluster.masterOf(cluster.slotOf(`{${candidate}}`)).port !== master) return candidate;
  }
  throw new Error('every team lives on one master');
}

describe('a master killed mid-run', () => {
  test('every answer is a change that stays or "storage unavailable"; none is lost or doubled; other masters serve on', async () => {
    harness = await start();
    const elsewhere = { teamId: teamElsewhere('T0001'), userId: OWNER_ID };
    await harness.user(OWNER_ID).command('/project', 'create web');
    await domainOf(0).projects.create(elsewhere, 'api');
    // Both replicas have read both workspaces once.
    for (const i of [0, 1]) {
      await domainOf(i).projects.show(owner, 'web');
      await domainOf(i).projects.show(elsewhere, 'api');
    }
    const master = cluster.masterOf(cluster.slotOf('{T0001}'));

    const elsewhereAnswers: Outcome[] = [];
    let killed = false;
    const stream = streamOfAdds(harness, keys, 3, async (w) => {
      if (!killed) return;
      const other = await domainOf(w % 2)
        .keys.add(elsewhere, 'api', { publicKey: keys.generate('ed25519').publicLine })
        .then(
          () => 'added' as const,
          (error: Error) => outcomeOf(error.message),
        );
      elsewhereAnswers.push(other);
    });
    const { answers } = stream;
    await stream.waitForAdded(6);
    await master.kill();
    killed = true;
    const killedAt = answers.length;
    await new Promise((r) => setTimeout(r, 4_000));
    await master.start();
    await cluster.settled();
    // Serving again: wait for a few changes to land after the restart.
    const restartedAt = answers.length;
    await stream.waitForAdded(3, restartedAt, 30_000);
    await stream.stop();

    const during = answers.slice(killedAt, restartedAt);
    expect(during.length).toBeGreaterThan(0);
    expect(during.some((a) => a.outcome === 'unavailable' || a.outcome === 'unconfirmed')).toBe(true);
    expect(stream.added(restartedAt)).toBeGreaterThanOrEqual(3);

    const { keys: stored } = await domainOf(1).keys.list(owner, 'web');
    expectNoneLostOrDoubled(stored, answers);
    expect(stored.length).toBeGreaterThanOrEqual(answers.filter((a) => a.outcome === 'added').length);
    expect(stored.length).toBeLessThanOrEqual(
      answers.filter((a) => a.outcome === 'added' || a.outcome === 'unconfirmed').length,
    );
    // The workspace on a master that stayed up kept taking changes while the other was away.
    expect(elsewhereAnswers.filter((o) => o === 'added').length).toBeGreaterThan(0);
  });
});

async function restart(env: Record<string, string>): Promise<Harness> {
  await harness.stop();
  return start(env);
}

describe('a master with a replica killed mid-run', () => {
  const replicated = new RedisClusterProcesses();
  afterAll(() => replicated.stop());

  test('the cluster promotes the replica and both apps follow it: answers are changes that stay or "storage unavailable"', async () => {
    await replicated.start();
    const master = replicated.masterOf(replicated.slotOf('{T0001}'));
    const replica = await replicated.addReplica(master);
    harness = await startHarness({
      replicas: 2,
      backend: 'redis',
      env: { REDIS_CLUSTER_NODES: replicated.nodes },
    });
    await harness.user(OWNER_ID).command('/project', 'create web');

    const stream = streamOfAdds(harness, keys);
    const { answers } = stream;
    await stream.waitForAdded(5);
    // Each change was acknowledged once the replica held it too.
    const waits = Number(
      /cmdstat_wait:calls=(\d+)/.exec(redisCli(master.port, 'info', 'commandstats'))?.[1] ?? 0,
    );
    expect(waits).toBeGreaterThanOrEqual(stream.added());
    await master.kill();
    const killedAt = answers.length;
    // The old master stays dead: the apps must find the promoted replica on their own.
    await stream.waitForAdded(5, killedAt, 40_000);
    await stream.stop();

    expect(replicated.isMaster(replica.port)).toBe(true);
    const after = answers.slice(killedAt);
    expect(after.some((a) => a.outcome === 'unavailable' || a.outcome === 'unconfirmed')).toBe(true);
    expect(after.filter((a) => a.outcome === 'added').length).toBeGreaterThanOrEqual(5);
    for (const app of [0, 1]) {
      const { keys: stored } = await harness.apps[app]!.keyhouse.domain.keys.list(owner, 'web');
      expectNoneLostOrDoubled(stored, answers);
    }
  });
});
