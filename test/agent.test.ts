import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Domain } from '../src/domain';
import { signSshsig } from '../src/domain/keys/sshsig';
import { startHarness, OWNER_ID, type Harness } from './helpers/harness';
import { KeyFactory, keyPair } from './helpers/sshKeygen';
import { type Sshd, startSshd } from './helpers/sshd';
import { visibleText } from './helpers/slackUser';

/**
 * The shipped agent (contrib/keyhouse-keys, as served at /v1/agent) as sshd's AuthorizedKeysCommand on
 * a real sshd, reaching the real Keyhouse through a network path the test controls: up, down, or held
 * by an attacker who tampers with answers, signs with another key, replays an older set or serves
 * another project's.
 */
const NOBODY = 65534;
const keys = new KeyFactory();
const alice = keys.generate('ed25519', { comment: 'alice' });
const bob = keys.generate('ecdsa', { comment: 'bob' });
const mallory = keys.generate('ed25519', { comment: 'mallory' });
const owner = { teamId: 'T0001', userId: OWNER_ID };

let harness: Harness;
let domain: Domain;
let dir: string;
let sshd: Sshd;
let path: Server;
let cacheDir: string;
let projectId: string;

interface Answer {
  status: number;
  body: string;
  signature?: string;
}

/** What the network between the instance and Keyhouse does to the next requests. */
let network: 'up' | 'down' | ((real: Answer) => Answer) = 'up';

async function fetchSet(id: string, token: string): Promise<Answer> {
  const response = await fetch(`${harness.apps[0]!.url}/v1/projects/${id}/authorized_keys`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return {
    status: response.status,
    body: await response.text(),
    signature: response.headers.get('keyhouse-signature') ?? '',
  };
}

async function newToken(project: string): Promise<string> {
  const reply = visibleText((await harness.user(OWNER_ID).command('/project', `token ${project}`)).body);
  return /```(khk_[^`]+)```/.exec(reply)![1]!;
}

beforeAll(async () => {
  harness = await startHarness();
  domain = harness.apps[0]!.keyhouse.domain;
  const base = harness.apps[0]!.url;
  await domain.projects.create(owner, 'fleet');
  const token = await newToken('fleet');
  projectId = (await domain.projects.show(owner, 'fleet')).project.id;

  // The path to Keyhouse: passes requests on, or not, or changes the answers.
  path = createServer((req, res) => {
    if (network === 'down') {
      res.destroy();
      return;
    }
    const change = network;
    void (async () => {
      const upstream = await fetch(`${base}${req.url ?? '/'}`, {
        headers: Object.fromEntries(
          ['authorization', 'if-none-match'].flatMap((h) =>
            req.headers[h] ? [[h, String(req.headers[h])]] : [],
          ),
        ),
      });
      let answer: Answer = {
        status: upstream.status,
        body: await upstream.text(),
        signature: upstream.headers.get('keyhouse-signature') ?? '',
      };
      const etag = upstream.headers.get('etag');
      if (change !== 'up') answer = change(answer);
      res.writeHead(answer.status, {
        'content-type': 'text/plain',
        ...(answer.signature ? { 'keyhouse-signature': answer.signature } : {}),
        ...(etag && change === 'up' ? { etag } : {}),
      });
      res.end(answer.body);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => path.listen(0, '127.0.0.1', resolve));
  const pathUrl = `http://127.0.0.1:${(path.address() as AddressInfo).port}`;

  // Installed as an operator would: root-owned files, the token readable by the command's user only.
  dir = mkdtempSync('/run/keyhouse-agent-');
  chmodSync(dir, 0o755);
  const agent = join(dir, 'keyhouse-keys');
  writeFileSync(agent, await (await fetch(`${base}/v1/agent`)).text(), { mode: 0o755 });
  writeFileSync(join(dir, 'allowed_signers'), await (await fetch(`${base}/v1/signing-key`)).text(), {
    mode: 0o644,
  });
  writeFileSync(join(dir, 'token'), `${token}\n`, { mode: 0o640 });
  chownSync(join(dir, 'token'), 0, NOBODY);
  cacheDir = join(dir, 'cache');
  mkdirSync(cacheDir, { mode: 0o700 });
  chownSync(cacheDir, NOBODY, NOBODY);
  writeFileSync(
    join(dir, 'agent.conf'),
    [
      `KEYHOUSE_URL=${pathUrl}`,
      `PROJECT_ID=${projectId}`,
      `TOKEN_FILE=${join(dir, 'token')}`,
      `ALLOWED_SIGNERS=${join(dir, 'allowed_signers')}`,
      `CACHE_DIR=${cacheDir}`,
      'INSTANCE=agent-test',
      'TIMEOUT=3',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  sshd = await startSshd(dir, `${agent} -c ${join(dir, 'agent.conf')} %u`);
  await domain.keys.add(owner, 'fleet', { publicKey: alice.publicLine, name: 'alice' });
}, 60_000);

afterAll(async () => {
  sshd?.stop();
  await new Promise((resolve) => path?.close(resolve));
  await harness?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  keys.cleanup();
});

beforeEach(() => {
  network = 'up';
});

test('the served agent is the one in the repository', async () => {
  const served = await (await fetch(`${harness.apps[0]!.url}/v1/agent`)).text();
  expect(served).toBe(readFileSync(join(__dirname, '..', 'contrib', 'keyhouse-keys'), 'utf8'));
  expect(served.startsWith('#!/bin/sh\n')).toBe(true);
});

test('a project key logs in, another does not; the machine checks in', async () => {
  expect(await sshd.login(alice)).toBe(true);
  expect(await sshd.login(mallory)).toBe(false);
  const { project } = await domain.projects.show(owner, 'fleet');
  expect(project.resources.map((r) => r.name)).toContain('agent-test');
});

test('with Keyhouse out of reach, the cached set still lets people in while its offline window lasts', async () => {
  expect(await sshd.login(alice)).toBe(true); // fetched and cached
  network = 'down';
  expect(await sshd.login(alice)).toBe(true);
  expect(await sshd.login(mallory)).toBe(false);
});

test('a cache file edited on disk is not served', async () => {
  expect(await sshd.login(alice)).toBe(true);
  const cached = join(cacheDir, `${projectId}.set`);
  writeFileSync(cached, `${readFileSync(cached, 'utf8')}${mallory.publicLine}`); // a key slipped into the body
  network = 'down';
  expect(await sshd.login(mallory)).toBe(false);
  expect(await sshd.login(alice)).toBe(false); // nothing that does not check out is served
  network = 'up';
  expect(await sshd.login(alice)).toBe(true); // fetched anew
});

test('a removed key is refused at the next login', async () => {
  await domain.keys.add(owner, 'fleet', { publicKey: bob.publicLine, name: 'bob' });
  expect(await sshd.login(bob)).toBe(true);
  await harness.user(OWNER_ID).command('/sshkey', 'remove fleet bob');
  expect(await sshd.login(bob)).toBe(false);
});

test('answers changed on the way are refused: tampered, signed by another key, replayed, another project', async () => {
  const token = readFileSync(join(dir, 'token'), 'utf8').trim();
  // An older set, honestly signed, that still holds bob's key.
  await domain.keys.add(owner, 'fleet', { publicKey: bob.publicLine, name: 'bob' });
  const older = await fetchSet(projectId, token);
  expect(older.body).toContain(bob.publicLine.split(' ')[1]);
  await harness.user(OWNER_ID).command('/sshkey', 'remove fleet bob');
  expect(await sshd.login(alice)).toBe(true); // the current set is cached

  network = (real) => ({ ...real, body: `${real.body}${mallory.publicLine}` });
  expect(await sshd.login(mallory)).toBe(false);

  const { privateKey: attacker } = keyPair('ed25519');
  network = (real) => {
    const body = `${real.body}${mallory.publicLine}`;
    return { ...real, body, signature: signSshsig(attacker, 'keyhouse-authorized-keys', body) };
  };
  expect(await sshd.login(mallory)).toBe(false);

  network = () => older;
  expect(await sshd.login(bob)).toBe(false);

  await domain.projects.create(owner, 'other');
  await domain.keys.add(owner, 'other', { publicKey: mallory.publicLine, name: 'mallory' });
  const otherId = (await domain.projects.show(owner, 'other')).project.id;
  const foreign = await fetchSet(otherId, await newToken('other'));
  expect(foreign.status).toBe(200);
  network = () => foreign;
  expect(await sshd.login(mallory)).toBe(false);
  // Through all of it, the genuine cached set kept working.
  expect(await sshd.login(alice)).toBe(true);
});

test('answers that carry no signature never extend the cache: a 401 keeps the offline window, a 304 cannot renew it', async () => {
  expect(await sshd.login(alice)).toBe(true); // a 24h set is cached
  network = (real) => ({
    status: 401,
    body: 'unauthorized\n',
    signature: real.signature === undefined ? '' : '',
  });
  expect(await sshd.login(alice)).toBe(true); // offline rules: still within the window
  await harness.user(OWNER_ID).command('/project', 'set fleet offline-logins strict');
  network = 'up';
  expect(await sshd.login(alice)).toBe(true); // a strict set is cached: it may be used only as fetched
  network = () => ({ status: 304, body: '' });
  expect(await sshd.login(alice)).toBe(false); // "unchanged" from anyone on the path is not fresh
  await harness.user(OWNER_ID).command('/project', 'set fleet offline-logins 24h');
});

test('an older issue of the same set, or an oversized answer, does not replace the cache', async () => {
  const token = readFileSync(join(dir, 'token'), 'utf8').trim();
  const cached = join(cacheDir, `${projectId}.set`);
  const older = await fetchSet(projectId, token);
  await new Promise((resolve) => setTimeout(resolve, 1100)); // the next issue has a later time
  await harness.user(OWNER_ID).command('/project', 'set fleet offline-logins 7d');
  expect(await sshd.login(alice)).toBe(true);
  const current = readFileSync(cached, 'utf8');
  expect(current).toMatch(/offline-until=/);
  network = () => older; // same serial, issued earlier: a replay
  expect(await sshd.login(alice)).toBe(true); // served from the cache
  expect(readFileSync(cached, 'utf8')).toBe(current);
  network = (real) => ({ ...real, body: real.body + '#'.repeat(12 * 1024 * 1024) });
  const started = Date.now();
  expect(await sshd.login(alice)).toBe(true); // refused by size, served from the cache
  expect(Date.now() - started).toBeLessThan(8000);
  expect(readFileSync(cached, 'utf8')).toBe(current);
  await harness.user(OWNER_ID).command('/project', 'set fleet offline-logins 24h');
});

test('under offline-logins strict, nobody logs in while Keyhouse is out of reach', async () => {
  await harness.user(OWNER_ID).command('/project', 'set fleet offline-logins strict');
  expect(await sshd.login(alice)).toBe(true); // a strict set is fetched and cached
  network = 'down';
  expect(await sshd.login(alice)).toBe(false);
  network = 'up';
  expect(await sshd.login(alice)).toBe(true);
});

test('a login spray that gets the machine rate-limited does not lock out a strict project, for a bounded time', async () => {
  await harness.user(OWNER_ID).command('/project', 'set fleet offline-logins strict');
  expect(await sshd.login(alice)).toBe(true); // a strict set is fetched and cached
  // Keyhouse answers 429: this machine (or its project) asked too often.
  network = () => ({ status: 429, body: 'too many requests from this address: try again in 60 s\n' });
  expect(await sshd.login(alice)).toBe(true); // the set fetched moments ago still counts
  expect(await sshd.login(mallory)).toBe(false);
  // Two minutes later (the cache's own record of when it fetched, moved back): no longer.
  const cached = join(cacheDir, `${projectId}.set`);
  const text = readFileSync(cached, 'utf8');
  const fetched = Number(/^fetched=(\d+) /.exec(text)![1]);
  writeFileSync(cached, text.replace(/^fetched=\d+ /, `fetched=${fetched - 121} `));
  expect(await sshd.login(alice)).toBe(false);
  network = 'up';
  expect(await sshd.login(alice)).toBe(true);
  await harness.user(OWNER_ID).command('/project', 'set fleet offline-logins 24h');
});

test('a key that expires while Keyhouse is out of reach is refused at its expiry, by sshd, from the cached copy', async () => {
  const soon = keys.generate('ed25519', { comment: 'soon' });
  // Long enough for the three logins before it on a loaded machine (sshd runs the agent for each).
  const expiresAt = Date.now() + 15_000;
  // Added with an expiry to the second, as the domain does for --expires, without waiting half an hour.
  await domain.workspaces.mutate(owner.teamId, async (tx) => {
    const project = await tx.project(projectId);
    const { parsed } = domain.keys.check({ publicKey: soon.publicLine });
    project.keys.push({
      ...parsed,
      id: 'soon',
      name: 'soon',
      addedBy: OWNER_ID,
      createdAt: tx.at,
      disabled: false,
      expiresAt: new Date(expiresAt).toISOString(),
    });
    tx.save(project);
  });
  expect(await sshd.login(soon)).toBe(true); // fetched and cached; the set may serve offline for 24 h
  const cached = readFileSync(join(cacheDir, `${projectId}.set`), 'utf8');
  expect(cached).toMatch(/^expiry-time="\d{14}Z" ssh-ed25519 \S+ soon$/m);
  network = 'down';
  expect(await sshd.login(soon)).toBe(true);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 1500));
  expect(await sshd.login(soon)).toBe(false); // the cached copy still holds it; sshd refuses it
  expect(await sshd.login(alice)).toBe(true); // the rest of the cached set still lets people in
  network = 'up';
  await domain.keys.change(owner, 'fleet', 'soon', 'remove').catch(() => undefined);
}, 60_000);
