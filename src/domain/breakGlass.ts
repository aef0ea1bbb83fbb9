import { type AccessContext, authorize, can, ownersOf } from './access';
import { type ApprovalService, approversOf } from './approvals';
import type { DeliveryService } from './delivery';
import { DomainError, invalid } from './errors';
import { isExpired } from './expiry';
import {
  assertKeyFits,
  defaultKeyName,
  freeName,
  keyMaterial,
  type AddKeyInput,
  type KeyService,
} from './keys';
import { breakGlassMaxMs, breakGlassMaxOf, breakGlassOf, type BreakGlassMax } from './keyPolicy';
import type {
  Actor,
  BreakGlassRevocation,
  KeyRequest,
  Organization,
  Project,
  ProjectSummary,
  SshKey,
} from './model';
import {
  afterKeyRemoved,
  at,
  breakGlassKeys,
  closeWithKey,
  type BreakGlassIndex,
  type BreakGlassRecord,
  type ClosedWithKey,
  forgetBreakGlass,
  reviewedMessage,
  type ReviewDecision,
  dropKey,
} from './keyRemoval';
import { documentKeys, type Transaction, type Workspaces } from './workspaces';

/**
 * Break-glass: an on-call engineer adds a key at once, for a short time, with a reason, and an approver
 * reviews it afterwards (Keep or Revoke), exactly once. A key nobody reviewed before it expired is
 * recorded as unreviewed and the owners are told. Membership of the on-call group is Slack's to say:
 * it comes through `onCallMembers`, read before the workspace lock is taken, and a failure to read it
 * refuses (fails closed).
 */

/** Members of a workspace's user group; throws when they cannot be read. */
export type OnCallMembers = (teamId: string, groupId: string) => Promise<string[]>;

export interface BreakGlassOptions {
  onCallMembers?: OnCallMembers;
}

export type { BreakGlassIndex, BreakGlassRecord, ReviewDecision } from './keyRemoval';
export { breakGlassKeys, reviewedMessage } from './keyRemoval';

export interface BreakGlassAdded {
  key: SshKey & { expiresAt: string };
  project: Project;
  record: BreakGlassRecord;
  /** The project's maximum, and whether the expiry asked for was cut to it. */
  max: BreakGlassMax;
  capped: boolean;
}

export interface BreakGlassReviewed {
  record: BreakGlassRecord;
  /** Whether Revoke removed the key (absent: it was already gone). */
  removed: boolean;
  /** Pending requests for more time on a revoked key, withdrawn with it. */
  closed: KeyRequest[];
}

export interface Unreviewed {
  record: BreakGlassRecord;
  owners: string[];
}

const groupName = (organization: Organization): string => {
  const group = organization.settings.oncallGroup;
  return group?.handle ? `@${group.handle}` : 'the on-call group';
};

const keyTarget = (record: BreakGlassRecord): string =>
  `${record.keyName} (${record.fingerprint}) for <@${record.owner}>`;

export class BreakGlassService {
  constructor(
    private readonly workspaces: Workspaces,
    private readonly keys: KeyService,
    private readonly delivery: DeliveryService,
    private readonly approvals: ApprovalService,
    private readonly onCallMembers?: OnCallMembers,
  ) {}

  /** Sets (or, with null, clears) the user group whose members may add break-glass keys. Owners only. */
  async setOnCallGroup(actor: Actor, group: { id: string; handle?: string } | null): Promise<Organization> {
    if (group && !/^S[A-Z0-9]+$/.test(group.id)) {
      throw invalid('Name the on-call group as a mention, like `@oncall`, or `none` to clear it.');
    }
    const handle = group?.handle?.replace(/^@/, '').trim().slice(0, 80);
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      authorize(tx.context, actor.userId, 'organization.manage');
      const current = tx.organization.settings.oncallGroup;
      if (group) {
        if (current?.id === group.id && current.handle === handle) return tx.organization;
        tx.organization.settings.oncallGroup = { id: group.id, ...(handle ? { handle } : {}) };
      } else {
        if (!current) return tx.organization;
        delete tx.organization.settings.oncallGroup;
      }
      tx.touchOrganization();
      tx.record({
        actor: actor.userId,
        action: group ? 'organization.oncall_group_set' : 'organization.oncall_group_cleared',
        ...(group ? { target: handle ? `@${handle} (${group.id})` : group.id } : {}),
      });
      return tx.organization;
    });
  }

  /**
   * Adds a break-glass key for a member of the on-call group, whatever their role on the project.
   * Every refusal comes before anything is written.
   */
  async add(actor: Actor, projectReference: string, input: AddKeyInput): Promise<BreakGlassAdded> {
    if (!input.reason?.trim()) {
      throw invalid(
        'A break-glass key needs a reason, which the approvers read: add `--reason "<why>"`, such as the incident.',
        'reason',
      );
    }
    const candidate = this.keys.check(input);
    const reason = input.reason.trim();
    const organization = await this.workspaces.organization(actor.teamId);
    const groupId = await this.assertOnCall(actor, organization, projectReference);
    const added = await this.workspaces.mutate(actor.teamId, async (tx): Promise<BreakGlassAdded> => {
      if (tx.organization.settings.oncallGroup?.id !== groupId) {
        throw new DomainError(
          'conflict',
          'The on-call group was changed just now, so nothing was added. Try again.',
        );
      }
      const project = await tx.project(projectReference);
      if (breakGlassOf(project) !== 'on') {
        throw new DomainError(
          'forbidden',
          `Break-glass is off for project *${project.name}*, so nothing was added. An admin of the project turns it on with \`/project set ${quote(project.name)} break-glass on\`. ${askInstead(tx.context, actor.userId, project, true)}`,
        );
      }
      const now = new Date(tx.at);
      const revoked = recentRevocation(project, actor.userId, now);
      if (revoked) {
        const until = new Date(Date.parse(revoked.at) + breakGlassMaxMs(project)).toISOString();
        throw new DomainError(
          'forbidden',
          `<@${revoked.by}> revoked your break-glass key *${revoked.keyName}* in project *${project.name}* on ${at(revoked.at)}, so nothing was added: ` +
            `no break-glass key for you in this project until ${at(until)} (its break-glass max, ${breakGlassMaxOf(project)}, after the revocation). ` +
            `The way back is a normal request: ${askInstead(tx.context, actor.userId, project, true, true)}`,
        );
      }
      const live = project.keys.find(
        (k) => k.origin === 'breakglass' && k.addedBy === actor.userId && !isExpired(k.expiresAt, now),
      );
      if (live) {
        throw new DomainError(
          'conflict',
          `You already have a live break-glass key in project *${project.name}*: *${live.name}* (${live.fingerprint}), until ${at(live.expiresAt ?? tx.at)}. ` +
            'One at a time: use it, or ask an admin to remove it before adding another.',
          'public_key',
        );
      }
      const { parsed } = candidate;
      assertKeyFits(project, candidate);
      // At most the project's break-glass maximum, whatever was asked.
      const cap = now.getTime() + breakGlassMaxMs(project);
      const asked = candidate.expiresAt?.getTime();
      const expiresAt = new Date(Math.min(asked ?? cap, cap)).toISOString();
      const key: SshKey & { expiresAt: string } = {
        id: this.workspaces.newId(),
        name: candidate.name ?? freeName(project, defaultKeyName(parsed)),
        ...keyMaterial(parsed),
        addedBy: actor.userId,
        createdAt: tx.at,
        disabled: false,
        expiresAt,
        origin: 'breakglass',
        breakGlass: { reason },
      };
      project.keys.push(key);
      (await tx.userKeys(actor.userId)).keys.push({ projectId: project.id, keyId: key.id });
      const record: BreakGlassRecord = {
        id: key.id,
        teamId: actor.teamId,
        projectId: project.id,
        projectName: project.name,
        owner: actor.userId,
        keyName: key.name,
        fingerprint: key.fingerprint,
        reason,
        createdAt: tx.at,
        expiresAt,
        cards: [],
      };
      tx.put(breakGlassKeys.record(key.id), record);
      tx.record(
        {
          actor: actor.userId,
          action: 'key.breakglass_added',
          target: `${key.name} (${key.fingerprint})`,
          detail: `until ${at(expiresAt)}: ${reason}`,
        },
        project,
      );
      return {
        key,
        project,
        record,
        max: breakGlassMaxOf(project),
        capped: asked !== undefined && asked > cap,
      };
    });
    // Committed: the indexes follow (the expiry notices, and the review sweep).
    this.workspaces.afterCommit('adding a key to the expiry index', () =>
      this.delivery.trackExpiry(actor.teamId, added.project.id, added.key),
    );
    // Its owner gets the key's controls (I'm done, Extend) by direct message.
    this.workspaces.events.temporaryKeyAdded({
      teamId: actor.teamId,
      projectId: added.project.id,
      projectName: added.project.name,
      key: added.key,
    });
    // With it, any other key of the project awaiting review that a failed write left out of the index.
    const awaiting = awaitingReview(added.project, Date.parse(added.record.createdAt));
    this.workspaces.afterCommit('adding a break-glass key to the review index', () =>
      this.track(actor.teamId, awaiting),
    );
    return added;
  }

  /** Records where a key's cards were posted, so its review can update them. */
  async attachCards(
    actor: Actor,
    keyId: string,
    cards: BreakGlassRecord['cards'],
  ): Promise<BreakGlassRecord> {
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      const record = await this.load(tx, keyId);
      record.cards = [...record.cards, ...cards];
      tx.put(breakGlassKeys.record(record.id), record);
      return record;
    });
  }

  /**
   * Keep or Revoke, by an approver of the project who does not own the key: decided once, under the
   * workspace lock, on a fresh read of the record; a later click is told who reviewed it.
   */
  async review(actor: Actor, keyId: string, decision: ReviewDecision): Promise<BreakGlassReviewed> {
    const reviewed = await this.workspaces.mutate(
      actor.teamId,
      async (tx): Promise<BreakGlassReviewed & { key?: SshKey }> => {
        const record = await this.load(tx, keyId);
        if (record.review || record.unreviewedAt) throw new DomainError('conflict', reviewedMessage(record));
        if (record.owner === actor.userId) {
          throw new DomainError(
            'forbidden',
            'You added this break-glass key, so another approver of the project reviews it: nobody reviews their own break-glass key.',
          );
        }
        const project = await tx.project(record.projectId);
        if (!can(tx.context, actor.userId, 'project.manage', project)) {
          const approvers = approversOf(project, ownersOf(tx.context)).filter((u) => u !== record.owner);
          throw new DomainError(
            'forbidden',
            `Reviewing a break-glass key is for the approvers of project *${project.name}* (its admins and the organization owners), and you are not one. ` +
              `Who can: ${approvers.length ? approvers.map((u) => `<@${u}>`).join(', ') : 'nobody yet'}.`,
          );
        }
        const key = project.keys.find((k) => k.id === record.id);
        // Removed by its owner: still reviewed (a Revoke still bars them), until its original expiry.
        if (!key && !record.ownerRemovedAt) {
          throw new DomainError(
            'conflict',
            `This break-glass key was already removed from project *${project.name}*, so there is nothing to keep or revoke. \`/org audit ${quote(project.name)}\` shows who removed it.`,
          );
        }
        const expiresAt = key?.expiresAt ?? record.expiresAt;
        if (Date.parse(expiresAt) <= Date.parse(tx.at)) {
          throw new DomainError(
            'conflict',
            `This break-glass key expired on ${at(expiresAt)} before anyone reviewed it; it is no longer served, and Keyhouse records it as unreviewed.`,
          );
        }
        const outcome = decision === 'keep' ? 'kept' : 'revoked';
        record.review = { by: actor.userId, at: tx.at, decision: outcome };
        let removed = false;
        let closedWithKey: ClosedWithKey = { closed: [] };
        if (decision === 'revoke') {
          // Its owner may not add another by break-glass for a while, even if they removed it already.
          remember(
            project,
            { userId: record.owner, by: actor.userId, at: tx.at, keyName: record.keyName },
            tx.at,
          );
        }
        if (decision === 'revoke' && key) {
          await dropKey(tx, project, key);
          removed = true;
          // Its requests for more time close with it.
          closedWithKey = await closeWithKey(
            tx,
            this.workspaces,
            this.approvals,
            project,
            key,
            actor.userId,
            true,
          );
        } else if (key && decision === 'keep') {
          key.breakGlass = {
            ...(key.breakGlass ?? { reason: record.reason }),
            reviewedBy: actor.userId,
            reviewedAt: tx.at,
            review: 'kept',
          };
        }
        tx.put(breakGlassKeys.record(record.id), record);
        tx.record(
          {
            actor: actor.userId,
            action: decision === 'keep' ? 'key.breakglass_kept' : 'key.breakglass_revoked',
            target: keyTarget(record),
            outcome: decision === 'keep' ? 'approved' : 'denied',
          },
          project,
        );
        return { record, removed, closed: closedWithKey.closed, key };
      },
    );
    this.workspaces.afterCommit('removing a reviewed break-glass key from the review index', () =>
      forgetBreakGlass(this.workspaces, [keyId]),
    );
    const { key, ...result } = reviewed;
    if (key) {
      afterKeyRemoved(this.workspaces, this.approvals, {
        teamId: actor.teamId,
        key,
        by: actor.userId,
        closed: result.closed,
      });
    }
    return result;
  }

  /**
   * Marks every break-glass key whose time ran out unreviewed, in every workspace, once each (under the
   * workspace lock, whichever replica gets there first), and returns them with the owners to tell. A key
   * whose expiry moved later (an extension) waits for its new expiry.
   */
  async markUnreviewed(now: Date = this.workspaces.now()): Promise<Unreviewed[]> {
    await this.workspaces.settled();
    const index = await this.workspaces.store.get<BreakGlassIndex>(breakGlassKeys.index());
    const due = (index?.keys ?? []).filter((k) => Date.parse(k.expiresAt) <= now.getTime());
    const marked: Unreviewed[] = [];
    const settled = new Set<string>();
    const later = new Map<string, string>();
    for (const entry of due) {
      const result = await this.workspaces.mutate(entry.teamId, async (tx) => {
        const record = await tx.read<BreakGlassRecord>(breakGlassKeys.record(entry.id));
        if (!record || record.review || record.unreviewedAt) return undefined;
        const project = await tx.project(record.projectId).catch(() => undefined);
        const key = project?.keys.find((k) => k.id === record.id);
        if (key?.expiresAt && Date.parse(key.expiresAt) > now.getTime()) {
          record.expiresAt = key.expiresAt;
          tx.put(breakGlassKeys.record(record.id), record);
          return { later: key.expiresAt };
        }
        record.unreviewedAt = now.toISOString();
        tx.put(breakGlassKeys.record(record.id), record);
        if (key) key.breakGlass = { ...(key.breakGlass ?? { reason: record.reason }), review: 'unreviewed' };
        if (project) {
          tx.record(
            {
              actor: 'keyhouse',
              action: 'key.breakglass_unreviewed',
              target: keyTarget(record),
              outcome: 'expired',
              detail: record.reason,
            },
            project,
          );
        }
        return { marked: { record, owners: ownersOf(tx.context) } };
      });
      if (result?.later) later.set(entry.id, result.later);
      else settled.add(entry.id);
      if (result?.marked) marked.push(result.marked);
    }
    if (settled.size > 0 || later.size > 0) {
      await this.updateIndex((current) => {
        current.keys = current.keys
          .filter((k) => !settled.has(k.id))
          .map((k) => (later.has(k.id) ? { ...k, expiresAt: later.get(k.id) as string } : k));
      });
    }
    return marked;
  }

  /**
   * Reads the on-call group's members from Slack; refuses when they cannot be read or the actor is not
   * one. A refusal's advice depends on the project named, read only then.
   */
  private async assertOnCall(
    actor: Actor,
    organization: Organization,
    projectReference: string,
  ): Promise<string> {
    const group = organization.settings.oncallGroup;
    const instead = async (): Promise<string> => {
      const project = await this.workspaces.project(organization, projectReference).catch(() => undefined);
      return askInstead(this.workspaces.context(organization), actor.userId, project, false);
    };
    if (!group) {
      throw new DomainError(
        'forbidden',
        `Break-glass is for the members of the organization's on-call group, and none is set, so nothing was added. An organization owner sets it with \`/org set oncall-group @group\`. ${await instead()}`,
      );
    }
    let members: string[];
    try {
      if (!this.onCallMembers) throw new Error('no directory');
      members = await this.onCallMembers(actor.teamId, group.id);
    } catch (error) {
      const code =
        error instanceof Error && /^[a-z_]{3,40}$/.test(error.message) ? ` (${error.message})` : '';
      throw new DomainError(
        'busy',
        `Keyhouse could not read the members of ${groupName(organization)} from Slack${code}, so no break-glass key was added: it never adds one without knowing you are on call. ` +
          `Try again in a minute; if it keeps failing, ask whoever runs Keyhouse to check that the app has the \`usergroups:read\` scope. ${await instead()}`,
      );
    }
    if (!members.includes(actor.userId)) {
      throw new DomainError(
        'forbidden',
        `Break-glass is for the members of ${groupName(organization)}, and you are not one, so nothing was added. Ask to be added to the group in Slack if you are on call (Keyhouse sees the change within a minute). ${await instead()}`,
      );
    }
    return group.id;
  }

  private async load(tx: Transaction, keyId: string): Promise<BreakGlassRecord> {
    const record = await tx.read<BreakGlassRecord>(breakGlassKeys.record(keyId));
    if (!record || record.teamId !== tx.organization.teamId) {
      throw new DomainError('not_found', 'That break-glass key is not on record.');
    }
    return record;
  }

  /**
   * Projects with break-glass on that an on-call member cannot otherwise see, for the add-key form (where
   * they may add only a break-glass key). Empty without an on-call group, when every project is visible,
   * or when Slack cannot say the user is on call: two round trips and one lookup at most.
   */
  async breakGlassOnlyProjects(actor: Actor, visible: readonly { id: string }[]): Promise<ProjectSummary[]> {
    const organization = await this.workspaces.organization(actor.teamId);
    const group = organization.settings.oncallGroup;
    const seen = new Set(visible.map((p) => p.id));
    const hidden = organization.projects.filter((p) => !seen.has(p.id));
    if (!group || hidden.length === 0 || !this.onCallMembers) return [];
    const projects = await this.workspaces.store.getMany<Project>(
      hidden.map((p) => documentKeys.project(p.id)),
    );
    const open = new Set(projects.filter((p) => p && breakGlassOf(p) === 'on').map((p) => p?.id));
    if (open.size === 0) return [];
    const members = await this.onCallMembers(actor.teamId, group.id).catch((): string[] => []);
    return members.includes(actor.userId) ? hidden.filter((p) => open.has(p.id)) : [];
  }

  /**
   * Break-glass keys the user may review now, in their workspace, oldest first: found from the projects'
   * keys (written with each key; the deployment index is written after, and can miss one) and from the
   * index (a key its owner removed before any review is only there), then their records: three round
   * trips. A key awaiting review missing from the index is put back in it, so the sweep marks it
   * unreviewed if its time runs out.
   */
  async reviewableBy(actor: Actor, manageable?: Project[]): Promise<BreakGlassRecord[]> {
    const [managed, index] = await Promise.all([
      manageable ?? this.workspaces.manageableProjects(actor),
      this.workspaces.store.get<BreakGlassIndex>(breakGlassKeys.index()),
    ]);
    const now = this.workspaces.now().getTime();
    const keys = managed.flatMap((p) => awaitingReview(p, now));
    // Keys their owners removed before any review are gone from the projects but not from the index.
    const inProjects = new Set(keys.map((k) => k.id));
    const removed = (index?.keys ?? [])
      .filter((k) => k.teamId === actor.teamId && !inProjects.has(k.id) && Date.parse(k.expiresAt) > now)
      .map((k) => k.id);
    if (keys.length === 0 && removed.length === 0) return [];
    const stored = await this.workspaces.store.getMany<BreakGlassRecord>(
      [...keys.map((k) => k.id), ...removed].map((id) => breakGlassKeys.record(id)),
    );
    const reviewable = new Set(managed.map((p) => p.id));
    const open = new Set(
      stored
        .filter(
          (r): r is BreakGlassRecord =>
            !!r && r.teamId === actor.teamId && reviewable.has(r.projectId) && !r.review && !r.unreviewedAt,
        )
        .map((r) => r.id),
    );
    const indexed = new Set((index?.keys ?? []).map((k) => k.id));
    const unindexed = keys.filter((k) => open.has(k.id) && !indexed.has(k.id));
    if (unindexed.length > 0) {
      this.workspaces.afterCommit('putting break-glass keys back in the review index', () =>
        this.track(actor.teamId, unindexed),
      );
    }
    return stored
      .filter((r): r is BreakGlassRecord => !!r && open.has(r.id) && r.owner !== actor.userId)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Adds keys awaiting review to the deployment's review index (after their commit), once each. */
  private track(teamId: string, keys: SshKey[]): Promise<void> {
    return this.updateIndex((index) => {
      for (const key of keys) {
        if (!index.keys.some((k) => k.id === key.id)) {
          index.keys.push({ id: key.id, teamId, expiresAt: key.expiresAt ?? new Date(0).toISOString() });
        }
      }
    });
  }

  private updateIndex(change: (index: BreakGlassIndex) => void): Promise<void> {
    return this.workspaces.updateShared<BreakGlassIndex>(breakGlassKeys.index(), { keys: [] }, change);
  }
}

const quote = (name: string): string => (/\s/.test(name) ? `"${name}"` : name);

/** A project's break-glass keys that nobody has reviewed yet and whose time has not run out. */
const awaitingReview = (project: Project, now: number): SshKey[] =>
  project.keys.filter(
    (k) => k.origin === 'breakglass' && !k.breakGlass?.review && Date.parse(k.expiresAt ?? '') > now,
  );

/** The longest any project's break-glass lasts: revocations older than that bind nobody. */
const LONGEST_BREAK_GLASS_MS = 8 * 3_600_000;

/** Remembers a revocation in the project, dropping those that no longer bind anyone. */
function remember(project: Project, revocation: BreakGlassRevocation, now: string): void {
  const kept = (project.breakGlassRevoked ?? []).filter(
    (r) => Date.parse(now) - Date.parse(r.at) < LONGEST_BREAK_GLASS_MS && r.userId !== revocation.userId,
  );
  project.breakGlassRevoked = [...kept, revocation];
}

/** The revocation of the user's break-glass key that still bars them, if any: for the project's max. */
function recentRevocation(project: Project, userId: string, now: Date): BreakGlassRevocation | undefined {
  return (project.breakGlassRevoked ?? []).find(
    (r) => r.userId === userId && now.getTime() - Date.parse(r.at) < breakGlassMaxMs(project),
  );
}

/**
 * What to do instead of break-glass: a normal request for one who may ask for keys in the project,
 * else an admin to ask (named to one who can see the project, or who is on call, `onCall`).
 */
function askInstead(
  context: AccessContext,
  userId: string,
  project: Project | undefined,
  onCall: boolean,
  wayBack = false,
): string {
  if (project && can(context, userId, 'key.request', project)) {
    return wayBack
      ? `ask for the key without \`--breakglass\` (\`/sshkey add ${quote(project.name)} <public key>\`): an admin approves it.`
      : 'Meanwhile, ask for the key without `--breakglass`: an admin approves it.';
  }
  const lead = wayBack ? '' : 'Meanwhile, ';
  if (project && (onCall || can(context, userId, 'project.view', project))) {
    const approvers = approversOf(project, ownersOf(context)).filter((u) => u !== userId);
    if (approvers.length > 0) {
      const named = approvers.slice(0, 5).map((u) => `<@${u}>`);
      const more = approvers.length > 5 ? ` and ${approvers.length - 5} more` : '';
      return `${lead}you cannot ask for keys in project *${project.name}* yourself: ask one of its approvers (${named.join(', ')}${more}) to add your key or to give you a role.`;
    }
  }
  return `${lead}you cannot ask for keys in this project yourself: ask one of its admins (or an organization owner) to add your key or to give you a role.`;
}
