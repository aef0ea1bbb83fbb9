import type { Domain } from '../../src/domain';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import type { RecordedCall } from '../helpers/fakeSlack';
import { KeyFactory } from '../helpers/sshKeygen';
import { visibleText } from '../helpers/slackUser';

/** The small things a newcomer meets first, through the real app and the stand-in Slack. */

const keys = new KeyFactory();
let harness: Harness;
let domain: Domain;
const owner = { teamId: 'T0001', userId: OWNER_ID };

beforeEach(async () => {
  harness = await startHarness();
  domain = harness.apps[0]!.keyhouse.domain;
});
afterEach(() => harness.stop());
afterAll(() => keys.cleanup());

const say = async (userId: string, command: string, text: string): Promise<string> =>
  visibleText((await harness.user(userId).command(command, text)).body);

async function openHome(userId: string, tab?: string): Promise<RecordedCall> {
  const from = harness.slack.calls.length;
  if (tab) await harness.client(userId).click(`home_tab_${tab}`, tab, { viewId: 'VHOME' });
  else {
    await harness
      .client(userId)
      .event({ type: 'app_home_opened', user: userId, channel: 'D1', tab: 'home', event_ts: '1.1' });
  }
  return harness.slack.waitFor((c) => c.method === 'views.publish' && harness.slack.calls.indexOf(c) >= from);
}

describe('a key exported with `ssh-keygen -e`', () => {
  test("is named `<type>-<8 chars of fingerprint>`, not after ssh-keygen's conversion note", async () => {
    await domain.projects.create(owner, 'web');
    const key = keys.generate('rsa', { bits: 3072, comment: 'carol@laptop' });
    const block = keys.exportPublic(key, 'RFC4716');
    expect(block).toMatch(/Comment: "3072-bit RSA, converted by .* from OpenSSH"/);
    const { fingerprint } = keys.fingerprint(key.publicLine);
    const expected = `ssh-rsa-${fingerprint.slice('SHA256:'.length, 'SHA256:'.length + 8)}`;

    const added = await say(OWNER_ID, '/sshkey', `add web ${block}`);
    expect(added).toContain(`*${expected}*`);
    const stored = (await domain.keys.list(owner, 'web')).keys;
    expect(stored.map((k) => [k.name, k.comment])).toEqual([[expected, '']]);
    expect(added).not.toContain('converted by');
  });

  test('a real Comment header still names the key', async () => {
    await domain.projects.create(owner, 'web');
    const key = keys.generate('ed25519');
    const block = keys
      .exportPublic(key, 'RFC4716')
      .replace(/^Comment: .*$/m, 'Comment: "rsa-key-20240101 carol"');
    await say(OWNER_ID, '/sshkey', `add web ${block}`);
    expect((await domain.keys.list(owner, 'web')).keys.map((k) => k.name)).toEqual([
      'rsa-key-20240101 carol',
    ]);
  });
});

/** Clicks a card's button; returns the ephemeral answer, if any. */
async function click(
  userId: string,
  action: 'request_approve',
  requestId: string,
): Promise<string | undefined> {
  const responseUrl = harness.slack.newResponseUrl();
  await harness.client(userId).click(action, requestId, { responseUrl, channelId: 'C0APPROVE' });
  const answer = await harness.slack
    .waitFor((c) => c.method === 'respond' && c.path === new URL(responseUrl).pathname, 1500)
    .catch(() => undefined);
  return answer ? visibleText(answer.body) : undefined;
}

describe('activity reads as words', () => {
  const RAW_CODE = /\b(organization|owner|project|role|key|resource|token|instance)\.[a-z_]+\b/;

  test('on the dashboard, in App Home and in `/org audit`; mentions in a record stay mentions', async () => {
    await domain.projects.create(owner, 'web');
    await domain.projects.grant(owner, 'web', 'UALICE', 'member');
    await domain.projects.grant(owner, 'web', 'UBOB', 'admin');
    await domain.projects.updateSettings(owner, 'web', {
      approvalsRequired: 2,
      approvalsChannel: 'C0APPROVE',
    });
    const line = keys.generate('ed25519', { comment: 'alice@laptop' }).publicLine;
    await say('UALICE', '/sshkey', `add web ${line}`);
    const card = await harness.slack.waitFor(
      (c) =>
        c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? []).includes('request_approve'),
    );
    const requestId = (JSON.stringify(card.body.blocks).match(/"value":"([0-9a-f-]{36})"/) ?? [])[1]!;
    await click(OWNER_ID, 'request_approve', requestId);
    // Grammar: one approval is missing, not "1 more approval(s)".
    expect(await click(OWNER_ID, 'request_approve', requestId)).toContain(
      'You already approved this request. It needs 1 more approval from other admins.',
    );
    await click('UBOB', 'request_approve', requestId);

    const dashboard = await harness.user(OWNER_ID).command('/project', 'show web');
    // The activity section, up to the install recipe that follows it.
    const recent = visibleText(dashboard.body).split('*Recent activity*')[1]!.split('```')[0]!;
    expect(recent).toMatch(/<@UBOB> approved a key request: alice@laptop \(SHA256:\S+\) for <@UALICE>/);
    expect(recent).toContain('<@UOWNER1> changed the settings _(approvals channel, approvals required: 2)_');
    expect(recent).toContain('<@UOWNER1> gave <@UBOB> the admin role');
    expect(recent).toContain('<@UALICE> asked to add the key alice@laptop');
    expect(recent).not.toMatch(RAW_CODE);
    // The approvers are mentions, escaped once: Slack shows `&lt;@U…&gt;` as text.
    const raw = JSON.stringify(dashboard.body);
    expect(raw).toContain('_(approved by <@UOWNER1>, <@UBOB>)_');
    expect(raw).not.toContain('&lt;@');

    const audit = await harness.user(OWNER_ID).command('/org', 'audit');
    const auditText = visibleText(audit.body);
    expect(auditText).toMatch(/<@UOWNER1> created the project web in \*web\*/);
    expect(auditText).toContain('<@UOWNER1> gave one approval to a key request: alice@laptop');
    expect(auditText.split('\n').filter((l) => !l.includes('/org audit'))).not.toContainEqual(
      expect.stringMatching(RAW_CODE),
    );
    expect(JSON.stringify(audit.body)).not.toContain('&lt;@');

    const home = visibleText((await openHome(OWNER_ID)).body);
    expect(home).toMatch(/<@UBOB> approved a key request: alice@laptop .* for <@UALICE> in \*web\*/);
    expect(home).not.toMatch(RAW_CODE);
  });
});

test("the default project's dashboard names it once, with a *default* badge", async () => {
  const call = await harness.user(OWNER_ID).command('/project', 'show default');
  const blocks = call.body.blocks as {
    type: string;
    text?: { text: string };
    elements?: { text: string }[];
  }[];
  expect(blocks[0]).toMatchObject({ type: 'header', text: { text: 'default' } });
  expect(visibleText(call.body)).not.toContain('default  ·  default');
  expect(blocks[1]?.elements?.[0]?.text).toMatch(/^\*default\* project/);
  await domain.projects.create(owner, 'web');
  const web = (await harness.user(OWNER_ID).command('/project', 'show web')).body;
  expect(JSON.stringify(web)).not.toContain('*default* project');
});

test('a resource that exists already is "an instance", with its article', async () => {
  await domain.projects.create(owner, 'web');
  await say(OWNER_ID, '/project', 'resource add web instance web-1 fr-par-1');
  expect(await say(OWNER_ID, '/project', 'resource add web instance web-1 fr-par-1')).toContain(
    'already has an instance named *web-1*',
  );
  await say(OWNER_ID, '/project', 'resource add web database main');
  expect(await say(OWNER_ID, '/project', 'resource add web database main')).toContain(
    'already has a database named *main*',
  );
});

describe('the add-key form for someone who can see no project', () => {
  beforeEach(async () => {
    await domain.organizations.updateSettings(owner, 'default-role', 'none');
    await domain.projects.create(owner, 'web');
  });

  test('`/sshkey add` says there is no project to add to and names the owners, with no empty picker', async () => {
    const opened = await harness.user('UERIN').command('/sshkey', 'add');
    expect(opened.method).toBe('views.open');
    const text = visibleText(opened.body);
    expect(text).toContain('You have no project to add a key to');
    expect(text).toContain('Organization owners can give you a role: <@UOWNER1>.');
    expect(JSON.stringify(opened.body)).not.toContain('static_select');
    expect((opened.body.view as { submit?: unknown }).submit).toBeUndefined();
  });

  test('the Add key button of a dashboard posted in a channel does the same', async () => {
    const posted = await harness.user(OWNER_ID).command('/project', 'dashboard web');
    const projectId = (JSON.stringify(posted.body.blocks).match(/"dashboard_add_key","value":"([^"]+)"/) ??
      [])[1]!;
    await harness
      .client('UERIN')
      .click('dashboard_add_key', projectId, { responseUrl: harness.slack.newResponseUrl() });
    const opened = await harness.slack.waitFor((c) => c.method === 'views.open');
    expect(visibleText(opened.body)).toContain('Organization owners can give you a role: <@UOWNER1>.');
    expect(JSON.stringify(opened.body)).not.toContain('"options":[]');
  });

  test('where anyone may create a project, it says how', async () => {
    await domain.organizations.updateSettings(owner, 'project-creators', 'everyone');
    const opened = await harness.user('UERIN').command('/sshkey', 'add');
    expect(visibleText(opened.body)).toContain('Or create a project of your own: `/project create <name>`');
  });

  test('someone who sees a project still gets the form with it', async () => {
    await domain.projects.grant(owner, 'web', 'UERIN', 'member');
    const opened = await harness.user('UERIN').command('/sshkey', 'add');
    expect(JSON.stringify(opened.body)).toMatch(/"static_select".*"text":"web"/);
  });
});

describe('App Home Overview of a new organization', () => {
  test('shows a short Getting started with the first three commands, as code', async () => {
    const home = await openHome('UALICE');
    const text = visibleText(home.body);
    expect(text).toContain('*Getting started*');
    for (const command of [
      '/project create <name>',
      '/sshkey add <project> <public key>',
      '/project token <project>',
    ]) {
      expect(text).toContain(`\`${command}\``);
    }
    // Escaped once inside the code spans, as code() does: Slack shows the placeholders as typed.
    expect(JSON.stringify(home.body)).toContain('`/project create &lt;name&gt;`');
  });

  test('is gone once the organization has a project or a key', async () => {
    await domain.projects.create(owner, 'web');
    expect(visibleText((await openHome(OWNER_ID)).body)).not.toContain('Getting started');
    await domain.projects.delete(owner, 'web', 'web');
    expect(visibleText((await openHome(OWNER_ID)).body)).toContain('Getting started');
    await domain.keys.add(owner, 'default', { publicKey: keys.generate('ed25519').publicLine });
    expect(visibleText((await openHome(OWNER_ID)).body)).not.toContain('Getting started');
  });
});
