import type { Domain } from '../../src/domain';
import { MAX_PENDING_REQUESTS_PER_REQUESTER } from '../../src/domain/limits';
import type { RecordedCall } from '../helpers/fakeSlack';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { quickEd25519Line } from '../helpers/sshKeygen';
import { visibleText } from '../helpers/slackUser';

/**
 * Through the real app (signed requests, the recording Slack): caps on what one member can create,
 * an audit trail that keeps role grants, approvals counted from current approvers only, and nothing
 * about hidden projects told to those who cannot see them.
 * alice is a member of web, bob and carol its admins.
 */
let harness: Harness;
let domain: Domain;
const owner = { teamId: 'T0001', userId: OWNER_ID };

beforeEach(async () => {
  harness = await startHarness();
  domain = harness.apps[0]!.keyhouse.domain;
  await domain.projects.create(owner, 'web');
  await domain.projects.grant(owner, 'web', 'UALICE', 'member');
  await domain.projects.grant(owner, 'web', 'UBOB', 'admin');
  await domain.projects.grant(owner, 'web', 'UCAROL', 'admin');
});
afterEach(() => harness.stop());

const say = async (user: string, command: string, text: string) =>
  visibleText((await harness.user(user).command(command, text)).body);

const isCard = (c: RecordedCall) =>
  c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? []).includes('request_approve');

const requestIdOf = (card: RecordedCall) =>
  (JSON.stringify(card.body.blocks).match(/"value":"([0-9a-f-]{36})"/) ?? [])[1]!;

async function click(user: string, requestId: string): Promise<string | undefined> {
  const responseUrl = harness.slack.newResponseUrl();
  await harness.client(user).click('request_approve', requestId, { responseUrl, channelId: 'C0APPROVE' });
  const answer = await harness.slack
    .waitFor((c) => c.method === 'respond' && c.path === new URL(responseUrl).pathname, 1500)
    .catch(() => undefined);
  return answer ? visibleText(answer.body) : undefined;
}

describe('caps on what one member creates', () => {
  test(`the ${MAX_PENDING_REQUESTS_PER_REQUESTER + 1}th pending request is refused with the limit named, and no admin is messaged`, async () => {
    for (let i = 0; i < MAX_PENDING_REQUESTS_PER_REQUESTER; i += 1) {
      expect(await say('UALICE', '/sshkey', `add web ${quickEd25519Line(`alice-${i}`)}`)).toMatch(
        /waiting for approval: sent to/,
      );
    }
    const cards = harness.slack.calls.filter(isCard).length;
    expect(cards).toBe(MAX_PENDING_REQUESTS_PER_REQUESTER * 3); // each to the owner, bob and carol
    const sixth = await say('UALICE', '/sshkey', `add web ${quickEd25519Line('alice-6')}`);
    expect(sixth).toMatch(
      new RegExp(`${MAX_PENDING_REQUESTS_PER_REQUESTER} is the most one person may have open in a project`),
    );
    expect(sixth).toMatch(/approves or denies one of them, or one expires/);
    expect(harness.slack.calls.filter(isCard)).toHaveLength(cards);
    expect((await domain.projects.show(owner, 'web')).project.pendingRequests).toHaveLength(
      MAX_PENDING_REQUESTS_PER_REQUESTER,
    );
  });
});

describe('approvals count only current approvers', () => {
  test('approved, then demoted: the next approval is 1 of 2 on the card, and no key is added', async () => {
    await domain.projects.updateSettings(owner, 'web', { approvalsRequired: 2 });
    await say('UALICE', '/sshkey', `add web ${quickEd25519Line('alice')}`);
    const requestId = requestIdOf(await harness.slack.waitFor(isCard));
    expect(await click('UBOB', requestId)).toMatch(/Your approval is recorded. 1 more needed/);
    expect(await say(OWNER_ID, '/project', 'grant web <@UBOB|bob> viewer')).toMatch(/viewer/);
    const updatesBefore = harness.slack.of('chat.update').length;
    expect(await click('UCAROL', requestId)).toMatch(/Your approval is recorded. 1 more needed/);
    const updates = harness.slack.of('chat.update').slice(updatesBefore);
    expect(updates.length).toBeGreaterThan(0);
    for (const update of updates) {
      expect(visibleText(update.body)).toMatch(/1 of 2 approvals: <@UCAROL>/);
      expect(visibleText(update.body)).not.toContain('<@UBOB>');
    }
    expect((await domain.keys.list(owner, 'web')).keys).toHaveLength(0);
  });
});

describe('the audit trail keeps what matters', () => {
  test('600 instance registrations do not push a role grant out of what /org audit pages to', async () => {
    expect(await say(OWNER_ID, '/project', 'grant web <@UDAN|dan> admin')).toMatch(/admin/);
    await domain.workspaces.mutate('T0001', async (tx) => {
      const web = await tx.project('web');
      for (let i = 0; i < 600; i += 1) {
        tx.record({ actor: 'keyhouse', action: 'instance.registered', target: `vm-${i} (fr-par-1)` }, web);
      }
    });
    for (let i = 0; i < 40; i += 1) {
      await domain.projects.updateSettings(owner, 'web', { description: `revision ${i}` });
    }
    const first = await harness.user(OWNER_ID).command('/org', 'audit');
    const firstText = visibleText(first.body);
    expect(firstText).toMatch(/\*Changes\* — page 1 of 3/);
    expect(firstText).toMatch(/older: `\/org audit --page 2`/);
    expect(firstText).not.toContain('registered the instance');
    const last = await harness.user(OWNER_ID).command('/org', 'audit --page 3');
    expectWithinSlackLimits(last.body);
    const lastText = visibleText(last.body);
    expect(lastText).toMatch(/page 3 of 3/);
    expect(lastText).toMatch(/<@UOWNER1> gave <@UDAN> the admin role in \*web\*/);
    // The noise is kept apart and pages too.
    const noise = visibleText((await harness.user(OWNER_ID).command('/org', 'audit --activity')).body);
    expect(noise).toMatch(/\*Instance check-ins and expired requests\* — page 1 of 30/);
    expect(noise).toContain('vm-599');
    // A project's own trail, for one who may see it.
    const webAudit = visibleText((await harness.user('UBOB').command('/org', 'audit web --page 3')).body);
    expect(webAudit).toMatch(/gave <@UDAN> the admin role/);
  });
});

describe('nothing about hidden projects leaks', () => {
  test('with default-role none, someone without a role gets no project names and no admin names', async () => {
    expect(await say(OWNER_ID, '/org', 'set default-role none')).toMatch(/`default-role` is now `none`/);
    const payroll = await domain.projects.create(owner, 'payroll-2025');
    await domain.projects.grant(owner, 'payroll-2025', 'UPAT', 'admin');
    const answers = [
      await say('UERIN', '/project', 'show payroll'),
      await say('UERIN', '/project', 'dashboard payroll-2025'),
      await say('UERIN', '/project', `grant ${payroll.id} <@UERIN|erin> admin`),
      await say('UERIN', '/project', `token ${payroll.id}`),
      await say('UERIN', '/sshkey', `list ${payroll.id}`),
      await say('UERIN', '/org', `audit ${payroll.id}`),
    ];
    expect(answers[0]).toMatch(
      /You cannot see any project yet. Organization owners can give you a role: <@UOWNER1>/,
    );
    answers.forEach((answer, i) => {
      expect(answer).not.toContain('UPAT');
      // Only where it was typed is the name echoed back.
      if (i !== 1) expect(answer).not.toContain('payroll-2025');
    });
    // A member of web is offered web, never the hidden project.
    const alice = await say('UALICE', '/project', 'show payrol');
    expect(alice).toMatch(/There is no project you can see named `payrol`/);
    expect(alice).not.toContain('payroll-2025');
  });
});

function expectWithinSlackLimits(body: Record<string, unknown>): void {
  const blocks = body.blocks as { type: string; text?: { text: string } }[];
  expect(blocks.length).toBeLessThanOrEqual(50);
  for (const block of blocks) {
    if (block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000);
  }
}
