import type { Domain } from '../../src/domain';
import type { RecordedCall } from '../helpers/fakeSlack';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { KeyFactory } from '../helpers/sshKeygen';
import { visibleText } from '../helpers/slackUser';

/**
 * A key request stands only while someone who asked for it may still request keys on the project:
 * revoking a member's role closes their open requests, and a click on an old card never adds the key.
 */
const keys = new KeyFactory();
let harness: Harness;
let domain: Domain;
const owner = { teamId: 'T0001', userId: OWNER_ID };

beforeEach(async () => {
  harness = await startHarness();
  domain = harness.apps[0]!.keyhouse.domain;
  await domain.projects.create(owner, 'offboard');
  await say(OWNER_ID, '/project', 'channel offboard <#C0APPROVE|approvals>');
  await say(OWNER_ID, '/project', 'grant offboard <@ULEAVER|leaver> member');
});
afterEach(() => harness.stop());
afterAll(() => keys.cleanup());

async function say(user: string, command: string, text: string): Promise<string> {
  return visibleText((await harness.user(user).command(command, text)).body);
}

const isCard = (c: RecordedCall) =>
  c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? []).includes('request_approve');

async function requestAs(user: string, line: string): Promise<string> {
  const from = harness.slack.calls.length;
  expect(await say(user, '/sshkey', `add offboard ${line}`)).toMatch(/approval/);
  const card = harness.slack.calls.slice(from).find(isCard);
  return card ? (JSON.stringify(card.body.blocks).match(/"value":"([0-9a-f-]{36})"/) ?? [])[1]! : '';
}

async function approve(user: string, requestId: string): Promise<string | undefined> {
  const responseUrl = harness.slack.newResponseUrl();
  await harness.client(user).click('request_approve', requestId, { responseUrl, channelId: 'C0APPROVE' });
  const answer = await harness.slack
    .waitFor((c) => c.method === 'respond' && c.path === new URL(responseUrl).pathname, 1500)
    .catch(() => undefined);
  return answer ? visibleText(answer.body) : undefined;
}

async function served(): Promise<string> {
  const { token } = await domain.delivery.createToken(owner, 'offboard');
  const id = (await domain.projects.show(owner, 'offboard')).project.id;
  const response = await fetch(`${harness.apps[0]!.url}/v1/projects/${id}/authorized_keys`, {
    headers: { authorization: `Bearer ${token}` },
  });
  // Key lines only: the signed set starts with its own comment line.
  return (await response.text())
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .join('\n');
}

test('revoking a member closes their pending request; approving it afterwards adds nothing', async () => {
  const key = keys.generate('ed25519', { comment: 'leaver@laptop' });
  const requestId = await requestAs('ULEAVER', key.publicLine);
  expect(await say(OWNER_ID, '/project', 'revoke offboard <@ULEAVER|leaver>')).toMatch(
    /no longer has a role/,
  );
  const request = await domain.approvals.get(owner, requestId);
  expect(request.status).toBe('withdrawn');
  expect((await domain.projects.show(owner, 'offboard')).project.pendingRequests).toEqual([]);

  expect(await approve(OWNER_ID, requestId)).toMatch(
    /closed .*without a decision: requester no longer has access to the project, so nothing was added/,
  );
  expect((await domain.keys.list(owner, 'offboard')).keys).toEqual([]);
  expect(await served()).not.toContain(key.publicLine.split(' ')[1]);
  expect(await say(OWNER_ID, '/org', 'audit')).toMatch(
    /<@UOWNER1> closed a key request: leaver@laptop .* for <@ULEAVER> in \*offboard\*.*requester no longer has access/,
  );
});

test('a request whose requester lost access some other way is closed, not applied, at the click', async () => {
  const key = keys.generate('ed25519', { comment: 'leaver@laptop' });
  const requestId = await requestAs('ULEAVER', key.publicLine);
  // The role gone as an earlier version revoked it, leaving the request open.
  await domain.workspaces.mutate('T0001', async (tx) => {
    const project = await tx.project('offboard');
    delete project.members.ULEAVER;
    tx.save(project);
  });
  const from = harness.slack.calls.length;
  expect(await approve(OWNER_ID, requestId)).toBe(
    'Nothing was added: <@ULEAVER> may no longer request keys in *offboard*, so the request is closed.',
  );
  expect((await domain.keys.list(owner, 'offboard')).keys).toEqual([]);
  expect(await served()).toBe('');
  // The card follows: no more buttons, and why; the requester is told.
  const update = await harness.slack.waitFor(
    (c) => c.method === 'chat.update' && harness.slack.calls.indexOf(c) >= from,
  );
  expect(JSON.stringify(update.body.blocks)).not.toContain('request_approve');
  expect(visibleText(update.body)).toMatch(/Closed.*without a decision: requester no longer has access/);
  await harness.slack.waitFor((c) => c.method === 'chat.postMessage' && c.body.channel === 'ULEAVER');
  expect((await domain.approvals.get(owner, requestId)).status).toBe('withdrawn');
  expect(await say(OWNER_ID, '/org', 'audit')).toMatch(/closed a key request: leaver@laptop/);
});

test('a request someone else also asked for stands, and the key is added for them', async () => {
  await say(OWNER_ID, '/project', 'grant offboard <@USTAYS|stays> member');
  const shared = keys.generate('ed25519', { comment: 'shared' });
  const requestId = await requestAs('ULEAVER', shared.publicLine);
  expect(await say('USTAYS', '/sshkey', `add offboard ${shared.publicLine}`)).toMatch(/joined/);
  await say(OWNER_ID, '/project', 'revoke offboard <@ULEAVER|leaver>');
  expect((await domain.approvals.get(owner, requestId)).requesters).toEqual(['USTAYS']);
  expect(await approve(OWNER_ID, requestId)).toBeUndefined(); // decided: the card says so
  const [added] = (await domain.keys.list(owner, 'offboard')).keys;
  expect(added?.addedBy).toBe('USTAYS');
});
