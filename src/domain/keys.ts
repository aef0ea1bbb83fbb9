import { authorize, can } from './access';
import type { ApprovalService } from './approvals';
import type { DeliveryService } from './delivery';
import { type KeySetRollout, keySetRollout, readCheckIns } from './deliveryRollout';
import { DomainError } from './errors';
import { isExpired, parseExpiry } from './expiry';
import { parsePublicKey, type ParsedPublicKey } from './keys/parsePublicKey';
import { refusePrivateKey } from './keys/privateKey';
import { assertKeyRoom, assertReasonLength } from './limits';
import { assertKeyLifetime } from './keyPolicy';
import {
  afterKeyRemoved,
  type BreakGlassRecord,
  closeWithKey,
  type ClosedWithKey,
  dropKey,
} from './keyRemoval';
import type { Actor, KeyRequest, Project, SshKey, UserKeyIndex } from './model';
import { KEY_NAME_MAX, nameKey, notFound, validateKeyName } from './names';
import { quoteName } from './projects';
import { documentKeys, type Workspaces } from './workspaces';

export interface AddKeyInput {
  publicKey: string;
  name?: string;
  /** `8h`, `3d` or `YYYY-MM-DD`. */
  expires?: string;
  reason?: string;
}

/** A key checked and ready to add: what a form shows before the user confirms. */
export interface KeyCandidate {
  parsed: ParsedPublicKey;
  name: string | undefined;
  expiresAt: Date | undefined;
}

export type KeyChange = 'remove' | 'disable' | 'enable';

/** Admins add keys directly; members' additions become requests that admins decide. */
export type AddKeyOutcome =
  | { kind: 'added'; key: SshKey; project: Project }
  | { kind: 'requested'; request: KeyRequest; joined: boolean; project: Project };

const fingerprintTail = (fingerprint: string): string => fingerprint.replace(/^SHA256:/, '');

/** A name for a key that was given none: its comment, else `<type>-<8 chars of fingerprint>`. */
export function defaultKeyName(parsed: ParsedPublicKey): string {
  const fromComment = parsed.comment
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f<>`*]/g, '')
    .trim()
    .slice(0, KEY_NAME_MAX)
    .trim();
  return fromComment || `${parsed.type}-${fingerprintTail(parsed.fingerprint).slice(0, 8)}`;
}

/** `name`, or `name-2`, `name-3`… when a default name is taken. */
/** What a stored key keeps of its parsed public key. */
export const keyMaterial = ({ publicKey, type, bits, fingerprint, comment }: ParsedPublicKey) => ({
  publicKey,
  type,
  bits,
  fingerprint,
  comment,
});

/**
 * Whether a checked key may join a project, on every path that adds one: not there already (by
 * fingerprint), its name (when given) free, and room for one more key.
 */
export function assertKeyFits(project: Project, candidate: { parsed: ParsedPublicKey; name?: string }): void {
  const existing = project.keys.find((k) => k.fingerprint === candidate.parsed.fingerprint);
  if (existing) {
    throw new DomainError(
      'conflict',
      `This key is already in project *${project.name}* as *${existing.name}* (${existing.fingerprint}), added by <@${existing.addedBy}>.`,
      'public_key',
    );
  }
  if (
    candidate.name !== undefined &&
    project.keys.some((k) => nameKey(k.name) === nameKey(candidate.name ?? ''))
  ) {
    throw new DomainError(
      'conflict',
      `Project *${project.name}* already has a key named *${candidate.name}*. Choose another name with \`--name\`.`,
      'name',
    );
  }
  assertKeyRoom(project);
}

export function freeName(project: Project, wanted: string): string {
  const taken = new Set(project.keys.map((k) => nameKey(k.name)));
  if (!taken.has(nameKey(wanted))) return wanted;
  for (let n = 2; ; n += 1) {
    const suffix = `-${n}`;
    const candidate = wanted.slice(0, KEY_NAME_MAX - suffix.length) + suffix;
    if (!taken.has(nameKey(candidate))) return candidate;
  }
}

export class KeyService {
  constructor(
    private readonly workspaces: Workspaces,
    private readonly approvals: ApprovalService,
    private readonly delivery: DeliveryService,
  ) {}

  /** Checks input without touching storage: bad input is refused before anything is read or written. */
  check(input: AddKeyInput): KeyCandidate {
    const parsed = parsePublicKey(input.publicKey);
    if (input.reason !== undefined) refusePrivateKey(input.reason, 'reason');
    assertReasonLength(input.reason);
    const name = input.name !== undefined ? validateKeyName(input.name) : undefined;
    const expiresAt =
      input.expires !== undefined ? parseExpiry(input.expires, this.workspaces.now()) : undefined;
    return { parsed, name, expiresAt };
  }

  async add(actor: Actor, projectReference: string, input: AddKeyInput): Promise<AddKeyOutcome> {
    const candidate = this.check(input);
    const outcome = await this.workspaces.mutate(
      actor.teamId,
      async (tx): Promise<AddKeyOutcome> => {
        const project = await tx.project(projectReference, actor.userId);
        const direct = can(tx.context, actor.userId, 'key.add', project);
        if (!direct) authorize(tx.context, actor.userId, 'key.request', project);
        // Not an admin: the key must expire within the project's key lifetime (given it on approval).
        if (!direct) assertKeyLifetime(project, candidate.expiresAt, new Date(tx.at));
        const { parsed } = candidate;
        assertKeyFits(project, candidate);
        const fields = {
          name: candidate.name ?? freeName(project, defaultKeyName(parsed)),
          ...keyMaterial(parsed),
          ...(candidate.expiresAt ? { expiresAt: candidate.expiresAt.toISOString() } : {}),
        };
        if (!direct) {
          const { request, joined } = await this.approvals.request(tx, actor, project, fields, input.reason);
          return { kind: 'requested', request, joined, project };
        }
        const key: SshKey = {
          ...fields,
          id: this.workspaces.newId(),
          addedBy: actor.userId,
          createdAt: tx.at,
          disabled: false,
        };
        project.keys.push(key);
        (await tx.userKeys(actor.userId)).keys.push({ projectId: project.id, keyId: key.id });
        tx.record(
          {
            actor: actor.userId,
            action: 'key.added',
            target: `${key.name} (${key.fingerprint})`,
            ...(input.reason?.trim() ? { detail: input.reason.trim().slice(0, 300) } : {}),
          },
          project,
        );
        return { kind: 'added', key, project };
      },
      (organization) => [
        ...this.workspaces.projectReads(organization, projectReference),
        documentKeys.userKeys(organization.id, actor.userId),
      ],
    );
    // Committed: the indexes follow, and their failure is not the request's. Joining puts a request
    // back in the pending index too, in case its first entry was never written.
    if (outcome.kind === 'requested') {
      const { request } = outcome;
      this.workspaces.afterCommit('adding a request to the pending index', () =>
        this.approvals.track(request),
      );
    }
    if (outcome.kind === 'added') {
      const { key, project } = outcome;
      this.workspaces.afterCommit('adding a key to the expiry index', () =>
        this.delivery.trackExpiry(actor.teamId, project.id, key),
      );
      if (key.expiresAt) {
        this.workspaces.events.temporaryKeyAdded({
          teamId: actor.teamId,
          projectId: project.id,
          projectName: project.name,
          key,
        });
      }
    }
    return outcome;
  }

  async list(
    actor: Actor,
    projectReference: string,
  ): Promise<{ project: Project; keys: SshKey[]; now: Date }> {
    const { organization, documents } = await this.workspaces.organizationWith(
      actor.teamId,
      (read) => this.workspaces.projectReads(read, projectReference, false),
      true,
    );
    const project = await this.workspaces.project(organization, projectReference, actor.userId, documents);
    authorize(this.workspaces.context(organization), actor.userId, 'project.view', project);
    return { project, keys: project.keys, now: this.workspaces.now() };
  }

  /** The keys a user added, across projects: their index and the projects it names, two round trips. */
  async mine(actor: Actor): Promise<OwnedKey[]> {
    const organization = await this.workspaces.organization(actor.teamId);
    const index = await this.workspaces.store.get<UserKeyIndex>(
      documentKeys.userKeys(organization.id, actor.userId),
    );
    const projectIds = [...new Set((index?.keys ?? []).map((ref) => ref.projectId))];
    const projects = await this.workspaces.store.getMany<Project>(
      projectIds.map((id) => documentKeys.project(id)),
    );
    const owned: OwnedKey[] = [];
    for (const project of projects) {
      if (!project) continue;
      const ids = new Set(index?.keys.filter((ref) => ref.projectId === project.id).map((ref) => ref.keyId));
      for (const key of project.keys) {
        if (ids.has(key.id)) owned.push({ key, projectId: project.id, projectName: project.name });
      }
    }
    return owned;
  }

  /**
   * Removes, disables or enables a key. Once committed, one more read tells which instances have
   * fetched the set served now (`rollout`); if that read fails, the change stands and it is left out.
   */
  async change(
    actor: Actor,
    projectReference: string,
    keyReference: string,
    change: KeyChange,
  ): Promise<KeyChanged> {
    let serialBefore: number | undefined;
    let closedWithKey: ClosedWithKey = { closed: [] };
    const { key, project } = await this.workspaces.mutate(actor.teamId, async (tx) => {
      const project = await tx.project(projectReference, actor.userId);
      authorize(tx.context, actor.userId, 'project.manage', project);
      serialBefore = project.keySet?.serial;
      const key = findKey(project, keyReference);
      if (change === 'remove') {
        await dropKey(tx, project, key);
      } else {
        const disabled = change === 'disable';
        if (key.disabled === disabled) {
          throw new DomainError(
            'conflict',
            `Key *${key.name}* is already ${disabled ? 'disabled' : 'enabled'}.`,
          );
        }
        key.disabled = disabled;
      }
      const action = { remove: 'key.removed', disable: 'key.disabled', enable: 'key.enabled' }[change];
      tx.record({ actor: actor.userId, action, target: `${key.name} (${key.fingerprint})` }, project);
      // What waited on a removed key closes with it: its requests for more time, its break-glass review.
      if (change === 'remove') {
        closedWithKey = await closeWithKey(tx, this.workspaces, this.approvals, project, key, actor.userId);
      }
      return { key, project };
    });
    if (change === 'remove') {
      afterKeyRemoved(this.workspaces, this.approvals, {
        teamId: actor.teamId,
        key,
        by: actor.userId,
        ...closedWithKey,
      });
    }
    // The commit wrote the project's key set (and its serial) into `project`.
    const setChanged = project.keySet?.serial !== serialBefore;
    const rollout = await readCheckIns(this.workspaces.store, project)
      .then((checkIns) => keySetRollout(project, checkIns, this.workspaces.now()))
      .catch(() => undefined);
    return { key, project, setChanged, ...closedWithKey, ...(rollout ? { rollout } : {}) };
  }
}

export interface KeyChanged {
  key: SshKey;
  project: Project;
  /** Whether the change altered the set served to instances (a disabled key's removal does not). */
  setChanged: boolean;
  /** Which instances have fetched the set served now; absent when it could not be read. */
  rollout?: KeySetRollout;
  /** Removed: its pending requests for more time, withdrawn with it. */
  closed: KeyRequest[];
  /** Removed: a break-glass key's review, closed as removed. */
  breakGlass?: BreakGlassRecord;
}

export interface OwnedKey {
  key: SshKey;
  projectId: string;
  projectName: string;
}

/** Finds a key by ID, fingerprint (with or without `SHA256:`) or name (case-insensitive). */
export function findKey(project: Project, reference: string): SshKey {
  const wanted = reference.trim();
  const fingerprint = wanted.startsWith('SHA256:') ? wanted : `SHA256:${wanted}`;
  const found =
    project.keys.find((k) => k.id === wanted.toLowerCase()) ??
    project.keys.find((k) => k.fingerprint === fingerprint) ??
    project.keys.find((k) => nameKey(k.name) === nameKey(wanted));
  if (found) return found;
  throw notFound(
    `Project *${project.name}* has no key`,
    wanted,
    project.keys.map((k) => k.name),
    `\`/sshkey list ${quoteName(project.name)}\` shows its keys.`,
  );
}

export const keyState = (key: SshKey, now: Date): 'active' | 'disabled' | 'expired' =>
  key.disabled ? 'disabled' : isExpired(key.expiresAt, now) ? 'expired' : 'active';
