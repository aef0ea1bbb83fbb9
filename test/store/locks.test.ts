import { spawnSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { isDomainError } from '../../src/domain/errors';
import { createDocumentStore } from '../../src/store/keyvStore';
import { REDIS_URL, tempDir, uniqueNamespace } from '../helpers/env';

/**
 * The lock's invariant under a flood: at most one holder is ever inside, callers that give up change
 * nothing, and every change acknowledged as done is in the store.
 */
describe.each(['embedded', 'redis'] as const)(
  'a workspace lock under 60 concurrent changes (%s)',
  (backend) => {
    test('excludes, and every acknowledged change is stored', async () => {
      const store = createDocumentStore({
        dataDir: tempDir(),
        namespace: uniqueNamespace(),
        // A short wait, so that many callers give up while others are inside.
        lock: { leaseMs: 15_000, waitMs: 60 },
        ...(backend === 'redis' ? { redisUrl: REDIS_URL } : {}),
      });
      try {
        let inside = 0;
        let mostInside = 0;
        const change = (id: number) =>
          store.withLock('org:T1', async () => {
            inside += 1;
            mostInside = Math.max(mostInside, inside);
            const list = (await store.get<number[]>('changes')) ?? [];
            await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 20));
            await store.write({ set: [{ key: 'changes', value: [...list, id] }] });
            inside -= 1;
            return id;
          });
        // Callers keep arriving in bursts while earlier ones give up, as in a real flood.
        const arrive = async (id: number) => {
          await new Promise((resolve) => setTimeout(resolve, Math.floor(id / 10) * 70));
          return change(id);
        };
        const outcomes = await Promise.allSettled(Array.from({ length: 60 }, (_, id) => arrive(id)));
        const acknowledged = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
        const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));

        expect(mostInside).toBe(1);
        // Some gave up (the flood is longer than the wait), each with the "busy" answer.
        expect(refused.length).toBeGreaterThan(0);
        expect(refused.every((error) => isDomainError(error) && error.code === 'busy')).toBe(true);
        expect(acknowledged.length).toBeGreaterThan(0);
        const stored = (await store.get<number[]>('changes')) ?? [];
        expect([...stored].sort((a, b) => a - b)).toEqual([...acknowledged].sort((a, b) => a - b));
        // Afterwards the lock is free again.
        await expect(store.withLock('org:T1', () => Promise.resolve('free'))).resolves.toBe('free');
      } finally {
        await store.close();
      }
    });
  },
);

test('two embedded stores opened on one directory by different paths share one lock', async () => {
  const dir = tempDir();
  const link = `${dir}-link`;
  symlinkSync(dir, link);
  const first = createDocumentStore({
    dataDir: dir,
    namespace: 'shared',
    lock: { leaseMs: 15_000, waitMs: 2000 },
  });
  const second = createDocumentStore({
    dataDir: link,
    namespace: 'shared',
    lock: { leaseMs: 15_000, waitMs: 2000 },
  });
  try {
    await first.open();
    await second.open();
    let inside = 0;
    let mostInside = 0;
    const change = (store: typeof first) =>
      store.withLock('org:T1', async () => {
        inside += 1;
        mostInside = Math.max(mostInside, inside);
        const count = (await store.get<number>('count')) ?? 0;
        await new Promise((resolve) => setTimeout(resolve, 2));
        await store.write({ set: [{ key: 'count', value: count + 1 }] });
        inside -= 1;
      });
    await Promise.all(Array.from({ length: 20 }, (_, i) => change(i % 2 ? first : second)));
    expect(mostInside).toBe(1);
    expect(await first.get('count')).toBe(20);
  } finally {
    await first.close();
    await second.close();
  }
});

test('a lock released just before the store closes is free afterwards, even when Redis had forgotten its scripts', async () => {
  const namespace = uniqueNamespace();
  const store = createDocumentStore({ dataDir: tempDir(), namespace, redisUrl: REDIS_URL });
  const redis = (...args: string[]) =>
    spawnSync('redis-cli', ['-u', REDIS_URL, ...args], { encoding: 'utf8' }).stdout.trim();
  // Redis forgets its scripts (a restart, a failover) while the lock is held: the release is answered
  // NOSCRIPT and sent again as text, after the caller already has its answer.
  await store.withLock('org:T1', async () => {
    redis('SCRIPT', 'FLUSH');
  });
  await store.close();
  expect(redis('EXISTS', `${namespace}:lock:org:T1`)).toBe('0');
});
