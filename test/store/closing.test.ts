import { isDomainError } from '../../src/domain/errors';
import { createDocumentStore } from '../../src/store/keyvStore';
import { REDIS_URL, tempDir, uniqueNamespace } from '../helpers/env';

/**
 * A replica that stops while it still holds a lock (its stop cut work short) frees the lock as its store
 * closes: the other replicas need not wait out the 15 s lease, and the cut work changes nothing.
 */
test('closing a Redis store frees the locks it holds, and the holder cut short changes nothing', async () => {
  const namespace = uniqueNamespace();
  const options = { dataDir: tempDir(), namespace, redisUrl: REDIS_URL };
  const stopping = createDocumentStore(options);
  const other = createDocumentStore(options);
  try {
    await other.write({ set: [{ key: 'doc', value: 'before' }] });
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    let goOn!: () => void;
    const held = stopping.withLock('org:T1', async () => {
      entered();
      await new Promise<void>((resolve) => (goOn = resolve));
      await stopping.write({ set: [{ key: 'doc', value: 'from the stopped replica' }] });
    });
    await inside;
    await stopping.close();

    // The other replica takes the lock at once, not after the lease.
    const started = Date.now();
    await other.withLock('org:T1', () => other.write({ set: [{ key: 'doc', value: 'after' }] }));
    expect(Date.now() - started).toBeLessThan(1_000);

    // The holder, cut short, cannot write any more: its change is refused, not stored.
    goOn();
    const outcome = await held.then(
      () => 'written',
      (error: unknown) => (isDomainError(error) ? error.code : String(error)),
    );
    expect(['busy', 'storage_unavailable']).toContain(outcome);
    expect(await other.get('doc')).toBe('after');
  } finally {
    await other.close();
  }
});
