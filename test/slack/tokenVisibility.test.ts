import type { Domain } from '../../src/domain';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { visibleText } from '../helpers/slackUser';

/**
 * `/project token` (create, list, revoke) answers someone who may not see a project exactly as it
 * answers a project that does not exist: a stranger cannot probe for hidden projects' names.
 */
let harness: Harness;
let domain: Domain;
const owner = { teamId: 'T0001', userId: OWNER_ID };

beforeEach(async () => {
  harness = await startHarness();
  domain = harness.apps[0]!.keyhouse.domain;
  await domain.organizations.updateSettings(owner, 'default-role', 'none');
  await domain.projects.create(owner, 'payroll');
  await domain.projects.grant(owner, 'payroll', 'UPAT', 'admin');
  await domain.projects.create(owner, 'web');
  await domain.projects.grant(owner, 'web', 'UALICE', 'member');
});
afterEach(() => harness.stop());

const say = async (user: string, text: string) =>
  visibleText((await harness.user(user).command('/project', text)).body);

/** The answer with the name typed replaced, so answers about two names can be compared. */
const about = (answer: string, name: string) => answer.split(name).join('<name>');

test.each([
  ['create', (name: string) => `token ${name} fleet`],
  ['list', (name: string) => `token ${name} list`],
  ['revoke one', (name: string) => `token ${name} revoke fleet`],
  ['revoke all', (name: string) => `token ${name} revoke --all`],
])('%s: a hidden project and a missing one get the same answer, naming no admin', async (_what, command) => {
  await domain.delivery.createToken({ teamId: 'T0001', userId: 'UPAT' }, 'payroll', 'fleet');
  for (const user of ['UERIN', 'UALICE']) {
    const hidden = await say(user, command('payroll'));
    const missing = await say(user, command('nosuchproject'));
    expect(about(hidden, 'payroll')).toBe(about(missing, 'nosuchproject'));
    expect(hidden).not.toMatch(/Managing this project|UPAT/);
  }
  // Nothing changed: the token is still there, and no token was made.
  const { tokens } = await domain.delivery.listTokens(owner, 'payroll');
  expect(tokens.map((t) => t.label)).toEqual(['fleet']);
});

test('an admin of the project still manages its tokens', async () => {
  expect(await say('UPAT', 'token payroll fleet')).toMatch(/khk_/);
  expect(await say('UPAT', 'token payroll list')).toMatch(/\*fleet\*/);
  // A member who sees the project is told the role it needs, as before.
  await domain.projects.grant(owner, 'payroll', 'UALICE', 'viewer');
  expect(await say('UALICE', 'token payroll list')).toMatch(
    /needs the \*admin\* role on project \*payroll\*/,
  );
});
