import type { Domain } from '../../src/domain';
import type { RecordedCall } from '../helpers/fakeSlack';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { KeyFactory } from '../helpers/sshKeygen';
import { visibleText } from '../helpers/slackUser';

/**
 * What a requester controls, through the real app: Cancel request on their filed request, and I'm done
 * and Extend on their temporary keys. alice is a member, bob an admin, dave a viewer.
 */
const keys = new KeyFactory();
let harness: Harness;
let domain: Domain;
let projectId: string;
const owner = { teamId: 'T0001', userId: OWNER_ID };

beforeEach(async () => {
  harness = await startHarness();
  domain = harness.apps[0]!.keyhouse.domain;
  projectId = (await domain.projects.create(owner, 'web')).id;
  await domain.projects.grant(owner, 'web', 'UALICE', 'member');
  await domain.projects.grant(owner, 'web', 'UBOB', 'admin');
  await domain.projects.grant(owner, 'web', 'UDAVE', 'viewer');
  await say(OWNER_ID, '/project', 'channel web <#C0APPROVE|approvals>');
});
afterEach(() => harness.stop());
afterAll(() => keys.cleanup());

const say = async (user: string, command: string, text: string) =>
  visibleText((await harness.user(user).command(command, text)).body);

const isCard = (c: RecordedCall) =>
  c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? []).includes('request_approve');
const valueOf = (call: RecordedCall, actionId: string): string => {
  const blocks = JSON.stringify(call.body.blocks ?? []);
  const match = new RegExp(`"action_id":"${actionId}","value":"([^"]+)"`).exec(blocks);
  if (!match) throw new Error(`no ${actionId} button in ${blocks.slice(0, 300)}`);
  return match[1]!;
};
/** The latest direct message to `user` carrying the button `actionId`, waited for after index `from`. */
const dmWith = (user: string, actionId: string, from = 0) =>
  harness.slack.waitFor(
    (c) =>
      harness.slack.calls.indexOf(c) >= from &&
      c.method === 'chat.postMessage' &&
      c.body.channel === user &&
      JSON.stringify(c.body.blocks ?? []).includes(`"action_id":"${actionId}"`),
  );

/** Clicks a button in a direct message; returns what the app answered through the response URL. */
async function click(user: string, actionId: string, value: string): Promise<RecordedCall | undefined> {
  const responseUrl = harness.slack.newResponseUrl();
  await harness.client(user).click(actionId, value, { responseUrl, channelId: `D${user}` });
  return harness.slack
    .waitFor((c) => c.method === 'respond' && c.path === new URL(responseUrl).pathname, 2000)
    .catch(() => undefined);
}

/** Clicks Extend, which opens a form (answered through views.open, not the response URL). */
const openForm = (user: string, value: string) =>
  harness.client(user).click('key_extend', value, {
    responseUrl: harness.slack.newResponseUrl(),
    channelId: `D${user}`,
  });

async function served(): Promise<string> {
  const { token } = await domain.delivery.createToken(owner, 'web');
  const response = await fetch(`${harness.apps[0]!.url}/v1/projects/${projectId}/authorized_keys`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(200);
  return response.text();
}

const blob = (line: string) => line.split(' ')[1]!;

describe('Cancel request', () => {
  test('the requester cancels: withdrawn, card updated, their message replaced; a second click is told', async () => {
    await say('UALICE', '/sshkey', `add web --reason "deploy" ${keys.generate('ed25519').publicLine}`);
    const card = await harness.slack.waitFor(isCard);
    const filed = await dmWith('UALICE', 'request_cancel');
    expect(visibleText(filed.body)).toMatch(/You asked for the key .* in \*web\* \(posted in <#C0APPROVE>\)/);
    const requestId = valueOf(filed, 'request_cancel');
    expect(requestId).toBe(valueOf(card, 'request_approve'));

    const answer = await click('UALICE', 'request_cancel', requestId);
    expect(answer?.body.replace_original).toBe(true);
    expect(visibleText(answer!.body)).toMatch(
      /You cancelled your request for the key .* Nothing was changed/,
    );
    const request = await domain.approvals.get(owner, requestId);
    expect(request).toMatchObject({ status: 'withdrawn', closeReason: 'cancelled', decidedBy: 'UALICE' });
    expect((await domain.projects.show(owner, 'web')).project.pendingRequests).toEqual([]);
    const update = await harness.slack.waitFor((c) => c.method === 'chat.update');
    expect(update.body).toMatchObject({ channel: 'C0APPROVE', ts: request.cards[0]!.ts });
    expect(visibleText(update.body)).toMatch(/Cancelled\* .* by <@UALICE>, who asked for it/);
    expect(JSON.stringify(update.body.blocks)).not.toContain('request_approve');
    expect(await say(OWNER_ID, '/org', 'audit')).toMatch(/<@UALICE> cancelled their key request/);

    const again = await click('UALICE', 'request_cancel', requestId);
    expect(again?.body.replace_original).toBe(false);
    expect(visibleText(again!.body)).toMatch(/already cancelled by <@UALICE>|was cancelled by <@UALICE>/);
    // An approver's late click adds nothing.
    const late = harness.slack.newResponseUrl();
    await harness
      .client('UBOB')
      .click('request_approve', requestId, { responseUrl: late, channelId: 'C0APPROVE' });
    const told = await harness.slack.waitFor(
      (c) => c.method === 'respond' && c.path === new URL(late).pathname,
    );
    expect(visibleText(told.body)).toMatch(/cancelled by <@UALICE>.*nothing was added/);
    expect((await domain.keys.list(owner, 'web')).keys).toEqual([]);
  });

  test('the cards say it is cancelled even when the answer to the click cannot be delivered', async () => {
    await say('UALICE', '/sshkey', `add web ${keys.generate('ed25519').publicLine}`);
    await harness.slack.waitFor(isCard);
    const requestId = valueOf(await dmWith('UALICE', 'request_cancel'), 'request_cancel');
    const [card] = (await domain.approvals.get(owner, requestId)).cards;
    harness.slack.failures.set('respond', 'expired_url');
    await harness.client('UALICE').click('request_cancel', requestId, {
      responseUrl: harness.slack.newResponseUrl(),
      channelId: 'DUALICE',
    });
    const update = await harness.slack.waitFor((c) => c.method === 'chat.update' && c.body.ts === card!.ts);
    harness.slack.failures.delete('respond');
    expect(visibleText(update.body)).toMatch(/Cancelled/i);
    expect(JSON.stringify(update.body.blocks)).not.toContain('request_approve');
    expect((await domain.approvals.get(owner, requestId)).status).toBe('withdrawn');
  });

  test('filing and cancelling in a loop: a cancelled request counts for an hour, so the approvers get at most five cards', async () => {
    const line = keys.generate('ed25519', { comment: 'loop' }).publicLine;
    for (let i = 0; i < 5; i += 1) {
      const from = harness.slack.calls.length;
      expect(await say('UALICE', '/sshkey', `add web ${line}`)).toMatch(/waiting for approval/);
      const requestId = valueOf(await dmWith('UALICE', 'request_cancel', from), 'request_cancel');
      expect(visibleText((await click('UALICE', 'request_cancel', requestId))!.body)).toMatch(
        /You cancelled/,
      );
    }
    const refused = await say('UALICE', '/sshkey', `add web ${line}`);
    expect(refused).toMatch(
      /You cancelled 5 key requests in the last hour in project \*web\*, and 5 is the most one person may have open in a project \(a cancelled request counts for an hour\)\. .*the next on \d{4}-\d\d-\d\d \d\d:\d\d UTC/,
    );
    await harness.slack.settle();
    expect(harness.slack.calls.filter(isCard)).toHaveLength(5);
    // Others are not held back by it.
    await domain.projects.grant(owner, 'web', 'UCAROL', 'member');
    expect(await say('UCAROL', '/sshkey', `add web ${line}`)).toMatch(/waiting for approval/);
  });

  test('anyone else is refused and nothing changes', async () => {
    await say('UALICE', '/sshkey', `add web ${keys.generate('ed25519').publicLine}`);
    const requestId = valueOf(await dmWith('UALICE', 'request_cancel'), 'request_cancel');
    for (const user of ['UBOB', OWNER_ID, 'UDAVE']) {
      const answer = await click(user, 'request_cancel', requestId);
      expect(visibleText(answer!.body)).toMatch(
        /Only who asked for it \(<@UALICE>\) can cancel this request\. An approver who does not want it can deny it/,
      );
    }
    expect((await domain.approvals.get(owner, requestId)).status).toBe('pending');
    expect(harness.slack.of('chat.update')).toHaveLength(0);
  });
});

describe("I'm done", () => {
  test('the owner of a temporary key removes it at once; it is no longer served; a second click says it is gone', async () => {
    const key = keys.generate('ed25519', { comment: 'bob@oncall' });
    expect(await say('UBOB', '/sshkey', `add web --expires 8h ${key.publicLine}`)).toMatch(/Added key/);
    // A temporary key added: its owner gets I'm done and Extend by direct message.
    const added = await dmWith('UBOB', 'key_done');
    expect(visibleText(added.body)).toMatch(/Your key \*bob@oncall\* .* in \*web\* is temporary/);
    expect(JSON.stringify(added.body.blocks)).toContain('"action_id":"key_extend"');
    expect(await served()).toContain(blob(key.publicLine));

    // Not theirs: refused, and the key stays.
    const refused = await click('UALICE', 'key_done', valueOf(added, 'key_done'));
    expect(visibleText(refused!.body)).toMatch(
      /Only <@UBOB>, who added \*bob@oncall\*, can say they are done/,
    );
    expect(await served()).toContain(blob(key.publicLine));

    const done = await click('UBOB', 'key_done', valueOf(added, 'key_done'));
    expect(done?.body.replace_original).toBe(true);
    expect(visibleText(done!.body)).toMatch(/Removed your key \*bob@oncall\*/);
    expect(await served()).not.toContain(blob(key.publicLine));
    expect((await domain.keys.list(owner, 'web')).keys).toEqual([]);
    expect(await say(OWNER_ID, '/org', 'audit')).toMatch(/<@UBOB> was done with the key bob@oncall/);

    const again = await click('UBOB', 'key_done', valueOf(added, 'key_done'));
    expect(again?.body.replace_original).toBe(false);
    expect(visibleText(again!.body)).toMatch(
      /That key is already gone from project \*web\*: nothing was removed/,
    );
  });

  test('a permanent key and a disabled one are refused, pointing to an admin; nothing is removed', async () => {
    await say(
      'UALICE',
      '/sshkey',
      `add web ${keys.generate('ed25519', { comment: 'alice@desk' }).publicLine}`,
    );
    await harness
      .client('UBOB')
      .click('request_approve', valueOf(await harness.slack.waitFor(isCard), 'request_approve'), {
        responseUrl: harness.slack.newResponseUrl(),
        channelId: 'C0APPROVE',
      });
    await dmWith('UALICE', 'request_cancel');
    await harness.slack.waitFor((c) => c.method === 'chat.update');
    const permanent = (await domain.keys.list(owner, 'web')).keys.find((k) => k.name === 'alice@desk')!;
    expect(permanent.expiresAt).toBeUndefined();
    // A forged click: the button is never offered on a permanent key.
    const forged = await click('UALICE', 'key_done', `${projectId}:${permanent.id}`);
    expect(visibleText(forged!.body)).toMatch(
      /Key \*alice@desk\* has no expiry, so I'm done does not apply and nothing was removed\. An admin of \*web\* can remove it with `\/sshkey remove web alice@desk`/,
    );

    await say(
      'UBOB',
      '/sshkey',
      `add web --expires 8h ${keys.generate('ed25519', { comment: 'bob@tmp' }).publicLine}`,
    );
    const added = await dmWith('UBOB', 'key_done');
    await say('UBOB', '/sshkey', 'disable web bob@tmp');
    const disabled = await click('UBOB', 'key_done', valueOf(added, 'key_done'));
    expect(visibleText(disabled!.body)).toMatch(
      /Key \*bob@tmp\* is disabled by an admin, so I'm done does not apply/,
    );
    expect((await domain.keys.list(owner, 'web')).keys.map((k) => k.name).sort()).toEqual([
      'alice@desk',
      'bob@tmp',
    ]);
  });

  test('a key approved with an expiry: the approval message carries the controls; the expiry notices too', async () => {
    const key = keys.generate('ed25519', { comment: 'alice@laptop' });
    await say('UALICE', '/sshkey', `add web --expires 2h ${key.publicLine}`);
    const requestId = valueOf(await harness.slack.waitFor(isCard), 'request_approve');
    await harness.client('UBOB').click('request_approve', requestId, {
      responseUrl: harness.slack.newResponseUrl(),
      channelId: 'C0APPROVE',
    });
    const approved = await dmWith('UALICE', 'key_done');
    expect(visibleText(approved.body)).toMatch(
      /Approved by <@UBOB>: \*alice@laptop\* .* is now in the project until/,
    );
    const stored = (await domain.keys.list(owner, 'web')).keys[0]!;
    const from = harness.slack.calls.length;
    await harness.apps[0]!.keyhouse.sweep(new Date(Date.parse(stored.expiresAt!) - 30 * 60_000));
    const soon = await dmWith('UALICE', 'key_extend', from);
    expect(visibleText(soon.body)).toMatch(
      /expires .* \*Extend\* asks for more time, \*I'm done\* removes it now/,
    );
    expect(valueOf(soon, 'key_done')).toBe(`${projectId}:${stored.id}`);
  });
});

describe('Extend', () => {
  /** alice's approved temporary key and the message with its controls. */
  async function approvedKey(expires = '1h') {
    const key = keys.generate('ed25519', { comment: 'alice@laptop' });
    await say('UALICE', '/sshkey', `add web --expires ${expires} ${key.publicLine}`);
    const requestId = valueOf(await harness.slack.waitFor(isCard), 'request_approve');
    await harness.client('UBOB').click('request_approve', requestId, {
      responseUrl: harness.slack.newResponseUrl(),
      channelId: 'C0APPROVE',
    });
    const message = await dmWith('UALICE', 'key_extend');
    return { key, message, stored: (await domain.keys.list(owner, 'web')).keys[0]! };
  }

  test('files a request that, once approved, moves the expiry', async () => {
    const { key, message, stored } = await approvedKey('1h');
    const from = harness.slack.calls.length;
    await openForm('UALICE', valueOf(message, 'key_extend'));
    const opened = await harness.slack.waitFor(
      (c) => c.method === 'views.open' && harness.slack.calls.indexOf(c) >= from,
    );
    const view = opened.body.view as Record<string, unknown>;
    expect(visibleText({ view })).toMatch(
      /More time for \*alice@laptop\*.*An approver of the project decides/s,
    );

    // Nothing chosen: told on the field, nothing filed.
    expect(await harness.client('UALICE').submitForm(view, {})).toEqual({
      response_action: 'errors',
      errors: { extend_for: expect.stringMatching(/Choose how much more time you need: 1h, 8h, 3d/) },
    });
    expect(
      await harness
        .client('UALICE')
        .submitForm(view, { extend_for: { selected: '8h' }, reason: 'incident runs long' }),
    ).toEqual({});
    const card = await harness.slack.waitFor((c) => isCard(c) && harness.slack.calls.indexOf(c) >= from);
    expect(visibleText(card.body)).toMatch(/SSH key extension · web/);
    expect(visibleText(card.body)).toMatch(/More time\*\n8h for a temporary key \(expires/);
    expect(visibleText(card.body)).toContain('incident runs long');
    const filed = await dmWith('UALICE', 'request_cancel', from);
    expect(visibleText(filed.body)).toMatch(/You asked for 8h more on \*alice@laptop\*/);
    // Nothing moved yet.
    expect((await domain.keys.list(owner, 'web')).keys[0]!.expiresAt).toBe(stored.expiresAt);

    // Asking again while it waits is refused.
    const again = await harness.client('UALICE').submitForm(view, { extend_for: { selected: '3d' } });
    expect(again).toMatchObject({
      errors: { extend_for: expect.stringMatching(/already asked for more time/) },
    });
    // A length out of bounds is refused with the bounds that apply.
    expect(await harness.client('UALICE').submitForm(view, { extend_for: { selected: '2m' } })).toMatchObject(
      {
        errors: { extend_for: expect.stringMatching(/give minutes, hours or days \(.5m. to .30d.\)/) },
      },
    );

    const requestId = valueOf(card, 'request_approve');
    await harness.client('UBOB').click('request_approve', requestId, {
      responseUrl: harness.slack.newResponseUrl(),
      channelId: 'C0APPROVE',
    });
    const told = await harness.slack.waitFor(
      (c) =>
        c.method === 'chat.postMessage' &&
        c.body.channel === 'UALICE' &&
        /gave you 8h more/.test(visibleText(c.body)),
    );
    expect(JSON.stringify(told.body.blocks)).toContain('"action_id":"key_done"');
    const after = (await domain.keys.list(owner, 'web')).keys[0]!;
    expect(after.id).toBe(stored.id);
    expect(Date.parse(after.expiresAt!) - Date.parse(stored.expiresAt!)).toBe(8 * 3600_000);
    expect(await served()).toContain(blob(key.publicLine));
    expect(await say(OWNER_ID, '/org', 'audit')).toMatch(/asked for more time on the key alice@laptop/);
  });

  test("another's pending request for the same key is named as such, not as one's own request for more time", async () => {
    await domain.projects.grant(owner, 'web', 'UCAROL', 'member');
    const line = keys.generate('ed25519', { comment: 'shared' }).publicLine;
    await say('UCAROL', '/sshkey', `add web ${line}`);
    await harness.slack.waitFor(isCard);
    expect(await say('UBOB', '/sshkey', `add web --expires 8h ${line}`)).toMatch(/Added key/);
    const added = await dmWith('UBOB', 'key_extend');
    const refused = await click('UBOB', 'key_extend', valueOf(added, 'key_extend'));
    expect(visibleText(refused!.body)).toMatch(
      /<@UCAROL> has a request for this same key \(SHA256:.*\) waiting for a decision until .* UTC, and a key has one open request at a time/,
    );
    expect(visibleText(refused!.body)).not.toMatch(/You already asked/);
  });

  test('only its owner may extend a key, a viewer cannot ask, and refusals change nothing', async () => {
    const { message } = await approvedKey();
    const other = await click('UBOB', 'key_extend', valueOf(message, 'key_extend'));
    expect(visibleText(other!.body)).toMatch(
      /Only <@UALICE>, who added \*alice@laptop\*, can ask for more time on it/,
    );
    await domain.projects.grant(owner, 'web', 'UALICE', 'viewer');
    const viewer = await click('UALICE', 'key_extend', valueOf(message, 'key_extend'));
    expect(visibleText(viewer!.body)).toMatch(
      /Requesting a key needs the \*member\* role on project \*web\*/,
    );
    expect(harness.slack.of('views.open')).toHaveLength(0);
  });

  test("more time stays within the project's max-key-lifetime for whoever is not an admin", async () => {
    await domain.projects.updateSettings(owner, 'web', { maxKeyLifetime: '8h' });
    const { message, stored } = await approvedKey('1h');
    const from = harness.slack.calls.length;
    await openForm('UALICE', valueOf(message, 'key_extend'));
    const opened = await harness.slack.waitFor(
      (c) => c.method === 'views.open' && harness.slack.calls.indexOf(c) >= from,
    );
    const view = opened.body.view as Record<string, unknown>;
    expect(await harness.client('UALICE').submitForm(view, { extend_for: { selected: '3d' } })).toEqual({
      response_action: 'errors',
      errors: {
        extend_for: expect.stringMatching(
          /may last at most 8h from now \(its max-key-lifetime\).*Choose a shorter time/,
        ),
      },
    });
    expect(harness.slack.calls.slice(from).filter(isCard)).toHaveLength(0);
    expect(await harness.client('UALICE').submitForm(view, { extend_for: { selected: '1h' } })).toEqual({});
    const card = await harness.slack.waitFor((c) => isCard(c) && harness.slack.calls.indexOf(c) >= from);
    await harness.client('UBOB').click('request_approve', valueOf(card, 'request_approve'), {
      responseUrl: harness.slack.newResponseUrl(),
      channelId: 'C0APPROVE',
    });
    await harness.slack.waitFor(
      (c) =>
        c.method === 'chat.postMessage' &&
        c.body.channel === 'UALICE' &&
        /gave you 1h more/.test(visibleText(c.body)),
    );
    const after = (await domain.keys.list(owner, 'web')).keys[0]!;
    expect(Date.parse(after.expiresAt!) - Date.parse(stored.expiresAt!)).toBe(3600_000);
  });

  test("an admin's own temporary key is extended at once", async () => {
    const key = keys.generate('ed25519', { comment: 'bob@oncall' });
    await say('UBOB', '/sshkey', `add web --expires 1h ${key.publicLine}`);
    const added = await dmWith('UBOB', 'key_extend');
    const before = (await domain.keys.list(owner, 'web')).keys[0]!;
    await openForm('UBOB', valueOf(added, 'key_extend'));
    const opened = await harness.slack.waitFor((c) => c.method === 'views.open');
    const view = opened.body.view as Record<string, unknown>;
    expect(visibleText({ view })).toMatch(/yours is extended at once/);
    expect(await harness.client('UBOB').submitForm(view, { extend_for: { selected: '1h' } })).toEqual({});
    await harness.slack.waitFor(
      (c) =>
        c.method === 'chat.postMessage' &&
        c.body.channel === 'UBOB' &&
        /now expires/.test(visibleText(c.body)),
    );
    const after = (await domain.keys.list(owner, 'web')).keys[0]!;
    expect(Date.parse(after.expiresAt!) - Date.parse(before.expiresAt!)).toBe(3600_000);
    expect(harness.slack.calls.filter(isCard)).toHaveLength(0);
  });

  test("I'm done while an extension waits closes the extension; its card says so", async () => {
    const { message } = await approvedKey();
    const from = harness.slack.calls.length;
    await openForm('UALICE', valueOf(message, 'key_extend'));
    const opened = await harness.slack.waitFor((c) => c.method === 'views.open');
    await harness
      .client('UALICE')
      .submitForm(opened.body.view as Record<string, unknown>, { extend_for: { selected: '1h' } });
    const card = await harness.slack.waitFor((c) => isCard(c) && harness.slack.calls.indexOf(c) >= from);
    const done = await click('UALICE', 'key_done', valueOf(message, 'key_done'));
    expect(visibleText(done!.body)).toMatch(
      /Removed your key .* Your pending request for more time on it is closed/,
    );
    const requestId = valueOf(card, 'request_approve');
    const { ts } = (await domain.approvals.get(owner, requestId)).cards[0]!;
    const update = await harness.slack.waitFor((c) => c.method === 'chat.update' && c.body.ts === ts);
    expect(visibleText(update.body)).toMatch(/Closed\* .* the key was removed/);
    expect((await domain.approvals.get(owner, requestId)).status).toBe('withdrawn');
  });
});

describe('break-glass keys', () => {
  beforeEach(async () => {
    harness.slack.userGroups.set('S0ONCALL', ['UERIN', 'UBOB']);
    await say(OWNER_ID, '/org', 'set oncall-group <!subteam^S0ONCALL|@oncall>');
    await say(OWNER_ID, '/project', 'set web break-glass on');
  });

  async function breakGlass(user: string) {
    const key = keys.generate('ed25519', { comment: `${user.toLowerCase()}@oncall` });
    expect(await say(user, '/sshkey', `add web --breakglass --reason "db down" ${key.publicLine}`)).toMatch(
      /break-glass/i,
    );
    const message = await dmWith(user, 'key_extend');
    expect(visibleText(message.body)).toMatch(/is temporary: instances accept it until/);
    const stored = (await domain.keys.list(owner, 'web')).keys.find((k) => k.addedBy === user)!;
    return { key, message, stored };
  }

  async function askMore(user: string, value: string, length: string) {
    const from = harness.slack.calls.length;
    await openForm(user, value);
    const opened = await harness.slack.waitFor(
      (c) => c.method === 'views.open' && harness.slack.calls.indexOf(c) >= from,
    );
    const view = opened.body.view as Record<string, unknown>;
    expect(visibleText({ view })).toMatch(/An approver of the project decides/);
    expect(await harness.client(user).submitForm(view, { extend_for: { selected: length } })).toEqual({});
    return harness.slack.waitFor((c) => isCard(c) && harness.slack.calls.indexOf(c) >= from);
  }

  test("extend only through approval, even an admin's; its owner cannot approve it", async () => {
    const { message, stored } = await breakGlass('UBOB');
    const card = await askMore('UBOB', valueOf(message, 'key_extend'), '1h');
    expect(visibleText(card.body)).toMatch(/More time\*\n1h for a break-glass key/);
    expect((await domain.keys.list(owner, 'web')).keys.find((k) => k.id === stored.id)!.expiresAt).toBe(
      stored.expiresAt,
    );
    const requestId = valueOf(card, 'request_approve');
    const own = harness.slack.newResponseUrl();
    await harness
      .client('UBOB')
      .click('request_approve', requestId, { responseUrl: own, channelId: 'C0APPROVE' });
    const refused = await harness.slack.waitFor(
      (c) => c.method === 'respond' && c.path === new URL(own).pathname,
    );
    expect(visibleText(refused.body)).toMatch(/never decides their own request/);
    await harness.client(OWNER_ID).click('request_approve', requestId, {
      responseUrl: harness.slack.newResponseUrl(),
      channelId: 'C0APPROVE',
    });
    await harness.slack.waitFor(
      (c) =>
        c.method === 'chat.postMessage' &&
        c.body.channel === 'UBOB' &&
        /gave you 1h more/.test(visibleText(c.body)),
    );
    const after = (await domain.keys.list(owner, 'web')).keys.find((k) => k.id === stored.id)!;
    expect(Date.parse(after.expiresAt!) - Date.parse(stored.expiresAt!)).toBe(3600_000);
  });

  test("an on-call engineer with no role asks for more time as the key's owner, and I'm done removes it", async () => {
    const { key, message } = await breakGlass('UERIN');
    const card = await askMore('UERIN', valueOf(message, 'key_extend'), '8h');
    expect(visibleText(card.body)).toContain('<@UERIN>');
    expect(await served()).toContain(blob(key.publicLine));
    const done = await click('UERIN', 'key_done', valueOf(message, 'key_done'));
    expect(visibleText(done!.body)).toMatch(
      /Removed your key .* Your pending request for more time on it is closed/,
    );
    expect(await served()).not.toContain(blob(key.publicLine));
  });
});
