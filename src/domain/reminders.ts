import { ownersOf } from './access';
import { approversOf } from './approvals';
import type { KeyRequest, PendingIndex } from './model';
import {
  DEFAULT_REMINDER_AFTER_MS,
  ESCALATE_FROM,
  nextReminderAt,
  reminderRetryMs,
} from './reminderSchedule';
import { documentKeys, type Workspaces } from './workspaces';

/**
 * Reminders of pending key requests: the first after REMINDER_AFTER, then after twice that, and so on
 * (reminder n at REMINDER_AFTER·(2^n − 1) after filing), until the request is decided or expires. From
 * the third, the organization owners are reminded too. Each reminder is claimed under the workspace
 * lock (`remindersSent` on the request) before anyone is told, so however many replicas sweep, it goes
 * out once; one that reached nobody is given back (`release`) and tried again after a backoff.
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
  /** When the reminder before it was claimed, restored if this one is given back. */
  previousRemindedAt?: string;
}

export class ReminderService {
  constructor(private readonly workspaces: Workspaces) {}

  get afterMs(): number {
    return this.workspaces.options.reminderAfterMs ?? DEFAULT_REMINDER_AFTER_MS;
  }

  /**
   * Claims every reminder due by `now` and returns them. Reads the deployment's pending index (the one
   * the expiry sweep reads) once; each due request costs one transaction (its request and project) and
   * the index is brought up to date once for all of them. A claim is always the next reminder, never a
   * later one, and the one after waits at least REMINDER_AFTER: a request overdue by several steps (no
   * replica ran meanwhile, or this replica's clock runs ahead) gets one reminder, not a burst, and is
   * escalated to the owners only after three were sent.
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
          const due = nextReminderAt(request, this.afterMs);
          if (Date.parse(due) > now.getTime()) return { next: due };
          const number = (request.remindersSent ?? 0) + 1;
          const project = await tx.project(request.projectId).catch(() => undefined);
          // Its project is gone: nobody to remind, and the expiry sweep drops the entry in time.
          if (!project) return { next: entry.expiresAt };
          const previousRemindedAt = request.remindedAt;
          request.remindersSent = number;
          request.remindedAt = now.toISOString();
          delete request.remindRetryAt;
          tx.put(documentKeys.request(request.id), request);
          const owners = ownersOf(tx.context);
          const waitingOn = (id: string) =>
            !request.requesters.includes(id) && !request.approvals.some((a) => a.userId === id);
          const approvers = approversOf(project, owners).filter(waitingOn);
          const escalated =
            number >= ESCALATE_FROM ? owners.filter((id) => waitingOn(id) && !approvers.includes(id)) : [];
          return {
            reminder: {
              request,
              number,
              approvers,
              owners: escalated,
              ...(previousRemindedAt ? { previousRemindedAt } : {}),
            },
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

  /**
   * Gives back a claimed reminder that reached nobody (Slack failed, every card gone): it is due again
   * after a backoff (1 minute, doubling, at most REMINDER_AFTER), with the same number. One transaction
   * and one index update; nothing changes if the request moved on meanwhile.
   */
  async release(reminder: Reminder, now: Date = this.workspaces.now()): Promise<void> {
    const { request: claimed, number } = reminder;
    const retryAt = await this.workspaces.mutate(claimed.teamId, async (tx) => {
      const request = await tx.read<KeyRequest>(documentKeys.request(claimed.id));
      if (!request || request.status !== 'pending' || request.remindersSent !== number) return undefined;
      request.remindersSent = number - 1;
      if (reminder.previousRemindedAt) request.remindedAt = reminder.previousRemindedAt;
      else delete request.remindedAt;
      request.reminderFailures = (request.reminderFailures ?? 0) + 1;
      request.remindRetryAt = new Date(
        now.getTime() + reminderRetryMs(request.reminderFailures, this.afterMs),
      ).toISOString();
      tx.put(documentKeys.request(request.id), request);
      return nextReminderAt(request, this.afterMs);
    });
    if (retryAt === undefined) return;
    await this.workspaces.updateShared<PendingIndex>(
      documentKeys.pendingIndex(),
      { requests: [] },
      (index) => {
        for (const entry of index.requests) if (entry.id === claimed.id) entry.remindAt = retryAt;
      },
    );
  }

  /** A reminder reached someone: the backoff of later failures starts afresh. Free when none failed. */
  async delivered(reminder: Reminder): Promise<void> {
    if (!reminder.request.reminderFailures) return;
    await this.workspaces.mutate(reminder.request.teamId, async (tx) => {
      const request = await tx.read<KeyRequest>(documentKeys.request(reminder.request.id));
      if (!request?.reminderFailures) return;
      delete request.reminderFailures;
      tx.put(documentKeys.request(request.id), request);
    });
  }
}
