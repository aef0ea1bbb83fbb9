import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createKeyhouse } from '../../src/app';
import { loadConfig } from '../../src/config';
import type { Actor } from '../../src/domain/model';
import { SIGNING_KEY_DOCUMENT } from '../../src/domain/signingKey';
import { armorSshsig } from '../../src/domain/keys/sshsig';
import { tempDir } from '../helpers/env';
import { FakeSlack } from '../helpers/fakeSlack';
import { processSettings } from '../helpers/keyhouseProcess';
import { type Harness, OWNER_ID, startHarness } from '../helpers/harness';
import { RecordingStore } from '../helpers/recordingStore';
import { seedProjects } from '../helpers/seed';
import { visibleText } from '../helpers/slackUser';
import { quickEd25519Line } from '../helpers/sshKeygen';

/**
 * Signed key sets over real HTTP on the real app: the first line, the signature (checked by
 * `ssh-keygen -Y verify`), the serial, the offline window, replicas, and what a fetch reads.
 */
const owner: Actor = { teamId: 'T0001', userId: OWNER_ID };
const dir = tempDir(); // removed when the test process ends
let files = 0;

const HEADER =
  /^# keyhouse project=([0-9a-f-]{36}) serial=(\d+) issued=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) offline-until=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\n/;

function header(body: string) {
  const match = HEADER.exec(body);
  if (!match) throw new Error(`no keyhouse line in: ${body.slice(0, 200)}`);
  return {
    project: match[1]!,
    serial: Number(match[2]),
    issued: Date.parse(match[3]!),
    offlineUntil: Date.parse(match[4]!),
  };
}

/** `ssh-keygen -Y verify` of `body` against the allowed_signers line exactly as served. */
function verifies(allowedSigners: string, body: string, signature: string): boolean {
  files += 1;
  const signers = join(dir, `signers-${files}`);
  const sig = join(dir, `sig-${files}`);
  writeFileSync(signers, allowedSigners);
  writeFileSync(sig, armorSshsig(signature));
  const run = spawnSync(
    'ssh-keygen',
    ['-Y', 'verify', '-f', signers, '-I', 'keyhouse', '-n', 'keyhouse-authorized-keys', '-s', sig],
    { input: body },
  );
  return run.status === 0;
}

async function newToken(harness: Harness, project: string): Promise<string> {
  const text = visibleText((await harness.user(OWNER_ID).command('/project', `token ${project}`)).body);
  const token = /```(khk_[^`]+)```/.exec(text)?.[1];
  if (!token) throw new Error(`no token in: ${text}`);
  return token;
}

const fetchKeys = (base: string, id: string, token: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/v1/projects/${id}/authorized_keys`, {
    headers: { authorization: `Bearer ${token}`, ...headers },
  });

async function answer(base: string, id: string, token: string) {
  const response = await fetchKeys(base, id, token);
  expect(response.status).toBe(200);
  const body = await response.text();
  return { body, signature: response.headers.get('keyhouse-signature') ?? '', head: header(body) };
}

describe('one app', () => {
  let harness: Harness;
  let base: string;
  let web: { id: string; token: string };
  beforeEach(async () => {
    harness = await startHarness();
    base = harness.apps[0]!.url;
    const project = await harness.apps[0]!.keyhouse.domain.projects.create(owner, 'web');
    web = { id: project.id, token: await newToken(harness, 'web') };
  });
  afterEach(() => harness.stop());

  test('the body starts with its keyhouse line and its signature verifies with ssh-keygen; a tampered body does not', async () => {
    const domain = harness.apps[0]!.keyhouse.domain;
    const before = Date.now();
    await domain.keys.add(owner, 'web', { publicKey: quickEd25519Line('alice'), name: 'alice' });
    const after = Date.now();
    const signers = await fetch(`${base}/v1/signing-key`);
    expect(signers.status).toBe(200);
    expect(signers.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const allowed = await signers.text();
    expect(allowed).toMatch(
      /^keyhouse namespaces="keyhouse-authorized-keys" ssh-ed25519 AAAA[A-Za-z0-9+/=]+\n$/,
    );

    const { body, signature, head } = await answer(base, web.id, web.token);
    expect(head.project).toBe(web.id);
    expect(head.serial).toBeGreaterThanOrEqual(1);
    expect(head.issued).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(head.issued).toBeLessThanOrEqual(after);
    expect(head.offlineUntil - head.issued).toBe(24 * 3600_000);
    expect(body.split('\n').filter(Boolean)).toHaveLength(2);
    expect(signature).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(verifies(allowed, body, signature)).toBe(true);
    expect(verifies(allowed, body.replace('alice', 'mallory'), signature)).toBe(false);
    expect(verifies(allowed, `${body}ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA mallory\n`, signature)).toBe(
      false,
    );

    // The fingerprint shown in Slack is the served key's.
    files += 1;
    const pub = join(dir, `pub-${files}`);
    writeFileSync(pub, allowed.split(' ').slice(2).join(' '));
    const fingerprint = execFileSync('ssh-keygen', ['-lf', pub]).toString().split(' ')[1]!;
    const org = visibleText((await harness.user(OWNER_ID).command('/org', '')).body);
    expect(org).toContain(fingerprint);

    // Unchanged: the same ETag gives a 304.
    const first = await fetchKeys(base, web.id, web.token);
    const etag = first.headers.get('etag')!;
    expect((await fetchKeys(base, web.id, web.token, { 'if-none-match': etag })).status).toBe(304);
  });

  test('the serial grows with add, disable, enable, remove and expiry, not with a rename or a grant', async () => {
    const domain = harness.apps[0]!.keyhouse.domain;
    const serial = async () => (await answer(base, web.id, web.token)).head.serial;
    const start = await serial();
    await domain.keys.add(owner, 'web', { publicKey: quickEd25519Line('a'), name: 'a' });
    expect(await serial()).toBe(start + 1);
    await domain.keys.change(owner, 'web', 'a', 'disable');
    expect(await serial()).toBe(start + 2);
    await domain.keys.change(owner, 'web', 'a', 'enable');
    expect(await serial()).toBe(start + 3);
    await domain.projects.rename(owner, 'web', 'www');
    await domain.projects.grant(owner, 'www', 'UBOB', 'member');
    expect(await serial()).toBe(start + 3);
    await domain.keys.change(owner, 'www', 'a', 'remove');
    expect(await serial()).toBe(start + 4);

    // A key that expires leaves the set at its expiry, and that is a change too.
    await domain.workspaces.mutate(owner.teamId, async (tx) => {
      const project = await tx.project(web.id);
      const { parsed } = domain.keys.check({ publicKey: quickEd25519Line('short') });
      project.keys.push({
        ...parsed,
        id: 'short-lived',
        name: 'short',
        addedBy: OWNER_ID,
        createdAt: tx.at,
        disabled: false,
        expiresAt: new Date(Date.now() + 1500).toISOString(),
      });
      tx.save(project);
    });
    const living = await answer(base, web.id, web.token);
    expect(living.head.serial).toBe(start + 5);
    expect(living.body).toContain(' short\n');
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const expired = await answer(base, web.id, web.token);
    expect(expired.body).not.toContain(' short\n');
    expect(expired.head.serial).toBe(start + 6);
  });

  test('offline-logins: a member is refused, an admin sets strict, 1h, 7d, and the next answer follows', async () => {
    const domain = harness.apps[0]!.keyhouse.domain;
    await domain.projects.grant(owner, 'web', 'UMEMBER', 'member');
    const refused = visibleText(
      (await harness.user('UMEMBER').command('/project', 'set web offline-logins strict')).body,
    );
    expect(refused).toMatch(/admin/);
    expect((await answer(base, web.id, web.token)).head).toMatchObject({});
    const window = async () => {
      const { head } = await answer(base, web.id, web.token);
      return head.offlineUntil - head.issued;
    };
    expect(await window()).toBe(24 * 3600_000);
    for (const [setting, ms] of [
      ['strict', 0],
      ['1h', 3600_000],
      ['7d', 7 * 24 * 3600_000],
      ['24h', 24 * 3600_000],
    ] as const) {
      const said = visibleText(
        (await harness.user(OWNER_ID).command('/project', `set web offline-logins ${setting}`)).body,
      );
      expect(said).toContain(setting);
      expect(await window()).toBe(ms);
    }
    const shown = visibleText((await harness.user(OWNER_ID).command('/project', 'set web')).body);
    expect(shown).toMatch(/Offline logins:.*24h/);
    const wrong = visibleText(
      (await harness.user(OWNER_ID).command('/project', 'set web offline-logins 2h')).body,
    );
    expect(wrong).toMatch(/strict/);
  });
});

test('two replicas on one Redis serve one signing key and identical bodies for the same state', async () => {
  const harness = await startHarness({ replicas: 2 });
  try {
    const [a, b] = harness.apps as [Harness['apps'][0], Harness['apps'][0]];
    const [left, right] = await Promise.all([
      fetch(`${a.url}/v1/signing-key`).then((r) => r.text()),
      fetch(`${b.url}/v1/signing-key`).then((r) => r.text()),
    ]);
    expect(left).toBe(right);
    const project = await a.keyhouse.domain.projects.create(owner, 'web');
    const token = await newToken(harness, 'web');
    await a.keyhouse.domain.keys.add(owner, 'web', { publicKey: quickEd25519Line('a'), name: 'a' });
    const [one, two] = await Promise.all([
      answer(a.url, project.id, token),
      answer(b.url, project.id, token),
    ]);
    expect(one.body).toBe(two.body);
    expect(verifies(left, two.body, two.signature)).toBe(true);
    await b.keyhouse.domain.keys.change(owner, 'web', 'a', 'disable');
    const [three, four] = await Promise.all([
      answer(a.url, project.id, token),
      answer(b.url, project.id, token),
    ]);
    expect(three.body).toBe(four.body);
    expect(three.head.serial).toBe(one.head.serial + 1);
  } finally {
    await harness.stop();
  }
}, 30_000);

test('a 5,000-key project: a fetch reads only the small token index and key-set head; the signing key is never logged nor sent to Slack', async () => {
  const slack = new FakeSlack();
  await slack.start();
  let store: RecordingStore | undefined;
  const logged: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    logged.push(chunk.toString());
    return write(chunk as string, ...(rest as []));
  }) as typeof process.stderr.write;
  const keyhouse = createKeyhouse(
    loadConfig({
      ...processSettings(slack),
      LOG_LEVEL: 'debug',
    }),
    { wrapStore: (inner) => (store = new RecordingStore(inner)) },
  );
  try {
    const { port } = await keyhouse.start();
    const base = `http://127.0.0.1:${port}`;
    await seedProjects(keyhouse.domain, owner, 1, 5000);
    const { token } = await keyhouse.domain.delivery.createToken(owner, 'p-0', 'fleet');
    const id = (await keyhouse.domain.projects.show(owner, 'p-0')).project.id;
    const first = await answer(base, id, token);
    expect(first.body.split('\n').filter(Boolean)).toHaveLength(5001);

    store!.reads = [];
    const again = await fetchKeys(base, id, token);
    expect(await again.text()).toBe(first.body);
    expect(store!.reads.sort()).toEqual([`keyset:${id}`, `tokens:${id}`]);
    store!.reads = [];
    const etag = again.headers.get('etag')!;
    expect((await fetchKeys(base, id, token, { 'if-none-match': etag })).status).toBe(304);
    expect(store!.reads.sort()).toEqual([`keyset:${id}`, `tokens:${id}`]);

    // Slack sees the fingerprint, never the private key.
    const user = new (await import('../helpers/slackUser')).SlackUser(base, slack, OWNER_ID);
    await user.command('/org', '');
    const document = JSON.stringify(await keyhouse.store.get(SIGNING_KEY_DOCUMENT));
    const pem = (JSON.parse(document) as { privateKey: string }).privateKey;
    const secret = pem.split('\n')[1]!;
    expect(secret.length).toBeGreaterThan(40);
    expect(JSON.stringify(slack.calls)).toContain('SHA256:');
    expect(JSON.stringify(slack.calls)).not.toContain(secret);
    expect(logged.join('')).not.toContain(secret);
    expect(logged.join('')).not.toContain('PRIVATE KEY');
  } finally {
    process.stderr.write = write;
    await keyhouse.stop();
    await slack.stop();
  }
}, 120_000);
