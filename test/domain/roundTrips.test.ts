import { createDomain, type Domain } from '../../src/domain';
import { MAX_CHECKINS_READ } from '../../src/domain/deliveryRollout';
import type { DocumentStore, DocumentWrite } from '../../src/domain/storage';
import { AUDIT_PAGE_SIZE } from '../../src/domain/workspaces';
import { createDocumentStore } from '../../src/store/keyvStore';
import { tempDir, uniqueNamespace } from '../helpers/env';
import { seedProjects, seedSmallProject } from '../helpers/seed';
import { quickEd25519Line } from '../helpers/sshKeygen';

/** Counts what each use case asks of the real store: the cost of a command must not grow with the organization. */
class CountingStore implements DocumentStore {
  calls = 0;
  constructor(private readonly inner: DocumentStore) {}
  get<T>(key: string) {
    this.calls += 1;
    return this.inner.get<T>(key);
  }
  getMany<T>(keys: string[]) {
    this.calls += 1;
    return this.inner.getMany<T>(keys);
  }
  getShared<T>(keys: string[], options?: { keyFetch?: boolean }) {
    this.calls += 1;
    return this.inner.getShared<T>(keys, options);
  }
  write(changes: DocumentWrite) {
    this.calls += 1;
    return this.inner.write(changes);
  }
  withLock<T>(name: string, fn: (documents: unknown[]) => Promise<T>, reads?: string[]) {
    this.calls += 1;
    return this.inner.withLock(name, fn, reads);
  }
  hit(key: string, windowMs: number, by?: number) {
    this.calls += 1;
    return this.inner.hit(key, windowMs, by);
  }
  ping() {
    return this.inner.ping();
  }
  close() {
    return this.inner.close();
  }
}

const owner = { teamId: 'T1', userId: 'UOWNER' };

async function organizationOf(
  projects: number,
  keysEach: number,
): Promise<{ domain: Domain; store: CountingStore }> {
  const store = new CountingStore(createDocumentStore({ dataDir: tempDir(), namespace: uniqueNamespace() }));
  const domain = createDomain(store, { configuredOwners: ['UOWNER'] });
  await seedProjects(domain, owner, projects, keysEach);
  await seedSmallProject(domain, owner);
  return { domain, store };
}

async function cost(store: CountingStore, run: () => Promise<unknown>): Promise<number> {
  const before = store.calls;
  await run();
  return store.calls - before;
}

test('commands on a 10-key project cost the same in an organization of 100 projects and 10,000 keys', async () => {
  const tiny = await organizationOf(0, 0);
  const large = await organizationOf(100, 100);
  const costs = async ({ domain, store }: { domain: Domain; store: CountingStore }) => ({
    list: await cost(store, () => domain.keys.list(owner, 'small')),
    show: await cost(store, () => domain.projects.show(owner, 'small')),
    add: await cost(store, () => domain.keys.add(owner, 'small', { publicKey: quickEd25519Line('new') })),
    disable: await cost(store, () => domain.keys.change(owner, 'small', 'small-0', 'disable')),
    overview: await cost(store, () => domain.organizations.overview(owner)),
    mine: await cost(store, () => domain.keys.mine(owner)),
    members: await cost(store, () => domain.projects.members(owner, 'small')),
  });
  const few = await costs(tiny);
  const many = await costs(large);
  expect(many).toEqual(few);
  // And each is a handful of round trips. A key's list reads the organization and its project together;
  // an add takes the lock and reads what it changes with it, then writes.
  for (const value of Object.values(many)) expect(value).toBeLessThanOrEqual(8);
  expect(many.list).toBe(1);
  expect(many.add).toBe(2);
  await tiny.store.close();
  await large.store.close();
}, 60_000);

test('any page of the audit trail, deep or not, costs a few round trips', async () => {
  const { domain, store } = await organizationOf(0, 0);
  await domain.workspaces.mutate(owner.teamId, async (tx) => {
    const project = await tx.project('small');
    for (let i = 0; i < 1000; i += 1)
      tx.record({ actor: owner.userId, action: 'role.granted', target: `t-${i}` }, project);
  });
  const { pages } = await domain.organizations.audit(owner);
  expect(pages).toBeGreaterThan(50);
  const costs: number[] = [];
  for (let page = 1; page <= pages; page += 1) {
    costs.push(await cost(store, () => domain.organizations.audit(owner, undefined, { page })));
    costs.push(await cost(store, () => domain.organizations.audit(owner, 'small', { page })));
  }
  expect(Math.max(...costs)).toBeLessThanOrEqual(4);
  await store.close();
}, 60_000);

test('a change that fills a page of the audit trail costs what any other change costs', async () => {
  const { domain, store } = await organizationOf(0, 0);
  const grant = (i: number) => cost(store, () => domain.projects.grant(owner, 'small', `U${i}`, 'viewer'));
  const costs: number[] = [];
  // Enough changes to roll the security stream's head into a stored page at least once.
  for (let i = 0; i < AUDIT_PAGE_SIZE + 5; i += 1) costs.push(await grant(i));
  expect(new Set(costs).size).toBe(1);
  await store.close();
}, 60_000);

test("the dashboard and a key change read a fleet's check-ins in the same round trips at any fleet size", async () => {
  const fleet = async (instances: number) => {
    const { domain, store } = await organizationOf(0, 0);
    const { project } = await domain.projects.show(owner, 'small');
    const { serial, version } = project.keySet!;
    await domain.workspaces.mutate(owner.teamId, async (tx) => {
      const loaded = await tx.project('small');
      for (let i = 0; i < instances; i += 1) {
        loaded.resources.push({
          id: `i-${i}`,
          type: 'instance',
          name: `vm-${i}`,
          addedBy: 'keyhouse',
          createdAt: tx.at,
        });
      }
      tx.save(loaded);
    });
    // Every instance has fetched the current set, as the key route records it.
    const at = new Date().toISOString();
    await store.write({
      set: Array.from({ length: instances }, (_, i) => ({
        key: `checkin:${project.id}:i-${i}`,
        value: { at, etag: '"e"', count: 10, version, serial },
      })),
    });
    const show = await cost(store, () => domain.projects.show(owner, 'small'));
    let changed: Awaited<ReturnType<Domain['keys']['change']>> | undefined;
    const disable = await cost(store, async () => {
      changed = await domain.keys.change(owner, 'small', 'small-0', 'disable');
    });
    await store.close();
    return { costs: { show, disable }, rollout: changed!.rollout! };
  };
  const few = await fleet(3);
  const many = await fleet(2000);
  expect(many.costs).toEqual(few.costs);
  expect(few.rollout).toMatchObject({ instances: 3, read: 3, current: [] });
  expect(few.rollout.behind).toHaveLength(3);
  // A fleet larger than what one read takes is counted from its newest instances, and says so.
  expect(many.rollout).toMatchObject({ instances: 2000, read: MAX_CHECKINS_READ, current: [] });
  expect(many.rollout.behind).toHaveLength(MAX_CHECKINS_READ);
  expect(many.rollout.behind.map((f) => f.name)).toContain('vm-1999');
  expect(many.rollout.behind.map((f) => f.name)).not.toContain('vm-0');
}, 60_000);
