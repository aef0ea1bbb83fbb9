import type { WebClient } from '@slack/web-api';
import type { Message } from './render/messages';

/** Where a card was posted; `user`: the approver whose direct message it is (reminders go in its thread). */
export interface PostedCard {
  channel: string;
  ts: string;
  user?: string;
}

/**
 * Posts a card for the people who decide: in the approvals channel when there is one Keyhouse can post
 * in, else to each approver by direct message (except `exclude`, who may not decide on it). Returns
 * the cards posted and where, said for the person who asked; `nobody` when no one could be reached.
 */
export async function postApprovalCards(
  client: WebClient,
  target: { channel?: string; approvers: string[] },
  card: Message,
  exclude: (userId: string) => boolean,
  nobody: string,
): Promise<{ cards: PostedCard[]; where: string }> {
  const cards: PostedCard[] = [];
  if (target.channel) {
    try {
      const posted = await client.chat.postMessage({ channel: target.channel, ...card });
      if (posted.ts) {
        cards.push({ channel: posted.channel ?? target.channel, ts: posted.ts });
        return { cards, where: `posted in <#${target.channel}>` };
      }
    } catch {
      // Keyhouse is not in that channel (or it is gone): the approvers get it directly instead.
    }
  }
  const recipients = target.approvers.filter((id) => !exclude(id));
  for (const approver of recipients) {
    try {
      const posted = await client.chat.postMessage({ channel: approver, ...card });
      if (posted.ts && posted.channel) cards.push({ channel: posted.channel, ts: posted.ts, user: approver });
    } catch {
      // One approver unreachable must not stop the others.
    }
  }
  const where = cards.length
    ? `sent to ${recipients.map((id) => `<@${id}>`).join(', ')} by direct message`
    : nobody;
  return { cards, where };
}
