import type { Domain } from '../../src/domain';
import { MAX_KEYS_PER_PROJECT, MAX_PENDING_REQUESTS_PER_REQUESTER } from '../../src/domain/limits';
import type { KeyvDocumentStore } from '../../src/store/keyvStore';
import { actor, embeddedDomain, OWNER, refusal } from '../helpers/domain';
import { quickEd25519Line } from '../helpers/sshKeygen';

let domain: Domain;
let store: KeyvDocumentStore;
const owner = actor(OWNER);
const alice = actor('UALICE'); // member of web and api
const bob = actor('UBOB'); // admin of web

beforeEach(async () => {
  ({ domain, store } = embeddedDomain());
  await domain.projects.create(owner, 'web');
  await domain.projects.create(owner, 'api');
  await domain.projects.grant(owner, 'web', 'UALICE', 'member');
  await domain.projects.grant(owner, 'api', 'UALICE', 'member');
  await domain.projects.grant(owner, 'web', 'UBOB', 'admin');
});
afterEach(() => store.close());

async function ask(project = 'web', line = quickEd25519Line('alice')) {
  const outcome = await domain.keys.add(alice, project, { publicKey: line });
  if (outcome.kind !== 'requested') throw new Error('expected a request');
  return outcome.request;
}

const pendingOf = async (project: string) =>
  (await domain.projects.show(owner, project)).project.pendingRequests ?? [];

/** Fills a project with plain key records up to `count`, the fast way (no parsing needed to count). */
async function fillKeys(project: string, count: number): Promise<void> {
  await domain.workspaces.mutate(owner.teamId, async (tx) => {
    const loaded = await tx.project(project);
    for (let k = loaded.keys.length; k < count; k += 1) {
      loaded.keys.push({
        id: `filler-${k}`,
        name: `filler-${k}`,
        publicKey: `ssh-ed25519 AAAA${k}`,
        type: 'ssh-ed25519',
        bits: 256,
        fingerprint: `SHA256:filler${k}`,
        comment: '',
        addedBy: OWNER,
        createdAt: tx.at,
        disabled: false,
      });
    }
    tx.save(loaded);
  });
}

describe('pending requests per requester and project', () => {
  test(`the ${MAX_PENDING_REQUESTS_PER_REQUESTER + 1}th open request is refused, names the limit and how to get under it`, async () => {
    for (let i = 0; i < MAX_PENDING_REQUESTS_PER_REQUESTER; i += 1) await ask();
    const refused = await refusal(ask());
    expect(refused.code).toBe('conflict');
    expect(refused.message).toMatch(
      new RegExp(`${MAX_PENDING_REQUESTS_PER_REQUESTER} is the most one person may have open in a project`),
    );
    expect(refused.message).toMatch(/approves or denies one of them, or one expires/);
    expect(await pendingOf('web')).toHaveLength(MAX_PENDING_REQUESTS_PER_REQUESTER);
    expect((await domain.approvals.decidableBy(bob)).length).toBe(MAX_PENDING_REQUESTS_PER_REQUESTER);
  });

  test('joining a pending request for the same key, another project, or a decision frees room', async () => {
    const first = await ask('web', quickEd25519Line('first'));
    for (let i = 1; i < MAX_PENDING_REQUESTS_PER_REQUESTER; i += 1) await ask();
    // Another member's identical key joins; alice's other project has its own count.
    await domain.projects.grant(owner, 'web', 'UDAN', 'member');
    const joined = await domain.keys.add(actor('UDAN'), 'web', { publicKey: first.key.publicKey });
    expect(joined).toMatchObject({ kind: 'requested', joined: true });
    expect((await ask('api')).status).toBe('pending');
    await refusal(ask('web'));
    await domain.approvals.decide(bob, first.id, 'deny');
    expect((await ask('web')).status).toBe('pending');
    await refusal(ask('web'));
  });

  test('requests past their time no longer count, even before the sweep closes them', async () => {
    let now = new Date('2030-01-01T00:00:00Z');
    await store.close();
    ({ domain, store } = embeddedDomain({ now: () => now }));
    await domain.projects.create(owner, 'web');
    await domain.projects.grant(owner, 'web', 'UALICE', 'member');
    for (let i = 0; i < MAX_PENDING_REQUESTS_PER_REQUESTER; i += 1) await ask();
    await refusal(ask());
    now = new Date('2030-01-02T00:00:01Z'); // 24 h later
    expect((await ask()).status).toBe('pending');
  });
});

describe('keys per project on the approval path', () => {
  test('approving when the project is full is refused; nothing is half-applied and the request stays open', async () => {
    const request = await ask();
    await fillKeys('web', MAX_KEYS_PER_PROJECT);
    const refused = await refusal(domain.approvals.decide(bob, request.id, 'approve'));
    expect(refused.message).toMatch(new RegExp(`holds ${MAX_KEYS_PER_PROJECT} keys`));
    expect(await domain.approvals.get(owner, request.id)).toMatchObject({ status: 'pending', approvals: [] });
    const { project } = await domain.projects.show(owner, 'web');
    expect(project.keys).toHaveLength(MAX_KEYS_PER_PROJECT);
    expect(project.keys.some((k) => k.fingerprint === request.key.fingerprint)).toBe(false);
    expect(project.pendingRequests?.map((p) => p.id)).toEqual([request.id]);
    expect(await domain.keys.mine(alice)).toEqual([]);
    // Once there is room, the same approval goes through.
    await domain.keys.change(owner, 'web', 'filler-0', 'remove');
    expect((await domain.approvals.decide(bob, request.id, 'approve')).outcome).toBe('approved');
  });
});
