import type { KeyRequest } from './model';

/** When the reminders of a pending key request are due (see reminders.ts). */

export const DEFAULT_REMINDER_AFTER_MS = 30 * 60_000;

/** From this reminder on, the organization owners are mentioned too. */
export const ESCALATE_FROM = 3;

/** How many reminders are due by `now` for a request filed at `createdAt` (0 before the first). */
export function remindersDue(createdAt: string, afterMs: number, now: Date): number {
  const elapsed = now.getTime() - Date.parse(createdAt);
  if (!(afterMs > 0) || elapsed < afterMs) return 0;
  // Reminder n is due once elapsed ≥ after·(2^n − 1), that is n ≤ log2(elapsed/after + 1).
  let n = Math.floor(Math.log2(elapsed / afterMs + 1));
  // Floating point at the boundaries: step to the exact count.
  while (afterMs * (2 ** (n + 1) - 1) <= elapsed) n += 1;
  while (n > 0 && afterMs * (2 ** n - 1) > elapsed) n -= 1;
  return n;
}

/** When reminder `n` (1-based) of a request filed at `createdAt` is due. */
export const reminderAt = (createdAt: string, afterMs: number, n: number): Date =>
  new Date(Date.parse(createdAt) + afterMs * (2 ** n - 1));

/**
 * When the request's next reminder is due, for the pending index: never after it closes (an entry due
 * at its expiry is left to the expiry sweep).
 */
export function nextReminderAt(request: KeyRequest, afterMs: number): string {
  const next = reminderAt(request.createdAt, afterMs, (request.remindersSent ?? 0) + 1);
  return new Date(Math.min(next.getTime(), Date.parse(request.expiresAt))).toISOString();
}
