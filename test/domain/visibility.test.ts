import type { Domain } from '../../src/domain';
import type { DomainError } from '../../src/domain/errors';
import type { KeyvDocumentStore } from '../../src/store/keyvStore';
import { actor, embeddedDomain, OWNER, refusal } from '../helpers/domain';
import { quickEd25519Line } from '../helpers/sshKeygen';

/**
 * With `default-role none`, a project is seen only by those with a role on it. Nobody else learns its
 * name from a suggestion, nor who its members are from a refusal.
 * pat administers payroll-2025 (which holds the key `deploy-bot`); alice is a member of web only;
 * bob has no role anywhere.
 */
let domain: Domain;
let store: KeyvDocumentStore;
const owner = actor(OWNER);
const alice = actor('UALICE');
const bob = actor('UBOB');
let payrollId: string;

beforeEach(async () => {
  ({ domain, store } = embeddedDomain());
  payrollId = (await domain.projects.create(owner, 'payroll-2025')).id;
  await domain.projects.grant(owner, 'payroll-2025', 'UPAT', 'admin');
  await domain.keys.add(owner, 'payroll-2025', { publicKey: quickEd25519Line('x'), name: 'deploy-bot' });
  await domain.projects.create(owner, 'web');
  await domain.projects.grant(owner, 'web', 'UALICE', 'member');
  await domain.projects.grant(owner, 'web', 'UWEBADMIN', 'admin');
  await domain.organizations.updateSettings(owner, 'default-role', 'none');
});
afterEach(() => store.close());

const SECRETS = ['payroll-2025', 'UPAT', 'deploy-bot'];
/** Nothing hidden in a refusal, besides what the person typed (echoed back to them). */
function expectNothingHidden(error: DomainError, typed = ''): void {
  const told = error.message.split(typed.trim()).join('');
  for (const secret of SECRETS) expect(told).not.toContain(secret);
}

/** Every use case that takes a project reference, as `who`. */
const paths = (who: ReturnType<typeof actor>, reference: string): [string, () => Promise<unknown>][] => [
  ['show', () => domain.projects.show(who, reference)],
  ['rename', () => domain.projects.rename(who, reference, 'mine')],
  ['delete', () => domain.projects.prepareDelete(who, reference)],
  ['settings', () => domain.projects.prepareSettings(who, reference)],
  ['grant', () => domain.projects.grant(who, reference, who.userId, 'admin')],
  ['revoke', () => domain.projects.revoke(who, reference, 'UPAT')],
  ['key add', () => domain.keys.add(who, reference, { publicKey: quickEd25519Line('y') })],
  ['key list', () => domain.keys.list(who, reference)],
  ['key remove', () => domain.keys.change(who, reference, 'deploy-bo', 'remove')],
  ['resource add', () => domain.resources.add(who, reference, 'database', 'db')],
  ['resource remove', () => domain.resources.remove(who, reference, 'database', 'db')],
  ['token', () => domain.delivery.createToken(who, reference)],
  ['token list', () => domain.delivery.listTokens(who, reference)],
  ['token revoke', () => domain.delivery.revokeTokens(who, reference)],
  ['audit', () => domain.organizations.audit(who, reference)],
];

test('someone who sees no project is told so and who can help, never a hidden name', async () => {
  const refused = await refusal(domain.projects.show(bob, 'payroll'));
  expect(refused.message).toBe(
    'You cannot see any project yet. Organization owners can give you a role: <@UOWNER1>.',
  );
  for (const reference of ['payroll', 'payroll-2025', payrollId, 'PAYROLL-2025 ']) {
    for (const [name, run] of paths(bob, reference)) {
      const error = await refusal(run());
      expect([name, error.code]).toEqual([name, expect.stringMatching(/forbidden|not_found/)]);
      expectNothingHidden(error, reference);
    }
  }
});

test('someone who sees some projects is offered only those, and a hidden one answers as a missing one', async () => {
  expect((await refusal(domain.projects.show(alice, 'wbe'))).message).toMatch(
    /no project you can see named `wbe`. Did you mean `web`\?/,
  );
  const typo = await refusal(domain.projects.show(alice, 'payroll-2024'));
  expect(typo.message).toBe(
    'There is no project you can see named `payroll-2024`. `/project list` shows the ones you can see.',
  );
  for (const reference of ['payroll', 'payroll-2025', payrollId]) {
    for (const [, run] of paths(alice, reference)) expectNothingHidden(await refusal(run()), reference);
  }
});

test('a refusal names a project’s admins only to someone who may see it', async () => {
  // alice sees web, so she may learn who administers it.
  expect((await refusal(domain.projects.grant(alice, 'web', 'UALICE', 'admin'))).message).toMatch(
    /needs the \*admin\* role on project \*web\*. Who has it: .*<@UWEBADMIN>/,
  );
  // A card of payroll-2025 clicked by alice (say it was posted in a shared channel): no names.
  await domain.projects.grant(owner, 'payroll-2025', 'UMEMBER', 'member');
  const outcome = await domain.keys.add(actor('UMEMBER'), 'payroll-2025', {
    publicKey: quickEd25519Line('z'),
  });
  if (outcome.kind !== 'requested') throw new Error('expected a request');
  for (const attempt of [
    () => domain.approvals.prepareDecision(alice, outcome.request.id),
    () => domain.approvals.decide(alice, outcome.request.id, 'approve'),
  ]) {
    const refused = await refusal(attempt());
    expect(refused.message).toMatch(
      /needs a role on that project, and you have none. Organization owners can give you one: <@UOWNER1>/,
    );
    expect(refused.message).not.toContain('UPAT');
  }
});
