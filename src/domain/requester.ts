import { type AccessContext, authorize, can } from './access';
import { closedMessage, type ApprovalService } from './approvals';
import type { DeliveryService } from './delivery';
import { DomainError, invalid } from './errors';
import { parseDuration } from './expiry';
import { assertExtensionWithinPolicy, extendedExpiry, isBreakGlassKey, isTemporaryKey } from './extensions';
import { refusePrivateKey } from './keys/privateKey';
import { assertReasonLength } from './limits';
import { afterKeyRemoved, type BreakGlassRecord, closeWithKey, dropKey } from './keyRemoval';
import type { Actor, KeyRequest, Project, SshKey } from './model';
import { quoteName } from './projects';
import { documentKeys, type Transaction, type Workspaces } from './workspaces';

/**
 * What a requester controls: cancelling their own pending request, and for a temporary key (one with an
 * expiry: approved, added with `--expires`, or break-glass) saying they are done with it or asking for
 * more time. Only the person concerned may do each, once; every refusal changes nothing.
 */

/** The choices offered for more time; the domain accepts any such duration within the bounds below. */
export const EXTENSION_CHOICES = ['1h', '8h', '3d'] as const;
const MIN_EXTENSION_MS = 5 * 60_000;
const MAX_EXTENSION_MS = 30 * 86_400_000;

export type ExtendOutcome =
  | { kind: 'extended'; key: SshKey; project: Project }
  | { kind: 'requested'; request: KeyRequest; project: Project };

export interface CancelOutcome {
  request: KeyRequest;
  /** `cancelled`: closed, nothing added. `left`: others asked for it too, so it stays open for them. */
  outcome: 'cancelled' | 'left';
}

export interface FinishOutcome {
  key: SshKey;
  project: Project;
  /** Pending extensions of the key, closed with it: their cards are to be updated. */
  closed: KeyRequest[];
  /** A break-glass key's review, closed as removed (by an admin; never by its owner's I'm done). */
  breakGlass?: BreakGlassRecord;
  /** A break-glass key its owner removed: its review stays open. */
  stillToReview?: BreakGlassRecord;
}

function parseExtensionLength(text: string): { for: string; forMs: number } {
  const wanted = text.trim().toLowerCase();
  const ms = /^\d{1,6}\s*[mhd]$/.test(wanted) ? parseDuration(wanted) : undefined;
  if (ms === undefined || ms < MIN_EXTENSION_MS || ms > MAX_EXTENSION_MS) {
    throw invalid(
      wanted
        ? `\`${text.slice(0, 20)}\` is not a length of time Keyhouse can add: choose ${EXTENSION_CHOICES.join(', ')}, or give minutes, hours or days (\`${MIN_EXTENSION_MS / 60_000}m\` to \`${MAX_EXTENSION_MS / 86_400_000}d\`).`
        : `Choose how much more time you need: ${EXTENSION_CHOICES.join(', ')}.`,
      'extend_for',
    );
  }
  return { for: wanted.replace(/\s+/g, ''), forMs: ms };
}

export class RequesterService {
  constructor(
    private readonly workspaces: Workspaces,
    private readonly approvals: ApprovalService,
    private readonly delivery: DeliveryService,
  ) {}

  /** Cancels a pending request for its requester (others who joined it keep it open). */
  async cancel(actor: Actor, requestId: string): Promise<CancelOutcome> {
    const result = await this.workspaces.mutate(actor.teamId, async (tx): Promise<CancelOutcome> => {
      const request = await tx.read<KeyRequest>(documentKeys.request(requestId));
      if (!request || request.teamId !== actor.teamId) {
        throw new DomainError('not_found', 'That request no longer exists, so there is nothing to cancel.');
      }
      if (!request.requesters.includes(actor.userId)) {
        throw new DomainError(
          'forbidden',
          `Only who asked for it (${request.requesters.map((r) => `<@${r}>`).join(', ')}) can cancel this request. ` +
            'An approver who does not want it can deny it from its card.',
        );
      }
      if (request.status !== 'pending') throw new DomainError('conflict', closedMessage(request));
      if (Date.parse(request.expiresAt) <= Date.parse(tx.at)) {
        throw new DomainError('conflict', 'This request has already expired: there is nothing to cancel.');
      }
      const project = await tx.project(request.projectId);
      const target = `${request.key.name} (${request.key.fingerprint})`;
      const remaining = request.requesters.filter((r) => r !== actor.userId);
      if (remaining.length > 0) {
        request.requesters = remaining;
        const ref = project.pendingRequests?.find((p) => p.id === request.id);
        if (ref && ref.requester === actor.userId) ref.requester = remaining[0] as string;
        tx.put(documentKeys.request(request.id), request);
        tx.record({ actor: actor.userId, action: 'key.request_left', target }, project);
        return { request, outcome: 'left' };
      }
      this.approvals.withdraw(tx, request, project, actor.userId, 'cancelled');
      this.approvals.noteCancelled(tx, project, actor.userId);
      tx.record({ actor: actor.userId, action: 'key.request_cancelled', target, outcome: 'denied' }, project);
      return { request, outcome: 'cancelled' };
    });
    if (result.outcome === 'cancelled') {
      this.workspaces.afterCommit('removing a cancelled request from the pending index', () =>
        this.approvals.forget([result.request.id]),
      );
    }
    return result;
  }

  /**
   * Removes a temporary key now, for its owner; pending requests for more time on it close with it. A
   * break-glass key's review stays open: its approvers still Keep or Revoke it (a Revoke still bars its
   * owner), and nobody reviewing it by its expiry still marks it unreviewed.
   */
  async finish(actor: Actor, projectId: string, keyId: string): Promise<FinishOutcome> {
    const result = await this.workspaces.mutate(actor.teamId, async (tx): Promise<FinishOutcome> => {
      const { project, key } = await this.ownedKey(tx, actor, projectId, keyId, 'remove');
      await dropKey(tx, project, key);
      tx.record(
        { actor: actor.userId, action: 'key.done', target: `${key.name} (${key.fingerprint})` },
        project,
      );
      const closedWithKey = await closeWithKey(
        tx,
        this.workspaces,
        this.approvals,
        project,
        key,
        actor.userId,
      );
      return { key, project, ...closedWithKey };
    });
    afterKeyRemoved(this.workspaces, this.approvals, { teamId: actor.teamId, by: actor.userId, ...result });
    return result;
  }

  /** The checks of `extend`, without asking: the form asking how long opens only if they pass. */
  async prepareExtension(
    actor: Actor,
    projectId: string,
    keyId: string,
  ): Promise<{ key: SshKey; project: Project; direct: boolean }> {
    const organization = await this.workspaces.organization(actor.teamId);
    const project = await this.workspaces
      .project(organization, projectId)
      .catch(() => Promise.reject(projectGone()));
    const context = this.workspaces.context(organization);
    const key = this.checkExtendable(context, actor, project, keyId);
    return { key, project, direct: extendsDirectly(context, actor, project, key) };
  }

  /**
   * Asks for more time on a temporary key. An admin's own key that is not break-glass is extended at
   * once, as they could add it again with a later expiry; anyone else's request goes to the approvers,
   * and a break-glass key's extension always does.
   */
  async extend(
    actor: Actor,
    projectId: string,
    keyId: string,
    input: { for: string; reason?: string },
  ): Promise<ExtendOutcome> {
    const length = parseExtensionLength(input.for);
    if (input.reason !== undefined) refusePrivateKey(input.reason, 'reason');
    assertReasonLength(input.reason);
    const outcome = await this.workspaces.mutate(actor.teamId, async (tx): Promise<ExtendOutcome> => {
      const project = await tx.project(projectId).catch(() => Promise.reject(projectGone()));
      const key = this.checkExtendable(tx.context, actor, project, keyId);
      const now = new Date(tx.at);
      const until = extendedExpiry(key, length.forMs, now);
      assertExtensionWithinPolicy(tx.context, project, actor.userId, until, now);
      const breakGlass = isBreakGlassKey(key);
      if (extendsDirectly(tx.context, actor, project, key)) {
        key.expiresAt = until.toISOString();
        tx.record(
          {
            actor: actor.userId,
            action: 'key.extended',
            target: `${key.name} (${key.fingerprint})`,
            detail: `${length.for} more, until ${key.expiresAt.slice(0, 16).replace('T', ' ')} UTC${input.reason?.trim() ? `: ${input.reason.trim().slice(0, 300)}` : ''}`,
          },
          project,
        );
        return { kind: 'extended', key, project };
      }
      const { request } = await this.approvals.request(
        tx,
        actor,
        project,
        {
          name: key.name,
          publicKey: key.publicKey,
          type: key.type,
          bits: key.bits,
          fingerprint: key.fingerprint,
          comment: key.comment,
          expiresAt: until.toISOString(),
        },
        input.reason,
        {
          keyId: key.id,
          for: length.for,
          forMs: length.forMs,
          previousExpiresAt: key.expiresAt as string,
          ...(breakGlass ? { breakGlass: true } : {}),
        },
      );
      return { kind: 'requested', request, project };
    });
    if (outcome.kind === 'requested') {
      const { request } = outcome;
      this.workspaces.afterCommit('adding a request to the pending index', () =>
        this.approvals.track(request),
      );
    } else {
      const { key, project } = outcome;
      this.workspaces.afterCommit('moving a key in the expiry index', () =>
        this.delivery.trackExpiry(actor.teamId, project.id, key),
      );
    }
    return outcome;
  }

  // ——— inside a transaction ———

  private async ownedKey(
    tx: Transaction,
    actor: Actor,
    projectId: string,
    keyId: string,
    doing: 'remove' | 'extend',
  ): Promise<{ project: Project; key: SshKey }> {
    const project = await tx.project(projectId).catch(() => Promise.reject(projectGone()));
    const key = project.keys.find((k) => k.id === keyId);
    if (!key) {
      throw new DomainError(
        'conflict',
        `That key is already gone from project *${project.name}*: nothing was ${doing === 'remove' ? 'removed' : 'changed'}. ` +
          `\`/sshkey list ${quoteName(project.name)}\` shows the keys left.`,
      );
    }
    if (key.addedBy !== actor.userId) throw notYours(key, project, doing);
    // I'm done is for temporary keys only: a permanent or disabled key is an admin's to remove.
    const remove = `An admin of *${project.name}* can remove it with \`/sshkey remove ${quoteName(project.name)} ${key.name}\`.`;
    if (!isTemporaryKey(key)) {
      throw new DomainError(
        'forbidden',
        `Key *${key.name}* has no expiry, so I'm done does not apply and nothing was removed. ${remove}`,
      );
    }
    if (key.disabled) {
      throw new DomainError(
        'forbidden',
        `Key *${key.name}* is disabled by an admin, so I'm done does not apply and nothing was removed. ${remove}`,
      );
    }
    return { project, key };
  }

  private checkExtendable(context: AccessContext, actor: Actor, project: Project, keyId: string): SshKey {
    const key = project.keys.find((k) => k.id === keyId);
    if (!key) {
      throw new DomainError(
        'conflict',
        `That key is no longer in project *${project.name}*, so it cannot be extended. Add it again with \`/sshkey add\`.`,
      );
    }
    if (key.addedBy !== actor.userId) throw notYours(key, project, 'extend');
    if (!isTemporaryKey(key)) {
      throw new DomainError('conflict', `Key *${key.name}* has no expiry, so there is nothing to extend.`);
    }
    if (key.disabled) {
      throw new DomainError(
        'conflict',
        `Key *${key.name}* is disabled. Ask an admin of *${project.name}* to enable it (\`/sshkey enable\`) before asking for more time.`,
      );
    }
    // Break-glass keys are extended by their owner as owner; any other key needs the right to ask for keys.
    if (!isBreakGlassKey(key)) authorize(context, actor.userId, 'key.request', project);
    const pending = (project.pendingRequests ?? []).find((p) => p.fingerprint === key.fingerprint);
    if (pending) {
      const closes = (pending.expiresAt ?? pending.createdAt).slice(0, 16).replace('T', ' ');
      throw new DomainError(
        'conflict',
        pending.requester === actor.userId
          ? `You already asked for more time on *${key.name}*: that request waits for a decision until ${closes} UTC. ` +
              'Cancel it from its message first to ask for a different length.'
          : `<@${pending.requester}> has a request for this same key (${key.fingerprint}) waiting for a decision until ${closes} UTC, ` +
              'and a key has one open request at a time. Ask again once it is decided, or ask an approver of the project to decide it now.',
        'extend_for',
      );
    }
    return key;
  }
}

/** An admin's own key that is not break-glass is extended at once; every other goes to the approvers. */
const extendsDirectly = (context: AccessContext, actor: Actor, project: Project, key: SshKey): boolean =>
  !isBreakGlassKey(key) && can(context, actor.userId, 'key.add', project);

const projectGone = (): DomainError =>
  new DomainError('not_found', 'That key’s project no longer exists, so the key is gone with it.');

function notYours(key: SshKey, project: Project, doing: 'remove' | 'extend'): DomainError {
  const what = doing === 'remove' ? 'say they are done with it' : 'ask for more time on it';
  const instead =
    doing === 'remove'
      ? `An admin of *${project.name}* can remove it with \`/sshkey remove ${quoteName(project.name)} ${key.name}\`.`
      : 'Add a key of your own with `/sshkey add` if you need access.';
  return new DomainError(
    'forbidden',
    `Only <@${key.addedBy}>, who added *${key.name}*, can ${what}. ${instead}`,
  );
}
