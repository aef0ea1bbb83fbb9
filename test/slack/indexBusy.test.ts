import type { Domain } from '../../src/domain';
import type { PendingIndex } from '../../src/domain/model';
import { documentKeys } from '../../src/domain/workspaces';
import { createDocumentStore, type KeyvDocumentStore } from '../../src/store/keyvStore';
import { REDIS_URL, tempDir, uniqueNamespace } from '../helpers/env';
import type { RecordedCall } from '../helpers/fakeSlack';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { KeyFactory } from '../helpers/sshKeygen';
import { visibleText } from '../helpers/slackUser';

/**
 * The deployment-wide indexes are written after a request or decision commits. When that write cannot
 * be made (another replica holds the index's lock past the wait), the user is still told what happened,
 * the change is made once, and the request is not lost: the real app on Redis, the lock held by a
 * second store on the same namespace, as another replica would.
 */
const keys = new KeyFactory();
let namespace: string;
let harness: Harness;
let domain: Domain;
let replica: KeyvDocumentStore;
const owner = { teamId: 'T0001', userId: OWNER_ID };

beforeEach(async () => {
  namespace = uniqueNamespace();
  harness = await startHarness({ backend: 'redis', env: { STORE_NAMESPACE: namespace } });
  domain = harness.apps[0]!.keyhouse.domain;
  replica = createDocumentStore({ redisUrl: REDIS_URL, namespace, dataDir: tempDir() });
  await domain.projects.create(owner, 'web');
  await domain.projects.grant(owner, 'web', 'UALICE', 'member');
  await say(OWNER_ID, '/project', 'channel web <#C0APPROVE|approvals>');
});
afterEach(async () => {
  await harness.stop();
  await replica.close();
});
afterAll(() => keys.cleanup());

async function say(user: string, command: string, text: string): Promise<string> {
  return visibleText((await harness.user(user).command(command, text)).body);
}

/** Holds the pending index's lock from the other store for longer than a lock is waited for. */
async function holdIndexLock(ms = 2_600): Promise<{ released: Promise<void> }> {
  let taken!: () => void;
  const held = new Promise<void>((resolve) => (taken = resolve));
  const released = replica.withLock(documentKeys.pendingIndex(), async () => {
    taken();
    await new Promise((resolve) => setTimeout(resolve, ms));
  });
  await held;
  return { released };
}

const indexed = async (): Promise<string[]> =>
  ((await domain.workspaces.store.get<PendingIndex>(documentKeys.pendingIndex()))?.requests ?? []).map(
    (r) => r.id,
  );

async function homeApprovals(user: string): Promise<RecordedCall> {
  const from = harness.slack.calls.length;
  await harness.client(user).click('home_tab_approvals', 'approvals', { viewId: 'VHOME' });
  return harness.slack.waitFor((c) => c.method === 'views.publish' && harness.slack.calls.indexOf(c) >= from);
}

test('a request filed and approved while the index is busy is told as done, applied once, and listed', async () => {
  const key = keys.generate('ed25519', { comment: 'alice@laptop' });

  let { released } = await holdIndexLock();
  const reply = await say('UALICE', '/sshkey', `add web ${key.publicLine}`);
  expect(reply).toMatch(/waiting for approval: posted in <#C0APPROVE>/);
  expect(reply).not.toMatch(/busy|nothing was changed/i);
  await released;
  await domain.workspaces.settled();
  const card = await harness.slack.waitFor(
    (c) => c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? []).includes('request_approve'),
  );
  const requestId = (JSON.stringify(card.body.blocks).match(/"value":"([0-9a-f-]{36})"/) ?? [])[1]!;
  expect(await indexed()).not.toContain(requestId); // the index write really failed

  // The approver's Home tab finds it from the project, and puts it back in the index.
  const home = await homeApprovals(OWNER_ID);
  expect(visibleText(home.body)).toContain('1 request waiting for your decision');
  expect(JSON.stringify(home.body.view)).toContain(requestId);
  await domain.workspaces.settled();
  expect(await indexed()).toContain(requestId);

  ({ released } = await holdIndexLock());
  const responseUrl = harness.slack.newResponseUrl();
  await harness.client(OWNER_ID).click('request_approve', requestId, { responseUrl, channelId: 'C0APPROVE' });
  const update = await harness.slack.waitFor((c) => c.method === 'chat.update');
  expect(visibleText(update.body)).toMatch(/Approved\* by <@UOWNER1>/);
  await released;
  await domain.workspaces.settled();
  // Whoever decides gets no error: the card and the requester's notice are the answer.
  expect(
    harness.slack.calls.some((c) => c.method === 'respond' && c.path === new URL(responseUrl).pathname),
  ).toBe(false);
  await harness.slack.waitFor((c) => c.method === 'chat.postMessage' && c.body.channel === 'UALICE');

  const { keys: added } = await domain.keys.list(owner, 'web');
  expect(added.map((k) => k.fingerprint)).toEqual([keys.fingerprint(key.publicLine).fingerprint]);
  expect((await say(OWNER_ID, '/org', 'audit')).match(/approved a key request/g)).toHaveLength(1);
  expect(visibleText((await homeApprovals(OWNER_ID)).body)).toContain('Nothing waits for your decision');
  // The stale index entry goes at the request's deadline: the sweep finds it decided and drops it.
  await harness.apps[0]!.keyhouse.sweep(new Date(Date.now() + 25 * 3600_000));
  expect(await indexed()).not.toContain(requestId);
});

test('joining a request missing from the index puts it back', async () => {
  const key = keys.generate('ed25519');
  await domain.projects.grant(owner, 'web', 'UBOB', 'member');
  const { released } = await holdIndexLock();
  expect(await say('UALICE', '/sshkey', `add web ${key.publicLine}`)).toMatch(/waiting for approval/);
  await released;
  await domain.workspaces.settled();
  expect(await indexed()).toEqual([]);
  expect(await say('UBOB', '/sshkey', `add web ${key.publicLine}`)).toMatch(/joined/);
  await domain.workspaces.settled();
  expect(await indexed()).toHaveLength(1);
  // And so the sweep expires it when its time is up.
  const { expiredRequests } = await harness.apps[0]!.keyhouse.sweep(new Date(Date.now() + 25 * 3600_000));
  expect(expiredRequests).toHaveLength(1);
});
