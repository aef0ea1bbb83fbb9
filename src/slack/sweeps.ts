import type { WebClient } from '@slack/web-api';
import type { Domain } from '../domain';
import type { KeyRequest } from '../domain/model';
import type { Reminder } from '../domain/reminders';
import { expireRequests } from './listeners/approvals';
import { reviewOverdueBreakGlass } from './listeners/breakGlass';
import { sendReminders } from './reminders';
import { renderKeyExpiryNotice } from './render/requester';

/** Work done on a timer by every replica; each item is handled once however many replicas run it. */
export interface SweepResult {
  expiredRequests: KeyRequest[];
  /** Reminders this replica claimed and posted. */
  reminders: Reminder[];
  keyNotices: number;
  /** Break-glass keys this replica found expired unreviewed (their owners told). */
  unreviewedBreakGlass: number;
}

/**
 * Tells key owners, by direct message, that a key expires within the hour, then that it expired, with
 * I'm done and Extend.
 */
async function notifyKeyExpiry(client: WebClient, domain: Domain, now?: Date): Promise<number> {
  const notices = await domain.delivery.expiryNotices(now);
  await Promise.allSettled(
    notices.map((notice) =>
      client.chat.postMessage({ channel: notice.owner, ...renderKeyExpiryNotice(notice) }),
    ),
  );
  return notices.length;
}

export async function runSweeps(client: WebClient, domain: Domain, now?: Date): Promise<SweepResult> {
  const expiredRequests = await expireRequests(client, domain, now);
  const reminders = await sendReminders(client, domain, now);
  const keyNotices = await notifyKeyExpiry(client, domain, now);
  const unreviewedBreakGlass = await reviewOverdueBreakGlass(client, domain, now);
  return { expiredRequests, reminders, keyNotices, unreviewedBreakGlass };
}
