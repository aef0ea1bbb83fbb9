import type { ApprovalService } from './approvals';
import type { KeyRequest, Project, SshKey } from './model';
import { documentKeys, type Transaction, type Workspaces } from './workspaces';

/**
 * What closes with a key however it goes (an admin's `/sshkey remove`, its owner's I'm done, a
 * break-glass Revoke): its pending requests for more time, and the review of a break-glass key. All in
 * the transaction that removes the key; the deployment-wide indexes follow after the commit.
 */

export type ReviewDecision = 'keep' | 'revoke';

/** One break-glass key's record: its card, its review. Kept after the key is gone, for late clicks. */
export interface BreakGlassRecord {
  /** The key's ID. */
  id: string;
  teamId: string;
  projectId: string;
  projectName: string;
  owner: string;
  keyName: string;
  fingerprint: string;
  reason: string;
  createdAt: string;
  expiresAt: string;
  cards: { channel: string; ts: string }[];
  /** `removed`: the key went another way (an admin removed it, its owner was done) before any review. */
  review?: { by: string; at: string; decision: 'kept' | 'revoked' | 'removed' };
  /** Set when the key's time ran out before anyone reviewed it. */
  unreviewedAt?: string;
  /**
   * Set when its owner removed it before any review: the review stays open (Keep or Revoke still
   * count, a Revoke still bars them), so removing one's own key never skips it.
   */
  ownerRemovedAt?: string;
}

/** Break-glass keys awaiting review across the deployment, so the sweep reads one document. */
export interface BreakGlassIndex {
  keys: { id: string; teamId: string; expiresAt: string }[];
}

export const breakGlassKeys = {
  record: (keyId: string) => `breakglass:${keyId}`,
  index: () => 'keys:breakglass',
};

export const at = (iso: string): string => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

/** What a late click is told: who reviewed the key, how and when, or that nobody did in time. */
export function reviewedMessage(record: BreakGlassRecord): string {
  if (record.review?.decision === 'removed') {
    return `This break-glass key was already removed by <@${record.review.by}> on ${at(record.review.at)}, so there is nothing to keep or revoke. \`/org audit ${/\s/.test(record.projectName) ? `"${record.projectName}"` : record.projectName}\` shows the record.`;
  }
  if (record.review) {
    const how = record.review.decision === 'kept' ? 'kept it' : 'revoked it';
    return `This break-glass key was already reviewed: <@${record.review.by}> ${how} on ${at(record.review.at)}.`;
  }
  if (record.unreviewedAt) {
    return `This break-glass key expired on ${at(record.expiresAt)} before anyone reviewed it, and is recorded as unreviewed.`;
  }
  return 'This break-glass key is waiting for a review.';
}

/** Takes a key out of its project and out of its owner's index of keys, in this transaction. */
export async function dropKey(tx: Transaction, project: Project, key: SshKey): Promise<void> {
  project.keys = project.keys.filter((k) => k.id !== key.id);
  const index = await tx.userKeys(key.addedBy);
  index.keys = index.keys.filter((ref) => ref.keyId !== key.id);
}

/** What closed with a removed key, for the cards and people to be told. */
export interface ClosedWithKey {
  /** Pending requests for more time on the key, withdrawn. */
  closed: KeyRequest[];
  /** The break-glass key's record, closed as removed (absent for other keys, or when already reviewed). */
  breakGlass?: BreakGlassRecord;
  /** The break-glass key's record when its owner removed it: still awaiting review. */
  stillToReview?: BreakGlassRecord;
}

/**
 * Closes what waited on a key removed in this transaction: its pending extensions, and (unless the
 * removal is the review itself, `reviewed`, or by the key's owner, whose key is still reviewed) its
 * break-glass review, marked removed by `by`. One read of
 * the extension requests when there are any, one of the record for a break-glass key.
 */
export async function closeWithKey(
  tx: Transaction,
  workspaces: Workspaces,
  approvals: ApprovalService,
  project: Project,
  key: SshKey,
  by: string,
  reviewed = false,
): Promise<ClosedWithKey> {
  const refs = (project.pendingRequests ?? []).filter((p) => p.fingerprint === key.fingerprint);
  const wantRecord = key.origin === 'breakglass' && !reviewed;
  const [requests, record] = await Promise.all([
    refs.length
      ? workspaces.store.getMany<KeyRequest>(refs.map((r) => documentKeys.request(r.id)))
      : Promise.resolve([]),
    wantRecord ? tx.read<BreakGlassRecord>(breakGlassKeys.record(key.id)) : Promise.resolve(undefined),
  ]);
  const closed: KeyRequest[] = [];
  for (const stored of requests) {
    if (!stored || stored.status !== 'pending' || stored.extension?.keyId !== key.id) continue;
    const request = (await tx.read<KeyRequest>(documentKeys.request(stored.id))) ?? stored;
    approvals.withdraw(tx, request, project, by, 'key_removed');
    closed.push(request);
  }
  if (!record || record.review || record.unreviewedAt) return { closed };
  if (by === record.owner) {
    record.ownerRemovedAt = tx.at;
    tx.put(breakGlassKeys.record(record.id), record);
    return { closed, stillToReview: record };
  }
  record.review = { by, at: tx.at, decision: 'removed' };
  tx.put(breakGlassKeys.record(record.id), record);
  return { closed, breakGlass: record };
}

/** Removes break-glass keys from the deployment's review index (after their transaction committed). */
export function forgetBreakGlass(workspaces: Workspaces, ids: string[]): Promise<void> {
  const gone = new Set(ids);
  return workspaces.updateShared<BreakGlassIndex>(breakGlassKeys.index(), { keys: [] }, (index) => {
    index.keys = index.keys.filter((k) => !gone.has(k.id));
  });
}

/**
 * After the commit: the closed requests leave the pending index, a closed break-glass key the review
 * index, and whoever listens is told (their cards are updated, their requesters told).
 */
export function afterKeyRemoved(
  workspaces: Workspaces,
  approvals: ApprovalService,
  event: { teamId: string; key: SshKey; by: string } & ClosedWithKey,
): void {
  if (event.closed.length > 0) {
    workspaces.afterCommit('removing closed extensions from the pending index', () =>
      approvals.forget(event.closed.map((r) => r.id)),
    );
  }
  if (event.breakGlass) {
    const id = event.breakGlass.id;
    workspaces.afterCommit('removing a removed break-glass key from the review index', () =>
      forgetBreakGlass(workspaces, [id]),
    );
  }
  if (event.closed.length > 0 || event.breakGlass || event.stillToReview) workspaces.events.keyRemoved(event);
}
