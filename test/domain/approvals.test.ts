import type { Domain } from '../../src/domain';
import type { KeyRequest } from '../../src/domain/model';
import type { KeyvDocumentStore } from '../../src/store/keyvStore';
import { actor, embeddedDomain, OWNER, refusal } from '../helpers/domain';
import { KeyFactory } from '../helpers/sshKeygen';

const keys = new KeyFactory();
afterAll(() => keys.cleanup());

let domain: Domain;
let store: KeyvDocumentStore;
const owner = actor(OWNER);
const alice = actor('UALICE'); // member
const bob = actor('UBOB'); // admin
const carol = actor('UCAROL'); // admin

beforeEach(async () => {
  ({ domain, store } = embeddedDomain());
  await domain.projects.create(owner, 'web');
  await domain.projects.grant(owner, 'web', 'UALICE', 'member');
  await domain.projects.grant(owner, 'web', 'UBOB', 'admin');
  await domain.projects.grant(owner, 'web', 'UCAROL', 'admin');
});
afterEach(() => store.close());

async function ask(line = keys.generate('ed25519').publicLine, who = alice): Promise<KeyRequest> {
  const outcome = await domain.keys.add(who, 'web', { publicKey: line, reason: 'deploy' });
  if (outcome.kind !== 'requested') throw new Error('expected a request');
  return outcome.request;
}

test("a member's key waits for approval, then belongs to the member", async () => {
  const request = await ask();
  expect(request).toMatchObject({ status: 'pending', requesters: ['UALICE'], required: 1, reason: 'deploy' });
  expect((await domain.keys.list(owner, 'web')).keys).toHaveLength(0);
  const { outcome } = await domain.approvals.decide(bob, request.id, 'approve');
  expect(outcome).toBe('approved');
  const { keys: inProject } = await domain.keys.list(owner, 'web');
  expect(inProject).toEqual([
    expect.objectContaining({ addedBy: 'UALICE', fingerprint: request.key.fingerprint }),
  ]);
  expect((await domain.keys.mine(alice)).map((k) => k.key.fingerprint)).toEqual([request.key.fingerprint]);
  expect((await domain.projects.show(owner, 'web')).project.pendingRequests).toEqual([]);
});

test('only an admin or owner who did not ask decides; a closed request says who closed it', async () => {
  const request = await ask();
  expect((await refusal(domain.approvals.decide(alice, request.id, 'approve'))).code).toBe('forbidden');
  expect((await refusal(domain.approvals.decide(actor('UNOBODY'), request.id, 'approve'))).message).toMatch(
    /admin/,
  );
  await domain.approvals.decide(owner, request.id, 'deny', 'not this one');
  expect((await refusal(domain.approvals.decide(bob, request.id, 'approve'))).message).toMatch(
    /already denied by <@UOWNER1> on 20/,
  );
  expect((await domain.keys.list(owner, 'web')).keys).toHaveLength(0);
  const { entries } = await domain.organizations.audit(owner, 'web');
  expect(entries[0]).toMatchObject({
    action: 'key.request_denied',
    outcome: 'denied',
    detail: 'not this one',
  });
});

test('N-of-M needs distinct approvers', async () => {
  await domain.projects.updateSettings(owner, 'web', { approvalsRequired: 2 });
  const request = await ask();
  expect((await domain.approvals.decide(bob, request.id, 'approve')).outcome).toBe('recorded');
  expect((await refusal(domain.approvals.decide(bob, request.id, 'approve'))).message).toMatch(
    /already approved/,
  );
  expect((await domain.approvals.decide(carol, request.id, 'approve')).outcome).toBe('approved');
  expect((await domain.keys.list(owner, 'web')).keys).toHaveLength(1);
});

test('simultaneous decisions apply once', async () => {
  const request = await ask();
  const results = await Promise.allSettled(
    Array.from({ length: 10 }, (_, i) => domain.approvals.decide(i % 2 ? bob : carol, request.id, 'approve')),
  );
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  expect((await domain.keys.list(owner, 'web')).keys).toHaveLength(1);
});

test('a second request for the same key joins the first; the joiner cannot decide it either', async () => {
  const line = keys.generate('ed25519').publicLine;
  const first = await ask(line);
  await domain.projects.grant(owner, 'web', 'UDAN', 'member');
  const second = await domain.keys.add(actor('UDAN'), 'web', { publicKey: line });
  expect(second).toMatchObject({
    kind: 'requested',
    joined: true,
    request: { id: first.id, requesters: ['UALICE', 'UDAN'] },
  });
  await domain.projects.grant(owner, 'web', 'UDAN', 'admin');
  expect((await refusal(domain.approvals.decide(actor('UDAN'), first.id, 'approve'))).code).toBe('forbidden');
});

test('requests expire after the TTL, once, and are then closed to decisions', async () => {
  const request = await ask();
  expect(await domain.approvals.expireDue(new Date(Date.now() + 3600_000))).toEqual([]);
  const expired = await domain.approvals.expireDue(new Date(Date.now() + 25 * 3600_000));
  expect(expired.map((r) => [r.id, r.status])).toEqual([[request.id, 'expired']]);
  expect(await domain.approvals.expireDue(new Date(Date.now() + 26 * 3600_000))).toEqual([]);
  expect((await refusal(domain.approvals.decide(bob, request.id, 'approve'))).message).toMatch(/expired/);
  expect((await domain.approvals.decidableBy(bob)).map((r) => r.id)).toEqual([]);
});

test('the pending list shows each admin what they can still decide', async () => {
  const request = await ask();
  expect((await domain.approvals.decidableBy(bob)).map((r) => r.id)).toEqual([request.id]);
  expect(await domain.approvals.decidableBy(alice)).toEqual([]);
  expect(await domain.approvals.decidableBy(actor('UOTHER', 'T9999'))).toEqual([]);
});

test('a project with a request waiting cannot be deleted until it is decided', async () => {
  await domain.projects.create(owner, 'tmp');
  await domain.projects.grant(owner, 'tmp', 'UALICE', 'member');
  const outcome = await domain.keys.add(alice, 'tmp', { publicKey: keys.generate('ed25519').publicLine });
  expect(outcome.kind).toBe('requested');
  expect((await refusal(domain.projects.delete(owner, 'tmp', 'tmp'))).message).toMatch(
    /1 key request waiting for a decision/,
  );
  if (outcome.kind === 'requested') await domain.approvals.decide(owner, outcome.request.id, 'deny');
  await domain.projects.delete(owner, 'tmp', 'tmp');
  expect((await domain.projects.list(owner)).projects.map((p) => p.name)).not.toContain('tmp');
});

describe('only current approvers count at the deciding click', () => {
  beforeEach(() => domain.projects.updateSettings(owner, 'web', { approvalsRequired: 2 }));

  test('an approval by an admin since demoted no longer counts; the next approval is 1 of 2', async () => {
    const request = await ask();
    expect((await domain.approvals.decide(bob, request.id, 'approve')).outcome).toBe('recorded');
    await domain.projects.grant(owner, 'web', 'UBOB', 'viewer');
    const second = await domain.approvals.decide(carol, request.id, 'approve');
    expect(second.outcome).toBe('recorded');
    expect(second.request.approvals.map((a) => a.userId)).toEqual(['UCAROL']);
    expect((await domain.keys.list(owner, 'web')).keys).toHaveLength(0);
    const { entries } = await domain.organizations.audit(owner, 'web');
    expect(entries[0]).toMatchObject({ action: 'key.request_approval', actor: 'UCAROL' });
    expect(entries[0]?.detail).toMatch(/^1 of 2; no longer counted: <@UBOB>/);
    // A current admin's approval completes it.
    await domain.projects.grant(owner, 'web', 'UDAN', 'admin');
    expect((await domain.approvals.decide(actor('UDAN'), request.id, 'approve')).outcome).toBe('approved');
    expect((await domain.approvals.get(owner, request.id)).approvals.map((a) => a.userId)).toEqual([
      'UCAROL',
      'UDAN',
    ]);
  });

  test('an approver who has since joined the request as a requester no longer counts', async () => {
    const request = await ask();
    await domain.approvals.decide(bob, request.id, 'approve');
    await domain.projects.grant(owner, 'web', 'UBOB', 'member');
    await domain.keys.add(bob, 'web', { publicKey: request.key.publicKey });
    await domain.projects.grant(owner, 'web', 'UBOB', 'admin');
    expect((await domain.approvals.decide(carol, request.id, 'approve')).outcome).toBe('recorded');
    expect((await domain.keys.list(owner, 'web')).keys).toHaveLength(0);
  });
});
