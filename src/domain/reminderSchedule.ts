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
 * When the request's next reminder is due: on its schedule, but never sooner than REMINDER_AFTER after
 * the last one was claimed (so a replica whose clock runs ahead, or a late sweep, cannot send several in
 * a row), nor before a retry after a failed post; never after the request closes (an entry due at its
 * expiry is left to the expiry sweep).
 */
export function nextReminderAt(request: KeyRequest, afterMs: number): string {
  let next = reminderAt(request.createdAt, afterMs, (request.remindersSent ?? 0) + 1).getTime();
  if (request.remindedAt) next = Math.max(next, Date.parse(request.remindedAt) + afterMs);
  if (request.remindRetryAt) next = Math.max(next, Date.parse(request.remindRetryAt));
  return new Date(Math.min(next, Date.parse(request.expiresAt))).toISOString();
}

/** How long to wait before posting a reminder again after `failures` failed attempts: 1 min, doubling. */
export const reminderRetryMs = (failures: number, afterMs: number): number =>
  Math.min(60_000 * 2 ** Math.max(0, failures - 1), Math.max(afterMs, 60_000));
