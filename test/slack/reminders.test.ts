import { sweepIntervalMs } from '../../src/app';
import { ConfigError, loadConfig } from '../../src/config';
import type { Domain } from '../../src/domain';
import { remindersDue } from '../../src/domain/reminderSchedule';
import type { RecordedCall } from '../helpers/fakeSlack';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { KeyFactory } from '../helpers/sshKeygen';
import { visibleText } from '../helpers/slackUser';

/**
 * Reminders of pending requests through the real app: in the card's thread, mentioning who may decide,
 * the organization owners from the third on, each sent once whatever the number of replicas; and the
 * requester told at every stage by direct message.
 */
const keys = new KeyFactory();
let harness: Harness;
let domain: Domain;
const owner = { teamId: 'T0001', userId: OWNER_ID };
afterAll(() => keys.cleanup());

const isCard = (c: RecordedCall) =>
  c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? []).includes('request_approve');
const isReminder = (c: RecordedCall) =>
  c.method === 'chat.postMessage' && !!c.body.thread_ts && /:bell: Reminder \d/.test(visibleText(c.body));
const dmsTo = (user: string) =>
  harness.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.body.channel === user);

async function setUp(options: Parameters<typeof startHarness>[0], channel = true): Promise<void> {
  harness = await startHarness(options);
  domain = harness.apps[0]!.keyhouse.domain;
  await domain.projects.create(owner, 'web');
  await domain.projects.grant(owner, 'web', 'UALICE', 'member');
  await domain.projects.grant(owner, 'web', 'UBOB', 'admin');
  // A second owner, with no role on the project: reminded from the third reminder on.
  await domain.organizations.addOwner(owner, 'UOWNER2');
  if (channel) await say(OWNER_ID, '/project', 'channel web <#C0APPROVE|approvals>');
}

const say = async (user: string, command: string, text: string, app = 0) =>
  visibleText((await harness.user(user, app).command(command, text)).body);

async function request(): Promise<{ requestId: string; card: RecordedCall; createdAt: number }> {
  const before = Date.now();
  const from = harness.slack.calls.length;
  await say('UALICE', '/sshkey', `add web --reason "deploy" ${keys.generate('ed25519').publicLine}`);
  const card = harness.slack.calls.slice(from).find(isCard)!;
  const requestId = (JSON.stringify(card.body.blocks).match(/"value":"([0-9a-f-]{36})"/) ?? [])[1]!;
  const stored = await domain.approvals.get(owner, requestId);
  expect(Date.parse(stored.createdAt)).toBeGreaterThanOrEqual(before - 1000);
  return { requestId, card, createdAt: Date.parse(stored.createdAt) };
}

describe('REMINDER_AFTER', () => {
  const base = { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: 'secret' };

  test('defaults to 30 minutes and takes seconds, minutes and hours', () => {
    expect(loadConfig(base).reminderAfterMs).toBe(30 * 60_000);
    expect(loadConfig({ ...base, REMINDER_AFTER: '90s' }).reminderAfterMs).toBe(90_000);
    expect(loadConfig({ ...base, REMINDER_AFTER: '2h' }).reminderAfterMs).toBe(7_200_000);
  });

  test.each(['soon', '3d', '0s', '-5m', '1.5h'])('refuses %s with one line naming the setting', (value) => {
    expect(() => loadConfig({ ...base, REMINDER_AFTER: value })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, REMINDER_AFTER: value })).toThrow(
      /^REMINDER_AFTER must be a duration in seconds, minutes or hours .*such as 90s, 30m or 2h$/,
    );
  });

  test('the sweep runs every minute, or every half of a shorter REMINDER_AFTER', () => {
    expect(sweepIntervalMs(30 * 60_000)).toBe(60_000);
    expect(sweepIntervalMs(1000)).toBe(500);
  });

  test('reminder n is due at REMINDER_AFTER·(2^n − 1) after filing', () => {
    const at = '2026-01-01T00:00:00.000Z';
    const after = (ms: number) => new Date(Date.parse(at) + ms);
    const R = 30 * 60_000;
    expect(
      [0, R - 1, R, 3 * R - 1, 3 * R, 7 * R, 15 * R - 1].map((ms) => remindersDue(at, R, after(ms))),
    ).toEqual([0, 0, 1, 1, 2, 3, 3]);
  });
});

describe('two replicas on one Redis, REMINDER_AFTER=1s', () => {
  beforeEach(() => setUp({ replicas: 2, env: { REMINDER_AFTER: '1s' } }));
  afterEach(() => harness.stop());

  test('each reminder arrives once in the card thread; owners are mentioned from the third; the requester hears of each', async () => {
    const { card, requestId } = await request();
    // Filed: the requester's direct message, with Cancel request.
    const filed = dmsTo('UALICE')[0]!;
    expect(visibleText(filed.body)).toMatch(/You asked for the key .* in \*web\* \(posted in <#C0APPROVE>\)/);
    expect(JSON.stringify(filed.body.blocks)).toContain('request_cancel');

    // Reminders at 1 s, 3 s and 7 s after filing; both replicas sweep every 500 ms.
    await harness.slack.waitFor((c) => isReminder(c) && /Reminder 3/.test(visibleText(c.body)), 15_000);
    await new Promise((resolve) => setTimeout(resolve, 1200)); // any duplicate would land by now
    const reminders = harness.slack.calls.filter(isReminder);
    const numbers = reminders.map((c) => Number(/Reminder (\d)/.exec(visibleText(c.body))![1]));
    expect(numbers).toEqual([1, 2, 3]);
    for (const reminder of reminders) {
      expect(reminder.body).toMatchObject({
        channel: 'C0APPROVE',
        thread_ts: card.body.ts ?? expect.anything(),
      });
      // The card's own ts, as Slack gave it when the card was posted.
      expect(reminder.body.thread_ts).toBe((await domain.approvals.get(owner, requestId)).cards[0]!.ts);
      const text = visibleText(reminder.body);
      // The approvers who may decide: the project's admins (its creator, the owner, and bob), not alice.
      expect(text).toMatch(/^<@UOWNER1>, <@UBOB> :bell:/);
      expect(text).not.toContain('<@UALICE> :bell:');
    }
    expect(visibleText(reminders[0]!.body)).not.toContain('UOWNER2');
    expect(visibleText(reminders[1]!.body)).not.toContain('UOWNER2');
    expect(visibleText(reminders[2]!.body)).toMatch(/Escalated to the organization owners: <@UOWNER2>/);
    expect((await domain.approvals.get(owner, requestId)).remindersSent).toBe(3);

    // The requester heard of each reminder, once each.
    const told = dmsTo('UALICE').filter((c) => /Keyhouse reminded/.test(visibleText(c.body)));
    expect(told.map((c) => /reminder (\d)/.exec(visibleText(c.body))![1])).toEqual(['1', '2', '3']);
    expect(visibleText(told[2]!.body)).toMatch(/escalated to the organization owners/);

    // Decided: the requester is told, and no reminder follows.
    const responseUrl = harness.slack.newResponseUrl();
    await harness
      .client('UBOB', 1)
      .click('request_approve', requestId, { responseUrl, channelId: 'C0APPROVE' });
    const approved = await harness.slack.waitFor(
      (c) =>
        c.method === 'chat.postMessage' &&
        c.body.channel === 'UALICE' &&
        /Approved by/.test(visibleText(c.body)),
    );
    expect(visibleText(approved.body)).toMatch(/Approved by <@UBOB>: \*.*\* .* is now in the project/);
    const count = harness.slack.calls.filter(isReminder).length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(harness.slack.calls.filter(isReminder)).toHaveLength(count);
  }, 40_000);
});

describe('driven by sweep(now)', () => {
  beforeEach(() => setUp({}));
  afterEach(() => harness.stop());

  test('a reminder is claimed once however often the sweep runs, and stops at the decision', async () => {
    const { requestId, createdAt } = await request();
    const R = 30 * 60_000;
    const at = (ms: number) => new Date(createdAt + ms);
    expect((await harness.apps[0]!.keyhouse.sweep(at(R - 1000))).reminders).toHaveLength(0);
    const first = await harness.apps[0]!.keyhouse.sweep(at(R));
    expect(first.reminders.map((r) => r.number)).toEqual([1]);
    expect((await harness.apps[0]!.keyhouse.sweep(at(R + 60_000))).reminders).toHaveLength(0);
    expect((await harness.apps[0]!.keyhouse.sweep(at(3 * R))).reminders.map((r) => r.number)).toEqual([2]);
    // bob denies, with a reason, from the card.
    await harness.client('UBOB').click('request_deny', requestId, {
      responseUrl: harness.slack.newResponseUrl(),
      channelId: 'C0APPROVE',
    });
    const opened = await harness.slack.waitFor((c) => c.method === 'views.open');
    await harness.client('UBOB').submitForm(opened.body.view as Record<string, unknown>, {
      deny_reason: 'not this one',
    });
    const denied = await harness.slack.waitFor(
      (c) =>
        c.method === 'chat.postMessage' && c.body.channel === 'UALICE' && /denied/.test(visibleText(c.body)),
    );
    expect(visibleText(denied.body)).toMatch(
      /<@UBOB> denied your request for the key .* Reason: not this one/,
    );
    expect((await harness.apps[0]!.keyhouse.sweep(at(7 * R))).reminders).toHaveLength(0);
    expect(harness.slack.calls.filter(isReminder)).toHaveLength(2);
  });

  test('a sweep that comes late sends the next reminder only, and the one after waits REMINDER_AFTER: escalation needs three', async () => {
    const { createdAt } = await request();
    const R = 30 * 60_000;
    const sweep = async (ms: number) =>
      (await harness.apps[0]!.keyhouse.sweep(new Date(createdAt + ms))).reminders.map((r) => [
        r.number,
        r.owners,
      ]);
    expect(await sweep(8 * R)).toEqual([[1, []]]);
    expect(harness.slack.calls.filter(isReminder)).toHaveLength(1);
    expect(await sweep(8 * R + 60_000)).toEqual([]);
    expect(await sweep(9 * R)).toEqual([[2, []]]);
    expect(await sweep(10 * R)).toEqual([[3, ['UOWNER2']]]);
    expect(await sweep(14 * R)).toEqual([]);
    expect(await sweep(15 * R)).toEqual([[4, ['UOWNER2']]]);
  });

  test('an expired request gets no reminder; its requester is told it expired', async () => {
    const { requestId, createdAt } = await request();
    const { expiredRequests, reminders } = await harness.apps[0]!.keyhouse.sweep(
      new Date(createdAt + 25 * 3600_000),
    );
    expect(expiredRequests.map((r) => r.id)).toEqual([requestId]);
    expect(reminders).toHaveLength(0);
    expect(visibleText(dmsTo('UALICE').at(-1)!.body)).toMatch(/expired without a decision/);
  });
});

describe('two replicas on one Redis, driven by sweep(now)', () => {
  const R = 30 * 60_000;
  afterEach(() => harness.stop());

  test('a replica whose clock runs far ahead sends the first reminder, not the third: no escalation at once', async () => {
    await setUp({ replicas: 2 });
    const { requestId, createdAt } = await request();
    const ahead = await harness.apps[1]!.keyhouse.sweep(new Date(createdAt + 7 * R + 5));
    expect(ahead.reminders.map((r) => [r.number, r.owners])).toEqual([[1, []]]);
    // The replica on time sees it sent, and the next waits REMINDER_AFTER after the claim.
    expect((await harness.apps[0]!.keyhouse.sweep(new Date(createdAt + 3 * R))).reminders).toHaveLength(0);
    await harness.slack.settle();
    expect(
      harness.slack.calls.filter((c) => isReminder(c) && /UOWNER2/.test(visibleText(c.body))),
    ).toHaveLength(0);
    expect((await domain.approvals.get(owner, requestId)).remindersSent).toBe(1);
  });

  test('Slack failing during the sweep: the reminder is given back and sent by a later sweep, with a backoff; the requester hears once', async () => {
    await setUp({ replicas: 2 });
    const { requestId, createdAt } = await request();
    harness.slack.failures.set('chat.postMessage', 'internal_error');
    const failed = await harness.apps[1]!.keyhouse.sweep(new Date(createdAt + R));
    expect(failed.reminders.map((r) => r.number)).toEqual([1]);
    harness.slack.failures.delete('chat.postMessage');
    expect((await domain.approvals.get(owner, requestId)).remindersSent).toBe(0);
    const from = harness.slack.calls.length;
    // Tried again after a minute, not at once.
    expect((await harness.apps[0]!.keyhouse.sweep(new Date(createdAt + R + 30_000))).reminders).toHaveLength(
      0,
    );
    const retried = await harness.apps[0]!.keyhouse.sweep(new Date(createdAt + R + 61_000));
    expect(retried.reminders.map((r) => r.number)).toEqual([1]);
    await harness.slack.settle();
    const after = harness.slack.calls.slice(from);
    expect(after.filter(isReminder).map((c) => c.body.channel)).toEqual(['C0APPROVE']);
    const told = after.filter(
      (c) =>
        c.method === 'chat.postMessage' &&
        c.body.channel === 'UALICE' &&
        /Keyhouse reminded/.test(visibleText(c.body)),
    );
    expect(told).toHaveLength(1);
    // Never told of the attempt that reached nobody.
    expect(dmsTo('UALICE').filter((c) => /Keyhouse reminded/.test(visibleText(c.body)))).toHaveLength(1);
    expect((await domain.approvals.get(owner, requestId)).remindersSent).toBe(1);
    // The next follows its schedule.
    expect(
      (await harness.apps[1]!.keyhouse.sweep(new Date(createdAt + 3 * R))).reminders.map((r) => r.number),
    ).toEqual([2]);
  });

  test('cards by direct message: each person reminded in their own card thread, or a new card; never who may no longer decide; the requester told who was reached', async () => {
    // No approvals channel: the cards go to the approvers by direct message.
    await setUp({ replicas: 2 }, false);
    const { requestId, createdAt } = await request();
    const cardsTo = harness.slack.calls.filter(isCard).map((c) => c.body.channel);
    expect(cardsTo.sort()).toEqual([OWNER_ID, 'UBOB'].sort());
    // bob is no longer an admin; carol is one now.
    await domain.projects.grant(owner, 'web', 'UBOB', 'member');
    await domain.projects.grant(owner, 'web', 'UCAROL', 'admin');

    const sent = (await harness.apps[1]!.keyhouse.sweep(new Date(createdAt + R))).reminders;
    expect(sent.map((r) => [r.number, r.approvers])).toEqual([[1, [OWNER_ID, 'UCAROL']]]);
    await harness.slack.settle();
    const isReminderTo = (user: string) => (c: RecordedCall) =>
      c.method === 'chat.postMessage' &&
      c.body.channel === user &&
      /:bell: Reminder \d/.test(visibleText(c.body));
    const ownerCard = (await domain.approvals.get(owner, requestId)).cards.find((c) => c.user === OWNER_ID)!;
    expect(harness.slack.calls.filter(isReminderTo(OWNER_ID)).map((c) => c.body.thread_ts)).toEqual([
      ownerCard.ts,
    ]);
    expect(harness.slack.calls.filter(isReminderTo('UBOB'))).toHaveLength(0);
    // carol had no card: hers holds the reminder and the card, and is noted for the decision.
    const carols = harness.slack.calls.filter(isReminderTo('UCAROL'));
    expect(carols).toHaveLength(1);
    expect(carols[0]!.body.thread_ts).toBeUndefined();
    expect(JSON.stringify(carols[0]!.body.blocks)).toContain('request_approve');
    const told = dmsTo('UALICE').filter((c) => /Keyhouse reminded/.test(visibleText(c.body)));
    expect(visibleText(told.at(-1)!.body)).toMatch(
      /reminded <@UOWNER1>, <@UCAROL> of your request .*reminder 1\)/,
    );

    // The third is escalated to the other owner, who gets a card of their own; carol's go in her card's thread.
    await harness.apps[0]!.keyhouse.sweep(new Date(createdAt + 3 * R));
    await harness.apps[1]!.keyhouse.sweep(new Date(createdAt + 7 * R));
    await harness.slack.settle();
    const carolCard = (await domain.approvals.get(owner, requestId)).cards.find((c) => c.user === 'UCAROL')!;
    expect(
      harness.slack.calls
        .filter(isReminderTo('UCAROL'))
        .slice(1)
        .map((c) => c.body.thread_ts),
    ).toEqual([carolCard.ts, carolCard.ts]);
    const escalated = harness.slack.calls.filter(isReminderTo('UOWNER2'));
    expect(escalated).toHaveLength(1);
    expect(visibleText(escalated[0]!.body)).toMatch(/Reminder 3/);
    expect(JSON.stringify(escalated[0]!.body.blocks)).toContain('request_approve');
    expect(visibleText(dmsTo('UALICE').at(-1)!.body)).toMatch(
      /reminded <@UOWNER1>, <@UCAROL>, <@UOWNER2> of your request .*reminder 3, escalated to the organization owners/,
    );

    // carol approves from her new card: it is updated like the others.
    await harness.client('UCAROL', 0).click('request_approve', requestId, {
      responseUrl: harness.slack.newResponseUrl(),
      channelId: carolCard.channel,
    });
    await harness.slack.waitFor(
      (c) => c.method === 'chat.update' && c.body.channel === carolCard.channel && c.body.ts === carolCard.ts,
    );
    expect((await domain.approvals.get(owner, requestId)).status).toBe('approved');
  });
});
