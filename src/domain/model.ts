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
}

export interface Resource {
  id: string;
  type: string;
  name: string;
  zone?: string;
  addedBy: string;
  createdAt: string;
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
}

export interface Project {
  id: string;
  orgId: string;
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
}

export interface AuditLog {
  /** Most recent first, capped. */
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
