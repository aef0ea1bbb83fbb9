import type { WebClient } from '@slack/web-api';
import type { Domain } from '../domain';
import type { Reminder } from '../domain/reminders';
import { renderReminder, renderReminderSent } from './render/requester';

/**
 * Posts the reminders this process claimed: in the thread of each of the request's cards (or, when it
 * has no card, to each person reminded by direct message), and tells its requesters. A reminder is
 * claimed in the store before it is posted, so on several replicas it goes out once.
 */
export async function sendReminders(client: WebClient, domain: Domain, now?: Date): Promise<Reminder[]> {
  const reminders = await domain.reminders.remindDue(now);
  await Promise.allSettled(reminders.map((reminder) => postReminder(client, reminder)));
  return reminders;
}

async function postReminder(client: WebClient, reminder: Reminder): Promise<void> {
  const { request } = reminder;
  const message = renderReminder(reminder);
  const calls: Promise<unknown>[] = request.cards.length
    ? request.cards.map(({ channel, ts }) => client.chat.postMessage({ channel, thread_ts: ts, ...message }))
    : [...reminder.approvers, ...reminder.owners].map((id) =>
        client.chat.postMessage({ channel: id, ...message }),
      );
  const told = renderReminderSent(reminder);
  for (const requester of request.requesters)
    calls.push(client.chat.postMessage({ channel: requester, ...told }));
  // Each is best effort: one closed channel must not hide the others.
  await Promise.allSettled(calls);
}
