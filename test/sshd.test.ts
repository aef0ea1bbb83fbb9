import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Domain } from '../src/domain';
import { startHarness, OWNER_ID, type Harness } from './helpers/harness';
import { KeyFactory, type GeneratedKey } from './helpers/sshKeygen';
import { visibleText } from './helpers/slackUser';

/**
 * A real OpenSSH server on a loopback port whose AuthorizedKeysCommand asks Keyhouse for the
 * project's keys on every login, exactly as the README recipe sets it up.
 */
const SSHD = '/usr/sbin/sshd';
const keys = new KeyFactory();
let harness: Harness;
let domain: Domain;
let sshd: ChildProcess;
let sshdPort: number;
let dir: string;
const owner = { teamId: 'T0001', userId: OWNER_ID };

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** Tries `ssh root@127.0.0.1 echo in` with one key only; true when sshd let it in. */
function login(key: GeneratedKey): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(
      'ssh',
      [
        '-i',
        key.path,
        '-p',
        String(sshdPort),
        '-o',
        'BatchMode=yes',
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'IdentityAgent=none',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'LogLevel=ERROR',
        '-o',
        'ConnectTimeout=5',
        'root@127.0.0.1',
        'echo in',
      ],
      { timeout: 15_000 },
      (error, stdout) => resolve(!error && stdout.trim() === 'in'),
    );
  });
}

beforeAll(async () => {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install openssh-server (.ci/run does)`);
  harness = await startHarness();
  domain = harness.apps[0]!.keyhouse.domain;
  await domain.projects.create(owner, 'fleet');
  const reply = visibleText((await harness.user(OWNER_ID).command('/project', 'token fleet sshd')).body);
  const token = /```(khk_[^`]+)```/.exec(reply)![1]!;
  const projectId = (await domain.projects.show(owner, 'fleet')).project.id;

  // sshd insists that the command and every directory above it belong to root and are not writable by others.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  dir = mkdtempSync('/run/keyhouse-sshd-');
  chmodSync(dir, 0o755);
  const command = join(dir, 'keyhouse-keys');
  writeFileSync(
    command,
    `#!/bin/sh\nexec curl -fsS --max-time 5 -H "Authorization: Bearer ${token}" "${harness.apps[0]!.url}/v1/projects/${projectId}/authorized_keys?instance=sshd-test"\n`,
    { mode: 0o755 },
  );
  const hostKey = join(dir, 'host_ed25519');
  await new Promise((resolve, reject) =>
    execFile('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey], (e) =>
      e ? reject(e) : resolve(null),
    ),
  );
  sshdPort = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${sshdPort}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'AuthorizedKeysFile none',
      `AuthorizedKeysCommand ${command} %u`,
      'AuthorizedKeysCommandUser nobody',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      '',
    ].join('\n'),
  );
  sshd = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  sshd.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  for (let i = 0; i < 100 && !/Server listening/.test(log); i += 1)
    await new Promise((r) => setTimeout(r, 50));
  if (!/Server listening/.test(log)) throw new Error(`sshd did not start: ${log}`);
}, 60_000);

afterAll(async () => {
  sshd?.kill();
  await harness?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  keys.cleanup();
});

test('a project key logs in, a key outside the project does not', async () => {
  const alice = keys.generate('ed25519', { comment: 'alice' });
  const stranger = keys.generate('ed25519', { comment: 'stranger' });
  await domain.keys.add(owner, 'fleet', { publicKey: alice.publicLine });
  expect(await login(alice)).toBe(true);
  expect(await login(stranger)).toBe(false);
  // The server checked in as an instance of the project.
  const { project } = await domain.projects.show(owner, 'fleet');
  expect(project.resources.map((r) => [r.type, r.name])).toEqual([['instance', 'sshd-test']]);
});

test('disable, enable and remove take effect on the next login', async () => {
  const bob = keys.generate('ecdsa', { comment: 'bob' });
  await domain.keys.add(owner, 'fleet', { publicKey: bob.publicLine, name: 'bob' });
  expect(await login(bob)).toBe(true);
  await harness.user(OWNER_ID).command('/sshkey', 'disable fleet bob');
  expect(await login(bob)).toBe(false);
  await harness.user(OWNER_ID).command('/sshkey', 'enable fleet bob');
  expect(await login(bob)).toBe(true);
  await harness.user(OWNER_ID).command('/sshkey', 'remove fleet bob');
  expect(await login(bob)).toBe(false);
});

test('an expired key does not get in', async () => {
  const carol = keys.generate('ed25519', { comment: 'carol' });
  await domain.keys.add(owner, 'fleet', { publicKey: carol.publicLine, name: 'carol', expires: '8h' });
  expect(await login(carol)).toBe(true);
  // Time passes for the key: its expiry is now behind it.
  await domain.workspaces.mutate('T0001', async (tx) => {
    const project = await tx.project('fleet');
    project.keys.find((k) => k.name === 'carol')!.expiresAt = new Date(Date.now() - 1000).toISOString();
    tx.save(project);
  });
  expect(await login(carol)).toBe(false);
});
