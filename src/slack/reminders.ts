import type { WebClient } from '@slack/web-api';
import type { Domain } from '../domain';
import type { KeyRequest } from '../domain/model';
import type { Reminder } from '../domain/reminders';
import { renderRequestCard } from './render/approvals';
import type { Message } from './render/messages';
import { renderReminder, renderReminderSent } from './render/requester';

/**
 * Posts the reminders this process claimed and tells their requesters who was reached. A card in a
 * channel gets the reminder in its thread, mentioning everyone reminded; when the cards went by direct
 * message, each person reminded gets it in the thread of their own card, or (an approver added since,
 * an owner escalated to) a new direct message holding the card, noted so a decision updates it. Cards
 * of people who may no longer decide get nothing. A reminder is claimed in the store before it is
 * posted, so on several replicas it goes out once; one that reached nobody is given back and tried
 * again later.
 */
export async function sendReminders(client: WebClient, domain: Domain, now?: Date): Promise<Reminder[]> {
  const reminders = await domain.reminders.remindDue(now);
  await Promise.allSettled(reminders.map((reminder) => postReminder(client, domain, reminder, now)));
  return reminders;
}

async function postReminder(
  client: WebClient,
  domain: Domain,
  reminder: Reminder,
  now?: Date,
): Promise<void> {
  const { request } = reminder;
  const message = renderReminder(reminder);
  const reminded = [...reminder.approvers, ...reminder.owners];
  const inChannels = request.cards.filter((card) => !card.user);
  // Each post: whom it reaches, and whether it was a thread in a channel.
  const posts: Promise<{ reached: string[]; channel?: string }>[] = inChannels.length
    ? inChannels.map(({ channel, ts }) =>
        client.chat
          .postMessage({ channel, thread_ts: ts, ...message })
          .then(() => ({ reached: reminded, channel })),
      )
    : reminded.map((id) => remindByDm(client, domain, request, id, message).then(() => ({ reached: [id] })));
  // Each is best effort: one closed channel must not hide the others.
  const settled = await Promise.allSettled(posts);
  const done = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  if (done.length === 0) {
    // Nobody was reached: the reminder is tried again later, and the requester hears of it then.
    if (posts.length > 0) await domain.reminders.release(reminder, now).catch(() => undefined);
    return;
  }
  if (request.reminderFailures) await domain.reminders.delivered(reminder).catch(() => undefined);
  const reached = reminded.filter((id) => done.some((post) => post.reached.includes(id)));
  const told = renderReminderSent(reminder, reached, done.find((post) => post.channel)?.channel);
  await Promise.allSettled(
    request.requesters.map((requester) => client.chat.postMessage({ channel: requester, ...told })),
  );
}

/**
 * One person's reminder by direct message: in the thread of their card, else a new message holding the
 * card (so they can decide from it), noted on the request so a decision updates it.
 */
async function remindByDm(
  client: WebClient,
  domain: Domain,
  request: KeyRequest,
  userId: string,
  message: Message,
): Promise<void> {
  const own = request.cards.find((card) => card.user === userId);
  if (own) {
    await client.chat.postMessage({ channel: own.channel, thread_ts: own.ts, ...message });
    return;
  }
  const card = renderRequestCard(request);
  const posted = await client.chat.postMessage({
    channel: userId,
    text: message.text,
    blocks: [...(message.blocks ?? []), ...(card.blocks ?? [])],
  });
  if (!posted.ts || !posted.channel) return;
  const noted = { channel: posted.channel, ts: posted.ts, user: userId };
  const attached = await domain.approvals
    .attachCards({ teamId: request.teamId, userId }, request.id, [noted])
    .catch(() => undefined);
  // Decided in the moment between posting and noting: bring the new card up to date.
  if (attached && attached.status !== 'pending') {
    await client.chat
      .update({ channel: noted.channel, ts: noted.ts, ...renderRequestCard(attached) })
      .catch(() => undefined);
  }
}
