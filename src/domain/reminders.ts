import { ownersOf } from './access';
import { approversOf } from './approvals';
import type { KeyRequest, PendingIndex } from './model';
import { DEFAULT_REMINDER_AFTER_MS, ESCALATE_FROM, nextReminderAt, remindersDue } from './reminderSchedule';
import { documentKeys, type Workspaces } from './workspaces';

/**
 * Reminders of pending key requests: the first after REMINDER_AFTER, then after twice that, and so on
 * (reminder n at REMINDER_AFTER·(2^n − 1) after filing), until the request is decided or expires. From
 * the third, the organization owners are reminded too. Each reminder is claimed under the workspace
 * lock (`remindersSent` on the request) before anyone is told, so however many replicas sweep, it goes
 * out once.
 */

/** A reminder claimed by this process: post it, and tell the requesters. */
export interface Reminder {
  request: KeyRequest;
  /** 1 for the first reminder. */
  number: number;
  /** Who may still decide and has not approved yet (never a requester). */
  approvers: string[];
  /** Organization owners mentioned from the third reminder on, beyond `approvers`. */
  owners: string[];
}

export class ReminderService {
  constructor(private readonly workspaces: Workspaces) {}

  get afterMs(): number {
    return this.workspaces.options.reminderAfterMs ?? DEFAULT_REMINDER_AFTER_MS;
  }

  /**
   * Claims every reminder due by `now` and returns them. Reads the deployment's pending index (the one
   * the expiry sweep reads) once; each due request costs one transaction (its request and project) and
   * the index is brought up to date once for all of them. A request overdue by several steps (no
   * replica ran meanwhile) gets one reminder, numbered as the latest due, not a burst.
   */
  async remindDue(now: Date = this.workspaces.now()): Promise<Reminder[]> {
    await this.workspaces.settled();
    const index = await this.workspaces.store.get<PendingIndex>(documentKeys.pendingIndex());
    const due = (index?.requests ?? []).filter(
      (entry) =>
        Date.parse(entry.expiresAt) > now.getTime() &&
        (entry.remindAt === undefined || Date.parse(entry.remindAt) <= now.getTime()),
    );
    const reminders: Reminder[] = [];
    const schedule = new Map<string, string>();
    for (const entry of due) {
      // What the transaction found: a reminder claimed (or none), and when the next one is due.
      const outcome = await this.workspaces
        .mutate(entry.teamId, async (tx): Promise<{ reminder?: Reminder; next: string }> => {
          const request = await tx.read<KeyRequest>(documentKeys.request(entry.id));
          // Closed (its index entry not yet removed): nothing to remind until the expiry sweep drops it.
          if (!request || request.status !== 'pending' || Date.parse(request.expiresAt) <= now.getTime()) {
            return { next: entry.expiresAt };
          }
          const number = remindersDue(request.createdAt, this.afterMs, now);
          if (number <= (request.remindersSent ?? 0)) return { next: nextReminderAt(request, this.afterMs) };
          const project = await tx.project(request.projectId).catch(() => undefined);
          // Its project is gone: nobody to remind, and the expiry sweep drops the entry in time.
          if (!project) return { next: entry.expiresAt };
          request.remindersSent = number;
          tx.put(documentKeys.request(request.id), request);
          const owners = ownersOf(tx.context);
          const waitingOn = (id: string) =>
            !request.requesters.includes(id) && !request.approvals.some((a) => a.userId === id);
          const approvers = approversOf(project, owners).filter(waitingOn);
          const escalated =
            number >= ESCALATE_FROM ? owners.filter((id) => waitingOn(id) && !approvers.includes(id)) : [];
          return {
            reminder: { request, number, approvers, owners: escalated },
            next: nextReminderAt(request, this.afterMs),
          };
        })
        // One workspace busy or gone must not hold up the others: its reminder is due again next sweep.
        .catch((error: unknown) => {
          this.workspaces.options.onBackgroundError?.('claiming a reminder', error);
          return undefined;
        });
      if (!outcome) continue;
      schedule.set(entry.id, outcome.next);
      if (outcome.reminder) reminders.push(outcome.reminder);
    }
    if (schedule.size > 0) {
      await this.workspaces
        .updateShared<PendingIndex>(documentKeys.pendingIndex(), { requests: [] }, (current) => {
          for (const entry of current.requests) {
            const at = schedule.get(entry.id);
            if (at !== undefined) entry.remindAt = at;
          }
        })
        // A stale index entry costs one more read at the next sweep, which finds nothing to send.
        .catch((error: unknown) =>
          this.workspaces.options.onBackgroundError?.('scheduling the next reminders', error),
        );
    }
    return reminders;
  }
}
