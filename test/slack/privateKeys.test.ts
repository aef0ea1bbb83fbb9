import { createKeyhouse } from '../../src/app';
import { loadConfig } from '../../src/config';
import type { Domain } from '../../src/domain';
import type { DomainError } from '../../src/domain/errors';
import { PRIVATE_KEY_MESSAGE } from '../../src/domain/keys/privateKey';
import { plainFromDomain } from '../../src/slack/render/format';

/** Forms show errors as plain text. */
const FORM_WARNING = plainFromDomain(PRIVATE_KEY_MESSAGE);
import { WITHHELD } from '../../src/observability/logger';
import { tempDir, uniqueNamespace } from '../helpers/env';
import { FakeSlack, type RecordedCall } from '../helpers/fakeSlack';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { KeyFactory, keyPair } from '../helpers/sshKeygen';
import { visibleText } from '../helpers/slackUser';

/**
 * A private key pasted anywhere a person types, through the real app (signed requests, the recording
 * Slack, debug logging on): the answer is the private-key warning, nothing is stored or posted, and
 * no Slack call and no log line carries the key.
 * alice is a member of web (her additions become requests), bob an admin.
 */
const keys = new KeyFactory();
afterAll(() => keys.cleanup());

let harness: Harness;
let domain: Domain;
let logged: string[];
let stderr: jest.SpyInstance;
const owner = { teamId: 'T0001', userId: OWNER_ID };

beforeEach(async () => {
  logged = [];
  stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    logged.push(String(chunk));
    return true;
  });
  harness = await startHarness({ env: { LOG_LEVEL: 'debug' } });
  domain = harness.apps[0]!.keyhouse.domain;
  await domain.projects.create(owner, 'web', 'the web servers');
  await domain.projects.grant(owner, 'web', 'UALICE', 'member');
  await domain.projects.grant(owner, 'web', 'UBOB', 'admin');
});
afterEach(async () => {
  await harness.stop();
  stderr.mockRestore();
});

const body = (pem: string) =>
  pem
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('-----'))
    .join('');

/** A private key in the shapes tested here, with the base64 whose slices must never leave the app. */
function secrets(): { name: string; text: string; base64: string }[] {
  const openssh = keys.generate('ed25519').privateText;
  const pkcs8 = keys.generate('ecdsa', { format: 'PKCS8' }).privateText;
  const der = (keyPair('ed25519').privateKey.export({ type: 'pkcs8', format: 'der' }) as Buffer).toString(
    'base64',
  );
  const wrapped = Buffer.from(openssh).toString('base64');
  return [
    { name: 'an OpenSSH private key', text: openssh, base64: body(openssh) },
    { name: 'a private key file base64-encoded', text: wrapped, base64: wrapped },
    { name: 'a PKCS#8 body without its BEGIN/END lines', text: body(pkcs8), base64: body(pkcs8) },
    { name: 'a one-line PKCS#8 DER key', text: der, base64: der },
  ];
}

/** 40-character slices of the key's base64, as they would appear raw, URL-encoded or JSON-escaped. */
function slicesOf(base64: string): string[] {
  const slices: string[] = [];
  for (let at = 0; at + 40 <= base64.length; at += Math.max(40, Math.floor(base64.length / 6)))
    slices.push(base64.slice(at, at + 40));
  return slices.flatMap((slice) => [slice, encodeURIComponent(slice), slice.replace(/\//g, '\\/')]);
}

/** Nothing the app sent to Slack, and nothing it logged, holds any part of the key. */
function expectNoTrace(base64: string): void {
  const sent = JSON.stringify(harness.slack.calls);
  const logs = logged.join('');
  for (const slice of slicesOf(base64)) {
    expect(sent).not.toContain(slice);
    expect(logs).not.toContain(slice);
  }
}

const say = async (user: string, command: string, text: string): Promise<RecordedCall> =>
  harness.user(user).command(command, text);

const isCard = (c: RecordedCall) =>
  c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? []).includes('request_approve');

/** What an owner can see of the organization: its audit log and web's dashboard. */
async function whatIsStored(): Promise<string[]> {
  const audit = visibleText((await say(OWNER_ID, '/org', 'audit')).body);
  // The dashboard says when it was rendered ("shown <date>"): everything else must stay the same
  // (the whole date token: its fallback text holds the minute too).
  const dashboard = visibleText((await say(OWNER_ID, '/project', 'show web')).body).replace(
    /shown <!date\^\d+\^[^|>]*\|[^>]*>/g,
    'shown',
  );
  const { projects } = await domain.projects.list(owner);
  const { project } = await domain.projects.show(owner, 'web');
  return [
    audit,
    dashboard,
    JSON.stringify(projects),
    JSON.stringify({
      keys: project.keys,
      pending: project.pendingRequests ?? [],
      description: project.description,
    }),
  ];
}

const expectWarning = (call: RecordedCall) => {
  expect(call.method).toBe('respond');
  expect(call.body.response_type).toBe('ephemeral');
  const text = visibleText(call.body);
  expect(text).toContain(PRIVATE_KEY_MESSAGE);
  expect(text).toMatch(/never be shared/);
  expect(text).toMatch(/Consider it exposed/);
};

test('debug logging is on, so the absence of the key in the logs means something', async () => {
  await say(OWNER_ID, '/project', 'list');
  expect(logged.join('')).toMatch(/^\{"level":"debug",/m);
});

describe.each(secrets())('$name', ({ text, base64 }) => {
  const oneLine = text.replace(/\n/g, ' ');

  test.each([
    [
      'as a request reason',
      'UALICE',
      '/sshkey',
      () => `add web --reason "${text}" ${keys.generate('ed25519').publicLine}`,
    ],
    ['as a project description', OWNER_ID, '/project', () => `create billing ${text}`],
    ['as a project name', OWNER_ID, '/project', () => `create "${oneLine}"`],
    ['as a new project name', OWNER_ID, '/project', () => `rename web ${oneLine}`],
    ['as a token label', OWNER_ID, '/project', () => `token web ${oneLine}`],
    // Not stored anywhere, but a not-found answer would quote it: only the edge guard stops these.
    ['as a project to show', OWNER_ID, '/project', () => `show ${text}`],
    ['as a project to audit', OWNER_ID, '/org', () => `audit ${text}`],
    [
      'as an expiry',
      OWNER_ID,
      '/sshkey',
      () => `add web --expires ${text} ${keys.generate('ed25519').publicLine}`,
    ],
  ])('%s in a command: the warning, nothing stored, no trace', async (_where, user, command, makeText) => {
    const before = await whatIsStored();
    expectWarning(await say(user, command, makeText()));
    expect(harness.slack.calls.filter(isCard)).toHaveLength(0);
    expect(await whatIsStored()).toEqual(before);
    expectNoTrace(base64);
  });

  test('in the add-key form: the warning on the field that held it, nothing requested', async () => {
    const before = await whatIsStored();
    const opened = await say('UALICE', '/sshkey', 'add');
    expect(opened.method).toBe('views.open');
    const view = opened.body.view as Record<string, unknown>;
    const webId = (await domain.projects.show(owner, 'web')).project.id;
    const answer = await harness.client('UALICE').submitForm(view, {
      project: { selected: webId },
      public_key: keys.generate('ed25519').publicLine,
      name: '',
      expires: '',
      reason: text,
    });
    expect(answer).toEqual({ response_action: 'errors', errors: { reason: FORM_WARNING } });
    expect(harness.slack.calls.filter(isCard)).toHaveLength(0);
    expect(await whatIsStored()).toEqual(before);
    expectNoTrace(base64);
  });

  test('in the create-project form description: the warning on that field, no project', async () => {
    const before = await whatIsStored();
    const opened = await say(OWNER_ID, '/project', 'create');
    const answer = await harness
      .client(OWNER_ID)
      .submitForm(opened.body.view as Record<string, unknown>, { name: 'billing', description: text });
    expect(answer).toEqual({ response_action: 'errors', errors: { description: FORM_WARNING } });
    expect(await whatIsStored()).toEqual(before);
    expectNoTrace(base64);
  });

  test('in the deny-reason form: the warning on the reason, the request stays pending', async () => {
    await say('UALICE', '/sshkey', `add web --reason "on call" ${keys.generate('ed25519').publicLine}`);
    const card = await harness.slack.waitFor(isCard);
    const requestId = (JSON.stringify(card.body.blocks).match(/"value":"([0-9a-f-]{36})"/) ?? [])[1]!;
    const before = await whatIsStored();
    await harness
      .client('UBOB')
      .click('request_deny', requestId, { responseUrl: harness.slack.newResponseUrl(), channelId: 'UBOB' });
    const opened = await harness.slack.waitFor((c) => c.method === 'views.open');
    const answer = await harness
      .client('UBOB')
      .submitForm(opened.body.view as Record<string, unknown>, { deny_reason: text });
    expect(answer).toEqual({ response_action: 'errors', errors: { deny_reason: FORM_WARNING } });
    expect((await domain.approvals.get(owner, requestId)).status).toBe('pending');
    expect(harness.slack.of('chat.update')).toHaveLength(0);
    expect(await whatIsStored()).toEqual(before);
    expectNoTrace(base64);
  });

  test('the domain refuses it too, on its own, with the field named', async () => {
    const before = await whatIsStored();
    const refusals = await Promise.all(
      [
        () => domain.projects.create(owner, 'billing', text),
        () => domain.projects.create(owner, oneLine),
        () => domain.projects.rename(owner, 'web', oneLine),
        () => domain.projects.updateSettings(owner, 'web', { description: text }),
        () =>
          domain.keys.add({ teamId: 'T0001', userId: 'UALICE' }, 'web', {
            publicKey: keys.generate('ed25519').publicLine,
            reason: text,
          }),
        () =>
          domain.keys.add(owner, 'web', { publicKey: keys.generate('ed25519').publicLine, name: oneLine }),
        () => domain.delivery.createToken(owner, 'web', oneLine),
      ].map((run) =>
        run().then(
          () => undefined,
          (error: DomainError) => error,
        ),
      ),
    );
    for (const error of refusals) {
      expect(error?.code).toBe('private_key');
      expect(error?.message).toBe(PRIVATE_KEY_MESSAGE);
    }
    expect(refusals.map((e) => e?.field)).toEqual([
      'description',
      'name',
      'name',
      'description',
      'reason',
      'name',
      undefined,
    ]);
    expect(await whatIsStored()).toEqual(before);
  });
});

test('a clicked action value holding a private key is refused with the warning, and nothing runs', async () => {
  const secret = Buffer.from(keys.generate('ed25519').privateText).toString('base64');
  const responseUrl = harness.slack.newResponseUrl();
  await harness.client(OWNER_ID).click('dashboard_refresh', secret, { responseUrl });
  const answer = await harness.slack.waitFor(
    (c) => c.method === 'respond' && c.path === new URL(responseUrl).pathname,
  );
  expect(visibleText(answer.body)).toContain(PRIVATE_KEY_MESSAGE);
  expectNoTrace(secret);
});

test('a public key in a reason is fine: the request is made', async () => {
  const other = keys.generate('ed25519').publicLine.trim();
  const reply = await say(
    'UALICE',
    '/sshkey',
    `add web --reason "replaces ${other}" ${keys.generate('rsa').publicLine}`,
  );
  expect(visibleText(reply.body)).toMatch(/waiting for approval/);
  await harness.slack.waitFor(isCard);
});

describe('in Socket Mode, where every payload is logged at debug level', () => {
  test('the payload lines are withheld, the reply is the warning, and no slice of the key is logged', async () => {
    const slack = new FakeSlack();
    await slack.start();
    const keyhouse = createKeyhouse(
      loadConfig({
        SLACK_BOT_TOKEN: 'xoxb-test',
        SLACK_APP_TOKEN: 'xapp-test',
        SLACK_API_URL: slack.apiUrl,
        PORT: '0',
        DATA_DIR: tempDir(),
        STORE_NAMESPACE: uniqueNamespace(),
        ORG_OWNERS: OWNER_ID,
        LOG_LEVEL: 'debug',
      }),
    );
    try {
      await keyhouse.start();
      for (const { text, base64 } of secrets()) {
        logged.length = 0;
        const responseUrl = slack.newResponseUrl();
        await slack.sendEnvelope('slash_commands', {
          team_id: 'T0001',
          user_id: OWNER_ID,
          channel_id: 'C0GENERAL',
          command: '/project',
          text: `create billing ${text}`,
          response_url: responseUrl,
          trigger_id: 'trigger-socket',
        });
        const reply = await slack.waitFor(
          (c) => c.method === 'respond' && c.path === new URL(responseUrl).pathname,
        );
        expect(visibleText(reply.body)).toContain(PRIVATE_KEY_MESSAGE);
        const logs = logged.join('');
        expect(logs).toContain(WITHHELD);
        for (const slice of slicesOf(base64)) {
          expect(logs).not.toContain(slice);
          expect(JSON.stringify(slack.calls)).not.toContain(slice);
        }
      }
      expect((await keyhouse.domain.projects.list(owner)).projects.map((p) => p.name)).not.toContain(
        'billing',
      );
    } finally {
      await keyhouse.stop();
      await slack.stop();
    }
  });
});
