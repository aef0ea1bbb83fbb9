import type { Domain } from '../../src/domain';
import type { RecordedCall } from '../helpers/fakeSlack';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { KeyFactory } from '../helpers/sshKeygen';
import { visibleText } from '../helpers/slackUser';

/**
 * Break-glass through the real app: two replicas on one Redis, signed requests, the strict stand-in
 * Slack. erin is on call and has no role on the project; alice is a member and on call; bob and carol are
 * admins; frank is nobody. Membership of the on-call group comes from the stand-in's
 * `usergroups.users.list`.
 */
const keys = new KeyFactory();
let harness: Harness;
let domain: Domain;
let projectId: string;
const owner = { teamId: 'T0001', userId: OWNER_ID };
const GROUP = 'S0ONCALL';

async function start(options: { breakGlass?: boolean; failSlack?: boolean } = {}) {
  harness = await startHarness({ replicas: 2 });
  domain = harness.apps[0]!.keyhouse.domain;
  harness.slack.userGroups.set(GROUP, ['UERIN', 'UALICE']);
  if (options.failSlack) harness.slack.failures.set('usergroups.users.list', 'missing_scope');
  projectId = (await domain.projects.create(owner, 'web')).id;
  await domain.projects.grant(owner, 'web', 'UALICE', 'member');
  await domain.projects.grant(owner, 'web', 'UBOB', 'admin');
  await domain.projects.grant(owner, 'web', 'UCAROL', 'admin');
  await say(OWNER_ID, '/project', 'channel web <#C0APPROVE|approvals>');
  await say(OWNER_ID, '/org', `set oncall-group <!subteam^${GROUP}|@oncall>`);
  if (options.breakGlass !== false) await say(OWNER_ID, '/project', 'set web break-glass on');
}
afterEach(() => harness.stop());
afterAll(() => keys.cleanup());

const say = async (user: string, command: string, text: string, app = 0) =>
  visibleText((await harness.user(user, app).command(command, text)).body);

const isCard = (c: RecordedCall) =>
  c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? []).includes('breakglass_keep');
const cardValue = (card: RecordedCall): string =>
  /"action_id":"breakglass_keep","value":"([^"]+)"/.exec(JSON.stringify(card.body.blocks))![1]!;

let token: string | undefined;
/** The key set replica `app` serves the project's instances now. */
async function served(app = 0): Promise<string> {
  token ??= (await domain.delivery.createToken(owner, 'web')).token;
  const response = await fetch(`${harness.apps[app]!.url}/v1/projects/${projectId}/authorized_keys`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(200);
  return response.text();
}
beforeEach(() => {
  token = undefined;
});

const blob = (line: string) => line.split(' ')[1]!;
const keyCount = async () => (await domain.keys.list(owner, 'web')).keys.length;

/** Clicks Keep or Revoke on the card as `user` on replica `app`; returns the ephemeral answer, if any. */
async function click(user: string, action: 'keep' | 'revoke', keyId: string, app = 0) {
  const responseUrl = harness.slack.newResponseUrl();
  await harness
    .client(user, app)
    .click(`breakglass_${action}`, keyId, { responseUrl, channelId: 'C0APPROVE' });
  const answer = await harness.slack
    .waitFor((c) => c.method === 'respond' && c.path === new URL(responseUrl).pathname, 1500)
    .catch(() => undefined);
  return answer ? visibleText(answer.body) : undefined;
}

async function breakGlass(user = 'UERIN', extra = '') {
  const key = keys.generate('ed25519', { comment: `${user.slice(1).toLowerCase()}@laptop` });
  const reply = await say(
    user,
    '/sshkey',
    `add web --breakglass --reason "incident 42: db down" ${extra} ${key.publicLine}`,
  );
  return { reply, key };
}

describe('adding a break-glass key', () => {
  test('an on-call member with no role adds one: served at once, card posted with Keep and Revoke', async () => {
    await start();
    const before = Date.now();
    const { reply, key } = await breakGlass('UERIN');
    expect(reply).toMatch(/Break-glass key \*erin@laptop\* added to \*web\* and served now, until/);
    expect(reply).toMatch(/posted in <#C0APPROVE>/);
    expect(await say('UBOB', '/sshkey', 'list web')).toMatch(/erin@laptop.*break-glass, awaiting review/);
    // Served at once, by both replicas.
    expect(await served(0)).toContain(blob(key.publicLine));
    expect(await served(1)).toContain(blob(key.publicLine));

    const card = await harness.slack.waitFor(isCard);
    expect(card.body.channel).toBe('C0APPROVE');
    const text = visibleText(card.body);
    for (const part of [
      '<@UERIN>',
      keys.fingerprint(key.publicLine).fingerprint,
      'incident 42: db down',
      'Waiting for review',
    ]) {
      expect(text).toContain(part);
    }
    expect(JSON.stringify(card.body.blocks)).toMatch(/"text":"Keep".*"text":"Revoke"/);
    // Until: the project's break-glass maximum, 4 hours by default.
    const [stored] = (await domain.keys.list(owner, 'web')).keys;
    expect(stored).toMatchObject({
      origin: 'breakglass',
      addedBy: 'UERIN',
      breakGlass: { reason: 'incident 42: db down' },
    });
    const lasts = Date.parse(stored!.expiresAt!) - before;
    expect(lasts).toBeGreaterThan(4 * 3600_000 - 60_000);
    expect(lasts).toBeLessThanOrEqual(4 * 3600_000 + 60_000);
    expect(await say(OWNER_ID, '/org', 'audit web')).toMatch(
      /<@UERIN> added the break-glass key erin@laptop .* _\(until .*: incident 42: db down\)_/,
    );
  });

  test('where people without a role see nothing, an on-call member still reaches the project by name', async () => {
    await start();
    await say(OWNER_ID, '/org', 'set default-role none');
    expect(await say('UERIN', '/project', 'show web')).not.toMatch(/Project ID/);
    const { reply, key } = await breakGlass('UERIN');
    expect(reply).toMatch(/added to \*web\* and served now/);
    expect(await served(1)).toContain(blob(key.publicLine));
  });

  test('the expiry is what was asked, cut to the project maximum', async () => {
    await start();
    await say(OWNER_ID, '/project', 'set web break-glass-max 1h');
    const { reply } = await breakGlass('UERIN', '--expires 3d');
    expect(reply).toMatch(/cut to the project's break-glass maximum, 1h/);
    const [key] = (await domain.keys.list(owner, 'web')).keys;
    expect(Date.parse(key!.expiresAt!) - Date.now()).toBeLessThanOrEqual(3600_000);
    await domain.keys.change(owner, 'web', key!.id, 'remove');
    await breakGlass('UALICE', '--expires 30m');
    const [short] = (await domain.keys.list(owner, 'web')).keys;
    expect(Date.parse(short!.expiresAt!) - Date.now()).toBeLessThanOrEqual(30 * 60_000);
    // The group's members were read from Slack once, and kept for the second.
    expect(harness.slack.of('usergroups.users.list')).toHaveLength(1);
    expect(harness.slack.of('usergroups.users.list')[0]!.body).toMatchObject({ usergroup: GROUP });
  });

  test('refusals say what is wrong and how to fix it, and store nothing', async () => {
    await start({ breakGlass: false });
    const line = keys.generate('ed25519').publicLine;
    const refused = async (user: string, text: string, expected: RegExp) => {
      expect(await say(user, '/sshkey', text)).toMatch(expected);
      expect(await keyCount()).toBe(0);
      expect(harness.slack.calls.filter(isCard)).toHaveLength(0);
    };
    // Not in the on-call group, whatever their role.
    await refused(
      'UFRANK',
      `add web --breakglass --reason "x" ${line}`,
      /Break-glass is for the members of @oncall, and you are not one, so nothing was added\. Ask to be added/,
    );
    await refused('UBOB', `add web --breakglass --reason "x" ${line}`, /you are not one/);
    // Break-glass off on the project.
    await refused(
      'UERIN',
      `add web --breakglass --reason "x" ${line}`,
      /Break-glass is off for project \*web\*.*`\/project set web break-glass on`/,
    );
    await say(OWNER_ID, '/project', 'set web break-glass on');
    // No reason.
    await refused('UERIN', `add web --breakglass ${line}`, /needs a reason.*--reason/);
    // A private key in the reason goes through the one refusal, never echoed.
    const privateKey = keys.generate('ed25519');
    const answer = await say(
      'UERIN',
      '/sshkey',
      `add web --breakglass --reason "${privateKey.privateText}" ${line}`,
    );
    expect(answer).toMatch(/private key/i);
    expect(answer).not.toContain(privateKey.privateText.split('\n')[1]!);
    expect(await keyCount()).toBe(0);
    // One live break-glass key per person per project.
    await say('UERIN', '/sshkey', `add web --breakglass --reason "x" ${line}`);
    expect(await keyCount()).toBe(1);
    await refused2('UERIN', `add web --breakglass --reason "y" ${keys.generate('ed25519').publicLine}`);
    async function refused2(user: string, text: string) {
      expect(await say(user, '/sshkey', text)).toMatch(
        /You already have a live break-glass key in project \*web\*/,
      );
      expect(await keyCount()).toBe(1);
    }
    // The on-call group cleared: nobody may.
    await say(OWNER_ID, '/org', 'set oncall-group none');
    expect(
      await say(
        'UALICE',
        '/sshkey',
        `add web --breakglass --reason "x" ${keys.generate('ed25519').publicLine}`,
      ),
    ).toMatch(/none is set.*`\/org set oncall-group @group`/);
    expect(await keyCount()).toBe(1);
  });

  test('when Slack cannot say who is on call, break-glass is refused (fails closed)', async () => {
    await start({ failSlack: true });
    const reply = (await breakGlass('UERIN')).reply;
    expect(reply).toMatch(
      /could not read the members of @oncall from Slack \(missing_scope\), so no break-glass key was added/,
    );
    expect(reply).toMatch(/usergroups:read/);
    expect(await keyCount()).toBe(0);
    expect(harness.slack.calls.filter(isCard)).toHaveLength(0);
  });

  test('the add-key form offers Break-glass once an on-call group is set, and it works there', async () => {
    await start();
    const opened = await harness.user('UERIN').command('/sshkey', 'add');
    const view = opened.body.view as Record<string, unknown>;
    expect(JSON.stringify(view)).toContain('"value":"breakglass"');
    const form = {
      project: { selected: projectId },
      public_key: keys.generate('ed25519').publicLine,
      key_kind: { selected: 'breakglass' },
    };
    const noReason = await harness.client('UERIN').submitForm(view, form);
    expect(noReason).toMatchObject({
      response_action: 'errors',
      errors: { reason: expect.stringMatching(/needs a reason/) },
    });
    const frank = await harness.client('UFRANK').submitForm(view, { ...form, reason: 'incident' });
    expect(frank).toMatchObject({ errors: { project: expect.stringMatching(/you are not one/) } });
    expect(await keyCount()).toBe(0);
    const answer = await harness.client('UERIN').submitForm(view, { ...form, reason: 'incident 7' });
    expect(answer.response_action).toBe('update');
    expect(visibleText({ view: answer.view })).toMatch(/It is served now, until/);
    await harness.slack.waitFor(isCard);
    expect(await keyCount()).toBe(1);
  });
});

describe('reviewing', () => {
  test('the key owner cannot review it; a member cannot; an admin revokes it and it is no longer served', async () => {
    await start();
    const { key } = await breakGlass('UALICE');
    const card = await harness.slack.waitFor(isCard);
    const keyId = cardValue(card);
    expect(await click('UALICE', 'revoke', keyId)).toMatch(
      /You added this break-glass key, so another approver/,
    );
    expect(await click('UFRANK', 'keep', keyId)).toMatch(
      /Reviewing a break-glass key is for the approvers of project \*web\*.*Who can: <@UOWNER1>, <@UBOB>, <@UCAROL>\./,
    );
    expect(await served()).toContain(blob(key.publicLine));
    expect(harness.slack.of('chat.update')).toHaveLength(0);

    expect(await click('UBOB', 'revoke', keyId, 1)).toBeUndefined(); // answered by the card itself
    expect(await served(0)).not.toContain(blob(key.publicLine));
    expect(await served(1)).not.toContain(blob(key.publicLine));
    expect(await keyCount()).toBe(0);
    const update = await harness.slack.waitFor((c) => c.method === 'chat.update');
    expect(visibleText(update.body)).toMatch(/Revoked\* by <@UBOB>/);
    expect(JSON.stringify(update.body.blocks)).not.toContain('breakglass_keep');
    await harness.slack.waitFor(
      (c) =>
        c.method === 'chat.postMessage' && c.body.channel === 'UALICE' && /revoked/.test(String(c.body.text)),
    );
    expect(await click('UCAROL', 'keep', keyId)).toMatch(/already reviewed: <@UBOB> revoked it on/);
    expect(await say(OWNER_ID, '/org', 'audit web')).toMatch(
      /<@UBOB> revoked the break-glass key alice@laptop .* for <@UALICE>/,
    );
  });

  test('simultaneous Keep and Revoke on two replicas: one wins, once, and the card says which', async () => {
    await start();
    const { key } = await breakGlass('UERIN');
    const keyId = cardValue(await harness.slack.waitFor(isCard));
    const answers = await Promise.all([click('UBOB', 'keep', keyId, 0), click('UCAROL', 'revoke', keyId, 1)]);
    expect(answers.filter((a) => a === undefined)).toHaveLength(1);
    const loser = answers.find((a) => a !== undefined)!;
    expect(loser).toMatch(/already reviewed: <@U(BOB|CAROL)> (kept|revoked) it on/);
    await harness.slack.settle();
    const updates = harness.slack.of('chat.update');
    expect(updates).toHaveLength(1);
    const card = visibleText(updates[0]!.body);
    const kept = /Kept\* by <@UBOB>/.test(card);
    expect(kept || /Revoked\* by <@UCAROL>/.test(card)).toBe(true);
    expect(loser).toMatch(kept ? /<@UBOB> kept it/ : /<@UCAROL> revoked it/);
    expect((await served()).includes(blob(key.publicLine))).toBe(kept);
    if (kept) expect(await say('UALICE', '/sshkey', 'list web')).toMatch(/break-glass, kept by <@UBOB>/);
    const audit = await say(OWNER_ID, '/org', 'audit web');
    expect(audit.match(/(kept|revoked) the break-glass key/g)).toHaveLength(1);
  });

  test('a key nobody reviewed before it expired is marked unreviewed, once, and the owners are told', async () => {
    await start();
    await breakGlass('UERIN');
    const keyId = cardValue(await harness.slack.waitFor(isCard));
    const later = new Date(Date.now() + 5 * 3600_000);
    const results = await Promise.all(harness.apps.map((app) => app.keyhouse.sweep(later)));
    expect(results.map((r) => r.unreviewedBreakGlass).sort()).toEqual([0, 1]);
    expect((await harness.apps[0]!.keyhouse.sweep(later)).unreviewedBreakGlass).toBe(0);
    const dm = await harness.slack.waitFor(
      (c) =>
        c.method === 'chat.postMessage' &&
        c.body.channel === OWNER_ID &&
        /nobody reviewed it/.test(String(c.body.text)),
    );
    expect(visibleText(dm.body)).toMatch(
      /break-glass key \*erin@laptop\* .* of <@UERIN> expired .* It is recorded as unreviewed/,
    );
    await harness.slack.settle();
    expect(
      harness.slack.calls.filter(
        (c) =>
          c.method === 'chat.postMessage' &&
          c.body.channel === OWNER_ID &&
          /nobody reviewed/.test(String(c.body.text)),
      ),
    ).toHaveLength(1);
    expect(visibleText(harness.slack.of('chat.update')[0]!.body)).toMatch(/Expired unreviewed/);
    expect(await say(OWNER_ID, '/org', 'audit web')).toMatch(
      /Keyhouse marked the break-glass key erin@laptop .* for <@UERIN> unreviewed: it expired before anyone reviewed it/,
    );
    const [stored] = (await domain.keys.list(owner, 'web')).keys;
    expect(stored?.breakGlass?.review).toBe('unreviewed');
    expect(await say('UBOB', '/sshkey', 'list web')).toMatch(/erin@laptop.*break-glass, \*unreviewed\*/);
    expect(await click('UBOB', 'keep', keyId)).toMatch(/expired on .* before anyone reviewed it/);
  });
});

describe('the on-call group', () => {
  test('owners set and clear it; /org and App Home Settings show it; others are refused', async () => {
    await start();
    expect(await say('UBOB', '/org', 'set oncall-group <!subteam^S0OTHER|@other>')).toMatch(
      /organization owners/,
    );
    expect(await say(OWNER_ID, '/org', '')).toMatch(/On-call group:\* <!subteam\^S0ONCALL\|@oncall>/);
    await harness.client(OWNER_ID).click('home_tab_settings', 'settings', { viewId: 'VHOME' });
    const home = await harness.slack.waitFor((c) => c.method === 'views.publish');
    expect(visibleText(home.body)).toMatch(/On-call group:\* <!subteam\^S0ONCALL\|@oncall>/);
    expect(await say(OWNER_ID, '/org', 'set oncall-group @oncall')).toMatch(
      /Mention the user group with `@`/,
    );
    expect(await say(OWNER_ID, '/org', 'set oncall-group none')).toMatch(/on-call group is cleared/);
    expect(await say(OWNER_ID, '/org', '')).toMatch(/On-call group:\* _not set_/);
    expect(await say(OWNER_ID, '/org', 'audit')).toMatch(
      /cleared the on-call group[\s\S]*set the on-call group to @oncall \(S0ONCALL\)/,
    );
  });

  test('/project set without a setting shows all of them; admins change them, others cannot', async () => {
    await start();
    expect(await say('UALICE', '/project', 'set web break-glass-max 8h')).toMatch(/needs the \*admin\* role/);
    expect(await say('UBOB', '/project', 'set web break-glass-max 8h')).toMatch(/at most `8h`/);
    expect(await say('UBOB', '/project', 'set web break-glass sometimes')).toMatch(
      /Break-glass is one of `on`, `off`/,
    );
    const settings = await say('UALICE', '/project', 'set web');
    for (const line of [
      /Offline logins:\* `24h`/,
      /Break-glass:\* `on`/,
      /Break-glass max:\* `8h`/,
      /Max key lifetime:\* `none`/,
    ]) {
      expect(settings).toMatch(line);
    }
  });
});
