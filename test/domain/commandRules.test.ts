import type { Domain } from '../../src/domain';
import { parseDuration, parseExpiry } from '../../src/domain/expiry';
import type { KeyvDocumentStore } from '../../src/store/keyvStore';
import { actor, embeddedDomain, OWNER, refusal } from '../helpers/domain';
import { quickEd25519Line } from '../helpers/sshKeygen';

/** Rules behind the command grammar that live in the domain: expiries, revoking all tokens, names, audit. */
let domain: Domain;
let store: KeyvDocumentStore;
const owner = actor(OWNER);
const alice = actor('UALICE');

beforeEach(async () => {
  ({ domain, store } = embeddedDomain());
  await domain.projects.create(owner, 'web');
  await domain.projects.create(owner, 'web team');
});
afterEach(() => store.close());

test('one duration grammar: minutes, hours and days, for settings and key expiries alike', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  expect(parseDuration('30m')).toBe(30 * 60_000);
  expect(parseExpiry('30m', now).toISOString()).toBe('2030-01-01T00:30:00.000Z');
  expect(parseExpiry('8h', now).toISOString()).toBe('2030-01-01T08:00:00.000Z');
  expect(() => parseExpiry('4m', now)).toThrow(/at least 5 minutes/);
  expect(() => parseExpiry('30s', now)).toThrow(/not an expiry.*minutes \(`30m`\)/);
});

test('revoking all tokens is explicit, spares tokens made since it was asked, and twice revokes nothing more', async () => {
  await domain.delivery.createToken(owner, 'web', 'fleet');
  const asked = new Date().toISOString();
  expect((await refusal(domain.delivery.revokeTokens(owner, 'web'))).message).toMatch(/Name the token/);
  await new Promise((resolve) => setTimeout(resolve, 5));
  await domain.delivery.createToken(owner, 'web', 'later');
  const first = await domain.delivery.revokeTokens(owner, 'web', { all: true, createdUpTo: asked });
  expect(first.revoked.map((t) => t.label)).toEqual(['fleet']);
  const again = await domain.delivery.revokeTokens(owner, 'web', { all: true, createdUpTo: asked });
  expect(again.revoked).toEqual([]);
  expect((await domain.delivery.listTokens(owner, 'web')).tokens.map((t) => t.label)).toEqual(['later']);
  expect((await refusal(domain.delivery.revokeTokens(alice, 'web', { all: true }))).code).toBe('forbidden');
});

test('names the words could spell are confirmed only for projects the caller may see', async () => {
  const phrases = ['web', 'web team', 'web team www'];
  expect((await domain.projects.named(owner, phrases)).map((p) => p.name)).toEqual(['web', 'web team']);
  await domain.organizations.updateSettings(owner, 'default-role', 'none');
  await domain.projects.grant(owner, 'web', 'UALICE', 'viewer');
  expect((await domain.projects.named(alice, phrases)).map((p) => p.name)).toEqual(['web']);
});

test('a requester is told they cannot decide their own request, whatever their role', async () => {
  await domain.projects.grant(owner, 'web', 'UALICE', 'member');
  const outcome = await domain.keys.add(alice, 'web', { publicKey: quickEd25519Line('alice') });
  if (outcome.kind !== 'requested') throw new Error('expected a request');
  expect((await refusal(domain.approvals.decide(alice, outcome.request.id, 'approve'))).message).toMatch(
    /never decides their own request/,
  );
  expect((await refusal(domain.approvals.prepareDecision(alice, outcome.request.id))).message).toMatch(
    /never decides their own request/,
  );
});

test('the audit without a project shows others the records of the projects they may see', async () => {
  await domain.organizations.updateSettings(owner, 'default-role', 'none');
  const stranger = actor('USTRANGER');
  expect((await refusal(domain.organizations.audit(stranger))).message).toMatch(/cannot see any project yet/);
  await domain.projects.grant(owner, 'web team', 'UALICE', 'viewer');
  const { entries } = await domain.organizations.audit(alice);
  expect(entries.map((e) => [e.action, e.projectName])).toEqual([
    ['role.granted', 'web team'],
    ['project.created', 'web team'],
  ]);
});
