import type { Domain } from '../../src/domain';
import type { RecordedCall } from '../helpers/fakeSlack';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { KeyFactory } from '../helpers/sshKeygen';
import { visibleText } from '../helpers/slackUser';

/**
 * The project's max-key-lifetime through the real app: commands, the add-key form, requests and their
 * approval, and the settings form. alice is a member, bob an admin.
 */
const keys = new KeyFactory();
let harness: Harness;
let domain: Domain;
let projectId: string;
const owner = { teamId: 'T0001', userId: OWNER_ID };
const HOUR = 3600_000;
const DAY = 24 * HOUR;

beforeEach(async () => {
  harness = await startHarness();
  domain = harness.apps[0]!.keyhouse.domain;
  projectId = (await domain.projects.create(owner, 'web')).id;
  await domain.projects.grant(owner, 'web', 'UALICE', 'member');
  await domain.projects.grant(owner, 'web', 'UBOB', 'admin');
  await say(OWNER_ID, '/project', 'channel web <#C0APPROVE|approvals>');
});
afterEach(() => harness.stop());
afterAll(() => keys.cleanup());

const say = async (user: string, command: string, text: string) =>
  visibleText((await harness.user(user).command(command, text)).body);

const isCard = (c: RecordedCall) =>
  c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? []).includes('request_approve');
const cards = () => harness.slack.calls.filter(isCard);
const requestIdOf = (card: RecordedCall) =>
  /"action_id":"request_approve","value":"([^"]+)"/.exec(JSON.stringify(card.body.blocks))![1]!;
const stored = async () => (await domain.keys.list(owner, 'web')).keys;

const isApprovedDm = (user: string) => (c: RecordedCall) =>
  c.method === 'chat.postMessage' && c.body.channel === user && /Approved by/.test(visibleText(c.body));
const approvedDm = (user: string) => harness.slack.waitFor(isApprovedDm(user));

async function approve(card: RecordedCall): Promise<void> {
  const responseUrl = harness.slack.newResponseUrl();
  await harness
    .client('UBOB')
    .click('request_approve', requestIdOf(card), { responseUrl, channelId: 'C0APPROVE' });
  await harness.slack.waitFor((c) => c.method === 'chat.update');
}

test('only admins set it; /project set shows it', async () => {
  expect(await say('UALICE', '/project', 'set web max-key-lifetime 3d')).toMatch(/needs the \*admin\* role/);
  expect(await say('UBOB', '/project', 'set web max-key-lifetime 2d')).toMatch(
    /Max key lifetime is one of `8h`, `3d`, `30d`, `none`/,
  );
  expect(await say('UBOB', '/project', 'set web max-key-lifetime 3d')).toMatch(
    /Max key lifetime of \*web\*: `3d`\. Keys added by people who are not admins now expire within 3d/,
  );
  expect(await say('UALICE', '/project', 'set web')).toMatch(/Max key lifetime:\* `3d`/);
  expect(await say(OWNER_ID, '/org', 'audit web')).toMatch(/changed the settings _\(max key lifetime: 3d\)_/);
});

describe('with max-key-lifetime 3d', () => {
  beforeEach(() => say('UBOB', '/project', 'set web max-key-lifetime 3d'));

  test('a longer expiry on the command is refused with the limit named; nothing is asked or stored', async () => {
    const inTwentyDays = new Date(Date.now() + 20 * DAY).toISOString().slice(0, 10);
    const reply = await say(
      'UALICE',
      '/sshkey',
      `add web --expires 8d ${keys.generate('ed25519').publicLine}`,
    );
    expect(reply).toMatch(
      /Keys added by people who are not admins of project \*web\* must expire within 3d \(its max-key-lifetime\)\. Give `--expires 3d` or less/,
    );
    expect(
      await say(
        'UALICE',
        '/sshkey',
        `add web --expires ${inTwentyDays} ${keys.generate('ed25519').publicLine}`,
      ),
    ).toMatch(/must expire within 3d/);
    expect(cards()).toHaveLength(0);
    expect(await stored()).toHaveLength(0);
    expect((await domain.projects.show(owner, 'web')).project.pendingRequests ?? []).toHaveLength(0);
  });

  test('a request without an expiry gets the maximum, counted from its approval', async () => {
    await say('UALICE', '/sshkey', `add web ${keys.generate('ed25519').publicLine}`);
    const card = await harness.slack.waitFor(isCard);
    expect(visibleText(card.body)).toMatch(
      /Key expiry\*\n3d after approval \(the project's max key lifetime\)/,
    );
    const before = Date.now();
    await approve(card);
    const [key] = await stored();
    expect(key).toMatchObject({ addedBy: 'UALICE', origin: 'request' });
    expect(Date.parse(key!.expiresAt!) - before).toBeGreaterThanOrEqual(3 * DAY - 60_000);
    expect(Date.parse(key!.expiresAt!) - Date.now()).toBeLessThanOrEqual(3 * DAY);
    // Its requester is told when it expires, with I'm done and Extend on it.
    const told = await approvedDm('UALICE');
    expect(visibleText(told.body)).toMatch(/is now in the project until /);
    expect(JSON.stringify(told.body.blocks)).toContain(`"value":"${projectId}:${key!.id}"`);
    expect(JSON.stringify(told.body.blocks)).toContain('key_extend');
  });

  test("the same key added by an admin while the request waited: its requester gets no controls on the admin's key", async () => {
    const line = keys.generate('ed25519').publicLine;
    await say('UALICE', '/sshkey', `add web ${line}`);
    const card = await harness.slack.waitFor(isCard);
    expect(await say('UBOB', '/sshkey', `add web --expires 1d ${line}`)).toMatch(/Added/);
    await approve(card);
    const [key] = await stored();
    expect(key).toMatchObject({ addedBy: 'UBOB' });
    const told = await approvedDm('UALICE');
    expect(visibleText(told.body)).toMatch(
      /added directly by <@UBOB> meanwhile, so it is theirs and expires /,
    );
    expect(JSON.stringify(told.body.blocks)).not.toContain('key_done');
    expect(JSON.stringify(told.body.blocks)).not.toContain('key_extend');
  });

  test('a request within the limit keeps its expiry; one made before a tighter limit is cut to it', async () => {
    await say('UALICE', '/sshkey', `add web --expires 1d ${keys.generate('ed25519').publicLine}`);
    await approve(await harness.slack.waitFor(isCard));
    const [kept] = await stored();
    expect(Date.parse(kept!.expiresAt!) - Date.now()).toBeGreaterThan(DAY - 60_000);
    expect(Date.parse(kept!.expiresAt!) - Date.now()).toBeLessThanOrEqual(DAY);

    await say('UALICE', '/sshkey', `add web --expires 2d ${keys.generate('ed25519').publicLine}`);
    await harness.slack.waitFor((c) => cards().length === 2 && isCard(c) && c === cards()[1]);
    await say('UBOB', '/project', 'set web max-key-lifetime 8h');
    const from = harness.slack.of('chat.update').length;
    const responseUrl = harness.slack.newResponseUrl();
    await harness
      .client('UBOB')
      .click('request_approve', requestIdOf(cards()[1]!), { responseUrl, channelId: 'C0APPROVE' });
    await harness.slack.waitFor(() => harness.slack.of('chat.update').length > from);
    const cut = (await stored()).find((k) => k.id !== kept!.id)!;
    expect(Date.parse(cut.expiresAt!) - Date.now()).toBeLessThanOrEqual(8 * HOUR);
    // The requester is told the expiry applied, not the one asked for.
    const stamp = `<!date^${Math.floor(Date.parse(cut.expiresAt!) / 1000)}^`;
    await harness.slack.waitFor(
      (c) =>
        isApprovedDm('UALICE')(c) &&
        JSON.stringify(c.body).includes(stamp) &&
        JSON.stringify(c.body).includes(cut.id),
    );
  });

  test('admins are not limited', async () => {
    await say('UBOB', '/sshkey', `add web ${keys.generate('ed25519').publicLine}`);
    await say('UBOB', '/sshkey', `add web --expires 30d ${keys.generate('ed25519').publicLine}`);
    const added = await stored();
    expect(added).toHaveLength(2);
    expect(added.filter((k) => k.expiresAt === undefined)).toHaveLength(1);
  });

  test('the add-key form refuses a longer expiry on its field, and requests within it', async () => {
    const opened = await harness.user('UALICE').command('/sshkey', 'add');
    const view = opened.body.view as Record<string, unknown>;
    expect(JSON.stringify(view)).not.toContain('key_kind'); // no on-call group: no break-glass choice
    const form = { project: { selected: projectId }, public_key: keys.generate('ed25519').publicLine };
    const refused = await harness.client('UALICE').submitForm(view, { ...form, expires: '30d' });
    expect(refused).toMatchObject({
      response_action: 'errors',
      errors: { expires: expect.stringMatching(/must expire within 3d \(its max-key-lifetime\)/) },
    });
    expect(cards()).toHaveLength(0);
    const answer = await harness.client('UALICE').submitForm(view, form);
    expect(answer.response_action).toBe('update');
    const card = await harness.slack.waitFor(isCard);
    expect(visibleText(card.body)).toMatch(/3d after approval/);
  });
});

test('the settings form sets break-glass and key lifetimes, and shows them next time', async () => {
  const opened = await harness.user('UBOB').command('/project', 'settings web');
  const view = opened.body.view as Record<string, unknown>;
  const text = JSON.stringify(view);
  for (const field of ['break_glass', 'break_glass_max', 'max_key_lifetime']) expect(text).toContain(field);
  const answer = await harness.client('UBOB').submitForm(view, {
    description: '',
    approvals_required: { selected: '1' },
    offline_logins: { selected: '24h' },
    break_glass: { selected: 'on' },
    break_glass_max: { selected: '1h' },
    max_key_lifetime: { selected: '8h' },
  });
  expect(answer).toEqual({});
  const settings = await say('UALICE', '/project', 'set web');
  expect(settings).toMatch(/Break-glass:\* `on`/);
  expect(settings).toMatch(/Break-glass max:\* `1h`/);
  expect(settings).toMatch(/Max key lifetime:\* `8h`/);
  const again = await harness.user('UBOB').command('/project', 'settings web');
  expect(JSON.stringify(again.body.view)).toMatch(
    /"initial_option":\{"text":\{"type":"plain_text","text":"8h"\}/,
  );
});
