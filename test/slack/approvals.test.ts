import type { Domain } from '../../src/domain';
import type { KeyRequest } from '../../src/domain/model';
import type { RecordedCall } from '../helpers/fakeSlack';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { KeyFactory } from '../helpers/sshKeygen';
import { visibleText } from '../helpers/slackUser';

/**
 * Approvals through the real app: two replicas on one Redis, signed requests, the recording Slack.
 * alice is a member (requests keys), bob and carol are admins (decide), dave is a viewer, erin has no role.
 */
const keys = new KeyFactory();
let harness: Harness;
let domain: Domain;
const owner = { teamId: 'T0001', userId: OWNER_ID };

beforeEach(async () => {
  harness = await startHarness({ replicas: 2 });
  domain = harness.apps[0]!.keyhouse.domain;
  await domain.projects.create(owner, 'web');
  await domain.projects.grant(owner, 'web', 'UALICE', 'member');
  await domain.projects.grant(owner, 'web', 'UBOB', 'admin');
  await domain.projects.grant(owner, 'web', 'UCAROL', 'admin');
  await domain.projects.grant(owner, 'web', 'UDAVE', 'viewer');
});
afterEach(() => harness.stop());
afterAll(() => keys.cleanup());

const say = async (user: string, command: string, text: string, app = 0) =>
  visibleText((await harness.user(user, app).command(command, text)).body);

/** A direct message to the requester about the outcome (not the one sent when the request was filed). */
const isOutcomeDm = (c: RecordedCall) =>
  c.method === 'chat.postMessage' &&
  c.body.channel === 'UALICE' &&
  !JSON.stringify(c.body.blocks ?? []).includes('request_cancel');

const isCard = (c: RecordedCall) =>
  c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? []).includes('request_approve');

async function request(
  line = keys.generate('ed25519', { comment: 'alice@laptop' }).publicLine,
  reason = 'on call tonight',
) {
  const reply = await say('UALICE', '/sshkey', `add web --reason "${reason}" ${line}`);
  const card = await harness.slack.waitFor(isCard);
  const requestId = (JSON.stringify(card.body.blocks).match(/"value":"([0-9a-f-]{36})"/) ?? [])[1]!;
  return { reply, card, requestId, line };
}

/** Clicks a card's button as `user` on replica `app`; returns the ephemeral answer, if any. */
async function click(
  user: string,
  action: 'request_approve' | 'request_deny',
  requestId: string,
  app = 0,
): Promise<string | undefined> {
  const responseUrl = harness.slack.newResponseUrl();
  await harness.client(user, app).click(action, requestId, { responseUrl, channelId: 'C0APPROVE' });
  // The click is acknowledged first and answered after; the one whose click decides gets no answer.
  const answer = await harness.slack
    .waitFor((c) => c.method === 'respond' && c.path === new URL(responseUrl).pathname, 1500)
    .catch(() => undefined);
  return answer ? visibleText(answer.body) : undefined;
}

const stored = async (): Promise<KeyRequest[]> => {
  const { project } = await domain.projects.show(owner, 'web');
  return Promise.all((project.pendingRequests ?? []).map((p) => domain.approvals.get(owner, p.id)));
};
const keyCount = async () => (await domain.keys.list(owner, 'web')).keys.length;

describe('a member asks for a key', () => {
  test('the card goes to the project channel with everything needed to decide; nothing is added yet', async () => {
    await say(OWNER_ID, '/project', 'channel web <#C0APPROVE|approvals>');
    const key = keys.generate('ed25519', { comment: 'alice@laptop' });
    const { reply, card } = await request(key.publicLine, 'incident 42');
    expect(reply).toMatch(/waiting for approval: posted in <#C0APPROVE>/);
    expect(card.body.channel).toBe('C0APPROVE');
    const text = visibleText(card.body);
    for (const part of [
      '<@UALICE>',
      'web',
      'alice@laptop',
      'ssh-ed25519 256',
      keys.fingerprint(key.publicLine).fingerprint,
      'incident 42',
      'never',
      '{ago}',
    ]) {
      expect(text).toContain(part);
    }
    expect(JSON.stringify(card.body.blocks)).toMatch(/"text":"Approve".*"text":"Deny"/);
    expect(await keyCount()).toBe(0);
    expect(await say(OWNER_ID, '/org', 'audit')).toMatch(/<@UALICE> asked to add the key alice@laptop/);
  });

  test('without any approvals channel the card goes to each admin by direct message', async () => {
    const { reply } = await request(); // the reply comes once every card is posted
    // The project's admins: its creator (the owner), bob and carol.
    expect(
      harness.slack.calls
        .filter(isCard)
        .map((c) => c.body.channel)
        .sort(),
    ).toEqual(['UBOB', 'UCAROL', 'UOWNER1']);
    expect(reply).toMatch(/sent to <@UOWNER1>, <@UBOB>, <@UCAROL> by direct message/);
  });

  test('the same key asked again while pending joins the request instead of posting a second card', async () => {
    await say(OWNER_ID, '/org', 'channel <#C0ORG|org-approvals>');
    const { line } = await request();
    expect(harness.slack.calls.filter(isCard)[0]!.body.channel).toBe('C0ORG');
    const again = await say('UALICE', '/sshkey', `add web ${line}`);
    expect(again).toMatch(/already waiting for approval, so yours joined it/);
    expect(harness.slack.calls.filter(isCard)).toHaveLength(1);
    expect(await stored()).toHaveLength(1);
  });
});

describe('deciding', () => {
  beforeEach(() => say(OWNER_ID, '/project', 'channel web <#C0APPROVE|approvals>'));

  test('the requester, a viewer and a stranger cannot approve, and nothing changes', async () => {
    const { requestId } = await request();
    // The requester is told why: they cannot decide their own request (not that it needs admin).
    expect(await click('UALICE', 'request_approve', requestId)).toMatch(/never decides their own request/);
    expect(await click('UDAVE', 'request_approve', requestId)).toMatch(
      /needs the \*admin\* role on project \*web\*/,
    );
    expect(await click('UERIN', 'request_approve', requestId)).toMatch(/needs the \*admin\* role/);
    expect((await stored())[0]).toMatchObject({ status: 'pending', approvals: [] });
    expect(await keyCount()).toBe(0);
    expect(harness.slack.of('chat.update')).toHaveLength(0);
  });

  test('an admin who requested cannot approve their own request', async () => {
    // bob is an admin; make him a member to request, then an admin again to try deciding.
    await domain.projects.grant(owner, 'web', 'UBOB', 'member');
    await say('UBOB', '/sshkey', `add web ${keys.generate('ed25519').publicLine}`);
    const card = await harness.slack.waitFor(isCard);
    const requestId = (JSON.stringify(card.body.blocks).match(/"value":"([0-9a-f-]{36})"/) ?? [])[1]!;
    await domain.projects.grant(owner, 'web', 'UBOB', 'admin');
    expect(await click('UBOB', 'request_approve', requestId)).toMatch(/never decides their own request/);
    expect(await keyCount()).toBe(0);
  });

  test('10 simultaneous Approve clicks on two replicas add the key once and update the card once', async () => {
    const { requestId, line } = await request();
    const clickers = Array.from({ length: 10 }, (_, i) => (i % 2 ? 'UBOB' : 'UCAROL'));
    const answers = await Promise.all(
      clickers.map((user, i) => click(user, 'request_approve', requestId, i % 2)),
    );
    const { keys: inProject } = await domain.keys.list(owner, 'web');
    expect(inProject).toHaveLength(1);
    expect(inProject[0]).toMatchObject({
      addedBy: 'UALICE',
      publicKey: line.split(' ').slice(0, 2).join(' '),
    });
    expect(answers.filter((a) => a === undefined)).toHaveLength(1); // the winner is answered by the card itself
    expect(answers.filter((a) => a && /already approved by <@U(BOB|CAROL)> on/.test(a))).toHaveLength(9);
    const updates = harness.slack.of('chat.update');
    expect(updates).toHaveLength(1);
    expect(visibleText(updates[0]!.body)).toMatch(/Approved\* by <@U(BOB|CAROL)>/);
    expect(JSON.stringify(updates[0]!.body.blocks)).not.toContain('request_approve');
    const thread = harness.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.body.thread_ts);
    expect(thread).toHaveLength(1);
    expect(harness.slack.calls.filter(isOutcomeDm)).toHaveLength(1);
    expect(await say(OWNER_ID, '/org', 'audit')).toMatch(
      /approved a key request: alice@laptop .* for <@UALICE> in \*web\* _\(approved by <@U[A-Z]+>\)_/,
    );
  });

  test('deny asks for a reason, adds nothing, and tells the requester why', async () => {
    const { requestId } = await request();
    await click('UBOB', 'request_deny', requestId);
    const opened = await harness.slack.waitFor((c) => c.method === 'views.open');
    const view = opened.body.view as Record<string, unknown>;
    expect(
      await harness.client('UBOB').submitForm(view, { deny_reason: 'use your ed25519 key from the vault' }),
    ).toEqual({});
    await harness.slack.waitFor((c) => c.method === 'chat.update');
    await harness.slack.waitFor(isOutcomeDm);
    expect(await keyCount()).toBe(0);
    expect(visibleText(harness.slack.of('chat.update')[0]!.body)).toMatch(/Denied\* by <@UBOB>/);
    const dm = harness.slack.calls.find(isOutcomeDm)!;
    expect(visibleText(dm.body)).toMatch(
      /<@UBOB> denied your request .*Reason: use your ed25519 key from the vault/,
    );
    expect(await click('UCAROL', 'request_approve', requestId)).toMatch(/already denied by <@UBOB> on/);
  });

  test('an expired request turns its card to Expired and tells the requester; later clicks are told', async () => {
    const { requestId } = await request();
    const { expiredRequests: expired } = await harness.apps[1]!.keyhouse.sweep(
      new Date(Date.now() + 25 * 3600_000),
    );
    expect(expired.map((r) => r.id)).toEqual([requestId]);
    expect(
      (await harness.apps[0]!.keyhouse.sweep(new Date(Date.now() + 26 * 3600_000))).expiredRequests,
    ).toEqual([]);
    expect(visibleText(harness.slack.of('chat.update')[0]!.body)).toMatch(/Expired\*/);
    const dm = harness.slack.calls.find(isOutcomeDm)!;
    expect(visibleText(dm.body)).toMatch(/expired without a decision/);
    expect(await click('UBOB', 'request_approve', requestId)).toMatch(/expired/);
    expect(await keyCount()).toBe(0);
  });

  test('a project that requires two approvals needs two different admins', async () => {
    await domain.projects.updateSettings(owner, 'web', { approvalsRequired: 2 });
    const { requestId } = await request();
    expect(await click('UBOB', 'request_approve', requestId)).toMatch(
      /Your approval is recorded. 1 more needed/,
    );
    expect(await keyCount()).toBe(0);
    expect(visibleText(harness.slack.of('chat.update')[0]!.body)).toMatch(/1 of 2 approvals: <@UBOB>/);
    expect(await click('UBOB', 'request_approve', requestId)).toMatch(/already approved this request/);
    expect(await keyCount()).toBe(0);
    expect(await click('UCAROL', 'request_approve', requestId)).toBeUndefined();
    expect(await keyCount()).toBe(1);
    expect(visibleText(harness.slack.of('chat.update').at(-1)!.body)).toMatch(
      /Approved\* by <@UBOB>, <@UCAROL>/,
    );
  });

  test('the add-key form of a member makes a request too', async () => {
    const opened = await harness.user('UALICE').command('/sshkey', 'add');
    const view = opened.body.view as Record<string, unknown>;
    const webId = (await domain.projects.show(owner, 'web')).project.id;
    const answer = await harness
      .client('UALICE')
      .submitForm(view, { project: { selected: webId }, public_key: keys.generate('ed25519').publicLine });
    expect(answer.response_action).toBe('update');
    expect(visibleText({ view: answer.view })).toMatch(/needs an admin's approval/);
    await harness.slack.waitFor(isCard);
    expect(await stored()).toHaveLength(1);
  });
});

describe('App Home pending approvals', () => {
  test('lists what the viewer can decide, with the same buttons, and approving there works', async () => {
    const { requestId } = await request();
    const from = harness.slack.calls.length;
    await harness.client('UBOB').click('home_tab_approvals', 'approvals', { viewId: 'VHOME' });
    const home = await harness.slack.waitFor(
      (c) => c.method === 'views.publish' && harness.slack.calls.indexOf(c) >= from,
    );
    expect(visibleText(home.body)).toContain('1 request waiting for your decision');
    expect(JSON.stringify(home.body.view)).toContain(requestId);

    const fromAlice = harness.slack.calls.length;
    await harness.client('UALICE').click('home_tab_approvals', 'approvals', { viewId: 'VHOME' });
    const alicesHome = await harness.slack.waitFor(
      (c) => c.method === 'views.publish' && harness.slack.calls.indexOf(c) >= fromAlice,
    );
    expect(visibleText(alicesHome.body)).toContain('Nothing waits for your decision');

    await harness.client('UBOB').click('request_approve', requestId, { viewId: 'VHOME' });
    await harness.slack.waitFor((c) => c.method === 'chat.update'); // the card follows the decision
    expect(await keyCount()).toBe(1);
  });
});
