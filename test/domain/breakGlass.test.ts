import { createDomain, type Domain } from '../../src/domain';
import { expiryAtApproval } from '../../src/domain/keyPolicy';
import type { Project } from '../../src/domain/model';
import type { DocumentStore } from '../../src/domain/storage';
import { createDocumentStore } from '../../src/store/keyvStore';
import { tempDir, uniqueNamespace } from '../helpers/env';
import { refusal } from '../helpers/domain';
import { seedProjects } from '../helpers/seed';
import { quickEd25519Line } from '../helpers/sshKeygen';

/** Break-glass and key lifetimes in the domain: their cost, and the lifetime arithmetic. */

const owner = { teamId: 'T1', userId: 'UOWNER' };
const oncall = { teamId: 'T1', userId: 'UONCALL' };
const GROUP = 'S0ONCALL';

/** The real store, counting every call the domain makes of it. */
function counting(inner: DocumentStore): { store: DocumentStore; calls: () => number } {
  let calls = 0;
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'ping' || property === 'close') return value;
      return (...args: unknown[]) => {
        calls += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, calls: () => calls };
}

async function organizationOf(projects: number, keysEach: number) {
  const { store, calls } = counting(
    createDocumentStore({ dataDir: tempDir(), namespace: uniqueNamespace() }),
  );
  let slackCalls = 0;
  const domain = createDomain(store, {
    configuredOwners: ['UOWNER'],
    onCallMembers: async (_team, group) => {
      slackCalls += 1;
      return group === GROUP ? ['UONCALL', 'UONCALL2'] : [];
    },
  });
  await seedProjects(domain, owner, projects, keysEach);
  await domain.projects.create(owner, 'small');
  await domain.projects.updateSettings(owner, 'small', { breakGlass: 'on' });
  await domain.breakGlass.setOnCallGroup(owner, { id: GROUP, handle: 'oncall' });
  return { domain, store, calls, slackCalls: () => slackCalls };
}

/** What `run` costs, with the index bookkeeping that follows its commit. */
async function cost(domain: Domain, calls: () => number, run: () => Promise<unknown>): Promise<number> {
  const before = calls();
  await run();
  await domain.workspaces.settled();
  return calls() - before;
}

test('adding, reviewing and sweeping break-glass keys costs the same in a small and a large organization', async () => {
  const costs = async ({ domain, calls }: Awaited<ReturnType<typeof organizationOf>>) => {
    const first = await domain.breakGlass.add(oncall, 'small', {
      publicKey: quickEd25519Line('one'),
      reason: 'incident',
    });
    await domain.workspaces.settled();
    const add = await cost(domain, calls, () =>
      domain.breakGlass.add({ ...oncall, userId: 'UONCALL2' }, 'small', {
        publicKey: quickEd25519Line('two'),
        reason: 'incident',
      }),
    );
    const keep = await cost(domain, calls, () => domain.breakGlass.review(owner, first.key.id, 'keep'));
    await domain.workspaces.settled();
    const sweep = await cost(domain, calls, () =>
      domain.breakGlass.markUnreviewed(new Date(Date.now() + 9 * 3600_000)),
    );
    return { add, keep, sweep };
  };
  const small = await organizationOf(0, 0);
  const large = await organizationOf(60, 100);
  const few = await costs(small);
  const many = await costs(large);
  expect(many).toEqual(few);
  // A handful each, the deployment-wide indexes that follow a commit included.
  for (const value of Object.values(many)) expect(value).toBeLessThanOrEqual(14);
}, 60_000);

test('membership is asked of Slack before the lock, and a refusal writes nothing', async () => {
  const { domain, slackCalls } = await organizationOf(0, 0);
  const stranger = { teamId: 'T1', userId: 'USTRANGER' };
  const error = await refusal(
    domain.breakGlass.add(stranger, 'small', { publicKey: quickEd25519Line('x'), reason: 'why' }),
  );
  expect(error.message).toMatch(/members of @oncall, and you are not one/);
  expect(slackCalls()).toBe(1);
  expect((await domain.keys.list(owner, 'small')).keys).toHaveLength(0);
  // No reason: refused before Slack is asked.
  await refusal(domain.breakGlass.add(oncall, 'small', { publicKey: quickEd25519Line('y') }));
  expect(slackCalls()).toBe(1);
});

describe('a requested key at approval', () => {
  const project = (maxKeyLifetime?: Project['settings']['maxKeyLifetime']) =>
    ({ settings: { approvalsRequired: 1, ...(maxKeyLifetime ? { maxKeyLifetime } : {}) } }) as Project;
  const at = '2026-01-01T00:00:00.000Z';

  test('without a limit keeps what was asked', () => {
    expect(expiryAtApproval(project(), undefined, undefined, at)).toBeUndefined();
    expect(expiryAtApproval(project(), '2026-03-01T00:00:00.000Z', undefined, at)).toBe(
      '2026-03-01T00:00:00.000Z',
    );
  });

  test('without an expiry gets the limit counted from approval; the stricter limit wins', () => {
    expect(expiryAtApproval(project('3d'), undefined, undefined, at)).toBe('2026-01-04T00:00:00.000Z');
    expect(expiryAtApproval(project('30d'), undefined, '8h', at)).toBe('2026-01-01T08:00:00.000Z');
    // The limit was lifted while the request waited: the one it was asked under still holds.
    expect(expiryAtApproval(project('none'), undefined, '3d', at)).toBe('2026-01-04T00:00:00.000Z');
  });

  test('an expiry beyond a limit tightened meanwhile is cut to it', () => {
    expect(expiryAtApproval(project('8h'), '2026-01-02T12:00:00.000Z', undefined, at)).toBe(
      '2026-01-01T08:00:00.000Z',
    );
    expect(expiryAtApproval(project('3d'), '2026-01-02T12:00:00.000Z', undefined, at)).toBe(
      '2026-01-02T12:00:00.000Z',
    );
  });
});
