import { randomUUID } from 'node:crypto';
import { keySlot } from '../../src/store/clusterReplicas';
import { createDocumentStore, type KeyvDocumentStore } from '../../src/store/keyvStore';
import { parseRedisNodes, type RedisNode } from '../../src/store/redisClients';
import { tempDir, uniqueNamespace } from '../helpers/env';
import { RedisClusterProcesses, redisCli } from '../helpers/redisCluster';

/** The document store on a real three-master Redis Cluster: where keys go, and what it refuses. */
jest.setTimeout(60_000);

const cluster = new RedisClusterProcesses();
const stores: KeyvDocumentStore[] = [];
beforeAll(() => cluster.start());
afterAll(async () => {
  for (const store of stores) await store.close();
  await cluster.stop();
});

const open = (namespace = uniqueNamespace()) => {
  const store = createDocumentStore({
    redisCluster: parseRedisNodes(cluster.nodes) as RedisNode[],
    namespace,
    dataDir: tempDir(),
  });
  stores.push(store);
  return { store, namespace };
};

/** Runs `fn` as a change of workspace `team` (under its lock, as Workspaces.mutate does). */
const inWorkspace = <T>(store: KeyvDocumentStore, team: string, fn: () => Promise<T>) =>
  store.withLock(`org:${team}`, fn);

test("a workspace's documents are written in its slot and read back from anywhere, by another process too", async () => {
  const { store, namespace } = open();
  const project = randomUUID();
  await inWorkspace(store, 'T1', () =>
    store.write({
      set: [
        { key: 'org:T1', value: { teamId: 'T1' } },
        { key: `project:${project}`, value: { id: project } },
        { key: `keyset:${project}`, value: { serial: 1 } },
      ],
    }),
  );
  const slot = cluster.slotOf('{T1}');
  for (const key of [`org:T1`, `project:${project}`, `keyset:${project}`]) {
    expect(cluster.slotOf(`${namespace}::${namespace}:{T1}:${key}`)).toBe(slot);
  }
  // Another process learns the project's team from the mapping, then reads both in one MGET.
  const { store: other } = open(namespace);
  expect(await other.getShared([`tokens:${project}`, `keyset:${project}`])).toEqual([
    undefined,
    { serial: 1 },
  ]);
  expect(await other.get(`project:${project}`)).toEqual({ id: project });
  expect(await other.getMany(['org:T1', `project:${project}`])).toEqual([{ teamId: 'T1' }, { id: project }]);
  // An ID no workspace owns is a missing document, not an error.
  expect(await other.get(`project:${randomUUID()}`)).toBeUndefined();
});

test('a document outside any change goes to its workspace; one of an unknown ID is refused', async () => {
  const { store, namespace } = open();
  const project = randomUUID();
  await inWorkspace(store, 'T2', () => store.write({ set: [{ key: `project:${project}`, value: {} }] }));
  // The key route records a check-in without the workspace's lock.
  await store.write({ set: [{ key: `checkin:${project}:r1`, value: { at: 'now' } }] });
  expect(
    redisCli(
      cluster.masters[0]!.port,
      '-c',
      'exists',
      `${namespace}::${namespace}:{T2}:checkin:${project}:r1`,
    ),
  ).toBe('1');
  await expect(
    store.write({ set: [{ key: `checkin:${randomUUID()}:r1`, value: {} }] }),
  ).rejects.toMatchObject({
    code: 'storage_unavailable',
  });
});

test('one write never spans workspaces, nor takes an ID of another workspace', async () => {
  const { store } = open();
  const project = randomUUID();
  await inWorkspace(store, 'T3', () =>
    store.write({ set: [{ key: `project:${project}`, value: { v: 1 } }] }),
  );
  await expect(
    inWorkspace(store, 'T4', () =>
      store.write({
        set: [
          { key: `project:${project}`, value: { v: 2 } },
          { key: 'org:T4', value: {} },
        ],
      }),
    ),
  ).rejects.toMatchObject({
    code: 'storage_unavailable',
    cause: expect.objectContaining({ message: expect.stringMatching(/belongs to another workspace/) }),
  });
  await expect(
    inWorkspace(store, 'T3', () =>
      store.write({
        set: [
          { key: 'org:T3', value: {} },
          { key: 'requests:pending', value: { requests: [] } },
        ],
      }),
    ),
  ).rejects.toMatchObject({
    code: 'storage_unavailable',
    cause: expect.objectContaining({ message: expect.stringMatching(/^one write may change one workspace/) }),
  });
  expect(await store.get(`project:${project}`)).toEqual({ v: 1 });
});

test('a deployment-wide document has a slot of its own and is changed under its own lock, also inside a change', async () => {
  const { store, namespace } = open();
  await inWorkspace(store, 'T5', () =>
    // Bookkeeping started inside a workspace's change (afterCommit) takes the index's own lock.
    store.withLock('requests:pending', () =>
      store.write({ set: [{ key: 'requests:pending', value: { requests: ['r'] } }] }),
    ),
  );
  expect(await store.get('requests:pending')).toEqual({ requests: ['r'] });
  expect(
    redisCli(
      cluster.masters[0]!.port,
      '-c',
      'exists',
      `${namespace}::${namespace}:{requests:pending}:requests:pending`,
    ),
  ).toBe('1');
});

test('the store computes the slot of a key as Redis does', () => {
  for (const key of [
    'keyhouse:{T1}:commit:x',
    'plain-key',
    '{}x',
    'a{b}c{d}',
    `${randomUUID()}`,
    'ünï{cødé}',
  ]) {
    expect(keySlot(key)).toBe(cluster.slotOf(key));
  }
});
