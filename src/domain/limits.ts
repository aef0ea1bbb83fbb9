import { DomainError, invalid } from './errors';
import type { Project } from './model';

/**
 * What one member, one token or one project may reach. Every path that creates something checks the
 * same number here, so a command, a form, an approval and the key route cannot disagree.
 */

/** Pending key requests one person may have open in one project. */
export const MAX_PENDING_REQUESTS_PER_REQUESTER = 5;

/** How long a request its requester cancelled still counts against MAX_PENDING_REQUESTS_PER_REQUESTER. */
export const CANCELLED_REQUEST_COUNTS_MS = 3600_000;

/** New instances one delivery token may register in a minute (check-ins of known instances are free). */
export const MAX_REGISTRATIONS_PER_TOKEN_PER_MINUTE = 30;

/** Projects in one organization. */
export const MAX_PROJECTS = 1000;

/** SSH keys in one project, whether added directly or on approval. */
export const MAX_KEYS_PER_PROJECT = 5000;

/** Resources in one project, whether added by an admin or registered by an instance. */
export const MAX_RESOURCES_PER_PROJECT = 5000;

/** Key-delivery tokens of one project. */
export const MAX_TOKENS_PER_PROJECT = 20;

/** Approvals a project may require for a key request. */
export const MAX_APPROVALS = 5;

/** Characters of a reason (for a key, for more time, for a denial), as the forms limit it. */
export const MAX_REASON_LENGTH = 300;

/** Refuses a reason longer than the forms allow, rather than cutting what approvers read. */
export function assertReasonLength(reason: string | undefined, field = 'reason'): void {
  const length = reason?.trim().length ?? 0;
  if (length > MAX_REASON_LENGTH) {
    throw invalid(
      `A reason may be at most ${MAX_REASON_LENGTH} characters, and this one has ${length}, so nothing was changed. Shorten it: approvers read it at a glance, and a link to the incident says more.`,
      field,
    );
  }
}

/** Refuses a new resource in a full project; every path that adds one asks here. */
export function assertResourceRoom(project: Project): void {
  if (project.resources.length >= MAX_RESOURCES_PER_PROJECT) {
    throw new DomainError(
      'conflict',
      `Project *${project.name}* holds ${MAX_RESOURCES_PER_PROJECT} resources, the most a project can hold. Remove unused ones first (\`/project resource remove\`).`,
    );
  }
}

/** Refuses a new key in a full project: added directly, requested, or approved. */
export function assertKeyRoom(project: Project): void {
  if (project.keys.length >= MAX_KEYS_PER_PROJECT) {
    throw new DomainError(
      'conflict',
      `Project *${project.name}* holds ${MAX_KEYS_PER_PROJECT} keys, the most a project can hold. Remove unused keys first.`,
    );
  }
}
