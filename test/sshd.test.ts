import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Domain } from '../src/domain';
import { startHarness, OWNER_ID, type Harness } from './helpers/harness';
import { KeyFactory, type GeneratedKey } from './helpers/sshKeygen';
import { type Sshd, startSshd } from './helpers/sshd';
import { visibleText } from './helpers/slackUser';

/**
 * A real OpenSSH server on a loopback port whose AuthorizedKeysCommand asks Keyhouse for the
 * project's keys on every login, exactly as the README recipe sets it up.
 */
const keys = new KeyFactory();
let harness: Harness;
let domain: Domain;
let dir: string;
const owner = { teamId: 'T0001', userId: OWNER_ID };

let server: Sshd;
const login = (key: GeneratedKey) => server.login(key);

beforeAll(async () => {
  harness = await startHarness();
  domain = harness.apps[0]!.keyhouse.domain;
  await domain.projects.create(owner, 'fleet');
  const reply = visibleText((await harness.user(OWNER_ID).command('/project', 'token fleet sshd')).body);
  const token = /```(khk_[^`]+)```/.exec(reply)![1]!;
  const projectId = (await domain.projects.show(owner, 'fleet')).project.id;

  // sshd insists that the command and every directory above it belong to root and are not writable by others.
  dir = mkdtempSync('/run/keyhouse-sshd-');
  chmodSync(dir, 0o755);
  const command = join(dir, 'keyhouse-keys');
  writeFileSync(
    command,
    `#!/bin/sh\nexec curl -fsS --max-time 5 -H "Authorization: Bearer ${token}" "${harness.apps[0]!.url}/v1/projects/${projectId}/authorized_keys?instance=sshd-test"\n`,
    { mode: 0o755 },
  );
  server = await startSshd(dir, `${command} %u`);
}, 60_000);

afterAll(async () => {
  server?.stop();
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
