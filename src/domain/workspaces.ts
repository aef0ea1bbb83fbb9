import { randomUUID } from 'node:crypto';
import type { AccessContext } from './access';
import { DomainError } from './errors';
import type { AuditEntry, AuditLog, Organization, Project, ProjectSummary, UserKeyIndex } from './model';
import { nameKey, notFound } from './names';
import type { DocumentStore } from './storage';

/**
 * Loads and saves a workspace's documents: the organization (owners, settings, project index), one
 * document per project, and the organization's audit log. Every change runs in `mutate`, under the
 * workspace's lock, and lands in one write.
 */

export const AUDIT_LOG_SIZE = 500;
export const PROJECT_ACTIVITY_SIZE = 50;
export const DEFAULT_PROJECT_NAME = 'default';

export const documentKeys = {
  organization: (teamId: string) => `org:${teamId}`,
  project: (projectId: string) => `project:${projectId}`,
  audit: (orgId: string) => `audit:${orgId}`,
  userKeys: (orgId: string, userId: string) => `userkeys:${orgId}:${userId}`,
  request: (requestId: string) => `request:${requestId}`,
  /** One per deployment: pending requests of every workspace, read by the expiry sweep. */
  pendingIndex: () => 'requests:pending',
  /** One per deployment: keys with an expiry, read by the expiry notices. */
  expiryIndex: () => 'keys:expiring',
  checkIn: (projectId: string, resourceId: string) => `checkin:${projectId}:${resourceId}`,
  tokenUse: (projectId: string, tokenId: string) => `tokenuse:${projectId}:${tokenId}`,
};

export interface WorkspaceOptions {
  /** Owners named by the ORG_OWNERS setting. */
  configuredOwners: readonly string[];
  /** How long a key request stays open (APPROVAL_TTL). */
  approvalTtlMs?: number;
  now?: () => Date;
  newId?: () => string;
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function summarize(project: Project): ProjectSummary {
  return {
    id: project.id,
    name: project.name,
    isDefault: project.isDefault,
    keyCount: project.keys.length,
    resourceCount: project.resources.length,
    updatedAt: project.updatedAt,
  };
}

export class Workspaces {
  readonly now: () => Date;
  readonly newId: () => string;

  constructor(
    readonly store: DocumentStore,
    readonly options: WorkspaceOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? randomUUID;
  }

  context(organization: Organization): AccessContext {
    return { organization, configuredOwners: this.options.configuredOwners };
  }

  /** The workspace's organization, created with its default project the first time it is asked for. */
  async organization(teamId: string): Promise<Organization> {
    const existing = await this.store.get<Organization>(documentKeys.organization(teamId));
    if (existing) return existing;
    return this.store.withLock(documentKeys.organization(teamId), async () => {
      const raced = await this.store.get<Organization>(documentKeys.organization(teamId));
      if (raced) return raced;
      return this.createOrganization(teamId);
    });
  }

  private async createOrganization(teamId: string): Promise<Organization> {
    const at = this.now().toISOString();
    const id = this.newId();
    const project: Project = {
      id, // the default project's ID is the organization's
      orgId: id,
      teamId,
      name: DEFAULT_PROJECT_NAME,
      description: '',
      isDefault: true,
      createdAt: at,
      updatedAt: at,
      keys: [],
      resources: [],
      members: {},
      settings: { approvalsRequired: 1 },
      activity: [],
    };
    const organization: Organization = {
      id,
      teamId,
      owners: [],
      settings: { defaultRole: 'viewer', projectCreators: 'owners' },
      projects: [summarize(project)],
      createdAt: at,
      updatedAt: at,
    };
    const created: AuditEntry = { at, actor: 'keyhouse', action: 'organization.created', outcome: 'done' };
    const audit: AuditLog = { entries: [created] };
    // The organization document goes last: until it exists, nothing points at the others.
    await this.store.write({
      set: [
        { key: documentKeys.project(id), value: project },
        { key: documentKeys.audit(id), value: audit },
        { key: documentKeys.organization(teamId), value: organization },
      ],
    });
    return organization;
  }

  /** Finds a project of the organization by ID or name (case-insensitive), or says what is close. */
  findProject(organization: Organization, reference: string): ProjectSummary {
    const wanted = reference.trim();
    if (wanted === '') {
      throw new DomainError('invalid_input', 'Name a project. `/project list` shows them all.');
    }
    const found =
      organization.projects.find((p) => p.id === wanted.toLowerCase()) ??
      organization.projects.find((p) => nameKey(p.name) === nameKey(wanted));
    if (found) return found;
    throw notFound(
      'There is no project',
      wanted,
      organization.projects.map((p) => p.name),
      '`/project list` shows them all.',
    );
  }

  async project(organization: Organization, reference: string): Promise<Project> {
    const summary = this.findProject(organization, reference);
    const project = await this.store.get<Project>(documentKeys.project(summary.id));
    if (!project) throw new DomainError('not_found', `Project *${summary.name}* was just deleted.`);
    return project;
  }

  async auditLog(organization: Organization): Promise<AuditLog> {
    return (await this.store.get<AuditLog>(documentKeys.audit(organization.id))) ?? { entries: [] };
  }

  /** Changes a deployment-wide document (an index every workspace writes to) under its own lock. */
  async updateShared<T>(key: string, empty: T, change: (document: T) => void): Promise<void> {
    await this.store.withLock(key, async () => {
      const document = (await this.store.get<T>(key)) ?? empty;
      change(document);
      await this.store.write({ set: [{ key, value: document }] });
    });
  }

  /** Runs a change under the workspace lock, on fresh documents, and saves what it touched in one write. */
  async mutate<T>(teamId: string, work: (tx: Transaction) => Promise<T>): Promise<T> {
    await this.organization(teamId);
    return this.store.withLock(documentKeys.organization(teamId), async () => {
      const organization = await this.store.get<Organization>(documentKeys.organization(teamId));
      if (!organization) throw new DomainError('not_found', 'This organization no longer exists.');
      const tx = new Transaction(this, organization);
      const result = await work(tx);
      await tx.commit();
      return result;
    });
  }
}

export type AuditInput = Omit<AuditEntry, 'at' | 'outcome'> & { outcome?: AuditEntry['outcome'] };

export class Transaction {
  readonly context: AccessContext;
  readonly at: string;
  private readonly changed = new Map<string, Project>();
  private readonly removed = new Set<string>();
  private audit: AuditLog | undefined;
  private readonly records: AuditEntry[] = [];
  private organizationChanged = false;
  private readonly userKeyIndexes = new Map<string, UserKeyIndex>();
  /** Other documents of the workspace changed by this transaction, by key. */
  private readonly documents = new Map<string, unknown>();

  constructor(
    private readonly workspaces: Workspaces,
    readonly organization: Organization,
  ) {
    this.context = workspaces.context(organization);
    this.at = workspaces.now().toISOString();
  }

  /** Reads a project and, in the same round trip, the audit log the change will append to. */
  async project(reference: string): Promise<Project> {
    const summary = this.workspaces.findProject(this.organization, reference);
    const [project, audit] = await this.workspaces.store.getMany<Project | AuditLog>([
      documentKeys.project(summary.id),
      documentKeys.audit(this.organization.id),
    ]);
    if (!project) throw new DomainError('not_found', `Project *${summary.name}* was just deleted.`);
    this.audit ??= (audit as AuditLog | undefined) ?? { entries: [] };
    return project as Project;
  }

  /** The index of a user's keys, loaded once; saved with the change. */
  async userKeys(userId: string): Promise<UserKeyIndex> {
    let index = this.userKeyIndexes.get(userId);
    if (!index) {
      index = (await this.workspaces.store.get<UserKeyIndex>(
        documentKeys.userKeys(this.organization.id, userId),
      )) ?? {
        keys: [],
      };
      this.userKeyIndexes.set(userId, index);
    }
    return index;
  }

  /** Reads a document of this workspace (a request…); `put` saves it with the change. */
  async read<T>(key: string): Promise<T | undefined> {
    if (this.documents.has(key)) return this.documents.get(key) as T;
    return this.workspaces.store.get<T>(key);
  }

  put(key: string, value: unknown): void {
    this.documents.set(key, value);
  }

  /** Marks a project as changed (or new); its index entry follows. */
  save(project: Project): void {
    project.updatedAt = this.at;
    this.changed.set(project.id, project);
    const summary = summarize(project);
    const index = this.organization.projects.findIndex((p) => p.id === project.id);
    if (index >= 0) this.organization.projects[index] = summary;
    else this.organization.projects.push(summary);
    this.organizationChanged = true;
  }

  remove(project: Project): void {
    this.organization.projects = this.organization.projects.filter((p) => p.id !== project.id);
    this.changed.delete(project.id);
    this.removed.add(project.id);
    this.organizationChanged = true;
  }

  touchOrganization(): void {
    this.organizationChanged = true;
  }

  record(input: AuditInput, project?: Project): AuditEntry {
    const entry: AuditEntry = {
      at: this.at,
      outcome: 'done',
      ...input,
      ...(project ? { projectId: project.id, projectName: project.name } : {}),
    };
    this.records.push(entry);
    if (project && !this.removed.has(project.id)) {
      project.activity = [entry, ...project.activity].slice(0, PROJECT_ACTIVITY_SIZE);
      this.save(project);
    }
    return entry;
  }

  async commit(): Promise<void> {
    const untouched =
      this.changed.size === 0 &&
      this.removed.size === 0 &&
      this.documents.size === 0 &&
      this.userKeyIndexes.size === 0 &&
      this.records.length === 0 &&
      !this.organizationChanged;
    if (untouched) return;
    const store = this.workspaces.store;
    const sets: { key: string; value: unknown }[] = [...this.changed.values()].map((project) => ({
      key: documentKeys.project(project.id),
      value: project,
    }));
    for (const [key, value] of this.documents) sets.push({ key, value });
    for (const [userId, index] of this.userKeyIndexes) {
      sets.push({ key: documentKeys.userKeys(this.organization.id, userId), value: index });
    }
    if (this.records.length > 0) {
      this.audit ??= (await store.get<AuditLog>(documentKeys.audit(this.organization.id))) ?? { entries: [] };
      const entries = [...[...this.records].reverse(), ...this.audit.entries].slice(0, AUDIT_LOG_SIZE);
      sets.push({ key: documentKeys.audit(this.organization.id), value: { entries } });
    }
    if (this.organizationChanged) {
      this.organization.updatedAt = this.at;
      // Last: a new project's document exists before the index names it.
      sets.push({ key: documentKeys.organization(this.organization.teamId), value: this.organization });
    }
    // Deleted projects go after the index stops naming them.
    await store.write({ set: sets, delete: [...this.removed].map((id) => documentKeys.project(id)) });
  }
}
