import type { Domain } from '../../src/domain';
import { breakGlassKeys, type BreakGlassIndex } from '../../src/domain/breakGlass';
import type { PendingIndex } from '../../src/domain/model';
import { documentKeys } from '../../src/domain/workspaces';
import { createDocumentStore, type KeyvDocumentStore } from '../../src/store/keyvStore';
import { REDIS_URL, tempDir } from '../helpers/env';
import type { RecordedCall } from '../helpers/fakeSlack';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { KeyFactory } from '../helpers/sshKeygen';
import { visibleText } from '../helpers/slackUser';

/**
 * What follows a break-glass key: a Revoke that lasts, a key removed another way closing its review
 * and its requests for more time, the review index repaired, App Home listing keys to review, a card
 * that could not be noted, the on-call lookup kept apart. Two replicas on one Redis, signed requests,
 * the strict stand-in Slack. erin is on call with no role; alice is a member and on call; bob and
 * carol are admins; frank is nobody.
 */
jest.setTimeout(30_000);
const keys = new KeyFactory();
let harness: Harness;
let domain: Domain;
let projectId: string;
let other: KeyvDocumentStore | undefined;
const owner = { teamId: 'T0001', userId: OWNER_ID };
const GROUP = 'S0ONCALL';

async function start(options: { defaultRoleNone?: boolean } = {}) {
  harness = await startHarness({ replicas: 2 });
  domain = harness.apps[0]!.keyhouse.domain;
  harness.slack.userGroups.set(GROUP, ['UERIN', 'UALICE']);
  projectId = (await domain.projects.create(owner, 'web')).id;
  await domain.projects.grant(owner, 'web', 'UALICE', 'member');
  await domain.projects.grant(owner, 'web', 'UBOB', 'admin');
  await domain.projects.grant(owner, 'web', 'UCAROL', 'admin');
  await say(OWNER_ID, '/project', 'channel web <#C0APPROVE|approvals>');
  await say(OWNER_ID, '/org', `set oncall-group <!subteam^${GROUP}|@oncall>`);
  await say(OWNER_ID, '/project', 'set web break-glass on');
  if (options.defaultRoleNone) await say(OWNER_ID, '/org', 'set default-role none');
}
afterEach(async () => {
  harness.slack.delays.clear();
  await harness.stop();
  await other?.close();
  other = undefined;
});
afterAll(() => keys.cleanup());

const say = async (user: string, command: string, text: string, app = 0) =>
  visibleText((await harness.user(user, app).command(command, text)).body);

const isCard = (c: RecordedCall) =>
  c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? []).includes('breakglass_keep');
const isRequestCard = (c: RecordedCall) =>
  c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? []).includes('request_approve');
const cardValue = (card: RecordedCall): string =>
  /"action_id":"breakglass_keep","value":"([^"]+)"/.exec(JSON.stringify(card.body.blocks))![1]!;
const blob = (line: string) => line.split(' ')[1]!;
const keyCount = async () => (await domain.keys.list(owner, 'web')).keys.length;

let token: string | undefined;
async function served(app = 0): Promise<string> {
  token ??= (await domain.delivery.createToken(owner, 'web')).token;
  const response = await fetch(`${harness.apps[app]!.url}/v1/projects/${projectId}/authorized_keys`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return response.text();
}
beforeEach(() => {
  token = undefined;
});

/** Clicks a button in the approvals channel as `user` on replica `app`; returns the answer, if any. */
async function click(user: string, action: string, value: string, app = 0) {
  const responseUrl = harness.slack.newResponseUrl();
  await harness.client(user, app).click(action, value, { responseUrl, channelId: 'C0APPROVE' });
  const answer = await harness.slack
    .waitFor((c) => c.method === 'respond' && c.path === new URL(responseUrl).pathname, 1500)
    .catch(() => undefined);
  return answer ? visibleText(answer.body) : undefined;
}

async function breakGlass(user = 'UERIN', reason = 'incident 42: db down', app = 0) {
  const key = keys.generate('ed25519', { comment: `${user.slice(1).toLowerCase()}@laptop` });
  const reply = await say(
    user,
    '/sshkey',
    `add web --breakglass --reason "${reason}" ${key.publicLine}`,
    app,
  );
  return { reply, key };
}

async function homeApprovals(user: string, app = 0): Promise<RecordedCall> {
  const from = harness.slack.calls.length;
  await harness.client(user, app).click('home_tab_approvals', 'approvals', { viewId: 'VHOME' });
  return harness.slack.waitFor((c) => c.method === 'views.publish' && harness.slack.calls.indexOf(c) >= from);
}

const reviewIndex = async (): Promise<string[]> =>
  ((await domain.workspaces.store.get<BreakGlassIndex>(breakGlassKeys.index()))?.keys ?? []).map((k) => k.id);
const pendingIndex = async (): Promise<string[]> =>
  ((await domain.workspaces.store.get<PendingIndex>(documentKeys.pendingIndex()))?.requests ?? []).map(
    (r) => r.id,
  );

/** Holds a lock from another store on the same namespace, as another replica would, past the wait. */
async function holdLock(name: string, ms = 2_600): Promise<{ released: Promise<void> }> {
  other ??= createDocumentStore({ redisUrl: REDIS_URL, namespace: harness.namespace, dataDir: tempDir() });
  let taken!: () => void;
  const held = new Promise<void>((resolve) => (taken = resolve));
  const released = other.withLock(name, async () => {
    taken();
    await new Promise((resolve) => setTimeout(resolve, ms));
  });
  await held;
  return { released };
}

const ownerDms = () =>
  harness.slack.calls.filter(
    (c) =>
      c.method === 'chat.postMessage' &&
      c.body.channel === OWNER_ID &&
      /nobody reviewed/.test(String(c.body.text)),
  );

describe('a revoke lasts', () => {
  test('the revoked engineer cannot break glass again on that project; the refusal names who, when and the way back', async () => {
    await start();
    const { key } = await breakGlass('UALICE');
    const keyId = cardValue(await harness.slack.waitFor(isCard));
    await click('UBOB', 'breakglass_revoke', keyId, 1);
    expect(await served(1)).not.toContain(blob(key.publicLine));

    // The same key at once, on the other replica: refused, nothing stored or served.
    const again = await say(
      'UALICE',
      '/sshkey',
      `add web --breakglass --reason "still down" ${key.publicLine}`,
    );
    expect(again).toMatch(
      /<@UBOB> revoked your break-glass key \*alice@laptop\* in project \*web\* on \d{4}-\d\d-\d\d \d\d:\d\d UTC, so nothing was added/,
    );
    expect(again).toMatch(
      /until \d{4}-\d\d-\d\d \d\d:\d\d UTC \(its break-glass max, 4h, after the revocation\)/,
    );
    expect(again).toMatch(/The way back is a normal request: ask for the key without `--breakglass`/);
    const another = await say(
      'UALICE',
      '/sshkey',
      `add web --breakglass --reason "x" ${keys.generate('ed25519').publicLine}`,
      1,
    );
    expect(another).toMatch(/<@UBOB> revoked your break-glass key/);
    expect(await keyCount()).toBe(0);
    expect(await served(0)).not.toContain(blob(key.publicLine));

    // Others on call are not barred; erin, with no role, is told to ask the project's approvers.
    expect((await breakGlass('UERIN')).reply).toMatch(/served now/);
    const erinId = cardValue(
      await harness.slack.waitFor(
        (c) => isCard(c) && c.body.text !== undefined && /UERIN/.test(String(c.body.text)),
      ),
    );
    await click('UCAROL', 'breakglass_revoke', erinId);
    const erin = await say(
      'UERIN',
      '/sshkey',
      `add web --breakglass --reason "x" ${keys.generate('ed25519').publicLine}`,
    );
    expect(erin).toMatch(/<@UCAROL> revoked your break-glass key/);
    expect(erin).not.toMatch(/without `--breakglass`/);

    // The normal request still works.
    expect(await say('UALICE', '/sshkey', `add web ${key.publicLine}`)).toMatch(/waiting for approval/);
  });
});

describe('a key removed another way closes its review', () => {
  test("an admin's /sshkey remove: the card loses Keep and Revoke, a late Keep changes nothing, nobody is told it went unreviewed", async () => {
    await start();
    await breakGlass('UERIN');
    const card = await harness.slack.waitFor(isCard);
    const keyId = cardValue(card);
    expect(await say('UBOB', '/sshkey', `remove web ${keyId}`)).toMatch(/Removed key \*erin@laptop\*/);
    const update = await harness.slack.waitFor((c) => c.method === 'chat.update');
    expect(visibleText(update.body)).toMatch(/Removed\* by <@UBOB>/);
    expect(JSON.stringify(update.body.blocks)).not.toContain('breakglass_keep');
    expect(await click('UCAROL', 'breakglass_keep', keyId, 1)).toMatch(
      /already removed by <@UBOB> on .* nothing to keep or revoke/,
    );
    await domain.workspaces.settled();
    expect(await reviewIndex()).not.toContain(keyId);
    const later = new Date(Date.now() + 5 * 3600_000);
    const swept = await Promise.all(harness.apps.map((app) => app.keyhouse.sweep(later)));
    expect(swept.map((s) => s.unreviewedBreakGlass)).toEqual([0, 0]);
    await harness.slack.settle();
    expect(ownerDms()).toHaveLength(0);
    const audit = await say(OWNER_ID, '/org', 'audit web');
    expect(audit).not.toMatch(/kept the break-glass key/);
  });
});

describe("its owner's I'm done removes the key but not its review", () => {
  test('the card still offers Keep and Revoke; a Revoke on the other replica bars its owner from break-glass', async () => {
    await start();
    const { key } = await breakGlass('UERIN');
    const keyId = cardValue(await harness.slack.waitFor(isCard));
    await click('UERIN', 'key_done', `${projectId}:${keyId}`);
    expect(await keyCount()).toBe(0);
    expect(await served(1)).not.toContain(blob(key.publicLine));
    const update = await harness.slack.waitFor((c) => c.method === 'chat.update');
    expect(visibleText(update.body)).toMatch(
      /Waiting for review\*: its owner removed it .* still needs a review/,
    );
    expect(JSON.stringify(update.body.blocks)).toContain('breakglass_revoke');
    await harness.slack.waitFor(
      (c) =>
        !!c.body.thread_ts &&
        /<@UERIN> removed their break-glass key .* still needs a review/.test(visibleText(c.body)),
    );
    await domain.workspaces.settled();
    expect(await reviewIndex()).toContain(keyId);
    // Approvers still find it in App Home's Pending approvals; its owner does not.
    const home = JSON.stringify((await homeApprovals('UBOB')).body.view);
    expect(home).toContain(`"action_id":"breakglass_revoke","value":"${keyId}"`);
    expect(JSON.stringify((await homeApprovals('UERIN')).body.view)).not.toContain(keyId);

    // Removing it was no way round the review: a Revoke still bars its owner.
    expect(await click('UBOB', 'breakglass_revoke', keyId, 1)).toBeUndefined();
    const again = await say(
      'UERIN',
      '/sshkey',
      `add web --breakglass --reason "x" ${keys.generate('ed25519').publicLine}`,
    );
    expect(again).toMatch(/<@UBOB> revoked your break-glass key \*erin@laptop\* in project \*web\*/);
    expect(await keyCount()).toBe(0);
    expect(await click('UCAROL', 'breakglass_keep', keyId)).toMatch(/already reviewed: <@UBOB> revoked it/);
    expect(await say(OWNER_ID, '/org', 'audit web')).toMatch(
      /revoked the break-glass key|breakglass_revoked/,
    );
  });

  test('nobody reviewing it by its original expiry: the sweep marks it unreviewed and tells the owners', async () => {
    await start();
    await breakGlass('UERIN');
    const keyId = cardValue(await harness.slack.waitFor(isCard));
    await click('UERIN', 'key_done', `${projectId}:${keyId}`);
    expect(await keyCount()).toBe(0);
    await domain.workspaces.settled();
    const later = new Date(Date.now() + 5 * 3600_000);
    const swept = await Promise.all(harness.apps.map((app) => app.keyhouse.sweep(later)));
    expect(swept.map((s) => s.unreviewedBreakGlass).sort()).toEqual([0, 1]);
    await harness.slack.settle();
    expect(ownerDms()).toHaveLength(1);
    expect(await click('UBOB', 'breakglass_keep', keyId)).toMatch(/before anyone reviewed it/);
  });
});

describe('a revoked or removed key closes its requests for more time', () => {
  for (const how of ['revoke', 'remove'] as const) {
    test(`${how}: the extension is withdrawn on its card, its requester told, no reminder follows`, async () => {
      await start();
      await breakGlass('UERIN');
      const keyId = cardValue(await harness.slack.waitFor(isCard));
      const asked = await domain.requester.extend({ teamId: 'T0001', userId: 'UERIN' }, projectId, keyId, {
        for: '3d',
      });
      if (asked.kind !== 'requested') throw new Error('expected a request');
      const requestId = asked.request.id;
      await domain.workspaces.settled();
      expect(await pendingIndex()).toContain(requestId);
      if (how === 'revoke') await click('UBOB', 'breakglass_revoke', keyId, 1);
      else expect(await say('UBOB', '/sshkey', `remove web ${keyId}`, 1)).toMatch(/Removed key/);

      const request = await domain.approvals.get(owner, requestId);
      expect(request).toMatchObject({ status: 'withdrawn', closeReason: 'key_removed' });
      expect((await domain.keys.list(owner, 'web')).project.pendingRequests ?? []).toHaveLength(0);
      await harness.slack.waitFor(
        (c) =>
          c.method === 'chat.postMessage' &&
          c.body.channel === 'UERIN' &&
          /was closed: the key was removed/.test(visibleText(c.body)),
      );
      await harness.apps[1]!.keyhouse.domain.workspaces.settled();
      expect(await pendingIndex()).not.toContain(requestId);
      const swept = await harness.apps[0]!.keyhouse.sweep(new Date(Date.now() + 3 * 3600_000));
      expect(swept.reminders).toHaveLength(0);
      expect(await click('UCAROL', 'request_approve', requestId)).toMatch(/closed/);
    });
  }
});

describe('the review index is repaired', () => {
  test('a key left out of the index (its write failed) is put back when an approver opens Pending approvals, and the sweep then finds it', async () => {
    await start();
    const { released } = await holdLock(breakGlassKeys.index());
    const { reply } = await breakGlass('UERIN');
    expect(reply).toMatch(/served now/);
    const keyId = cardValue(await harness.slack.waitFor(isCard));
    await released;
    await domain.workspaces.settled();
    expect(await reviewIndex()).not.toContain(keyId);

    const home = await homeApprovals('UBOB', 1);
    expect(visibleText({ view: home.body.view })).toContain('incident 42: db down');
    await harness.apps[1]!.keyhouse.domain.workspaces.settled();
    expect(await reviewIndex()).toContain(keyId);
    const later = new Date(Date.now() + 5 * 3600_000);
    expect((await harness.apps[0]!.keyhouse.sweep(later)).unreviewedBreakGlass).toBe(1);
    await harness.slack.waitFor((c) => ownerDms().includes(c));
  });

  test('another break-glass key added to the project puts the missing one back too', async () => {
    await start();
    const { released } = await holdLock(breakGlassKeys.index());
    await breakGlass('UERIN');
    const keyId = cardValue(await harness.slack.waitFor(isCard));
    await released;
    await domain.workspaces.settled();
    expect(await reviewIndex()).not.toContain(keyId);
    await breakGlass('UALICE');
    await domain.workspaces.settled();
    expect(await reviewIndex()).toContain(keyId);
    expect(await reviewIndex()).toHaveLength(2);
  });
});

describe('App Home lists break-glass keys to review', () => {
  test('Pending approvals shows the card with Keep and Revoke to approvers, not to its owner; a Keep there counts once', async () => {
    await start();
    await breakGlass('UERIN');
    const card = await harness.slack.waitFor(isCard);
    const keyId = cardValue(card);
    const home = await homeApprovals('UBOB');
    expect(harness.slack.violations).toEqual([]);
    const text = visibleText({ view: home.body.view });
    expect(text).toMatch(/1 break-glass key or request waiting for your decision/);
    expect(text).toContain('incident 42: db down');
    const blocks = JSON.stringify((home.body.view as { blocks: unknown }).blocks);
    expect(blocks).toContain(`"action_id":"breakglass_keep","value":"${keyId}"`);
    expect(blocks).toContain(`"block_id":"breakglass_actions_${keyId}"`);
    expect(visibleText({ view: (await homeApprovals('UALICE')).body.view })).toMatch(/Nothing waits/);

    // Keep from App Home: recorded once, the clicker told, the card in the channel updated, Home again.
    const from = harness.slack.calls.length;
    await harness.client('UBOB', 1).click('breakglass_keep', keyId, { viewId: 'VHOME' });
    await harness.slack.waitFor(
      (c) =>
        c.method === 'chat.postMessage' && c.body.channel === 'UBOB' && /kept it/.test(String(c.body.text)),
    );
    const republished = await harness.slack.waitFor(
      (c) => c.method === 'views.publish' && harness.slack.calls.indexOf(c) >= from,
    );
    expect(visibleText({ view: republished.body.view })).toMatch(/Nothing waits/);
    const update = await harness.slack.waitFor((c) => c.method === 'chat.update');
    expect(visibleText(update.body)).toMatch(/Kept\* by <@UBOB>/);
    expect(await click('UCAROL', 'breakglass_revoke', keyId)).toMatch(/already reviewed: <@UBOB> kept it/);
    expect((await say(OWNER_ID, '/org', 'audit web')).match(/kept the break-glass key/g)).toHaveLength(1);
  });
});

describe('when the card cannot be noted', () => {
  test('the engineer is told the key is in and served; a Keep on the card is still answered', async () => {
    await start();
    // The card is posted slowly; meanwhile another replica holds the workspace's lock past the wait.
    harness.slack.delays.set('chat.postMessage', 700);
    const key = keys.generate('ed25519', { comment: 'erin@laptop' });
    const replying = say('UERIN', '/sshkey', `add web --breakglass --reason "db down" ${key.publicLine}`);
    while ((await keyCount()) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const { released } = await holdLock(documentKeys.organization('T0001'), 2_800);
    const reply = await replying;
    await released;
    harness.slack.delays.clear();
    expect(reply).toMatch(/Break-glass key \*erin@laptop\* added to \*web\* and served now/);
    expect(reply).toMatch(/Keyhouse could not note where, so the card will not show the review/);
    expect(reply).toMatch(/App Home, under \*Pending approvals\*/);
    expect(reply).not.toMatch(/went wrong|Try again/);
    expect(await served()).toContain(blob(key.publicLine));
    const keyId = cardValue(await harness.slack.waitFor(isCard));
    expect(await click('UBOB', 'breakglass_keep', keyId, 1)).toMatch(
      /<@UBOB> reviewed the break-glass key .* and kept it/,
    );
  });

  test('on the form: answered once with the added key, the card noted or not', async () => {
    await start();
    const opened = await harness.user('UERIN').command('/sshkey', 'add');
    const view = opened.body.view as Record<string, unknown>;
    harness.slack.delays.set('chat.postMessage', 700);
    const submitting = harness.client('UERIN').submitForm(view, {
      project: { selected: projectId },
      public_key: keys.generate('ed25519').publicLine,
      key_kind: { selected: 'breakglass' },
      reason: 'incident 7',
    });
    while ((await keyCount()) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const { released } = await holdLock(documentKeys.organization('T0001'), 2_800);
    const answer = await submitting;
    expect(answer.response_action).toBe('update');
    expect(visibleText({ view: answer.view })).toMatch(/It is served now, until/);
    await released;
    const told = await harness.slack.waitFor(
      (c) =>
        (c.method === 'chat.postMessage' || c.method === 'chat.postEphemeral') &&
        (c.body.channel === 'UERIN' || c.body.user === 'UERIN') &&
        /served now/.test(visibleText(c.body)),
      8000,
    );
    expect(visibleText(told.body)).toMatch(/could not note where/);
  });
});

describe('reasons', () => {
  test('a --reason longer than 300 characters is refused, not cut, on every add path', async () => {
    await start();
    const long = 'the database is down and '.repeat(13); // 325 characters
    const key = keys.generate('ed25519');
    const bg = await say('UERIN', '/sshkey', `add web --breakglass --reason "${long}" ${key.publicLine}`);
    expect(bg).toMatch(/A reason may be at most 300 characters, and this one has 324/);
    const ordinary = await say('UALICE', '/sshkey', `add web --reason "${long}" ${key.publicLine}`);
    expect(ordinary).toMatch(/at most 300 characters/);
    expect(await keyCount()).toBe(0);
    expect((await domain.keys.list(owner, 'web')).project.pendingRequests ?? []).toHaveLength(0);
    const exact = 'x'.repeat(300);
    expect(
      await say('UERIN', '/sshkey', `add web --breakglass --reason "${exact}" ${key.publicLine}`),
    ).toMatch(/served now/);
    expect((await domain.keys.list(owner, 'web')).keys[0]?.breakGlass?.reason).toBe(exact);
  });
});

describe('on call with no role', () => {
  test('the add-key form lists projects with break-glass on, for break-glass only, and it works there', async () => {
    await start({ defaultRoleNone: true });
    const opened = await harness.user('UERIN').command('/sshkey', 'add');
    const view = opened.body.view as Record<string, unknown>;
    const text = JSON.stringify(view);
    expect(text).toContain('web (break-glass only)');
    expect(text).not.toContain('"value":"ordinary"');
    expect(text).toContain(
      '"initial_option":{"text":{"type":"plain_text","text":"Break-glass (on call, now)"},"value":"breakglass"}',
    );
    expect(harness.slack.violations).toEqual([]);
    // Nobody else sees it: frank is not on call.
    expect(visibleText({ view: (await harness.user('UFRANK').command('/sshkey', 'add')).body.view })).toMatch(
      /You have no project to add a key to/,
    );
    const answer = await harness.client('UERIN').submitForm(view, {
      project: { selected: projectId },
      public_key: keys.generate('ed25519').publicLine,
      key_kind: { selected: 'breakglass' },
      reason: 'incident 9',
    });
    expect(answer.response_action).toBe('update');
    expect(await keyCount()).toBe(1);
  });

  test('the refusals advise a normal request only to those who may make one, else name the approvers', async () => {
    await start({ defaultRoleNone: true });
    await say(OWNER_ID, '/project', 'set web break-glass off');
    const key = keys.generate('ed25519').publicLine;
    const erin = await say('UERIN', '/sshkey', `add web --breakglass --reason "x" ${key}`);
    expect(erin).toMatch(/Break-glass is off for project \*web\*/);
    expect(erin).not.toMatch(/without `--breakglass`/);
    expect(erin).toMatch(
      /ask one of its approvers \(<@UOWNER1>, <@UBOB>, <@UCAROL>\) to add your key or to give you a role/,
    );
    const alice = await say('UALICE', '/sshkey', `add web --breakglass --reason "x" ${key}`);
    expect(alice).toMatch(/ask for the key without `--breakglass`: an admin approves it/);
    // Not on call and no role: no project names nor admins of a project they cannot see.
    const frank = await say('UFRANK', '/sshkey', `add web --breakglass --reason "x" ${key}`);
    expect(frank).toMatch(/you are not one/);
    expect(frank).not.toMatch(/without `--breakglass`|<@UBOB>/);
    expect(frank).toMatch(/ask one of its admins/);
  });
});

describe('who is on call is asked apart', () => {
  test('while Slack does not answer: one question at a time, every attempt refused within the time, other messages unhindered', async () => {
    await start();
    harness.slack.delays.set('usergroups.users.list', 10_000);
    const key = keys.generate('ed25519').publicLine;
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => say('UERIN', '/sshkey', `add web --breakglass --reason "x" ${key}`)),
    );
    expect(Date.now() - started).toBeLessThan(4_000);
    for (const answer of answers) expect(answer).toMatch(/could not read the members of @oncall from Slack/);
    expect(await keyCount()).toBe(0);
    // The bot's own messages go out meanwhile.
    const sent = Date.now();
    await say('UALICE', '/sshkey', `add web ${keys.generate('ed25519').publicLine}`);
    await harness.slack.waitFor(isRequestCard, 3_000);
    expect(Date.now() - sent).toBeLessThan(3_000);
    // Slack saw one question from this replica, not twenty.
    await new Promise((resolve) => setTimeout(resolve, 10_500 - (Date.now() - started)));
    expect(harness.slack.of('usergroups.users.list').length).toBe(1);
  });
});
