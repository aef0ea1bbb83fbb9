/** The documents Keyhouse keeps. Each is a plain JSON value; dates are ISO strings. */

export type Role = 'admin' | 'member' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'member', 'viewer'];

export interface OrganizationSettings {
  /** Organization-wide approvals channel. */
  approvalsChannel?: string;
  /** Role of workspace members who hold none on a project. */
  defaultRole: 'viewer' | 'none';
  /** Who may create projects. */
  projectCreators: 'owners' | 'everyone';
  /** The Slack user group whose members may add break-glass keys (absent: nobody may). */
  oncallGroup?: { id: string; handle?: string };
}

/** The organization's index entry for one of its projects, kept in step with the project document. */
export interface ProjectSummary {
  id: string;
  name: string;
  isDefault: boolean;
  keyCount: number;
  resourceCount: number;
  updatedAt: string;
}

export interface Organization {
  id: string;
  teamId: string;
  /** Owners added in Slack; those of the ORG_OWNERS setting are owners too. */
  owners: string[];
  settings: OrganizationSettings;
  projects: ProjectSummary[];
  /**
   * How many of the oldest pages of each audit stream hold LARGE_AUDIT_PAGE_SIZE records (written before
   * pages held AUDIT_PAGE_SIZE); absent, all of the log's pages do. Kept here, not in the log, because a
   * replica of an earlier version rewrites the log without fields it does not know, but writes back the
   * organization it read, so the count survives a rolling upgrade.
   */
  largeAuditPages?: { security: number; activity: number };
  createdAt: string;
  updatedAt: string;
}

export interface SshKey {
  id: string;
  name: string;
  /** Canonical OpenSSH form: `type base64`. */
  publicKey: string;
  type: string;
  bits: number;
  fingerprint: string;
  comment: string;
  addedBy: string;
  createdAt: string;
  disabled: boolean;
  expiresAt?: string;
  /** How the key came: absent for a key added directly; `request` once approved; `breakglass` by on-call. */
  origin?: 'breakglass' | 'request';
  /** Set on break-glass keys: why, and the one review (Keep or Revoke) by an approver. */
  breakGlass?: BreakGlassInfo;
}

/** A break-glass key's reason and review. Present exactly when `origin` is `breakglass`. */
export interface BreakGlassInfo {
  reason: string;
  /** Who reviewed it, when, and what they decided. Absent until reviewed. */
  reviewedBy?: string;
  reviewedAt?: string;
  review?: 'kept' | 'revoked' | 'unreviewed';
}

export interface Resource {
  id: string;
  type: string;
  name: string;
  zone?: string;
  addedBy: string;
  createdAt: string;
}

/**
 * An instance's last fetch of its keys: when, and which key set (its ETag). Kept in its own document
 * and written without the workspace lock, so a fleet logging in at once never waits on each other.
 */
export interface CheckIn {
  at: string;
  etag: string;
  count: number;
  /** The version of the key set fetched (absent in check-ins before signed key sets). */
  version?: string;
  /** The serial of the key set fetched (absent in check-ins before it was recorded). */
  serial?: number;
}

/** A key-delivery token. Only its SHA-256 is kept; the token itself is shown once. */
export interface DeliveryToken {
  id: string;
  label: string;
  hash: string;
  createdBy: string;
  createdAt: string;
  /** Filled in when read, from the token's own use document. */
  lastUsedAt?: string;
}

/** Keys with an expiry, across the deployment, so their owners can be told in time. */
export interface ExpiryIndex {
  keys: {
    teamId: string;
    projectId: string;
    keyId: string;
    owner: string;
    expiresAt: string;
    warned?: boolean;
  }[];
}

export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  projectId?: string;
  projectName?: string;
  /** What was acted on, in words: a key name and fingerprint, a resource, a user. */
  target?: string;
  outcome: 'done' | 'approved' | 'denied' | 'expired';
  detail?: string;
}

export interface ProjectSettings {
  approvalsChannel?: string;
  approvalsRequired: number;
  /** How long an instance may keep using a fetched key set when Keyhouse cannot be reached (default 24h). */
  offlineLogins?: OfflineLogins;
  /** Whether on-call engineers may add break-glass keys (default off). */
  breakGlass?: 'on' | 'off';
  /** The longest a break-glass key lasts (default 4h). */
  breakGlassMax?: '1h' | '4h' | '8h';
  /** Keys added by people who are not project admins expire within it (default none). */
  maxKeyLifetime?: '8h' | '3d' | '30d' | 'none';
}

export type OfflineLogins = 'strict' | '1h' | '24h' | '7d';

/** The project's served key set, as last written (see deliveryKeySet.ts). */
export interface KeySetState {
  /** Grows with every change of the served set. */
  serial: number;
  /** When the served document last changed (its set, or its offline window). */
  changedAt: string;
  /** SHA-256 of the served lines and their expiries. */
  version: string;
  offlineLogins: OfflineLogins;
}

export interface Project {
  id: string;
  orgId: string;
  /** The workspace, so requests that know only the project ID (key delivery) can lock it. */
  teamId: string;
  name: string;
  description: string;
  isDefault: boolean;
  createdAt: string;
  updatedAt: string;
  keys: SshKey[];
  resources: Resource[];
  members: Record<string, Role>;
  settings: ProjectSettings;
  /** Most recent first, capped. */
  activity: AuditEntry[];
  /** Key requests waiting for a decision (absent in projects created before approvals existed). */
  pendingRequests?: PendingRequestRef[];
  tokens?: DeliveryToken[];
  /** Absent until the project's key set is first written. */
  keySet?: KeySetState;
  /**
   * Break-glass keys revoked lately, so their owners cannot add one again at once: each entry holds
   * for the project's break-glass max from `at`, and older ones are dropped when one is added.
   */
  breakGlassRevoked?: BreakGlassRevocation[];
  /**
   * Requests their requester cancelled lately: each still counts against their open requests for
   * CANCELLED_REQUEST_COUNTS_MS, so filing and cancelling cannot flood the approvers with cards.
   */
  recentlyCancelled?: { requester: string; at: string }[];
}

export interface BreakGlassRevocation {
  /** Whose key was revoked. */
  userId: string;
  by: string;
  at: string;
  keyName: string;
}

export interface PendingRequestRef {
  id: string;
  fingerprint: string;
  keyName: string;
  requester: string;
  createdAt: string;
  /** Absent in requests made before it was kept here: then `createdAt` plus the approval TTL. */
  expiresAt?: string;
}

/** `withdrawn`: closed undecided because no requester may still request keys on the project. */
export type RequestStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'withdrawn';

/** A member's request to add a key, decided by the project's admins. */
export interface KeyRequest {
  id: string;
  orgId: string;
  teamId: string;
  projectId: string;
  projectName: string;
  /** Who asked; a later identical request joins as a second requester. None of them may decide. */
  requesters: string[];
  key: Omit<SshKey, 'id' | 'addedBy' | 'createdAt' | 'disabled'>;
  reason?: string;
  createdAt: string;
  expiresAt: string;
  required: number;
  approvals: { userId: string; at: string }[];
  status: RequestStatus;
  decidedBy?: string;
  decidedAt?: string;
  denyReason?: string;
  /** The key added on approval (or extended, or the same key an admin had added meanwhile). */
  keyId?: string;
  /** Whose that key is: the requester's, or an admin's who added the same key directly meanwhile. */
  keyOwner?: string;
  /** When that key expires, as applied at approval (a max-key-lifetime included); absent: never. */
  keyExpiresAt?: string;
  /**
   * Where its cards were posted, to update them in place; `user`: the approver whose direct message it
   * is in (absent for a card in a channel).
   */
  cards: { channel: string; ts: string; user?: string }[];
  /** Asked without an expiry under a max-key-lifetime: the key expires this long after approval. */
  keyLifetime?: '8h' | '3d' | '30d';
  /** Reminders claimed so far (absent: none); each is posted once, by whoever claimed it. */
  remindersSent?: number;
  /** When the last reminder was claimed: the next waits at least REMINDER_AFTER after it. */
  remindedAt?: string;
  /** A reminder nobody could be sent was given back: it is tried again from then. */
  remindRetryAt?: string;
  /** Reminders given back in a row, for the backoff of the next retry. */
  reminderFailures?: number;
  /** Set when the request asks for more time on a key already in the project. */
  extension?: KeyExtension;
  /** Why a `withdrawn` request was closed; absent: no requester may still request keys. */
  closeReason?: 'cancelled' | 'key_removed';
}

/** More time asked for a temporary key: approved, the key's expiry moves by `forMs`. */
export interface KeyExtension {
  keyId: string;
  /** As chosen: `1h`, `8h`, `3d`. */
  for: string;
  forMs: number;
  /** The key's expiry when the extension was asked for. */
  previousExpiresAt: string;
  /** The key is a break-glass key: its owner stands as requester whatever their role. */
  breakGlass?: boolean;
}

/** Every pending request of the deployment, with its deadline, so expiry needs one read. */
export interface PendingIndex {
  /** `remindAt`: when its next reminder is due (absent in entries written before reminders). */
  requests: { id: string; teamId: string; expiresAt: string; remindAt?: string }[];
}

/**
 * The head of an organization's audit trail. Records go to one of two streams by their action:
 * `security` (owners, roles, tokens, keys, approvals, settings, projects: kept for good) and
 * `activity` (instance check-ins, requests coming and going: the latest pages kept), so noise never
 * pushes out a role grant. Each stream's newest records are here; full pages move to
 * `audit:<org>:<stream>:<n>` documents, numbered from 1, oldest first.
 */
export interface AuditLog {
  /** Security records not yet in a page, most recent first. (Before version 2: every record, capped.) */
  entries: AuditEntry[];
  /** Activity records not yet in a page, most recent first. */
  activity?: AuditEntry[];
  /** Full pages written so far, per stream. */
  pages?: { security: number; activity: number };
  version?: 2;
}

/** One full page of an audit stream, most recent first. */
export interface AuditPageDocument {
  entries: AuditEntry[];
}

/** Where one user's keys are, so "my keys" reads a few documents, not every project. */
export interface UserKeyIndex {
  keys: { projectId: string; keyId: string }[];
}

/** Who is asking: a Slack user in a workspace. */
export interface Actor {
  teamId: string;
  userId: string;
}
