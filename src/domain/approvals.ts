import { authorize, can, ownersOf } from './access';
import type { DeliveryService } from './delivery';
import { DomainError } from './errors';
import { refusePrivateKey } from './keys/privateKey';
import { expiryAtApproval, keyLifetimeLimit } from './keyPolicy';
import {
  assertKeyRoom,
  assertReasonLength,
  CANCELLED_REQUEST_COUNTS_MS,
  MAX_PENDING_REQUESTS_PER_REQUESTER,
} from './limits';
import type { Actor, KeyExtension, KeyRequest, PendingIndex, Project, SshKey } from './model';
import { DEFAULT_REMINDER_AFTER_MS, nextReminderAt } from './reminderSchedule';
import { applyExtension, extensionTarget, mayStillRequest } from './extensions';
import { documentKeys, type Transaction, type Workspaces } from './workspaces';

/**
 * Key requests and their decisions. A decision is one transition `pending → approved | denied |
 * expired`, made under the workspace lock on a fresh read of the request, so however many clicks
 * arrive on however many replicas, it is applied once.
 */

export const DEFAULT_APPROVAL_TTL_MS = 24 * 3600 * 1000;

export type Decision = 'approve' | 'deny';

/** Why a request was closed without a decision when no requester may still request keys. */
export const REQUESTER_GONE = 'requester no longer has access';

const OWN_REQUEST =
  'You asked for this key, so someone else must decide: a requester never decides their own request.';

const moreApprovals = (count: number): string => `${count} more approval${count === 1 ? '' : 's'}`;

export interface DecisionResult {
  request: KeyRequest;
  /**
   * `recorded`: an approval counted, more are needed. `withdrawn`: closed unapplied, as none of its
   * requesters may still request keys on the project.
   */
  outcome: 'approved' | 'denied' | 'expired' | 'recorded' | 'withdrawn';
}

/** Who decides a project's requests: its admins, else the organization's owners. */
export function approversOf(project: Project, owners: string[]): string[] {
  const admins = Object.entries(project.members)
    .filter(([, role]) => role === 'admin')
    .map(([user]) => user);
  return admins.length ? admins : owners;
}

export function closedMessage(request: KeyRequest): string {
  const when = request.decidedAt ? ` on ${request.decidedAt.slice(0, 16).replace('T', ' ')} UTC` : '';
  switch (request.status) {
    case 'approved':
      return `This request was already approved by <@${request.decidedBy}>${when}.`;
    case 'denied':
      return `This request was already denied by <@${request.decidedBy}>${when}.`;
    case 'expired':
      return `This request expired${when} without a decision. Ask again with \`/sshkey add\` if the key is still needed.`;
    case 'withdrawn':
      if (request.closeReason === 'cancelled')
        return `This request was cancelled by <@${request.decidedBy}>${when}, so nothing was added.`;
      if (request.closeReason === 'key_removed')
        return `This request was closed${when}: the key it asked more time for was removed.`;
      return `This request was closed${when} without a decision: ${REQUESTER_GONE} to the project, so nothing was added.`;
    default:
      return 'This request is still open.';
  }
}

export class ApprovalService {
  constructor(
    private readonly workspaces: Workspaces,
    private readonly delivery: DeliveryService,
  ) {}

  private get ttlMs(): number {
    return this.workspaces.options.approvalTtlMs ?? DEFAULT_APPROVAL_TTL_MS;
  }

  async get(actor: Actor, requestId: string): Promise<KeyRequest> {
    const request = await this.workspaces.store.get<KeyRequest>(documentKeys.request(requestId));
    if (!request || request.teamId !== actor.teamId) {
      throw new DomainError('not_found', 'That request no longer exists.');
    }
    return request;
  }

  /** Records where a request's cards were posted, so a decision can update them. */
  async attachCards(actor: Actor, requestId: string, cards: KeyRequest['cards']): Promise<KeyRequest> {
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      const request = await this.load(tx, requestId);
      request.cards = [...request.cards, ...cards];
      tx.put(documentKeys.request(request.id), request);
      return request;
    });
  }

  /** The checks of `decide`, without deciding: a form asking for a reason opens only if they pass. */
  async prepareDecision(actor: Actor, requestId: string): Promise<KeyRequest> {
    const request = await this.get(actor, requestId);
    if (request.status !== 'pending') throw new DomainError('conflict', closedMessage(request));
    const organization = await this.workspaces.organization(actor.teamId);
    const project = await this.workspaces.project(organization, request.projectId);
    // A requester is told why they cannot decide, whatever their role.
    if (request.requesters.includes(actor.userId)) throw new DomainError('forbidden', OWN_REQUEST);
    authorize(this.workspaces.context(organization), actor.userId, 'project.manage', project);
    return request;
  }

  async decide(
    actor: Actor,
    requestId: string,
    decision: Decision,
    reason?: string,
  ): Promise<DecisionResult> {
    if (reason !== undefined) refusePrivateKey(reason, 'deny_reason');
    assertReasonLength(reason, 'deny_reason');
    const result = await this.workspaces.mutate(
      actor.teamId,
      async (tx): Promise<DecisionResult & { key?: SshKey }> => {
        const request = await this.load(tx, requestId);
        if (request.status !== 'pending') throw new DomainError('conflict', closedMessage(request));
        const project = await tx.project(request.projectId);
        if (this.expireIfDue(tx, request, project)) return { request, outcome: 'expired' as const };
        if (request.requesters.includes(actor.userId)) {
          throw new DomainError('forbidden', OWN_REQUEST);
        }
        authorize(tx.context, actor.userId, 'project.manage', project);
        // Asked for by someone who has since lost access: never applied, whoever clicks.
        if (this.withdrawIfOrphaned(tx, request, project, actor.userId)) {
          return { request, outcome: 'withdrawn' as const };
        }
        // More time for a key removed meanwhile: nothing left to extend, whoever clicks.
        if (request.extension && decision === 'approve' && !extensionTarget(project, request)) {
          this.withdraw(tx, request, project, actor.userId, 'key_removed');
          tx.record(
            {
              actor: actor.userId,
              action: 'key.request_withdrawn',
              target: `${request.key.name} (${request.key.fingerprint}) for <@${request.requesters[0]}>`,
              outcome: 'denied',
              detail: 'the key was removed',
            },
            project,
          );
          return { request, outcome: 'withdrawn' as const };
        }
        if (decision === 'deny') {
          this.close(tx, request, project, 'denied', actor.userId);
          if (reason?.trim()) request.denyReason = reason.trim().slice(0, 300);
          tx.record(
            {
              actor: actor.userId,
              action: 'key.request_denied',
              target: `${request.key.name} (${request.key.fingerprint}) for <@${request.requesters[0]}>`,
              outcome: 'denied',
              ...(request.denyReason ? { detail: request.denyReason } : {}),
            },
            project,
          );
          return { request, outcome: 'denied' as const };
        }
        // Only approvals of people who may still decide count: a demoted admin's approval is dropped.
        const dropped = this.recount(tx, request, project);
        if (request.approvals.some((a) => a.userId === actor.userId)) {
          throw new DomainError(
            'conflict',
            `You already approved this request. It needs ${moreApprovals(request.required - request.approvals.length)} from other admins.`,
          );
        }
        request.approvals.push({ userId: actor.userId, at: tx.at });
        const droppedNote = dropped.length
          ? `; no longer counted: ${dropped.map((id) => `<@${id}>`).join(', ')} (may no longer decide)`
          : '';
        if (request.approvals.length < request.required) {
          tx.put(documentKeys.request(request.id), request);
          tx.record(
            {
              actor: actor.userId,
              action: 'key.request_approval',
              target: `${request.key.name} (${request.key.fingerprint})`,
              detail: `${request.approvals.length} of ${request.required}${droppedNote}`,
            },
            project,
          );
          return { request, outcome: 'recorded' as const };
        }
        const key = await this.applyApproval(tx, request, project, actor.userId, droppedNote);
        return { request, outcome: 'approved' as const, key };
      },
    );
    // Committed: what follows is bookkeeping, and its failure is not the decision's.
    if (result.outcome !== 'recorded') {
      this.workspaces.afterCommit('removing a decided request from the pending index', () =>
        this.forget([result.request.id]),
      );
    }
    const key = result.outcome === 'approved' ? result.key : undefined;
    if (key) {
      this.workspaces.afterCommit('adding an approved key to the expiry index', () =>
        this.delivery.trackExpiry(actor.teamId, result.request.projectId, key),
      );
    }
    return { request: result.request, outcome: result.outcome };
  }

  /**
   * Expires every pending request whose time is up, in every workspace; returns those it closed. It
   * reads the deployment's pending index: the store keeps no list of workspaces, so a request missing
   * from the index (its entry is written after the request's own commit, and that write can fail) cannot
   * be found by scanning projects here. Such a request is put back in the index when someone joins it
   * or when an approver's Home tab lists it (`decidableBy`), and is expired from then on.
   */
  async expireDue(now: Date = this.workspaces.now()): Promise<KeyRequest[]> {
    await this.workspaces.settled();
    const index = await this.workspaces.store.get<PendingIndex>(documentKeys.pendingIndex());
    const due = (index?.requests ?? []).filter((r) => Date.parse(r.expiresAt) <= now.getTime());
    const expired: KeyRequest[] = [];
    const settled: string[] = [];
    for (const entry of due) {
      const closed = await this.workspaces.mutate(entry.teamId, async (tx) => {
        const request = await tx.read<KeyRequest>(documentKeys.request(entry.id));
        if (!request || request.status !== 'pending') return undefined;
        const project = await tx.project(request.projectId).catch(() => undefined);
        if (!project) return undefined;
        return this.expireIfDue(tx, request, project, now) ? request : undefined;
      });
      settled.push(entry.id);
      if (closed) expired.push(closed);
    }
    if (settled.length) await this.forget(settled);
    return expired;
  }

  /**
   * Requests the user may decide now, in their workspace, oldest first. Found from the projects' own
   * lists of pending requests, written with each request (the deployment index is written after, and
   * can miss one): the organization, its projects, their requests and the index, four round trips.
   * A pending request missing from the index is put back in it, so the expiry sweep finds it again.
   */
  async decidableBy(actor: Actor, managed?: Project[]): Promise<KeyRequest[]> {
    const projects = managed ?? (await this.workspaces.manageableProjects(actor));
    const ids = projects.flatMap((p) => (p.pendingRequests ?? []).map((ref) => ref.id));
    if (ids.length === 0) return [];
    const [stored, index] = await Promise.all([
      this.workspaces.store.getMany<KeyRequest>(ids.map(documentKeys.request)),
      this.workspaces.store.get<PendingIndex>(documentKeys.pendingIndex()),
    ]);
    const pending = stored.filter((r): r is KeyRequest => r?.status === 'pending');
    const indexed = new Set((index?.requests ?? []).map((r) => r.id));
    const unindexed = pending.filter((r) => !indexed.has(r.id));
    if (unindexed.length > 0) {
      this.workspaces.afterCommit('putting pending requests back in the pending index', () =>
        this.track(...unindexed),
      );
    }
    return pending
      .filter(
        (r) => !r.requesters.includes(actor.userId) && !r.approvals.some((a) => a.userId === actor.userId),
      )
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Who receives a project's cards by direct message when no approvals channel is set. */
  async approversFor(actor: Actor, projectId: string): Promise<{ channel?: string; approvers: string[] }> {
    const organization = await this.workspaces.organization(actor.teamId);
    const project = await this.workspaces.project(organization, projectId);
    const channel = project.settings.approvalsChannel ?? organization.settings.approvalsChannel;
    return {
      ...(channel ? { channel } : {}),
      approvers: approversOf(project, ownersOf(this.workspaces.context(organization))),
    };
  }

  // ——— inside a transaction ———

  /** Creates a request, or joins the pending one for the same key. Called by KeyService.add. */
  async request(
    tx: Transaction,
    actor: Actor,
    project: Project,
    key: KeyRequest['key'],
    reason: string | undefined,
    extension?: KeyExtension,
  ): Promise<{ request: KeyRequest; joined: boolean }> {
    const pending = (project.pendingRequests ?? []).find((p) => p.fingerprint === key.fingerprint);
    if (!pending) this.assertRequestRoom(tx, actor, project);
    if (pending) {
      const request = await this.load(tx, pending.id);
      if (!request.requesters.includes(actor.userId)) {
        request.requesters.push(actor.userId);
        tx.put(documentKeys.request(request.id), request);
        tx.record(
          { actor: actor.userId, action: 'key.request_joined', target: `${key.name} (${key.fingerprint})` },
          project,
        );
      }
      return { request, joined: true };
    }
    const request: KeyRequest = {
      id: this.workspaces.newId(),
      orgId: tx.organization.id,
      teamId: tx.organization.teamId,
      projectId: project.id,
      projectName: project.name,
      requesters: [actor.userId],
      key,
      ...(reason?.trim() ? { reason: reason.trim().slice(0, 300) } : {}),
      createdAt: tx.at,
      expiresAt: new Date(Date.parse(tx.at) + this.ttlMs).toISOString(),
      required: project.settings.approvalsRequired,
      // Asked without an expiry under a key lifetime: the key gets it, counted from approval.
      ...(!key.expiresAt && keyLifetimeLimit(project) ? { keyLifetime: keyLifetimeLimit(project) } : {}),
      approvals: [],
      status: 'pending',
      cards: [],
      ...(extension ? { extension } : {}),
    };
    project.pendingRequests = [
      ...(project.pendingRequests ?? []),
      {
        id: request.id,
        fingerprint: key.fingerprint,
        keyName: key.name,
        requester: actor.userId,
        createdAt: tx.at,
        expiresAt: request.expiresAt,
      },
    ];
    tx.put(documentKeys.request(request.id), request);
    const detail = extension
      ? `${extension.for} more${request.reason ? `: ${request.reason}` : ''}`
      : request.reason;
    tx.record(
      {
        actor: actor.userId,
        action: extension ? 'key.extension_requested' : 'key.requested',
        target: `${key.name} (${key.fingerprint})`,
        ...(detail ? { detail } : {}),
      },
      project,
    );
    return { request, joined: false };
  }

  /** Adds requests to the deployment's pending index (after their transaction committed), once each. */
  async track(...requests: KeyRequest[]): Promise<void> {
    await this.updateIndex((index) => {
      for (const request of requests) {
        if (!index.requests.some((r) => r.id === request.id)) {
          index.requests.push({
            id: request.id,
            teamId: request.teamId,
            expiresAt: request.expiresAt,
            remindAt: nextReminderAt(request, this.reminderAfterMs),
          });
        }
      }
    });
  }

  private get reminderAfterMs(): number {
    return this.workspaces.options.reminderAfterMs ?? DEFAULT_REMINDER_AFTER_MS;
  }

  /** Removes closed requests from the deployment's pending index (after their transaction committed). */
  async forget(ids: string[]): Promise<void> {
    const gone = new Set(ids);
    await this.updateIndex((index) => {
      index.requests = index.requests.filter((r) => !gone.has(r.id));
    });
  }

  private updateIndex(change: (index: PendingIndex) => void): Promise<void> {
    return this.workspaces.updateShared<PendingIndex>(documentKeys.pendingIndex(), { requests: [] }, change);
  }

  /**
   * One person may have only so many requests open in a project, so a burst of requests cannot flood
   * the approvers; one they cancelled still counts for CANCELLED_REQUEST_COUNTS_MS, so filing and
   * cancelling in a loop cannot either. Joining a pending request for the same key is free: it posts no
   * new card.
   */
  private assertRequestRoom(tx: Transaction, actor: Actor, project: Project): void {
    const now = Date.parse(tx.at);
    const open = (project.pendingRequests ?? [])
      .filter((p) => p.requester === actor.userId)
      .map((p) => p.expiresAt ?? new Date(Date.parse(p.createdAt) + this.ttlMs).toISOString())
      .filter((expiresAt) => Date.parse(expiresAt) > now);
    const cancelled = recentlyCancelled(project, now)
      .filter((c) => c.requester === actor.userId)
      .map((c) => new Date(Date.parse(c.at) + CANCELLED_REQUEST_COUNTS_MS).toISOString());
    if (open.length + cancelled.length < MAX_PENDING_REQUESTS_PER_REQUESTER) return;
    const at = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;
    const frees = [...open, ...cancelled].sort()[0] as string;
    const requests = (n: number) => `${n} key request${n === 1 ? '' : 's'}`;
    const waiting = `You already have ${requests(open.length)} waiting for a decision`;
    const lead =
      cancelled.length === 0
        ? waiting
        : open.length === 0
          ? `You cancelled ${requests(cancelled.length)} in the last hour`
          : `${waiting} and cancelled ${cancelled.length} in the last hour`;
    const counts = cancelled.length ? ' (a cancelled request counts for an hour)' : '';
    const ends = cancelled.length ? 'one expires or stops counting' : 'one expires';
    throw new DomainError(
      'conflict',
      `${lead} in project *${project.name}*, ` +
        `and ${MAX_PENDING_REQUESTS_PER_REQUESTER} is the most one person may have open in a project${counts}. ` +
        `Once an admin approves or denies one of them, or ${ends} (the next on ${at(frees)}), you can ask again.`,
      'public_key',
    );
  }

  /** Notes a request its requester cancelled, so it still counts against them for a while. */
  noteCancelled(tx: Transaction, project: Project, requester: string): void {
    const now = Date.parse(tx.at);
    project.recentlyCancelled = [...recentlyCancelled(project, now), { requester, at: tx.at }];
    tx.save(project);
  }

  /**
   * Closes, without applying it, each pending request of `project` that `userId` joined and that no
   * requester may still make (called when their role changes, in the same transaction, `by` who changed
   * it). Returns them.
   */
  async withdrawRequestsOf(
    tx: Transaction,
    project: Project,
    userId: string,
    by: string,
  ): Promise<KeyRequest[]> {
    const ids = (project.pendingRequests ?? []).map((p) => p.id);
    if (ids.length === 0) return [];
    // One round trip for the project's open requests: joined requesters are only in the request itself.
    const requests = await this.workspaces.store.getMany<KeyRequest>(ids.map(documentKeys.request));
    const withdrawn: KeyRequest[] = [];
    for (const stored of requests) {
      if (!stored || stored.status !== 'pending' || !stored.requesters.includes(userId)) continue;
      const request = (await tx.read<KeyRequest>(documentKeys.request(stored.id))) ?? stored;
      if (this.withdrawIfOrphaned(tx, request, project, by)) withdrawn.push(request);
    }
    return withdrawn;
  }

  /**
   * A request stands while one of its requesters may still request keys on the project (the one
   * permission check); those who may not are dropped from it, so the key is never added "by" them.
   * With none left it is closed as withdrawn, audited, and true is returned.
   */
  private withdrawIfOrphaned(tx: Transaction, request: KeyRequest, project: Project, by: string): boolean {
    const remaining = request.requesters.filter((r) => mayStillRequest(tx.context, r, request, project));
    if (remaining.length === request.requesters.length) return false;
    if (remaining.length > 0) {
      request.requesters = remaining;
      tx.put(documentKeys.request(request.id), request);
      return false;
    }
    this.close(tx, request, project, 'withdrawn', by);
    tx.record(
      {
        actor: by,
        action: 'key.request_withdrawn',
        target: `${request.key.name} (${request.key.fingerprint}) for ${request.requesters.map((r) => `<@${r}>`).join(', ')}`,
        outcome: 'denied',
        detail: REQUESTER_GONE,
      },
      project,
    );
    return true;
  }

  /**
   * Drops the approvals of people who may no longer decide (no longer admin of the project nor an
   * owner, or now a requester), so the count is of current approvers only. Returns who was dropped.
   */
  private recount(tx: Transaction, request: KeyRequest, project: Project): string[] {
    const dropped: string[] = [];
    request.approvals = request.approvals.filter((approval) => {
      const counts =
        can(tx.context, approval.userId, 'project.manage', project) &&
        !request.requesters.includes(approval.userId);
      if (!counts) dropped.push(approval.userId);
      return counts;
    });
    return dropped;
  }

  private async load(tx: Transaction, requestId: string): Promise<KeyRequest> {
    const request = await tx.read<KeyRequest>(documentKeys.request(requestId));
    if (!request || request.teamId !== tx.organization.teamId) {
      throw new DomainError('not_found', 'That request no longer exists.');
    }
    return request;
  }

  /** Closes a pending request without a decision, saying why (`reason`); the caller audits it. */
  withdraw(
    tx: Transaction,
    request: KeyRequest,
    project: Project,
    by: string,
    reason: NonNullable<KeyRequest['closeReason']>,
  ): void {
    this.close(tx, request, project, 'withdrawn', by);
    request.closeReason = reason;
  }

  private close(
    tx: Transaction,
    request: KeyRequest,
    project: Project,
    status: KeyRequest['status'],
    by: string,
  ): void {
    request.status = status;
    request.decidedBy = by;
    request.decidedAt = tx.at;
    project.pendingRequests = (project.pendingRequests ?? []).filter((p) => p.id !== request.id);
    tx.put(documentKeys.request(request.id), request);
    tx.save(project);
  }

  private expireIfDue(
    tx: Transaction,
    request: KeyRequest,
    project: Project,
    now = new Date(tx.at),
  ): boolean {
    if (Date.parse(request.expiresAt) > now.getTime()) return false;
    this.close(tx, request, project, 'expired', 'keyhouse');
    request.decidedAt = request.expiresAt;
    tx.record(
      {
        actor: 'keyhouse',
        action: 'key.request_expired',
        target: `${request.key.name} (${request.key.fingerprint})`,
        outcome: 'expired',
      },
      project,
    );
    return true;
  }

  /** Adds the requested key (unless an admin added it meanwhile) and returns the key added. */
  private async applyApproval(
    tx: Transaction,
    request: KeyRequest,
    project: Project,
    approver: string,
    note = '',
  ): Promise<SshKey | undefined> {
    if (request.extension) {
      // More time for a key already in the project: its expiry moves, nothing is added.
      const extended = applyExtension(tx, request, project);
      request.keyOwner = extended.addedBy;
      if (extended.expiresAt) request.keyExpiresAt = extended.expiresAt;
      this.close(tx, request, project, 'approved', approver);
      tx.record(
        {
          actor: approver,
          action: 'key.extension_approved',
          target: `${extended.name} (${extended.fingerprint}) for <@${request.requesters[0]}>`,
          outcome: 'approved',
          detail: `${request.extension.for} more, until ${(extended.expiresAt ?? '').slice(0, 16).replace('T', ' ')} UTC; approved by ${request.approvals.map((a) => `<@${a.userId}>`).join(', ')}${note}`,
        },
        project,
      );
      return extended;
    }
    let added: SshKey | undefined;
    const existing = project.keys.find((k) => k.fingerprint === request.key.fingerprint);
    // A full project refuses before anything changes: the request stays pending, the approval unsaved.
    if (!existing) assertKeyRoom(project);
    this.close(tx, request, project, 'approved', approver);
    if (existing) {
      // Added directly by an admin meanwhile: nothing more to add, and the key is theirs.
      request.keyId = existing.id;
      request.keyOwner = existing.addedBy;
      if (existing.expiresAt) request.keyExpiresAt = existing.expiresAt;
    } else {
      const requester = request.requesters[0] as string;
      const taken = new Set(project.keys.map((k) => k.name.toLowerCase()));
      let name = request.key.name;
      for (let n = 2; taken.has(name.toLowerCase()); n += 1) name = `${request.key.name.slice(0, 60)}-${n}`;
      const { expiresAt: asked, ...fields } = request.key;
      // The project's key lifetime, counted from now: a key asked for without an expiry gets it.
      const expiresAt = expiryAtApproval(project, asked, request.keyLifetime, tx.at);
      const key: SshKey = {
        ...fields,
        ...(expiresAt ? { expiresAt } : {}),
        name,
        id: this.workspaces.newId(),
        addedBy: requester,
        createdAt: tx.at,
        disabled: false,
        origin: 'request',
      };
      project.keys.push(key);
      (await tx.userKeys(requester)).keys.push({ projectId: project.id, keyId: key.id });
      request.keyId = key.id;
      request.keyOwner = requester;
      if (expiresAt) request.keyExpiresAt = expiresAt;
      added = key;
    }
    const approvers = request.approvals.map((a) => `<@${a.userId}>`).join(', ');
    tx.record(
      {
        actor: approver,
        action: 'key.request_approved',
        target: `${request.key.name} (${request.key.fingerprint}) for <@${request.requesters[0]}>`,
        outcome: 'approved',
        detail: `approved by ${approvers}${note}`,
      },
      project,
    );
    return added;
  }
}

/** The project's cancelled requests that still count, newest last. */
const recentlyCancelled = (project: Project, now: number): { requester: string; at: string }[] =>
  (project.recentlyCancelled ?? []).filter((c) => now - Date.parse(c.at) < CANCELLED_REQUEST_COUNTS_MS);
