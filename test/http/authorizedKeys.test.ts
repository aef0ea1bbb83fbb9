import type { Domain } from '../../src/domain';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { KeyFactory } from '../helpers/sshKeygen';
import { visibleText } from '../helpers/slackUser';

/** GET /v1/projects/<id>/authorized_keys, through real HTTP, with tokens made by the real command. */
const keys = new KeyFactory();
let harness: Harness;
let domain: Domain;
let base: string;
const owner = { teamId: 'T0001', userId: OWNER_ID };

beforeEach(async () => {
  harness = await startHarness();
  domain = harness.apps[0]!.keyhouse.domain;
  base = harness.apps[0]!.url;
  await domain.projects.create(owner, 'web');
  await domain.projects.create(owner, 'api');
});
afterEach(() => harness.stop());
afterAll(() => keys.cleanup());

async function newToken(project: string, label?: string): Promise<string> {
  const text = visibleText(
    (await harness.user(OWNER_ID).command('/project', `token ${project}${label ? ` ${label}` : ''}`)).body,
  );
  const token = /```(khk_[^`]+)```/.exec(text)?.[1];
  if (!token) throw new Error(`no token in: ${text}`);
  return token;
}

/** The keys of an answer, without its first line (`# keyhouse project=… serial=…`). */
const withoutHeader = (body: string) => body.replace(/^# keyhouse [^\n]*\n/, '');

const projectId = async (name: string) => (await domain.projects.show(owner, name)).project.id;

function fetchKeys(id: string, token?: string, query = '', headers: Record<string, string> = {}) {
  return fetch(`${base}/v1/projects/${id}/authorized_keys${query}`, {
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
  });
}

test('a token is shown once, looks like khk_ and 43 URL-safe characters, and only its hash is kept', async () => {
  const token = await newToken('web', 'fleet');
  expect(token).toMatch(/^khk_[A-Za-z0-9_-]{43}$/);
  const { project } = await domain.projects.show(owner, 'web');
  expect(JSON.stringify(project)).not.toContain(token);
  expect(JSON.stringify(project)).not.toContain(token.slice(4));
  const list = visibleText((await harness.user(OWNER_ID).command('/project', 'token web list')).body);
  expect(list).toMatch(/\*fleet\* — created by <@UOWNER1> .* never used/);
  expect(list).not.toContain(token);
  expect(visibleText((await harness.user('UALICE').command('/project', 'token web')).body)).toMatch(
    /needs the \*admin\* role/,
  );
});

test("serves the project's enabled, unexpired keys as OpenSSH lines with an ETag, and 304 when unchanged", async () => {
  const token = await newToken('web');
  const good = keys.generate('ed25519', { comment: 'alice' });
  const off = keys.generate('ecdsa');
  await domain.keys.add(owner, 'web', { publicKey: good.publicLine, name: 'alice laptop' });
  await domain.keys.add(owner, 'web', { publicKey: off.publicLine, name: 'off' });
  await domain.keys.change(owner, 'web', 'off', 'disable');
  await domain.keys.add(owner, 'api', { publicKey: keys.generate('ed25519').publicLine, name: 'elsewhere' });

  const response = await fetchKeys(await projectId('web'), token);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  const body = await response.text();
  const [type, data] = good.publicLine.split(' ');
  expect(withoutHeader(body)).toBe(`${type} ${data} alice_laptop\n`);
  const etag = response.headers.get('etag')!;
  expect(etag).toMatch(/^".+"$/);

  const again = await fetchKeys(await projectId('web'), token, '', { 'if-none-match': etag });
  expect(again.status).toBe(304);
  await domain.keys.change(owner, 'web', 'off', 'enable');
  const changed = await fetchKeys(await projectId('web'), token, '', { 'if-none-match': etag });
  expect(changed.status).toBe(200);
  expect(
    withoutHeader(await changed.text())
      .split('\n')
      .filter(Boolean),
  ).toHaveLength(2);
  const list = visibleText((await harness.user(OWNER_ID).command('/project', 'token web list')).body);
  expect(list).toMatch(/\*token-1\* — created by <@UOWNER1> .* · last used <!date/);
});

test('no token, a wrong, revoked or other project token, or an unknown project all get the same 401', async () => {
  const web = await newToken('web', 'one');
  const api = await newToken('api');
  const webId = await projectId('web');
  const answers = [
    await fetchKeys(webId),
    await fetchKeys(webId, `khk_${'A'.repeat(43)}`),
    await fetchKeys(webId, api),
    await fetchKeys('00000000-0000-4000-8000-000000000000', web),
    await fetchKeys('not-a-project', web),
  ];
  for (const answer of answers) {
    expect(answer.status).toBe(401);
    expect(await answer.text()).toBe('unauthorized\n');
  }
  expect((await fetchKeys(webId, web)).status).toBe(200);
  expect(
    visibleText((await harness.user(OWNER_ID).command('/project', 'token web revoke one')).body),
  ).toMatch(/Revoked \*one\*/);
  expect((await fetchKeys(webId, web)).status).toBe(401);
});

test('an instance that checks in is registered with when it was seen and whether it has the current keys', async () => {
  const token = await newToken('web');
  const webId = await projectId('web');
  await domain.keys.add(owner, 'web', { publicKey: keys.generate('ed25519').publicLine, name: 'first' });
  expect((await fetchKeys(webId, token, '?instance=web-1&zone=fr-par-1')).status).toBe(200);
  let view = await domain.projects.show(owner, 'web');
  expect(view.project.resources).toEqual([
    expect.objectContaining({ type: 'instance', name: 'web-1', zone: 'fr-par-1' }),
  ]);
  expect(view.checkIns[view.project.resources[0]!.id]).toEqual({
    at: expect.any(String),
    etag: expect.stringMatching(/^".+"$/),
    count: 1,
    version: expect.any(String),
    serial: view.project.keySet!.serial,
  });
  let dashboard = visibleText((await harness.user(OWNER_ID).command('/project', 'show web')).body);
  expect(dashboard).toMatch(/\*web-1\* · fr-par-1 — seen .* :white_check_mark: current keys \(1\)/);

  await domain.keys.add(owner, 'web', { publicKey: keys.generate('ed25519').publicLine, name: 'second' });
  dashboard = visibleText((await harness.user(OWNER_ID).command('/project', 'show web')).body);
  expect(dashboard).toMatch(/\*web-1\* .* :warning: older key set/);
  await fetchKeys(webId, token, '?instance=web-1&zone=fr-par-1');
  view = await domain.projects.show(owner, 'web');
  expect(view.project.resources.filter((r) => r.type === 'instance')).toHaveLength(1);
  expect(view.checkIns[view.project.resources[0]!.id]!.count).toBe(2);
  // The dashboard's install recipe names this project.
  expect(dashboard).toContain(`PROJECT_ID='${webId}'`);
});

test('a bad check-in is refused with what is wrong, and registers nothing', async () => {
  const token = await newToken('web');
  const answer = await fetchKeys(await projectId('web'), token, '?instance=web%201&zone=fr-par-1');
  expect(answer.status).toBe(400);
  expect(await answer.text()).toMatch(/resource name/);
  const zone = await fetchKeys(await projectId('web'), token, '?instance=web-1&zone=mars');
  expect(zone.status).toBe(400);
  expect((await domain.projects.show(owner, 'web')).project.resources).toEqual([]);
});

test('expired keys are not served and their owner is told before and when they expire', async () => {
  const token = await newToken('web');
  const { key } = (await domain.keys.add(owner, 'web', {
    publicKey: keys.generate('ed25519').publicLine,
    name: 'temp',
    expires: '8h',
  })) as { key: { expiresAt: string } };
  const expiresAt = Date.parse(key.expiresAt);
  expect(await (await fetchKeys(await projectId('web'), token)).text()).toContain('temp');

  expect((await harness.apps[0]!.keyhouse.sweep(new Date(expiresAt - 2 * 3600_000))).keyNotices).toBe(0);
  expect((await harness.apps[0]!.keyhouse.sweep(new Date(expiresAt - 30 * 60_000))).keyNotices).toBe(1);
  expect((await harness.apps[0]!.keyhouse.sweep(new Date(expiresAt - 20 * 60_000))).keyNotices).toBe(0); // told once
  // (The first message told the owner the key is temporary, with its controls.)
  const soon = harness.slack.calls.find(
    (c) =>
      c.method === 'chat.postMessage' &&
      c.body.channel === OWNER_ID &&
      /Your SSH key/.test(String(c.body.text)),
  )!;
  expect(soon.body.text).toMatch(/Your SSH key \*temp\* in \*web\* expires/);
  expect((await harness.apps[0]!.keyhouse.sweep(new Date(expiresAt + 1000))).keyNotices).toBe(1);
  expect(
    harness.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.body.channel === OWNER_ID).at(-1)!
      .body.text,
  ).toMatch(/expired .* no longer delivered/);

  // Time passes for the key: once its expiry is behind, it is no longer served and is shown as expired.
  await domain.workspaces.mutate('T0001', async (tx) => {
    const project = await tx.project('web');
    project.keys[0]!.expiresAt = new Date(Date.now() - 1000).toISOString();
    tx.save(project);
  });
  expect(withoutHeader(await (await fetchKeys(await projectId('web'), token)).text())).toBe('');
  expect(visibleText((await harness.user(OWNER_ID).command('/sshkey', 'list web')).body)).toMatch(
    /\*temp\* .* :hourglass: expired/,
  );
});
