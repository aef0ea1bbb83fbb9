import { execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  cloudInitConfig,
  installScript,
  RECIPE_PATHS,
  RECIPE_PLACEHOLDERS,
  RELOAD_SSHD,
} from '../src/domain/recipes';
import { startHarness, OWNER_ID, type Harness } from './helpers/harness';
import { KeyFactory } from './helpers/sshKeygen';
import { freePort, type Sshd, startSshd } from './helpers/sshd';
import { visibleText } from './helpers/slackUser';

// js-yaml comes with the dev tools and has no types of its own.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require('js-yaml') as { load(text: string): unknown };

/**
 * The install recipe as people copy it, from the README and from a dashboard rendered by the real
 * app, run with `sh` as written. The test cannot write to the real /etc nor reload the system's sshd,
 * so it makes one mechanical change: every absolute path the recipe writes to (RECIPE_PATHS) gets a
 * root-owned prefix under /run, and the line that reloads sshd (RELOAD_SSHD) becomes a note that it
 * ran. A real sshd then takes the AuthorizedKeysCommand line the script wrote to the sandbox's
 * sshd_config: a project key logs in, another does not.
 */
const NOBODY = 65534;
/** The system user the recipe creates for the agent (its uid and gid, once a recipe has run). */
const agentUser = () => {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'keyhouse'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
};
const keys = new KeyFactory();
const alice = keys.generate('ed25519', { comment: 'alice' });
const mallory = keys.generate('ed25519', { comment: 'mallory' });
const owner = { teamId: 'T0001', userId: OWNER_ID };

let harness: Harness;
let url: string;
let projectId: string;
let token: string;
let dashboard: string[];
const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
const cleanup: (() => void)[] = [];

/** The fenced block that follows `<!-- recipe:<name> -->` in the README. */
function readmeBlock(name: string): string {
  const at = readme.indexOf(`<!-- recipe:${name} -->`);
  if (at < 0) throw new Error(`README has no <!-- recipe:${name} --> marker`);
  const block = /```[a-z]*\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!block) throw new Error(`no fenced block after <!-- recipe:${name} -->`);
  return block[1]!;
}

/** The code blocks of a message, as Slack shows them: `&lt;`, `&gt;` and `&amp;` read as themselves. */
function codeBlocks(body: Record<string, unknown>): string[] {
  const texts = ((body.blocks ?? []) as { type: string; text?: { text: string } }[]).flatMap((b) =>
    b.type === 'section' && b.text ? [b.text.text] : [],
  );
  return texts.flatMap((text) =>
    [...text.matchAll(/```([\s\S]*?)```/g)].map((m) =>
      m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'),
    ),
  );
}

const run = (file: string, env: Record<string, string>) =>
  new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(
      'sh',
      [file],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } },
      (error, _o, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
    ),
  );

interface Sandbox {
  root: string;
  at(path: string): string;
  run(script: string, env?: Record<string, string>): Promise<{ code: number; stderr: string }>;
}

/** A root-owned prefix under /run with what every machine has: /usr/local/bin, /var/cache, an sshd_config. */
function sandbox(): Sandbox {
  const root = mkdtempSync('/run/keyhouse-recipe-');
  cleanup.push(() => rmSync(root, { recursive: true, force: true }));
  for (const dir of ['', '/usr', '/usr/local', '/usr/local/bin', '/var', '/var/cache', '/etc', '/etc/ssh']) {
    mkdirSync(root + dir, { recursive: true });
    chmodSync(root + dir, 0o755);
  }
  writeFileSync(`${root}/etc/ssh/sshd_config`, "# the machine's own settings\nPasswordAuthentication no\n");
  const paths = new RegExp(Object.values(RECIPE_PATHS).join('|').replace(/\./g, '\\.'), 'g');
  return {
    root,
    at: (path) => root + path,
    run: async (script, env = { KEYHOUSE_TOKEN: token }) => {
      // The one change: relocated paths, and a note instead of reloading the system's sshd.
      expect(script.split('\n').filter((line) => line === RELOAD_SSHD)).toHaveLength(1);
      const relocated = script
        .replace(RELOAD_SSHD, `echo reloaded >> ${root}/reloaded`)
        .replace(paths, (path) => root + path);
      const file = `${root}/install.sh`;
      writeFileSync(file, relocated, { mode: 0o700 });
      return run(file, env);
    },
  };
}

const mode = (path: string) => {
  const stat = statSync(path);
  return { uid: stat.uid, gid: stat.gid, mode: (stat.mode & 0o7777).toString(8) };
};

async function sshdFrom(box: Sandbox): Promise<Sshd> {
  const lines = readFileSync(box.at(RECIPE_PATHS.sshdConfig), 'utf8').split('\n');
  const command = lines
    .find((l) => l.startsWith('AuthorizedKeysCommand '))!
    .slice('AuthorizedKeysCommand '.length);
  expect(lines.slice(0, 2)).toEqual([
    `AuthorizedKeysCommand ${command}`,
    'AuthorizedKeysCommandUser keyhouse',
  ]);
  const dir = mkdtempSync('/run/keyhouse-recipe-sshd-');
  chmodSync(dir, 0o755);
  const sshd = await startSshd(dir, command, 'keyhouse');
  cleanup.push(() => {
    sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return sshd;
}

beforeAll(async () => {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  harness = await startHarness({ env: { PORT: String(port), PUBLIC_URL: url } });
  const domain = harness.apps[0]!.keyhouse.domain;
  await domain.projects.create(owner, 'fleet');
  projectId = (await domain.projects.show(owner, 'fleet')).project.id;
  const reply = visibleText((await harness.user(OWNER_ID).command('/project', 'token fleet recipe')).body);
  token = /```(khk_[^`]+)```/.exec(reply)![1]!;
  await domain.keys.add(owner, 'fleet', { publicKey: alice.publicLine, name: 'alice' });
  dashboard = codeBlocks((await harness.user(OWNER_ID).command('/project', 'show fleet')).body);
}, 60_000);

afterAll(async () => {
  for (const step of cleanup.reverse()) step();
  await harness?.stop();
  keys.cleanup();
});

test('the README carries the recipes the app generates, with placeholders', () => {
  const { publicUrl, projectId: id } = RECIPE_PLACEHOLDERS;
  expect(readmeBlock('install')).toBe(installScript(publicUrl, id));
  expect(readmeBlock('cloud-init')).toBe(cloudInitConfig(publicUrl, id));
});

test('the dashboard shows the same recipes, with this deployment and project filled in', () => {
  expect(dashboard).toEqual([
    installScript(url, projectId).trimEnd(),
    cloudInitConfig(url, projectId).trimEnd(),
  ]);
  const script = dashboard[0]!;
  expect(script.startsWith('#!/bin/sh\n')).toBe(true);
  expect(script).not.toContain('root:nobody');
  expect(script).not.toMatch(/\bnobody\b|nogroup/); // the agent has a user of its own
  // The token is only ever handled by shell builtins (case, printf): it is on no command line.
  for (const line of script
    .split('\n')
    .filter((l) => l.includes('$KEYHOUSE_TOKEN') || l.includes('${KEYHOUSE_TOKEN'))) {
    expect(line).toMatch(/^(case |\(umask 077 && printf )/);
  }
});

test.each([
  [
    'README',
    () =>
      readmeBlock('install')
        .replace(RECIPE_PLACEHOLDERS.publicUrl, url)
        .replace(RECIPE_PLACEHOLDERS.projectId, projectId),
  ],
  ['dashboard', () => dashboard[0]!],
])(
  'the install script from the %s, run as written, lets a project key in and no other',
  async (_from, script) => {
    const box = sandbox();
    const first = await box.run(script());
    expect(first).toEqual({ code: 0, stderr: '' });

    expect(mode(box.at('/etc/keyhouse'))).toEqual({ uid: 0, gid: 0, mode: '755' });
    expect(mode(box.at('/usr/local/bin/keyhouse-keys'))).toEqual({ uid: 0, gid: 0, mode: '755' });
    expect(mode(box.at('/etc/keyhouse/allowed_signers'))).toEqual({ uid: 0, gid: 0, mode: '644' });
    expect(mode(box.at('/etc/keyhouse/agent.conf'))).toEqual({ uid: 0, gid: 0, mode: '644' });
    const { uid, gid } = agentUser();
    expect(uid).toBeGreaterThan(0);
    expect(mode(box.at('/etc/keyhouse/token'))).toEqual({ uid: 0, gid, mode: '640' });
    expect(mode(box.at('/var/cache/keyhouse'))).toEqual({ uid, gid, mode: '700' });
    expect(readFileSync(box.at('/etc/keyhouse/token'), 'utf8')).toBe(`${token}\n`);
    expect(readFileSync(box.at('/usr/local/bin/keyhouse-keys'), 'utf8')).toBe(
      readFileSync(join(__dirname, '..', 'contrib', 'keyhouse-keys'), 'utf8'),
    );
    expect(readFileSync(box.at('/reloaded'), 'utf8')).toBe('reloaded\n');

    // Run again (an update): the sshd_config lines are not added twice.
    expect(await box.run(script())).toEqual({ code: 0, stderr: '' });
    const config = readFileSync(box.at('/etc/ssh/sshd_config'), 'utf8');
    expect(config.match(/^AuthorizedKeysCommand /gm)).toHaveLength(1);
    expect(config).toContain("# the machine's own settings\nPasswordAuthentication no\n");

    const sshd = await sshdFrom(box);
    expect(await sshd.login(alice)).toBe(true);
    expect(await sshd.login(mallory)).toBe(false);
  },
  60_000,
);

test('run over an earlier install that ran the agent as nobody, the script moves it to its own user', async () => {
  const box = sandbox();
  const command = `AuthorizedKeysCommand ${box.at('/usr/local/bin')}/keyhouse-keys -c ${box.at('/etc/keyhouse')}/agent.conf %u`;
  writeFileSync(
    box.at('/etc/ssh/sshd_config'),
    `${command}\nAuthorizedKeysCommandUser nobody\n# the machine's own settings\nPasswordAuthentication no\n`,
  );
  mkdirSync(box.at('/var/cache/keyhouse'), { mode: 0o700 });
  writeFileSync(box.at(`/var/cache/keyhouse/${projectId}.set`), 'an earlier cache\n', { mode: 0o600 });
  chownSync(box.at('/var/cache/keyhouse'), NOBODY, NOBODY);
  chownSync(box.at(`/var/cache/keyhouse/${projectId}.set`), NOBODY, NOBODY);

  expect(await box.run(dashboard[0]!)).toEqual({ code: 0, stderr: '' });
  const config = readFileSync(box.at('/etc/ssh/sshd_config'), 'utf8');
  expect(config).toBe(
    `${command}\nAuthorizedKeysCommandUser keyhouse\n# the machine's own settings\nPasswordAuthentication no\n`,
  );
  const { uid } = agentUser();
  expect(statSync(box.at(`/var/cache/keyhouse/${projectId}.set`)).uid).toBe(uid);
  const sshd = await sshdFrom(box);
  expect(await sshd.login(alice)).toBe(true);
}, 60_000);

test('without a token the script stops before writing anything', async () => {
  const box = sandbox();
  const result = await box.run(dashboard[0]!, {});
  expect(result.code).not.toBe(0);
  expect(result.stderr).toContain('KEYHOUSE_TOKEN');
  expect(() => statSync(box.at('/etc/keyhouse'))).toThrow();
});

test('the cloud-init file is YAML whose runcmd holds the same steps', () => {
  for (const text of [dashboard[1]!, readmeBlock('cloud-init')]) {
    expect(text.split('\n')[0]).toBe('#cloud-config');
    const config = yaml.load(text) as { runcmd: string[] };
    expect(Object.keys(config)).toEqual(['runcmd']);
    expect(config.runcmd).toHaveLength(1);
    const steps = config.runcmd[0]!.trimEnd().split('\n');
    expect(steps.slice(0, 2)).toEqual(['set -eu', "KEYHOUSE_TOKEN='<token>'"]);
    const script = text === dashboard[1] ? installScript(url, projectId) : readmeBlock('install');
    // The script's lines after `#!/bin/sh`, its comment and `set -eu`.
    expect(steps.slice(2)).toEqual(script.trimEnd().split('\n').slice(3));
  }
});
