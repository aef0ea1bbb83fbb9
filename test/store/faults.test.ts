import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { type DomainError, isDomainError } from '../../src/domain/errors';
import { createDocumentStore, type KeyvDocumentStore } from '../../src/store/keyvStore';
import { tempDir, uniqueNamespace } from '../helpers/env';
import { HoldingProxy, RedisProcess } from '../helpers/redisServer';

/**
 * Real faults on a Redis of the test's own: paused (SIGSTOP, as in a partition or a stuck failover),
 * killed and restarted; and a replica process paused past its lock lease.
 */
const redis = new RedisProcess();
const stores: KeyvDocumentStore[] = [];

function newStore(namespace: string, lock = { leaseMs: 15_000, waitMs: 2000 }): KeyvDocumentStore {
  const store = createDocumentStore({
    redisUrl: redis.url,
    dataDir: tempDir(),
    namespace,
    lock,
    timeoutMs: 1000,
  });
  stores.push(store);
  return store;
}

/** How an operation ended, and how long it took. */
async function timed(
  operation: () => Promise<unknown>,
): Promise<{ code: string; ms: number; message?: string }> {
  const started = Date.now();
  try {
    await operation();
    return { code: 'ok', ms: Date.now() - started };
  } catch (error) {
    return {
      code: isDomainError(error) ? (error as DomainError).code : 'unexpected',
      ms: Date.now() - started,
      message: error instanceof Error ? error.message : String(error),
    };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(() => redis.start());
afterEach(() => redis.resume());
afterAll(async () => {
  for (const store of stores) await store.close();
  await redis.kill();
});

test('a paused Redis: every operation answers "storage unavailable" within its deadline', async () => {
  const store = newStore(uniqueNamespace());
  await store.write({ set: [{ key: 'doc', value: 'before' }] });
  redis.pause();
  const outcomes = [
    await timed(() => store.get('doc')),
    await timed(() => store.getMany(['doc', 'other'])),
    await timed(() => store.write({ set: [{ key: 'doc', value: 'during' }] })),
    await timed(() => store.withLock('org:T1', () => Promise.resolve())),
    await timed(() => store.hit('ip:1', 60_000)),
    await timed(() => store.ping()),
  ];
  for (const outcome of outcomes) {
    expect(outcome.code).toBe('storage_unavailable');
    // One deadline; a write also asks, briefly, whether it was applied.
    expect(outcome.ms).toBeLessThan(2000);
  }
  // A write that was sent and not answered is not claimed to have changed nothing.
  expect(outcomes[2]?.message).toMatch(/cannot tell whether this change was saved/);
  expect(outcomes[0]?.message).toMatch(/nothing was changed/);
  redis.resume();
  await sleep(300);
  // It did not land when Redis woke up: it came after its deadline.
  expect(await store.get('doc')).toBe('before');
});

test('a write given up on while Redis is paused never lands, and the lock is free again after', async () => {
  const namespace = uniqueNamespace();
  const store = newStore(namespace);
  await store.write({ set: [{ key: 'doc', value: 'before' }] });
  const outcome = await timed(() =>
    store.withLock('org:T1', async () => {
      await store.get('doc');
      redis.pause(); // the MULTI of old was sent here and ran when Redis woke up
      await store.write({ set: [{ key: 'doc', value: 'told it failed' }], delete: ['other'] });
    }),
  );
  expect(outcome.code).toBe('storage_unavailable');
  expect(outcome.message).toMatch(/cannot tell whether this change was saved/);
  await sleep(1200); // longer than the caller's deadline: the write waits in Redis's socket
  redis.resume();
  await sleep(300);
  const replica = newStore(namespace);
  expect(await replica.get('doc')).toBe('before');
  // The lock the failed change held was released when Redis woke up: no 15 s lease to wait out.
  expect(await timed(() => replica.withLock('org:T1', () => Promise.resolve()))).toMatchObject({
    code: 'ok',
  });
});

test('a write applied whose answer is held up is reported as done, not as failed', async () => {
  const proxy = new HoldingProxy(redis.port);
  await proxy.start();
  const store = createDocumentStore({
    redisUrl: proxy.url,
    dataDir: tempDir(),
    namespace: uniqueNamespace(),
    timeoutMs: 1000,
  });
  try {
    await store.write({ set: [{ key: 'doc', value: 'before' }] });
    const outcome = store.withLock('org:T1', async () => {
      proxy.hold(); // Redis applies the write at once; its answer is stuck on the way back
      const written = store.write({ set: [{ key: 'doc', value: 'after' }] });
      setTimeout(() => proxy.release(), 1100); // after the deadline: the confirmation gets through
      await written;
    });
    await expect(outcome).resolves.toBeUndefined();
    expect(await store.get('doc')).toBe('after');
  } finally {
    await store.close();
    await proxy.stop();
  }
});

test('a lock asked for while Redis is paused does not stay taken once it wakes up', async () => {
  const namespace = uniqueNamespace();
  const store = newStore(namespace);
  await store.ping();
  redis.pause();
  expect((await timed(() => store.withLock('org:T1', () => Promise.resolve()))).code).toBe(
    'storage_unavailable',
  );
  redis.resume();
  await sleep(300);
  const replica = newStore(namespace);
  const outcome = await timed(() => replica.withLock('org:T1', () => Promise.resolve()));
  expect(outcome.code).toBe('ok');
  expect(outcome.ms).toBeLessThan(1000);
});

test('a replica paused past its lock lease cannot overwrite the change made after it', async () => {
  const namespace = uniqueNamespace();
  const store = newStore(namespace);
  await store.write({ set: [{ key: 'doc', value: 'first' }] });
  const root = join(__dirname, '..', '..');
  const child: ChildProcess = spawn(
    process.execPath,
    // One process, so signals reach it (tsx's CLI would run it as a child that outlives a SIGKILL).
    ['--import', 'tsx', join(root, 'test/fixtures/pausedHolder.ts')],
    {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        REDIS_URL: redis.url,
        STORE_NAMESPACE: namespace,
        DATA_DIR: tempDir(),
        LEASE_MS: '500',
        HOLD_MS: '800',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const said = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the replica did not say "${text}": ${output}`)),
        20_000,
      );
      const check = () => {
        if (output.includes(text)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        check();
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      check();
    });
  await said('holding first');
  child.kill('SIGSTOP'); // a long GC pause, a slow disk, a stopped VM
  await sleep(700); // past its 500 ms lease
  await store.withLock('org:T1', async () => {
    await store.write({ set: [{ key: 'doc', value: 'second' }] });
  });
  child.kill('SIGCONT');
  await said('outcome');
  expect(output).toContain('outcome busy');
  expect(await store.get('doc')).toBe('second');
});

test('a Redis killed and restarted: operations fail fast while it is away and work again after', async () => {
  const store = newStore(uniqueNamespace());
  await store.write({ set: [{ key: 'doc', value: 'kept' }] });
  await redis.kill();
  const away = await timed(() => store.get('doc'));
  expect(away.code).toBe('storage_unavailable');
  expect(away.ms).toBeLessThan(1500);
  await redis.start(); // same port, empty (no persistence in this test server)
  let back = { code: 'storage_unavailable', ms: 0 };
  for (let i = 0; i < 50 && back.code !== 'ok'; i += 1) {
    await sleep(200);
    back = await timed(() => store.write({ set: [{ key: 'doc', value: 'after' }] }));
  }
  expect(back.code).toBe('ok');
  expect(await store.get('doc')).toBe('after');
});
