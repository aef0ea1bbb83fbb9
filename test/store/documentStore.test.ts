import { DomainError } from '../../src/domain/errors';
import { createDocumentStore, type StoreOptions } from '../../src/store/keyvStore';
import { REDIS_URL, tempDir, uniqueNamespace } from '../helpers/env';

type Backend = 'embedded' | 'redis';

function optionsFor(backend: Backend): StoreOptions {
  return backend === 'redis'
    ? { redisUrl: REDIS_URL, dataDir: tempDir(), namespace: uniqueNamespace() }
    : { dataDir: tempDir(), namespace: uniqueNamespace() };
}

describe.each<Backend>(['embedded', 'redis'])('document store contract (%s)', (backend) => {
  let options: StoreOptions;
  let store: ReturnType<typeof createDocumentStore>;

  beforeEach(() => {
    options = optionsFor(backend);
    store = createDocumentStore(options);
  });
  afterEach(() => store.close());

  test('reads what was written, and nothing for a missing key', async () => {
    expect(await store.get('missing')).toBeUndefined();
    await store.write({ set: [{ key: 'a', value: { n: 1, list: ['x'] } }] });
    expect(await store.get('a')).toEqual({ n: 1, list: ['x'] });
  });

  test('getShared hands every caller one frozen copy until the document changes', async () => {
    await store.write({ set: [{ key: 'a', value: { n: 1, list: [{ x: 1 }] } }] });
    const [first] = await store.getShared<{ n: number; list: { x: number }[] }>(['a']);
    const [again] = await store.getShared<{ n: number; list: { x: number }[] }>(['a']);
    expect(again).toBe(first);
    // A caller that tried to change it would change it for all: it cannot, however deep.
    expect(() => {
      first!.list[0]!.x = 2;
    }).toThrow(TypeError);
    expect(() => first!.list.push({ x: 3 })).toThrow(TypeError);
    await store.write({ set: [{ key: 'a', value: { n: 2, list: [] } }] });
    expect(await store.getShared(['a'])).toEqual([{ n: 2, list: [] }]);
    expect(first).toEqual({ n: 1, list: [{ x: 1 }] });
  });

  test('getMany keeps the order of the keys and marks missing ones', async () => {
    await store.write({
      set: [
        { key: 'a', value: 1 },
        { key: 'c', value: 3 },
      ],
    });
    expect(await store.getMany(['c', 'b', 'a'])).toEqual([3, undefined, 1]);
    expect(await store.getMany([])).toEqual([]);
  });

  test('a write sets then deletes', async () => {
    await store.write({
      set: [
        { key: 'a', value: 1 },
        { key: 'b', value: 2 },
      ],
    });
    await store.write({ set: [{ key: 'c', value: 3 }], delete: ['a'] });
    expect(await store.getMany(['a', 'b', 'c'])).toEqual([undefined, 2, 3]);
  });

  test('the documents named with a lock are handed to its holder as they are then, in order', async () => {
    await store.write({
      set: [
        { key: 'org:T1', value: { name: 'acme' } },
        { key: 'gone', value: 'soon', ttlMs: 30 },
        { key: 'colon', value: ':starts with a colon' },
      ],
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    const seen = await store.withLock('org:T1', (documents) => Promise.resolve(documents), [
      'colon',
      'org:T1',
      'missing',
      'gone',
    ]);
    expect(seen).toEqual([':starts with a colon', { name: 'acme' }, undefined, undefined]);
    expect(await store.withLock('org:T1', (documents) => Promise.resolve(documents))).toEqual([]);
  });

  test('a document with a TTL disappears after it', async () => {
    // Long enough to be read back on a loaded machine, short enough for a test.
    await store.write({ set: [{ key: 'short', value: 'x', ttlMs: 600 }] });
    expect(await store.get('short')).toBe('x');
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(await store.get('short')).toBeUndefined();
  });

  test('namespaces keep stores apart', async () => {
    const other = createDocumentStore({ ...optionsFor(backend), dataDir: options.dataDir });
    try {
      await store.write({ set: [{ key: 'a', value: 'mine' }] });
      expect(await other.get('a')).toBeUndefined();
    } finally {
      await other.close();
    }
  });

  test('what was written survives closing and reopening', async () => {
    await store.write({ set: [{ key: 'kept', value: { ok: true } }] });
    await store.close();
    store = createDocumentStore(options);
    expect(await store.get('kept')).toEqual({ ok: true });
  });

  test('read-modify-write under the lock loses no update', async () => {
    // Two store instances stand for two replicas (on the embedded store they share one process's mutex
    // only when they are the same instance, so the embedded case uses one instance).
    const second = backend === 'redis' ? createDocumentStore(options) : store;
    try {
      await store.write({ set: [{ key: 'counter', value: 0 }] });
      const increment = (s: typeof store) =>
        s.withLock('counter', async () => {
          const value = (await s.get<number>('counter')) ?? 0;
          await new Promise((resolve) => setImmediate(resolve));
          await s.write({ set: [{ key: 'counter', value: value + 1 }] });
        });
      await Promise.all(Array.from({ length: 40 }, (_, i) => increment(i % 2 ? second : store)));
      expect(await store.get('counter')).toBe(40);
    } finally {
      if (second !== store) await second.close();
    }
  });

  test('a lock held too long makes the next caller fail as busy, and changes nothing', async () => {
    const impatient = createDocumentStore({ ...options, lock: { leaseMs: 5000, waitMs: 100 } });
    // On Redis a second instance stands for another replica; the embedded lock lives in one instance.
    const holder = backend === 'redis' ? store : impatient;
    const waiter = impatient;
    try {
      let release!: () => void;
      const held = holder.withLock('slow', () => new Promise<void>((resolve) => (release = resolve)));
      await new Promise((resolve) => setTimeout(resolve, 20));
      const attempt = waiter.withLock('slow', async () => {
        await waiter.write({ set: [{ key: 'changed', value: true }] });
      });
      await expect(attempt).rejects.toMatchObject({ code: 'busy' });
      release();
      await held;
      expect(await waiter.get('changed')).toBeUndefined();
    } finally {
      await impatient.close();
    }
  });

  test('an error inside the lock keeps its meaning and frees the lock', async () => {
    await expect(
      store.withLock('x', async () => {
        throw new DomainError('conflict', 'taken');
      }),
    ).rejects.toMatchObject({ code: 'conflict', message: 'taken' });
    await expect(store.withLock('x', async () => 'free')).resolves.toBe('free');
  });
});

describe('an unreachable Redis is reported, never silently ignored', () => {
  const store = createDocumentStore({
    redisUrl: 'redis://127.0.0.1:1',
    dataDir: tempDir(),
    namespace: uniqueNamespace(),
  });
  afterAll(() => store.close());

  test.each([
    ['get', () => store.get('a')],
    ['getMany', () => store.getMany(['a', 'b'])],
    ['write', () => store.write({ set: [{ key: 'a', value: 1 }] })],
    ['lock', () => store.withLock('a', async () => 1)],
    ['ping', () => store.ping()],
  ])('%s fails with "storage unavailable"', async (_name, operation) => {
    await expect(operation()).rejects.toMatchObject({
      code: 'storage_unavailable',
      message: expect.stringMatching(/Storage is unavailable right now, so nothing was changed/),
    });
  });
});
