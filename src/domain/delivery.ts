import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { authorize } from './access';
import { validateLocation, validateResourceName } from './catalog';
import { type KeySetHead, keySetKeys } from './deliveryKeySet';
import { SignedKeySets } from './deliverySigned';
import { DomainError } from './errors';
import { isExpired } from './expiry';
import type {
  Actor,
  CheckIn as CheckInRecord,
  DeliveryToken,
  ExpiryIndex,
  Project,
  Resource,
  SshKey,
} from './model';
import {
  MAX_REGISTRATIONS_PER_TOKEN_PER_MINUTE,
  MAX_RESOURCES_PER_PROJECT,
  MAX_TOKENS_PER_PROJECT,
} from './limits';
import { nameKey } from './names';
import type { DeploymentSigningKey } from './signingKey';
import { documentKeys, UUID, type Workspaces } from './workspaces';

/**
 * Key delivery: project tokens, the authorized_keys a project serves to its instances, and the
 * instances' check-ins. Also the index of expiring keys, so owners are told before and when.
 */

export const TOKEN_PREFIX = 'khk_';
export const EXPIRY_WARNING_MS = 3600_000;

export class Unauthorized extends Error {
  constructor() {
    super('unauthorized');
  }
}

const hashToken = (token: string): string => hash('sha256', token, 'hex');

/** `khk_` and 32 random bytes in base64url, as `createToken` makes them. */
const TOKEN_SHAPE = /^khk_[A-Za-z0-9_-]{43}$/;

/** Whether a presented token and project ID could be real at all; what cannot be costs no read. */
export const isWellFormedToken = (token: string | undefined): token is string =>
  token !== undefined && TOKEN_SHAPE.test(token);
export const isWellFormedProjectId = (projectId: string): boolean => UUID.test(projectId);

/**
 * A project's token hashes, in a small document of their own, written with every change to the tokens:
 * the key route checks a token against it before it reads (and parses) the whole project.
 */
export interface TokenIndex {
  tokens: { id: string; hash: string }[];
}
export const tokenIndexKey = documentKeys.tokenIndex;
const tokenIndexOf = (project: Project): TokenIndex => ({
  tokens: (project.tokens ?? []).map(({ id, hash }) => ({ id, hash })),
});

/** A token that matched its project's token index: who is asking, before the project is read. */
export interface Caller {
  projectId: string;
  tokenId: string;
  hash: string;
  /** The project's key-set head, read with the token index (absent: not written yet). */
  head?: KeySetHead;
}

/** What became of an instance's check-in. */
export type Registration =
  | { outcome: 'known' | 'registered' | 'moved' }
  | { outcome: 'refused'; reason: 'resource_limit' | 'rate_limited'; message: string }
  | { outcome: 'failed' };

export interface DeliveryLimits {
  /** New instances one token may register per minute; 0 turns the limit off. */
  registrationsPerToken?: number;
}

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The keys instances may use right now: enabled and unexpired. */
export const servedKeys = (project: Project, now: Date): SshKey[] =>
  project.keys.filter((key) => !key.disabled && !isExpired(key.expiresAt, now));

/** One OpenSSH line per key, `type base64 name`, in a stable order. */
export function authorizedKeysText(keys: SshKey[]): string {
  return [...keys]
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
    .map((key) => `${key.publicKey} ${key.name.replace(/\s+/g, '_')}\n`)
    .join('');
}

export const etagOf = (body: string): string => `"${createHash('sha256').update(body).digest('base64url')}"`;

export interface AuthorizedKeys {
  body: string;
  etag: string;
  count: number;
  /** SSHSIG of the body (namespace `keyhouse-authorized-keys`), base64 without line breaks. */
  signature: string;
  serial: number;
  /** Present when the caller checked in as an instance. */
  registration?: Registration;
}

export interface CheckIn {
  instance: string;
  zone?: string;
}

export type ExpiryNotice = ExpiryIndex['keys'][number] & {
  kind: 'soon' | 'expired';
  keyName: string;
  projectName: string;
};

const full = (): Registration => ({
  outcome: 'refused',
  reason: 'resource_limit',
  message: `the project holds ${MAX_RESOURCES_PER_PROJECT} resources, the most a project can hold; the keys are served, the instance is not registered`,
});

/** Whether a resource was registered by an instance's check-in (else an admin added it). */
const byCheckIn = (resource: Resource): boolean => resource.addedBy === 'keyhouse';

/** Check-ins found valid, so a fleet logging in all day checks each name once (bounded). */
const validCheckIns = new Map<string, CheckIn>();

/** An instance's check-in, checked: a bad name or zone is refused with what is wrong. */
export function validateCheckIn(checkIn: CheckIn): CheckIn {
  const asked = JSON.stringify([checkIn.instance, checkIn.zone]);
  const known = validCheckIns.get(asked);
  if (known) return known;
  const instance = validateResourceName(checkIn.instance);
  const zone = checkIn.zone !== undefined ? validateLocation(checkIn.zone) : undefined;
  const valid = { instance, ...(zone !== undefined ? { zone } : {}) };
  if (validCheckIns.size >= 10_000) validCheckIns.clear();
  validCheckIns.set(asked, valid);
  return valid;
}

/** Bookkeeping of fetches (token use, an instance's check-in) is written at most once a minute. */
const BOOKKEEPING_MS = 60_000;

export class DeliveryService {
  readonly keySets: SignedKeySets;
  /** When this process last wrote each token's use, and each instance's check-in (and of which set). */
  private readonly lastUse = new Map<string, number>();
  private readonly lastCheckIn = new Map<string, { at: number; zone?: string; version: string }>();

  constructor(
    private readonly workspaces: Workspaces,
    signingKey: DeploymentSigningKey,
  ) {
    this.keySets = new SignedKeySets(workspaces, signingKey);
  }

  async createToken(
    actor: Actor,
    reference: string,
    rawLabel?: string,
  ): Promise<{ token: string; record: DeliveryToken; project: Project }> {
    const label = rawLabel !== undefined ? validateResourceName(rawLabel) : undefined;
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      const project = await tx.project(reference, actor.userId);
      authorize(tx.context, actor.userId, 'project.manage', project);
      const tokens = project.tokens ?? [];
      if (tokens.length >= MAX_TOKENS_PER_PROJECT) {
        throw new DomainError(
          'conflict',
          `Project *${project.name}* has ${MAX_TOKENS_PER_PROJECT} tokens. Revoke unused ones first.`,
        );
      }
      const finalLabel = label ?? `token-${tokens.length + 1}`;
      if (tokens.some((t) => nameKey(t.label) === nameKey(finalLabel))) {
        throw new DomainError(
          'conflict',
          `Project *${project.name}* already has a token labelled *${finalLabel}*.`,
        );
      }
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const record: DeliveryToken = {
        id: this.workspaces.newId(),
        label: finalLabel,
        hash: hashToken(token),
        createdBy: actor.userId,
        createdAt: tx.at,
      };
      project.tokens = [...tokens, record];
      tx.put(tokenIndexKey(project.id), tokenIndexOf(project));
      tx.record({ actor: actor.userId, action: 'token.created', target: finalLabel }, project);
      return { token, record, project };
    });
  }

  async listTokens(actor: Actor, reference: string): Promise<{ project: Project; tokens: DeliveryToken[] }> {
    const organization = await this.workspaces.organization(actor.teamId);
    const project = await this.workspaces.project(organization, reference, actor.userId);
    authorize(this.workspaces.context(organization), actor.userId, 'project.manage', project);
    return { project, tokens: await this.withLastUse(project) };
  }

  /**
   * Revokes one token by label, or all of them. Revoking all is explicit (`{ all: true }`), and with
   * `createdUpTo` (when the confirmation was asked) spares tokens made since: a late or repeated click
   * on an old confirmation revokes nothing more, and says so by returning no tokens.
   */
  async revokeTokens(
    actor: Actor,
    reference: string,
    which?: string | { all: true; createdUpTo?: string },
  ): Promise<{ project: Project; revoked: DeliveryToken[] }> {
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      const project = await tx.project(reference, actor.userId);
      authorize(tx.context, actor.userId, 'project.manage', project);
      const tokens = project.tokens ?? [];
      if (which === undefined) {
        throw new DomainError(
          'invalid_input',
          `Name the token to revoke, or revoke all of them explicitly. Project *${project.name}* has ${tokens.length} token${tokens.length === 1 ? '' : 's'}.`,
        );
      }
      let revoked: DeliveryToken[];
      if (typeof which === 'string') {
        revoked = tokens.filter((t) => nameKey(t.label) === nameKey(which));
        if (revoked.length === 0) {
          throw new DomainError(
            'not_found',
            `Project *${project.name}* has no token labelled \`${which.slice(0, 64)}\`.`,
          );
        }
      } else {
        const upTo = which.createdUpTo;
        revoked = tokens.filter((t) => upTo === undefined || t.createdAt <= upTo);
        if (revoked.length === 0) return { project, revoked };
      }
      project.tokens = tokens.filter((t) => !revoked.includes(t));
      tx.put(tokenIndexKey(project.id), tokenIndexOf(project));
      tx.record(
        { actor: actor.userId, action: 'token.revoked', target: revoked.map((t) => t.label).join(', ') },
        project,
      );
      return { project, revoked };
    });
  }

  /**
   * The authorized_keys of a project for the holder of one of its tokens. Any failure (no such
   * project, wrong or revoked token) is the same Unauthorized, so a caller learns nothing.
   */
  async authorizedKeys(
    projectId: string,
    token: string | undefined,
    checkIn?: CheckIn,
    limits: DeliveryLimits = {},
  ): Promise<AuthorizedKeys> {
    const valid = checkIn ? validateCheckIn(checkIn) : undefined;
    return this.serve(await this.authenticate(projectId, token), valid, limits);
  }

  /**
   * Checks a token against its project's token index: a malformed token or project ID costs no read,
   * a wrong one one small read, and neither reads the project. Throws Unauthorized.
   */
  async authenticate(projectId: string, token: string | undefined): Promise<Caller> {
    if (!isWellFormedToken(token) || !isWellFormedProjectId(projectId)) throw new Unauthorized();
    const id = projectId.toLowerCase();
    // One round trip: the token hashes, and the small head of the key set a good token is served.
    const [stored, head] = await this.workspaces.store.getShared<TokenIndex | KeySetHead>(
      [tokenIndexKey(id), keySetKeys.head(id)],
      { keyFetch: true },
    );
    const index = (stored as TokenIndex | undefined) ?? (await this.buildTokenIndex(id));
    const hash = hashToken(token);
    const entry = index.tokens.find((t) => sameHash(t.hash, hash));
    if (!entry) throw new Unauthorized();
    return { projectId: id, tokenId: entry.id, hash, ...(head ? { head: head as KeySetHead } : {}) };
  }

  private readonly indexing = new Map<string, Promise<TokenIndex>>();

  /**
   * Projects whose tokens predate the index get it once, written under the workspace lock so that it
   * cannot overwrite a newer one written with a token change. One build per project at a time.
   */
  private buildTokenIndex(projectId: string): Promise<TokenIndex> {
    let building = this.indexing.get(projectId);
    if (!building) {
      building = (async () => {
        const snapshot = await this.workspaces.store.get<Project>(documentKeys.project(projectId));
        if (!snapshot) return { tokens: [] };
        return this.workspaces.mutate(snapshot.teamId, async (tx) => {
          const written = await tx.read<TokenIndex>(tokenIndexKey(projectId));
          if (written) return written;
          const project = await tx.project(projectId);
          const index = tokenIndexOf(project);
          tx.put(tokenIndexKey(projectId), index);
          return index;
        });
      })()
        .catch((error: unknown) => {
          // A project deleted meanwhile is no project; storage errors keep their meaning.
          if (error instanceof DomainError && error.code === 'not_found') return { tokens: [] };
          throw error;
        })
        .finally(() => this.indexing.delete(projectId));
      this.indexing.set(projectId, building);
    }
    return building;
  }

  /**
   * The signed key set for a caller `authenticate` let in: served from memory while its head is
   * current, so a fetch reads only the token index and the head whatever the project's size. The token
   * index is the authority on tokens (written with every token change). An instance's check-in reads
   * the project only when this process has not recorded that instance, in that zone and for that key
   * set, within the last minute; token use and check-ins are written at most once a minute.
   */
  async serve(caller: Caller, checkIn?: CheckIn, limits: DeliveryLimits = {}): Promise<AuthorizedKeys> {
    const now = this.workspaces.now();
    const set =
      this.keySets.known(caller.projectId, caller.head, now) ??
      (await this.keySets.current(caller.projectId, caller.head));
    const projectId = caller.projectId;
    const served: AuthorizedKeys = {
      body: set.body,
      etag: set.etag,
      count: set.count,
      signature: set.signature,
      serial: set.serial,
    };

    // Bookkeeping never costs a login: if it fails, the keys are served all the same.
    let resource: Resource | undefined;
    const instanceKey = checkIn ? `${projectId}:${nameKey(checkIn.instance)}` : '';
    if (checkIn) {
      const recent = this.lastCheckIn.get(instanceKey);
      const fresh =
        recent !== undefined &&
        now.getTime() - recent.at < BOOKKEEPING_MS &&
        recent.version === set.version &&
        (checkIn.zone === undefined || checkIn.zone === recent.zone);
      if (fresh) served.registration = { outcome: 'known' };
      else {
        const registered = await this.workspaces.store
          .get<Project>(documentKeys.project(projectId))
          .then((project) =>
            project ? this.instanceResource(project, caller.tokenId, checkIn, limits) : undefined,
          )
          .catch(() => undefined);
        resource = registered?.resource;
        served.registration = registered?.registration ?? { outcome: 'failed' };
      }
    }
    const useDue = now.getTime() - (this.lastUse.get(caller.tokenId) ?? 0) >= BOOKKEEPING_MS;
    if (!useDue && !resource) return served;
    try {
      const at = now.toISOString();
      await this.workspaces.store.write({
        set: [
          ...(useDue ? [{ key: documentKeys.tokenUse(projectId, caller.tokenId), value: { at } }] : []),
          ...(resource
            ? [
                {
                  key: documentKeys.checkIn(projectId, resource.id),
                  value: {
                    at,
                    etag: served.etag,
                    count: served.count,
                    version: set.version,
                    serial: set.serial,
                  } satisfies CheckInRecord,
                },
              ]
            : []),
        ],
      });
      if (this.lastUse.size >= 100_000) this.lastUse.clear();
      if (this.lastCheckIn.size >= 100_000) this.lastCheckIn.clear();
      if (useDue) this.lastUse.set(caller.tokenId, now.getTime());
      if (resource) {
        this.lastCheckIn.set(instanceKey, {
          at: now.getTime(),
          version: set.version,
          ...(resource.zone !== undefined ? { zone: resource.zone } : {}),
        });
      }
    } catch {
      // Storage busy or away: the next fetch records it.
    }
    return served;
  }

  /**
   * The instance's resource, registered (under the workspace lock) the first time it checks in, unless
   * the project is full or the token registered too many instances this minute. A known instance that
   * checks in from another zone is moved, audited, and counted against the same budget (else alternating
   * zones would rewrite the project without limit); its check-in is recorded either way. A resource an
   * admin added is never changed by a check-in.
   */
  private async instanceResource(
    snapshot: Project,
    tokenId: string,
    { instance, zone }: CheckIn,
    limits: DeliveryLimits,
  ): Promise<{ resource?: Resource; registration: Registration }> {
    const find = (project: Project) =>
      project.resources.find((r) => r.type === 'instance' && nameKey(r.name) === nameKey(instance));
    const known = find(snapshot);
    const unchanged = (resource: Resource) =>
      !byCheckIn(resource) || zone === undefined || resource.zone === zone;
    if (known && unchanged(known)) return { resource: known, registration: { outcome: 'known' } };
    if (!known && snapshot.resources.length >= MAX_RESOURCES_PER_PROJECT) return { registration: full() };
    const perMinute = limits.registrationsPerToken ?? MAX_REGISTRATIONS_PER_TOKEN_PER_MINUTE;
    if (perMinute > 0) {
      const { count } = await this.workspaces.store.hit(`register:${tokenId}`, 60_000);
      if (count > perMinute) {
        const then = known
          ? `the instance stays in ${known.zone ?? 'no zone'}, try again in a minute`
          : 'try registering again in a minute';
        return {
          ...(known ? { resource: known } : {}),
          registration: {
            outcome: 'refused',
            reason: 'rate_limited',
            message: `this token registered ${perMinute} new instances or zone changes in the last minute, the most it may; the keys are served, ${then}`,
          },
        };
      }
    }
    return this.workspaces.mutate(snapshot.teamId, async (tx) => {
      const project = await tx.project(snapshot.id);
      let resource = find(project);
      if (!resource) {
        if (project.resources.length >= MAX_RESOURCES_PER_PROJECT) return { registration: full() };
        resource = {
          id: this.workspaces.newId(),
          type: 'instance',
          name: instance,
          addedBy: 'keyhouse',
          createdAt: tx.at,
          ...(zone ? { zone } : {}),
        };
        project.resources.push(resource);
        tx.record(
          {
            actor: 'keyhouse',
            action: 'instance.registered',
            target: `${instance}${zone ? ` (${zone})` : ''}`,
          },
          project,
        );
        return { resource, registration: { outcome: 'registered' } };
      }
      if (unchanged(resource)) return { resource, registration: { outcome: 'known' } };
      const from = resource.zone;
      resource.zone = zone;
      tx.record(
        {
          actor: 'keyhouse',
          action: 'instance.moved',
          target: `${instance} (${zone})`,
          detail: `was ${from ?? 'in no zone'}`,
        },
        project,
      );
      return { resource, registration: { outcome: 'moved' } };
    });
  }

  /** When each token was last used, read from the tokens' use documents. */
  async withLastUse(project: Project): Promise<DeliveryToken[]> {
    const tokens = project.tokens ?? [];
    const uses = await this.workspaces.store.getMany<{ at: string }>(
      tokens.map((t) => documentKeys.tokenUse(project.id, t.id)),
    );
    return tokens.map((token, i) => (uses[i] ? { ...token, lastUsedAt: uses[i].at } : token));
  }

  // ——— expiring keys ———

  async trackExpiry(teamId: string, projectId: string, key: SshKey): Promise<void> {
    if (!key.expiresAt) return;
    await this.updateExpiryIndex((index) => {
      index.keys = index.keys.filter((k) => k.keyId !== key.id);
      index.keys.push({
        teamId,
        projectId,
        keyId: key.id,
        owner: key.addedBy,
        expiresAt: key.expiresAt as string,
      });
    });
  }

  /** Keys that expire within the hour (told once) or have expired (told, then forgotten). */
  async expiryNotices(now: Date = this.workspaces.now()): Promise<ExpiryNotice[]> {
    await this.workspaces.settled();
    const index = await this.workspaces.store.get<ExpiryIndex>(documentKeys.expiryIndex());
    const due = (index?.keys ?? []).filter(
      (k) =>
        Date.parse(k.expiresAt) <= now.getTime() ||
        (!k.warned && Date.parse(k.expiresAt) - now.getTime() <= EXPIRY_WARNING_MS),
    );
    if (due.length === 0) return [];
    const projects = await this.workspaces.store.getMany<Project>(
      [...new Set(due.map((k) => k.projectId))].map(documentKeys.project),
    );
    const byId = new Map(projects.filter((p): p is Project => !!p).map((p) => [p.id, p]));
    const notices: ExpiryNotice[] = [];
    for (const entry of due) {
      const project = byId.get(entry.projectId);
      const key = project?.keys.find((k) => k.id === entry.keyId && k.expiresAt === entry.expiresAt);
      if (!project || !key) continue;
      notices.push({
        ...entry,
        kind: Date.parse(entry.expiresAt) <= now.getTime() ? 'expired' : 'soon',
        keyName: key.name,
        projectName: project.name,
      });
    }
    const handled = new Map(due.map((k) => [k.keyId, Date.parse(k.expiresAt) <= now.getTime()]));
    await this.updateExpiryIndex((current) => {
      current.keys = current.keys
        .filter((k) => handled.get(k.keyId) !== true)
        .map((k) => (handled.get(k.keyId) === false ? { ...k, warned: true } : k));
    });
    return notices;
  }

  private updateExpiryIndex(change: (index: ExpiryIndex) => void): Promise<void> {
    return this.workspaces.updateShared<ExpiryIndex>(documentKeys.expiryIndex(), { keys: [] }, change);
  }
}
