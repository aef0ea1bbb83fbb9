import type { Domain } from '../../src/domain';
import type { RecordedCall } from '../helpers/fakeSlack';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { KeyFactory } from '../helpers/sshKeygen';
import { visibleText } from '../helpers/slackUser';

/**
 * The command grammar as real people type it, through the real app: names with spaces without quotes,
 * flags anywhere, keys pasted as code, dangerous shortcuts that ask first, arguments in either order.
 */
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

async function run(user: string, command: string, text: string): Promise<RecordedCall> {
  const call = await harness.user(user).command(command, text);
  expect(call.method).toBe('respond');
  return call;
}
const say = async (user: string, command: string, text: string) =>
  visibleText((await run(user, command, text)).body);
const projectNames = async () => (await domain.projects.list(owner)).projects.map((p) => p.name).sort();
const keysOf = async (project: string) => (await domain.keys.list(owner, project)).keys;

/** Clicks a button as `user`; returns what Slack was told through the click's response URL. */
async function click(user: string, actionId: string, value: string): Promise<RecordedCall> {
  const responseUrl = harness.slack.newResponseUrl();
  await harness.client(user).click(actionId, value, { responseUrl });
  return harness.slack.waitFor((c) => c.method === 'respond' && c.path === new URL(responseUrl).pathname);
}

describe('names with spaces, unquoted', () => {
  beforeEach(async () => {
    await domain.projects.create(owner, 'web');
    await domain.projects.create(owner, 'web team');
  });

  test('the longest existing name wins', async () => {
    const shown = await say(OWNER_ID, '/project', 'show web team');
    expect(shown).toMatch(/^web team$/m);
    const posted = await run(OWNER_ID, '/project', 'dashboard web team');
    expect(posted.body.response_type).toBe('in_channel');
    expect(visibleText(posted.body)).toMatch(/^web team$/m);
  });

  test('two valid readings are answered with both, quoted, and nothing changes', async () => {
    const answer = await say(OWNER_ID, '/project', 'rename web team www');
    expect(answer).toContain('can be read two ways');
    expect(answer).toContain('`/project rename "web team" www`');
    expect(answer).toContain('`/project rename web "team www"`');
    expect(await projectNames()).toEqual(['default', 'web', 'web team']);

    const token = await say(OWNER_ID, '/project', 'token web team');
    expect(token).toContain('`/project token "web team"`');
    expect(token).toContain('`/project token web team`');
    expect((await domain.delivery.listTokens(owner, 'web')).tokens).toHaveLength(0);
    expect((await domain.delivery.listTokens(owner, 'web team')).tokens).toHaveLength(0);

    // Quotes settle it.
    expect(await say(OWNER_ID, '/project', 'rename "web team" www')).toContain('Renamed *web team* to *www*');
    expect(await projectNames()).toEqual(['default', 'web', 'www']);
  });

  test('words left over are named, and nothing is shown or changed', async () => {
    const answer = await say(OWNER_ID, '/project', 'show web team extra');
    expect(answer).toMatch(/After project \*web team\*, `extra` is left over/);
    expect(answer).toContain('`/project show "web team"`');
    // Said once: the usage line is not repeated inside the message.
    expect(answer.split('\n')[0]).not.toContain('Usage:');
  });

  test('keys and audit take unquoted names with spaces too', async () => {
    const key = keys.generate('ed25519', { comment: 'ann@laptop' });
    expect(await say(OWNER_ID, '/sshkey', `add web team ${key.publicLine.trim()}`)).toContain(
      'Added key *ann@laptop* to *web team*',
    );
    expect(await keysOf('web')).toHaveLength(0);
    expect(await say(OWNER_ID, '/sshkey', 'list web team')).toContain('*ann@laptop*');
    expect(await say(OWNER_ID, '/project', 'members web team --page 1')).toContain('*web team*');
    // A key name after a project name can be read two ways when both projects exist: asked, not guessed.
    expect(await say(OWNER_ID, '/sshkey', 'disable web team ann@laptop')).toContain(
      '`/sshkey disable "web team" ann@laptop`',
    );
    expect((await keysOf('web team'))[0]).toMatchObject({ disabled: false });
    expect(await say(OWNER_ID, '/sshkey', 'disable "web team" ann@laptop')).toContain(
      'Disabled key *ann@laptop*',
    );
    expect(await say(OWNER_ID, '/org', 'audit web team')).toMatch(/in web team/);
  });

  test('create with an existing first word says how to quote instead of making something else', async () => {
    const answer = await say(OWNER_ID, '/project', 'create web team2 Front-end servers');
    expect(answer).toContain('`/project create "web team2" Front-end servers`');
    expect(await projectNames()).toEqual(['default', 'web', 'web team']);
  });
});

describe('/sshkey add as people paste it', () => {
  beforeEach(async () => {
    await domain.projects.create(owner, 'web');
  });

  test('flags before the project and after the key', async () => {
    const first = keys.generate('ed25519', { comment: 'one' });
    expect(await say(OWNER_ID, '/sshkey', `add --name early web ${first.publicLine.trim()}`)).toContain(
      'Added key *early*',
    );
    const second = keys.generate('ed25519', { comment: 'two' });
    const answer = await say(
      OWNER_ID,
      '/sshkey',
      `add web ${second.publicLine.trim()} --name late --expires 8h --reason "incident 42"`,
    );
    expect(answer).toContain('Added key *late*');
    expect(answer).toMatch(/Expires <!date\^/);
    const stored = (await keysOf('web')).find((k) => k.name === 'late');
    expect(stored).toMatchObject({
      comment: 'two',
      publicKey: second.publicLine.trim().split(' ').slice(0, 2).join(' '),
    });
  });

  test('a flag inside the key is named', async () => {
    const [type, data] = keys.generate('ed25519').publicLine.split(' ');
    expect(await say(OWNER_ID, '/sshkey', `add web ${type} --name x ${data}`)).toContain(
      '`--name` is inside the key',
    );
    expect(await keysOf('web')).toHaveLength(0);
  });

  test('a key in backticks, in a code block or in quotes', async () => {
    const inline = keys.generate('ed25519', { comment: 'inline' });
    expect(await say(OWNER_ID, '/sshkey', `add web \`${inline.publicLine.trim()}\``)).toContain(
      'Added key *inline*',
    );
    const block = keys.generate('ed25519', { comment: 'block' });
    expect(
      await say(OWNER_ID, '/sshkey', `add web \`\`\`\n${block.publicLine.trim()}\n\`\`\` --name fenced`),
    ).toContain('Added key *fenced*');
    const quoted = keys.generate('ed25519', { comment: 'quoted' });
    expect(await say(OWNER_ID, '/sshkey', `add web "${quoted.publicLine.trim()}"`)).toContain(
      'Added key *quoted*',
    );
    expect((await keysOf('web')).map((k) => k.name).sort()).toEqual(['fenced', 'inline', 'quoted']);
  });

  test('--expires takes minutes, with a floor', async () => {
    const key = keys.generate('ed25519');
    expect(await say(OWNER_ID, '/sshkey', `add web --expires 2m ${key.publicLine.trim()}`)).toContain(
      'at least 5 minutes',
    );
    expect(await say(OWNER_ID, '/sshkey', `add web --expires 30m ${key.publicLine.trim()}`)).toContain(
      'Added key',
    );
    const [stored] = await keysOf('web');
    const minutes = (Date.parse(stored!.expiresAt!) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(28);
    expect(minutes).toBeLessThanOrEqual(30);
  });
});

describe('/project token revoke asks first', () => {
  beforeEach(async () => {
    await domain.projects.create(owner, 'web');
    await domain.projects.grant(owner, 'web', 'UALICE', 'member');
    await domain.delivery.createToken(owner, 'web', 'fleet');
    await domain.delivery.createToken(owner, 'web', 'ci');
  });
  const labels = async () => (await domain.delivery.listTokens(owner, 'web')).tokens.map((t) => t.label);

  test('revoke alone lists the labels and revokes nothing; revoke <label> revokes one', async () => {
    const answer = await say(OWNER_ID, '/project', 'token web revoke');
    expect(answer).toContain('Nothing was revoked');
    expect(answer).toContain('*fleet*');
    expect(answer).toContain('*ci*');
    expect(answer).toContain('`/project token web revoke --all`');
    expect(await labels()).toEqual(['fleet', 'ci']);
    expect(await say(OWNER_ID, '/project', 'token web revoke fleet')).toContain('Revoked *fleet*');
    expect(await labels()).toEqual(['ci']);
  });

  test('revoke --all revokes only on Confirm, which is checked again and safe to click twice', async () => {
    const question = await run(OWNER_ID, '/project', 'token web revoke --all');
    expect(await labels()).toEqual(['fleet', 'ci']);
    const blocks = JSON.stringify(question.body.blocks);
    const confirm = (question.body.blocks as { type: string; elements?: Record<string, unknown>[] }[])
      .flatMap((b) => b.elements ?? [])
      .find((e) => e.action_id === 'tokens_revoke_all')!;
    expect(confirm).toMatchObject({ style: 'danger' });
    expect(blocks).toContain('Revoke all 2 key-delivery tokens');

    // A member cannot revoke by clicking someone else's button.
    expect(visibleText((await click('UALICE', 'tokens_revoke_all', confirm.value as string)).body)).toMatch(
      /needs the \*admin\* role/,
    );
    expect(await labels()).toEqual(['fleet', 'ci']);

    const first = await click(OWNER_ID, 'tokens_revoke_all', confirm.value as string);
    expect(first.body.replace_original).toBe(true);
    expect(visibleText(first.body)).toMatch(/Revoked \*fleet\*, \*ci\* of \*web\*/);
    expect(await labels()).toEqual([]);

    await domain.delivery.createToken(owner, 'web', 'newer');
    const second = await click(OWNER_ID, 'tokens_revoke_all', confirm.value as string);
    expect(visibleText(second.body)).toContain('Nothing more to revoke');
    expect(await labels()).toEqual(['newer']);
  });
});

describe('arguments in either order, and who is told what', () => {
  beforeEach(async () => {
    await domain.projects.create(owner, 'web');
  });

  test('grant takes the mention before or after the project', async () => {
    expect(await say(OWNER_ID, '/project', 'grant <@UALICE|alice> web admin')).toContain(
      '<@UALICE> is now *admin* of *web*',
    );
    expect(await say(OWNER_ID, '/project', 'grant web <@UBOB|bob> member')).toContain(
      '<@UBOB> is now *member* of *web*',
    );
  });

  test('a usage line is printed once', async () => {
    for (const [command, line] of [
      ['/org', 'owner add alice'],
      ['/project', 'channel web general'],
      ['/sshkey', 'list web --pages 2'],
      ['/sshkey', 'list web --page x'],
    ] as const) {
      const text = (await run(OWNER_ID, command, line)).body.text as string;
      expect([line, text.match(/Usage:/g)]).toEqual([line, ['Usage:']]);
    }
  });

  test('/org audit without a project shows members the projects they may see', async () => {
    await domain.organizations.updateSettings(owner, 'default-role', 'none');
    await domain.projects.create(owner, 'payroll');
    await domain.projects.grant(owner, 'web', 'UALICE', 'viewer');
    const audit = await say('UALICE', '/org', 'audit');
    expect(audit).toContain('Changes in the projects you can see');
    expect(audit).toMatch(/created the project web/);
    expect(audit).not.toContain('payroll');
    expect(audit).not.toContain('default-role');
  });

  test("a requester's own Approve is told why, not that it needs admin", async () => {
    await domain.projects.grant(owner, 'web', 'UALICE', 'member');
    const outcome = await domain.keys.add({ teamId: 'T0001', userId: 'UALICE' }, 'web', {
      publicKey: keys.generate('ed25519').publicLine,
    });
    if (outcome.kind !== 'requested') throw new Error('expected a request');
    const answer = visibleText((await click('UALICE', 'request_approve', outcome.request.id)).body);
    expect(answer).toMatch(/You asked for this key.*never decides their own request/);
    expect(answer).not.toMatch(/needs the \*admin\* role/);
  });
});
