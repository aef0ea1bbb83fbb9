import { type AccessContext, can } from './access';
import { DomainError } from './errors';
import { parseDuration } from './expiry';
import { expiryAtApproval, keyLifetimeLimit } from './keyPolicy';
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

/** Whether the project's key lifetime binds this key's owner: it binds everyone but its admins. */
const boundByKeyLifetime = (context: AccessContext, project: Project, owner: string): boolean =>
  keyLifetimeLimit(project) !== undefined && !can(context, owner, 'key.add', project);

/**
 * The project's key-lifetime policy (keyPolicy.ts), applied to more time for a key when it is asked
 * for: the key of someone who is not an admin may not be extended beyond `max-key-lifetime` from now.
 * The one place an extension asks the policy, with `expiryWithinPolicy` at approval.
 */
export function assertExtensionWithinPolicy(
  context: AccessContext,
  project: Project,
  owner: string,
  expiresAt: Date,
  now: Date,
): void {
  if (!boundByKeyLifetime(context, project, owner)) return;
  const limit = keyLifetimeLimit(project) as string;
  if (expiresAt.getTime() - now.getTime() <= (parseDuration(limit) as number)) return;
  throw new DomainError(
    'invalid_input',
    `Keys of people who are not admins of project *${project.name}* may last at most ${limit} from now ` +
      `(its max-key-lifetime), and this much more time would go beyond that. Choose a shorter time, ` +
      'or ask an admin of the project for a longer-lived key.',
    'extend_for',
  );
}

/**
 * The extended expiry at approval: within the project's key lifetime counted from the approval, as
 * for any requested key (the policy may have changed since it was asked for).
 */
function expiryWithinPolicy(
  context: AccessContext,
  project: Project,
  owner: string,
  until: Date,
  at: string,
): Date {
  if (!boundByKeyLifetime(context, project, owner)) return until;
  return new Date(expiryAtApproval(project, until.toISOString(), undefined, at) ?? until.toISOString());
}

/** Moves an extended key's expiry as approved (in the approving transaction); returns the key. */
export function applyExtension(tx: Transaction, request: KeyRequest, project: Project): SshKey {
  const key = extensionTarget(project, request);
  const extension = request.extension as KeyExtension;
  if (!key) throw new DomainError('conflict', `Key *${request.key.name}* is no longer in the project.`);
  const now = new Date(tx.at);
  const until = expiryWithinPolicy(
    tx.context,
    project,
    key.addedBy,
    extendedExpiry(key, extension.forMs, now),
    tx.at,
  );
  key.expiresAt = until.toISOString();
  request.key.expiresAt = key.expiresAt;
  request.keyId = key.id;
  return key;
}
