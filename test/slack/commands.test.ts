import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { KeyFactory } from '../helpers/sshKeygen';
import { signedPost, visibleText } from '../helpers/slackUser';

const keys = new KeyFactory();
let harness: Harness;

beforeEach(async () => {
  harness = await startHarness();
});
afterEach(() => harness.stop());
afterAll(() => keys.cleanup());

const owner = () => harness.user(OWNER_ID);
const alice = () => harness.user('UALICE');

async function say(user: ReturnType<typeof owner>, command: string, text: string): Promise<string> {
  const call = await user.command(command, text);
  expect(call.method).toBe('respond');
  expect(call.body.response_type).toBe('ephemeral');
  return visibleText(call.body);
}

describe('requests from Slack', () => {
  test('a request with a bad signature is refused and does nothing', async () => {
    const body = new URLSearchParams({
      command: '/project',
      text: 'create evil',
      user_id: OWNER_ID,
      team_id: 'T0001',
      response_url: harness.slack.newResponseUrl(),
    }).toString();
    const answer = await signedPost(harness.apps[0]!.url, body, 'application/x-www-form-urlencoded', {
      secret: 'wrong',
    });
    expect(answer.status).toBe(401);
    expect(await say(owner(), '/project', 'list')).not.toContain('evil');
  });

  test('a replayed request older than five minutes is refused', async () => {
    const body = new URLSearchParams({
      command: '/org',
      text: '',
      user_id: OWNER_ID,
      team_id: 'T0001',
      response_url: harness.slack.newResponseUrl(),
    }).toString();
    const answer = await signedPost(harness.apps[0]!.url, body, 'application/x-www-form-urlencoded', {
      timestamp: Math.floor(Date.now() / 1000) - 600,
    });
    expect(answer.status).toBe(401);
  });

  test('health and readiness answer', async () => {
    expect((await fetch(`${harness.apps[0]!.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${harness.apps[0]!.url}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, 'ready\n']);
  });
});

describe('/org', () => {
  test('shows the Organization ID, owners and counts', async () => {
    const text = await say(alice(), '/org', '');
    const { organization } = await harness.apps[0]!.keyhouse.domain.organizations.overview({
      teamId: 'T0001',
      userId: 'UALICE',
    });
    expect(text).toContain('Organization acme');
    expect(text).toContain(organization.id);
    expect(text).toContain(`<@${OWNER_ID}>`);
    expect(text).toMatch(/Projects:\* 1/);
  });

  test('owners add owners; others are told who can', async () => {
    expect(await say(alice(), '/org', 'owner add <@UBOB|bob>')).toMatch(
      /is for organization owners.*<@UOWNER1>/,
    );
    expect(await say(owner(), '/org', 'owner add <@UALICE|alice>')).toContain(
      '<@UALICE> is now an organization owner',
    );
    expect(await say(owner(), '/org', 'owner add alice')).toMatch(
      /Mention the person with `@`.*Usage: `\/org owner add\|remove @user`/s,
    );
  });

  test('help teaches the grammar with examples', async () => {
    const text = await say(alice(), '/org', 'help');
    expect(text).toContain('/org audit [project]');
    expect(text).toContain('/org channel #infra-approvals');
  });
});

describe('/project', () => {
  test('an owner creates a project with a quoted name and a description; everyone lists it', async () => {
    expect(await say(alice(), '/project', 'create web')).toMatch(
      /Creating a project is for organization owners.*<@UOWNER1>/,
    );
    expect(await say(owner(), '/project', 'create "web team" Front-end &amp; API servers')).toMatch(
      /Created project \*web team\*/,
    );
    const list = await say(alice(), '/project', 'list');
    expect(list).toMatch(/\*default\* _\(default\)_/);
    expect(list).toContain('*web team*');
    const show = await say(alice(), '/project', 'show "WEB TEAM"');
    expect(show).toContain('Front-end & API servers'); // stored decoded, sent escaped, read as typed
    expect(show).toMatch(/Project ID:\* `[0-9a-f-]{36}`/);
  });

  test('smart quotes typed by Slack clients work', async () => {
    expect(await say(owner(), '/project', 'create \u201cdata team\u201d')).toMatch(
      /Created project \*data team\*/,
    );
  });

  test('a bad name is explained with the usage line, and nothing is created', async () => {
    const text = await say(owner(), '/project', 'create web/api');
    expect(text).toMatch(/only letters, digits, spaces/);
    expect(text).toContain('Usage: `/project create [name [description…]]`');
    expect(await say(owner(), '/project', 'list')).not.toContain('web/api');
  });

  test('an unknown project gets the closest name', async () => {
    await say(owner(), '/project', 'create payments');
    expect(await say(alice(), '/project', 'show paymnts')).toMatch(
      /no project `paymnts`. Did you mean `payments`\?/,
    );
  });

  test('an unknown sub-command gets the short help', async () => {
    const text = await say(alice(), '/project', 'frobnicate web');
    expect(text).toContain('`/project` has no sub-command `frobnicate`');
    expect(text).toContain('/project list');
  });

  test('rename keeps the ID; the default project cannot be deleted', async () => {
    const { organization } = await harness.apps[0]!.keyhouse.domain.organizations.overview({
      teamId: 'T0001',
      userId: OWNER_ID,
    });
    expect(await say(owner(), '/project', 'rename default "main line"')).toContain(
      `Renamed *default* to *main line*. Its ID stays \`${organization.id}\``,
    );
    expect(await say(owner(), '/project', 'delete "main line"')).toMatch(
      /default project: its ID is the Organization ID/,
    );
  });

  test('resources are added and removed by type, name and zone', async () => {
    await say(owner(), '/project', 'create web');
    expect(await say(owner(), '/project', 'resource add web instance web-1 fr-par-1')).toContain(
      'Added instance *web-1* in fr-par-1 to *web*',
    );
    expect(await say(owner(), '/project', 'resource add web vm web-2')).toMatch(
      /not a resource type.*Usage: `\/project resource add/s,
    );
    expect(await say(alice(), '/project', 'show web')).toMatch(/instance\* · fr-par-1 \(1\): web-1/);
    expect(await say(owner(), '/project', 'resource remove web instance web-1')).toContain(
      'Removed instance *web-1*',
    );
  });

  test('delete asks for the name in a modal; a wrong name is a field error; the right one deletes', async () => {
    await say(owner(), '/project', 'create web');
    const opened = await owner().command('/project', 'delete web');
    expect(opened.method).toBe('views.open');
    const view = opened.body.view as Record<string, unknown>;
    expect(visibleText(opened.body)).toContain('This deletes project *web*');

    const wrong = await owner().submit(view, { confirmation: 'wbe' });
    expect(wrong).toEqual({
      response_action: 'errors',
      errors: { confirmation: expect.stringContaining("Type the project's name, ‘web’") }, // plain text
    });
    expect(await say(owner(), '/project', 'list')).toContain('*web*');

    const right = await owner().submit(view, { confirmation: 'web' });
    expect(right).toEqual({});
    const notice = await harness.slack.waitFor((c) => c.method === 'chat.postEphemeral');
    expect(notice.body).toMatchObject({ channel: 'C0GENERAL', user: OWNER_ID, text: 'Deleted project web.' });
    expect(await say(owner(), '/project', 'list')).not.toContain('*web*');
  });

  test('a non-empty project cannot be deleted; the modal is not even opened', async () => {
    await say(owner(), '/project', 'create web');
    await say(owner(), '/sshkey', `add web ${keys.generate('ed25519').publicLine}`);
    expect(await say(owner(), '/project', 'delete web')).toMatch(/still holds 1 SSH key/);
    expect(harness.slack.of('views.open')).toHaveLength(0);
  });

  test('create without a name opens a form that validates on submit', async () => {
    const opened = await owner().command('/project', 'create');
    expect(opened.method).toBe('views.open');
    const view = opened.body.view as Record<string, unknown>;
    expect(await owner().submit(view, { name: 'bad/name', description: '' })).toEqual({
      response_action: 'errors',
      errors: { name: expect.stringMatching(/only letters, digits/) },
    });
    expect(await owner().submit(view, { name: 'ok', description: 'x'.repeat(201) })).toEqual({
      response_action: 'errors',
      errors: { description: expect.stringMatching(/at most 200/) },
    });
    expect(await owner().submit(view, { name: 'ops', description: 'Operations' })).toEqual({});
    expect(await say(owner(), '/project', 'list')).toContain('*ops*');
  });
});

describe('/sshkey', () => {
  beforeEach(async () => {
    await say(owner(), '/project', 'create web');
  });

  test('adds a key; the reply and the list show the fingerprint ssh-keygen computes', async () => {
    const key = keys.generate('ed25519', { comment: 'alice@laptop' });
    const { fingerprint } = keys.fingerprint(key.publicLine);
    const added = await say(owner(), '/sshkey', `add web ${key.publicLine.trim()}`);
    expect(added).toContain('Added key *alice@laptop* to *web*');
    expect(added).toContain(fingerprint);
    const list = await say(alice(), '/sshkey', 'list web');
    expect(list).toContain('*alice@laptop* — ssh-ed25519 256');
    expect(list).toContain(fingerprint);
  });

  test('flags set the name and expiry; a comment Slack turned into a link is read back', async () => {
    const key = keys.generate('ed25519');
    const [type, data] = key.publicLine.split(' ');
    const text = `add web --name "on call" --expires 8h --reason "incident 42" ${type} ${data} <mailto:bob@example.com|bob@example.com>`;
    const added = await say(owner(), '/sshkey', text);
    expect(added).toContain('Added key *on call*');
    expect(added).toMatch(/Expires <!date\^/);
    const { keys: stored } = await harness.apps[0]!.keyhouse.domain.keys.list(
      { teamId: 'T0001', userId: OWNER_ID },
      'web',
    );
    expect(stored[0]).toMatchObject({ name: 'on call', comment: 'bob@example.com' });
  });

  test('an RFC 4716 block pasted with line breaks is accepted', async () => {
    const key = keys.generate('ecdsa');
    const block = keys.exportPublic(key, 'RFC4716');
    const added = await say(owner(), '/sshkey', `add web ${block}`);
    expect(added).toContain(keys.fingerprint(key.publicLine).fingerprint);
  });

  test('a private key is refused, not stored and not echoed', async () => {
    const secret = keys.generate('ed25519');
    const call = await owner().command('/sshkey', `add web ${secret.privateText}`);
    const text = visibleText(call.body);
    expect(text).toMatch(/That is a \*private\* key/);
    expect(text).toMatch(/never be shared/);
    const body = secret.privateText.split('\n')[1] as string;
    expect(JSON.stringify(harness.slack.calls)).not.toContain(body.slice(0, 24));
    expect(await say(owner(), '/sshkey', 'list web')).toContain('no SSH keys yet');
  });

  test('a duplicate names the key that has it', async () => {
    const key = keys.generate('ed25519', { comment: 'first' });
    await say(owner(), '/sshkey', `add web ${key.publicLine}`);
    expect(await say(owner(), '/sshkey', `add web --name second ${key.publicLine}`)).toMatch(
      /already in project \*web\* as \*first\*/,
    );
  });

  test('the project must come before the key', async () => {
    const text = await say(owner(), '/sshkey', `add ${keys.generate('ed25519').publicLine}`);
    expect(text).toMatch(/Name the project before the key.*Usage: `\/sshkey add <project>/s);
  });

  test('an unknown flag is refused with the known ones', async () => {
    expect(await say(owner(), '/sshkey', 'add web --label x ssh-ed25519 AAAA')).toMatch(
      /Unknown option `--label`.*`--name`, `--expires`, `--reason`/,
    );
  });

  test('disable, enable and remove by name', async () => {
    await say(owner(), '/sshkey', `add web --name deploy ${keys.generate('ed25519').publicLine}`);
    expect(await say(owner(), '/sshkey', 'disable web deploy')).toContain('Disabled key *deploy*');
    expect(await say(alice(), '/sshkey', 'list web')).toContain(':no_entry: disabled');
    expect(await say(owner(), '/sshkey', 'enable web deploy')).toContain('Enabled key *deploy*');
    expect(await say(alice(), '/sshkey', 'remove web deploy')).toMatch(
      /needs the \*admin\* role on project \*web\*/,
    );
    expect(await say(owner(), '/sshkey', 'remove web deploy')).toContain('Removed key *deploy*');
    expect(await say(owner(), '/sshkey', 'remove web deploy')).toMatch(/has no key `deploy`/);
  });

  test('every change shows up in /org audit', async () => {
    await say(owner(), '/sshkey', `add web --name deploy ${keys.generate('ed25519').publicLine}`);
    const audit = await say(owner(), '/org', 'audit');
    expect(audit).toMatch(/<@UOWNER1> added the key deploy \(SHA256:.*\) in \*web\*/);
    expect(audit).toMatch(/<@UOWNER1> created the project web in \*web\*/);
  });
});

describe('when storage is down', () => {
  test('the user is told nothing was changed, and readiness fails', async () => {
    const broken = await startHarness({ env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    try {
      const call = await broken.user(OWNER_ID).command('/project', 'create web');
      expect(visibleText(call.body)).toMatch(/Storage is unavailable right now, so nothing was changed/);
      expect((await fetch(`${broken.apps[0]!.url}/readyz`)).status).toBe(503);
    } finally {
      await broken.stop();
    }
  });
});
