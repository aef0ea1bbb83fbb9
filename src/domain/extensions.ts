import { type AccessContext, can } from './access';
import { DomainError } from './errors';
import type { KeyExtension, KeyRequest, Project, SshKey } from './model';
import type { Transaction } from './workspaces';

/**
 * More time for a temporary key: the rules an extension request follows from the moment it is asked
 * for to its approval, where the key's expiry moves (see requester.ts for asking, approvals.ts for
 * deciding).
 */

export const isBreakGlassKey = (key: SshKey): boolean => key.origin === 'breakglass';
export const isTemporaryKey = (key: SshKey): boolean => key.expiresAt !== undefined;

/**
 * Whether a requester still stands behind their request. The one permission check decides, except
 * for more time on a break-glass key: its owner asks as its owner, whatever their role on the project.
 */
export function mayStillRequest(
  context: AccessContext,
  userId: string,
  request: KeyRequest,
  project: Project,
): boolean {
  if (request.extension?.breakGlass) return true;
  return can(context, userId, 'key.request', project);
}

/** The key an extension request is about, if it is still in the project. */
export const extensionTarget = (project: Project, request: KeyRequest): SshKey | undefined =>
  request.extension
    ? project.keys.find((k) => k.id === request.extension?.keyId && k.fingerprint === request.key.fingerprint)
    : undefined;

/** A key's expiry moved by `forMs` from when it ends (or from now, if it already has). */
export const extendedExpiry = (key: SshKey, forMs: number, now: Date): Date =>
  new Date(Math.max(now.getTime(), Date.parse(key.expiresAt ?? now.toISOString())) + forMs);

/**
 * The project's key-lifetime policy, applied to more time for a key: the one place an extension asks
 * it, when it is asked for and again when it is approved. Projects carry no maximum key lifetime yet,
 * so nothing is refused here until they do.
 */
export function assertExtensionWithinPolicy(
  _context: AccessContext,
  _project: Project,
  _owner: string,
  _expiresAt: Date,
  _now: Date,
): void {
  // Intentionally empty until projects have a key-lifetime setting.
}

/** Moves an extended key's expiry as approved (in the approving transaction); returns the key. */
export function applyExtension(tx: Transaction, request: KeyRequest, project: Project): SshKey {
  const key = extensionTarget(project, request);
  const extension = request.extension as KeyExtension;
  if (!key) throw new DomainError('conflict', `Key *${request.key.name}* is no longer in the project.`);
  const now = new Date(tx.at);
  const until = extendedExpiry(key, extension.forMs, now);
  assertExtensionWithinPolicy(tx.context, project, key.addedBy, until, now);
  key.expiresAt = until.toISOString();
  request.key.expiresAt = key.expiresAt;
  request.keyId = key.id;
  return key;
}
