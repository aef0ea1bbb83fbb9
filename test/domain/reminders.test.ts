import { createDomain, type Domain } from '../../src/domain';
import type { DocumentStore } from '../../src/domain/storage';
import { createDocumentStore } from '../../src/store/keyvStore';
import { actor, OWNER, refusal } from '../helpers/domain';
import { tempDir, uniqueNamespace } from '../helpers/env';
import { KeyFactory } from '../helpers/sshKeygen';

/**
 * Reminders cost a constant number of store round trips per reminder due, whatever else is pending,
 * and the requester's controls refuse what is not theirs without changing anything.
 */
const keys = new KeyFactory();
afterAll(() => keys.cleanup());

const R = 30 * 60_000;
const start = Date.parse('2026-03-01T09:00:00.000Z');

/** Counts every call that reaches the store (each is one round trip, or one lock). */
function counting(store: DocumentStore): { store: DocumentStore; calls: () => number } {
  let calls = 0;
  const wrapped = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, calls: () => calls };
}

async function withPending(count: number): Promise<{ domain: Domain; calls: () => number }> {
  let now = start;
  const backend = createDocumentStore({ dataDir: tempDir(), namespace: uniqueNamespace() });
  const { store, calls } = counting(backend);
  const domain = createDomain(store, { configuredOwners: [OWNER], now: () => new Date(now) });
  await domain.projects.create(actor(OWNER), 'web');
  await domain.projects.grant(actor(OWNER), 'web', 'UALICE', 'member');
  for (let i = 0; i < count; i += 1) {
    now = start + i; // filed within the same millisecond or so: all due together
    await domain.keys.add(actor('UALICE'), 'web', { publicKey: keys.generate('ed25519').publicLine });
  }
  await domain.workspaces.settled();
  return { domain, calls };
}

async function cost(
  domain: Domain,
  calls: () => number,
  at: number,
): Promise<{ sent: number; calls: number }> {
  const before = calls();
  const sent = (await domain.reminders.remindDue(new Date(at))).length;
  return { sent, calls: calls() - before };
}

test('each reminder due costs the same round trips, however many are due; pending ones not due cost none', async () => {
  const runs = [await withPending(1), await withPending(2), await withPending(4)];
  // Nothing due yet: the index alone is read, however many requests are pending.
  const idle = await Promise.all(runs.map((r) => cost(r.domain, r.calls, start + R - 1000)));
  expect(idle.map((c) => c.sent)).toEqual([0, 0, 0]);
  expect(new Set(idle.map((c) => c.calls)).size).toBe(1);

  const due = await Promise.all(runs.map((r) => cost(r.domain, r.calls, start + R + 1000)));
  expect(due.map((c) => c.sent)).toEqual([1, 2, 4]);
  const [one, two, four] = due.map((c, i) => c.calls - idle[i]!.calls) as [number, number, number];
  const perReminder = two - one;
  expect(perReminder).toBeGreaterThan(0);
  expect(four - two).toBe(2 * perReminder);
  // Claimed: the same sweep again sends nothing, and reads only the index.
  expect(await cost(runs[2]!.domain, runs[2]!.calls, start + R + 2000)).toEqual(idle[2]);
});

test('cancelling is for a requester only, and once', async () => {
  const { domain } = await withPending(1);
  const { project } = await domain.projects.show(actor(OWNER), 'web');
  const id = project.pendingRequests![0]!.id;
  expect((await refusal(domain.requester.cancel(actor(OWNER), id))).message).toMatch(
    /Only who asked for it \(<@UALICE>\) can cancel this request/,
  );
  expect((await domain.approvals.get(actor(OWNER), id)).status).toBe('pending');
  expect((await domain.requester.cancel(actor('UALICE'), id)).outcome).toBe('cancelled');
  expect((await refusal(domain.requester.cancel(actor('UALICE'), id))).message).toMatch(
    /This request was cancelled by <@UALICE> on .* so nothing was added/,
  );
});

test('one who joined a request leaves it by cancelling; it stays open for the others', async () => {
  const { domain } = await withPending(0);
  await domain.projects.grant(actor(OWNER), 'web', 'UCAROL', 'member');
  const line = keys.generate('ed25519').publicLine;
  await domain.keys.add(actor('UALICE'), 'web', { publicKey: line });
  await domain.keys.add(actor('UCAROL'), 'web', { publicKey: line });
  const { project } = await domain.projects.show(actor(OWNER), 'web');
  const id = project.pendingRequests![0]!.id;
  expect((await domain.approvals.get(actor(OWNER), id)).requesters).toEqual(['UALICE', 'UCAROL']);
  const left = await domain.requester.cancel(actor('UCAROL'), id);
  expect(left.outcome).toBe('left');
  expect(await domain.approvals.get(actor(OWNER), id)).toMatchObject({
    status: 'pending',
    requesters: ['UALICE'],
  });
  expect((await domain.requester.cancel(actor('UALICE'), id)).outcome).toBe('cancelled');
});
