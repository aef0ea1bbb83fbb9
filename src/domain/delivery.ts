import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { authorize } from './access';
import { validateLocation, validateResourceName } from './catalog';
import { DomainError } from './errors';
import { isExpired } from './expiry';
import type { Actor, DeliveryToken, ExpiryIndex, Project, SshKey } from './model';
import { nameKey } from './names';
import { documentKeys, type Workspaces } from './workspaces';

/**
 * Key delivery: project tokens, the authorized_keys a project serves to its instances, and the
 * instances' check-ins. Also the index of expiring keys, so owners are told before and when.
 */

export const TOKEN_PREFIX = 'khk_';
export const MAX_TOKENS_PER_PROJECT = 20;
/** Check-ins and token use are recorded at most this often, so a login does not cost a write. */
export const CHECK_IN_INTERVAL_MS = 60_000;
export const EXPIRY_WARNING_MS = 3600_000;

export class Unauthorized extends Error {
  constructor() {
    super('unauthorized');
  }
}

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

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

export class DeliveryService {
  constructor(private readonly workspaces: Workspaces) {}

  async createToken(
    actor: Actor,
    reference: string,
    rawLabel?: string,
  ): Promise<{ token: string; record: DeliveryToken; project: Project }> {
    const label = rawLabel !== undefined ? validateResourceName(rawLabel) : undefined;
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      const project = await tx.project(reference);
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
      tx.record({ actor: actor.userId, action: 'token.created', target: finalLabel }, project);
      return { token, record, project };
    });
  }

  async listTokens(actor: Actor, reference: string): Promise<{ project: Project; tokens: DeliveryToken[] }> {
    const organization = await this.workspaces.organization(actor.teamId);
    const project = await this.workspaces.project(organization, reference);
    authorize(this.workspaces.context(organization), actor.userId, 'project.manage', project);
    return { project, tokens: project.tokens ?? [] };
  }

  /** Revokes one token by label, or all of them. */
  async revokeTokens(
    actor: Actor,
    reference: string,
    label?: string,
  ): Promise<{ project: Project; revoked: DeliveryToken[] }> {
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      const project = await tx.project(reference);
      authorize(tx.context, actor.userId, 'project.manage', project);
      const tokens = project.tokens ?? [];
      const revoked =
        label === undefined ? tokens : tokens.filter((t) => nameKey(t.label) === nameKey(label));
      if (revoked.length === 0) {
        throw new DomainError(
          'not_found',
          label === undefined
            ? `Project *${project.name}* has no tokens.`
            : `Project *${project.name}* has no token labelled \`${label.slice(0, 64)}\`.`,
        );
      }
      project.tokens = tokens.filter((t) => !revoked.includes(t));
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
  ): Promise<AuthorizedKeys> {
    const instance = checkIn ? validateResourceName(checkIn.instance) : undefined;
    const zone = checkIn?.zone !== undefined ? validateLocation(checkIn.zone) : undefined;
    if (!token?.startsWith(TOKEN_PREFIX) || !/^[0-9a-f-]{36}$/i.test(projectId)) throw new Unauthorized();
    const project = await this.workspaces.store.get<Project>(documentKeys.project(projectId.toLowerCase()));
    const hash = hashToken(token);
    const record = project?.tokens?.find((t) => sameHash(t.hash, hash));
    if (!project || !record) throw new Unauthorized();

    const now = this.workspaces.now();
    const keys = servedKeys(project, now);
    const body = authorizedKeysText(keys);
    const served: AuthorizedKeys = { body, etag: etagOf(body), count: keys.length };

    const stale = (iso: string | undefined) =>
      !iso || now.getTime() - Date.parse(iso) >= CHECK_IN_INTERVAL_MS;
    const resource = instance
      ? project.resources.find((r) => r.type === 'instance' && nameKey(r.name) === nameKey(instance))
      : undefined;
    const checkInDue =
      instance !== undefined &&
      (!resource ||
        resource.keySet?.etag !== served.etag ||
        resource.zone !== (zone ?? resource.zone) ||
        stale(resource.lastSeenAt));
    if (checkInDue || stale(record.lastUsedAt)) {
      await this.record(project, record.id, instance, zone, served);
    }
    return served;
  }

  private async record(
    snapshot: Project,
    tokenId: string,
    instance: string | undefined,
    zone: string | undefined,
    served: AuthorizedKeys,
  ): Promise<void> {
    await this.workspaces.mutate(snapshot.teamId, async (tx) => {
      const project = await tx.project(snapshot.id);
      const at = tx.at;
      const token = project.tokens?.find((t) => t.id === tokenId);
      if (token) token.lastUsedAt = at;
      if (instance !== undefined) {
        let resource = project.resources.find(
          (r) => r.type === 'instance' && nameKey(r.name) === nameKey(instance),
        );
        if (!resource) {
          resource = {
            id: this.workspaces.newId(),
            type: 'instance',
            name: instance,
            addedBy: 'keyhouse',
            createdAt: at,
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
        }
        if (zone) resource.zone = zone;
        resource.lastSeenAt = at;
        resource.keySet = { etag: served.etag, count: served.count };
      }
      tx.save(project);
    });
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
