import type { WebClient } from '@slack/web-api';
import { onCallMembersFrom } from '../../src/slack/onCallGroup';

/**
 * The on-call lookup against a Slack Web API client that answers when told to (Slack's client, not
 * Keyhouse's code, is what stands in here): one question in flight per group, a late answer kept.
 */
function slowSlack() {
  const asked: { usergroup: string; answer: (users: string[]) => void; fail: (e: Error) => void }[] = [];
  const client = {
    usergroups: {
      users: {
        list: ({ usergroup }: { usergroup: string }) =>
          new Promise((resolve, reject) =>
            asked.push({ usergroup, answer: (users) => resolve({ ok: true, users }), fail: reject }),
          ),
      },
    },
  } as unknown as WebClient;
  return { client, asked };
}

test('callers wait for the one question in flight; an answer that comes after they gave up is kept', async () => {
  const { client, asked } = slowSlack();
  const members = onCallMembersFrom(() => client, Date.now, 60_000, 50);
  const waiting = [members('T1', 'S1'), members('T1', 'S1'), members('T1', 'S1')];
  expect(asked).toHaveLength(1);
  await expect(Promise.all(waiting)).rejects.toThrow('slack_timeout');
  asked[0]!.answer(['UERIN']);
  await new Promise((resolve) => setImmediate(resolve));
  await expect(members('T1', 'S1')).resolves.toEqual(['UERIN']);
  expect(asked).toHaveLength(1);
  // Another group is its own question.
  const other = members('T1', 'S2');
  expect(asked).toHaveLength(2);
  asked[1]!.fail(Object.assign(new Error('x'), { code: 'slack_webapi_rate_limited_error' }));
  await expect(other).rejects.toThrow('ratelimited');
  // A failure is not kept: the next caller asks again.
  void members('T1', 'S2').catch(() => undefined);
  expect(asked).toHaveLength(3);
});
