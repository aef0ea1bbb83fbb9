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
