import { randomUUID } from 'node:crypto';
import { type AccessContext, can, isOwner, ownersOf } from './access';
import { keySetChange, keySetKeys, keySetWrites } from './deliveryKeySet';
import { DomainError } from './errors';
import { DomainEvents } from './events';
import type {
  Actor,
  AuditEntry,
  AuditLog,
  AuditPageDocument,
  Organization,
  Project,
  ProjectSummary,
  UserKeyIndex,
} from './model';
import { nameKey, notFound } from './names';
import type { DocumentStore } from './storage';

/**
 * Loads and saves a workspace's documents: the organization (owners, settings, project index), one
 * document per project, and the organization's audit log. Every change runs in `mutate`, under the
 * workspace's lock, and lands in one write.
 */

/**
 * Records per stored page of an audit stream. The head (records not yet in a page) is read and written
 * by every change, so it stays small: once it holds more, its oldest records become a page, written in
 * the same change.
 */
export const AUDIT_PAGE_SIZE = 25;
/** Records per page of the pages written before pages were smaller: the oldest `large` pages of a log. */
export const LARGE_AUDIT_PAGE_SIZE = 200;
/** Records of the activity stream kept, at least (the security stream keeps all of its pages). */
export const ACTIVITY_RECORDS_KEPT = 10_000;
/** A project's own latest records, kept in its document for its dashboard. */
export const PROJECT_ACTIVITY_SIZE = 10;

export type AuditStream = 'security' | 'activity';
export const AUDIT_STREAMS: readonly AuditStream[] = ['security', 'activity'];

/**
 * Noise: what Keyhouse records on its own as machines check in and timers run out. Anything a person
 * does, asking for a key included (at most a few open at a time, see limits.ts), is a security record.
 */
const ACTIVITY_ACTIONS = new Set(['instance.registered', 'instance.moved', 'key.request_expired']);

/** Which stream a record belongs to, by its action; new kinds of records are security records. */
export const streamOf = (action: string): AuditStream =>
  ACTIVITY_ACTIONS.has(action) ? 'activity' : 'security';

/**
 * An audit log in its current shape; a log written before streams existed (no version) is split by
 * action. One of a later version (written by a newer Keyhouse, before a rollback) is refused rather than
 * read as an old one and rewritten.
 */
export function currentAuditLog(log: AuditLog | undefined): Required<AuditLog> {
  const version: unknown = log?.version;
  if (version !== undefined && version !== 2) {
    throw new DomainError(
      'conflict',
      "This workspace's audit log was written by a newer version of Keyhouse, so nothing was read or changed. " +
        'Run that version (or a later one) on every replica.',
    );
  }
  if (log?.version === 2) {
    return {
      entries: log.entries,
      activity: log.activity ?? [],
      pages: log.pages ?? { security: 0, activity: 0 },
      version: 2,
    };
  }
  const entries = log?.entries ?? [];
  return {
    entries: entries.filter((e) => streamOf(e.action) === 'security'),
    activity: entries.filter((e) => streamOf(e.action) === 'activity'),
    pages: { security: 0, activity: 0 },
    version: 2,
  };
}

/** How many of the oldest pages of each stream are large: all of them until this version first records. */
const largePagesOf = (organization: Organization, log: Required<AuditLog>) =>
  organization.largeAuditPages ?? log.pages;

/** Records in stored pages `from` to `to`, of which pages 1 to `large` are large. */
const recordsInPages = (from: number, to: number, large: number): number =>
  Math.max(0, to - Math.max(from, large + 1) + 1) * AUDIT_PAGE_SIZE +
  Math.max(0, Math.min(to, large) - from + 1) * LARGE_AUDIT_PAGE_SIZE;

/** The oldest page of a stream still kept: for activity, the fewest newest pages holding the records kept. */
export function firstKeptPage(stream: AuditStream, pages: number, large: number): number {
  if (stream === 'security') return 1;
  const small = pages - large;
  const smallKept = Math.ceil(ACTIVITY_RECORDS_KEPT / AUDIT_PAGE_SIZE);
  if (small >= smallKept) return pages - smallKept + 1;
  const largeKept = Math.ceil((ACTIVITY_RECORDS_KEPT - small * AUDIT_PAGE_SIZE) / LARGE_AUDIT_PAGE_SIZE);
  return Math.max(1, large - largeKept + 1);
}
export const DEFAULT_PROJECT_NAME = 'default';

export const documentKeys = {
  organization: (teamId: string) => `org:${teamId}`,
  project: (projectId: string) => `project:${projectId}`,
  audit: (orgId: string) => `audit:${orgId}`,
  auditPage: (orgId: string, stream: AuditStream, page: number) => `audit:${orgId}:${stream}:${page}`,
  userKeys: (orgId: string, userId: string) => `userkeys:${orgId}:${userId}`,
  request: (requestId: string) => `request:${requestId}`,
  /** One per deployment: pending requests of every workspace, read by the expiry sweep. */
  pendingIndex: () => 'requests:pending',
  /** One per deployment: keys with an expiry, read by the expiry notices. */
  expiryIndex: () => 'keys:expiring',
  checkIn: (projectId: string, resourceId: string) => `checkin:${projectId}:${resourceId}`,
  tokenUse: (projectId: string, tokenId: string) => `tokenuse:${projectId}:${tokenId}`,
  /** The hashes of a project's delivery tokens, checked before the project is read. */
  tokenIndex: (projectId: string) => `tokens:${projectId}`,
};

export interface WorkspaceOptions {
  /** Owners named by the ORG_OWNERS setting. */
  configuredOwners: readonly string[];
  /** How long a key request stays open (APPROVAL_TTL). */
  approvalTtlMs?: number;
  /** When a pending key request's first reminder is due (REMINDER_AFTER); later ones double. */
  reminderAfterMs?: number;
  now?: () => Date;
  newId?: () => string;
  /**
   * Told when bookkeeping after a commit (the deployment-wide indexes) fails: the action itself
   * happened, so its caller is not told it failed; the index is repaired later (see `afterCommit`).
   */
  onBackgroundError?: (what: string, error: unknown) => void;
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
  /** Told of committed changes that people should hear about. */
  readonly events = new DomainEvents();

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
    return (await this.organizationWith(teamId)).organization;
  }

  /**
   * Of the last organization this process read of each team, its ID and its projects' names and IDs:
   * only a guess at which documents a command will read (see `organizationWith`), never an answer. These
   * IDs never change, so a guess from an older copy is right unless a project was renamed or removed since.
   */
  private readonly lastSeen = new Map<string, OrganizationOutline>();

  /** Remembers what a guess needs of `organization` (its ID and its projects' names and IDs). */
  private seen(organization: Organization): Organization {
    if (this.lastSeen.size >= LAST_SEEN_TEAMS && !this.lastSeen.has(organization.teamId))
      this.lastSeen.clear();
    this.lastSeen.set(organization.teamId, {
      id: organization.id,
      projects: organization.projects.map(({ id, name }) => ({ id, name })),
    });
    return organization;
  }

  /**
   * The organization and, in the same round trip, the documents `also` names for it, guessed from the
   * organization this process read last: a command that reads its project costs one round trip, not two.
   * The documents are read with the organization, so they are as fresh as it is; one the guess missed
   * (the project was renamed since) is simply not among them and is read when asked for. `shared`, for a
   * caller that only reads: the documents are the store's frozen copies, not parsed again while unchanged.
   */
  async organizationWith(
    teamId: string,
    also?: (organization: OrganizationOutline) => string[],
    shared = false,
  ): Promise<{ organization: Organization; documents: Prefetched }> {
    const read = await this.readWith(teamId, also, shared);
    if (read.organization) return { organization: read.organization, documents: read.documents };
    const organization = await this.store.withLock(documentKeys.organization(teamId), async () => {
      const raced = await this.store.get<Organization>(documentKeys.organization(teamId));
      return raced ?? this.createOrganization(teamId);
    });
    return { organization: this.seen(organization), documents: new Prefetched() };
  }

  /** The organization (if it exists) and the documents `also` guesses, in one read. */
  private async readWith(
    teamId: string,
    also: ((organization: OrganizationOutline) => string[]) | undefined,
    shared: boolean,
  ): Promise<{ organization: Organization | undefined; documents: Prefetched }> {
    const guess = this.lastSeen.get(teamId);
    const keys = guess && also ? guessKeys(also, guess) : [];
    const wanted = [documentKeys.organization(teamId), ...keys];
    const [organization, ...values] = shared
      ? await this.store.getShared<unknown>(wanted)
      : await this.store.getMany<unknown>(wanted);
    const documents = new Prefetched(keys, values);
    return { organization: organization ? this.seen(organization as Organization) : undefined, documents };
  }

  /** The projects of the workspace the user may manage (decide requests, review break-glass), in one read. */
  async manageableProjects(actor: Actor): Promise<Project[]> {
    const organization = await this.organization(actor.teamId);
    const context = this.context(organization);
    const projects = await this.store.getMany<Project>(
      organization.projects.map((p) => documentKeys.project(p.id)),
    );
    return projects.filter((p): p is Project => !!p && can(context, actor.userId, 'project.manage', p));
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
      largeAuditPages: { security: 0, activity: 0 },
      createdAt: at,
      updatedAt: at,
    };
    const created: AuditEntry = { at, actor: 'keyhouse', action: 'organization.created', outcome: 'done' };
    const audit: AuditLog = {
      entries: [created],
      activity: [],
      pages: { security: 0, activity: 0 },
      version: 2,
    };
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

  /**
   * Finds a project of the organization by ID or name (case-insensitive), or says what is close. Not
   * knowing who asks, it suggests a name only where every member may see every project.
   */
  findProject(organization: Organization, reference: string): ProjectSummary {
    const found = this.lookup(organization, reference);
    if (found) return found;
    throw this.missing(organization, reference);
  }

  /** `seesAll`: whoever asks may see every project, so any name may be suggested. */
  private missing(
    organization: Organization,
    reference: string,
    seesAll = organization.settings.defaultRole === 'viewer',
  ): DomainError {
    const visibleToAll = seesAll;
    return notFound(
      'There is no project',
      reference.trim(),
      visibleToAll ? organization.projects.map((p) => p.name) : [],
      visibleToAll ? '`/project list` shows them all.' : '`/project list` shows the ones you can see.',
    );
  }

  private lookup<P extends ProjectOutline>(
    organization: { projects: P[] },
    reference: string,
  ): P | undefined {
    const wanted = reference.trim();
    if (wanted === '') {
      throw new DomainError('invalid_input', 'Name a project. `/project list` shows the ones you can see.');
    }
    return (
      organization.projects.find((p) => p.id === wanted.toLowerCase()) ??
      organization.projects.find((p) => nameKey(p.name) === nameKey(wanted))
    );
  }

  /**
   * The answer to someone who named a project that does not exist or that they may not see: the same
   * either way, suggesting only names they may see (or, if they see none, who can let them in).
   */
  async notVisible(organization: Organization, reference: string, viewer: string): Promise<DomainError> {
    const context = this.context(organization);
    if (organization.settings.defaultRole === 'viewer' || isOwner(context, viewer)) {
      return this.missing(organization, reference, true);
    }
    // Membership lives in each project: one round trip, on this refusal path only.
    const projects = await this.store.getMany<Project>(
      organization.projects.map((p) => documentKeys.project(p.id)),
    );
    const visible = projects
      .filter((p): p is Project => !!p && can(context, viewer, 'project.view', p))
      .map((p) => p.name);
    if (visible.length === 0) {
      const owners = ownersOf(context);
      return new DomainError(
        'forbidden',
        'You cannot see any project yet. ' +
          (owners.length > 0
            ? `Organization owners can give you a role: ${owners.map((u) => `<@${u}>`).join(', ')}.`
            : 'This organization has no owners yet: whoever runs Keyhouse sets them with `ORG_OWNERS`.'),
      );
    }
    return notFound(
      'There is no project you can see named',
      reference.trim(),
      visible,
      '`/project list` shows the ones you can see.',
    );
  }

  /** A project by reference; with `viewer`, only one they may see (else the same answer as a missing one). */
  async project(
    organization: Organization,
    reference: string,
    viewer?: string,
    documents = new Prefetched(),
  ): Promise<Project> {
    const summary =
      viewer === undefined ? this.findProject(organization, reference) : this.lookup(organization, reference);
    if (!summary) throw await this.notVisible(organization, reference, viewer as string);
    const project = await documents.read<Project>(this.store, documentKeys.project(summary.id));
    if (!project) throw new DomainError('not_found', `Project *${summary.name}* was just deleted.`);
    if (viewer !== undefined && !can(this.context(organization), viewer, 'project.view', project)) {
      throw await this.notVisible(organization, reference, viewer);
    }
    return project;
  }

  /** Looks a project up for a transaction (see `project`). */
  lookupProject(organization: Organization, reference: string, viewer?: string): ProjectSummary | undefined {
    return viewer === undefined
      ? this.findProject(organization, reference)
      : this.lookup(organization, reference);
  }

  async auditLog(organization: Organization): Promise<Required<AuditLog>> {
    return currentAuditLog(await this.store.get<AuditLog>(documentKeys.audit(organization.id)));
  }

  /**
   * One page of an audit stream, newest first: `page` 1 is the newest `pageSize` records. Reads the
   * head and the one or two stored pages it spans. With `projectId` (one, or a set), only those
   * projects' records: the stream's pages are read in one round trip and filtered.
   */
  async auditTrail(
    organization: Organization,
    stream: AuditStream,
    page: number,
    pageSize: number,
    projectId?: string | ReadonlySet<string>,
  ): Promise<AuditTrailPage> {
    const log = await this.auditLog(organization);
    const head = stream === 'security' ? log.entries : log.activity;
    const stored = log.pages[stream];
    const large = largePagesOf(organization, log)[stream];
    const first = firstKeptPage(stream, stored, large);
    const storedKey = (n: number) => documentKeys.auditPage(organization.id, stream, n);
    if (projectId !== undefined) {
      const numbers = Array.from({ length: Math.max(0, stored - first + 1) }, (_, i) => stored - i);
      const pages = await this.store.getMany<AuditPageDocument>(numbers.map(storedKey));
      const wanted = typeof projectId === 'string' ? new Set([projectId]) : projectId;
      const all = [...head, ...pages.flatMap((p) => p?.entries ?? [])].filter(
        (e) => e.projectId !== undefined && wanted.has(e.projectId),
      );
      return slicePage(all.length, page, pageSize, (start, end) => all.slice(start, end));
    }
    const total = head.length + recordsInPages(first, stored, large);
    const wanted = slicePage(total, page, pageSize, () => []);
    const start = (wanted.page - 1) * pageSize;
    const end = Math.min(total, start + pageSize);
    // Record i (0 = newest) past the head: the small pages come first (newest), then the large ones.
    const newerRecords = (stored - large) * AUDIT_PAGE_SIZE;
    const placeOf = (i: number): [page: number, offset: number] => {
      const j = i - head.length;
      if (j < newerRecords) return [stored - Math.floor(j / AUDIT_PAGE_SIZE), j % AUDIT_PAGE_SIZE];
      const k = j - newerRecords;
      return [large - Math.floor(k / LARGE_AUDIT_PAGE_SIZE), k % LARGE_AUDIT_PAGE_SIZE];
    };
    const numbers = [...new Set(range(Math.max(start, head.length), end).map((i) => placeOf(i)[0]))];
    const docs = numbers.length ? await this.store.getMany<AuditPageDocument>(numbers.map(storedKey)) : [];
    const byNumber = new Map(numbers.map((n, i) => [n, docs[i]?.entries ?? []]));
    const entries: AuditEntry[] = [];
    for (const i of range(start, end)) {
      const [number, offset] = i < head.length ? [0, i] : placeOf(i);
      const entry = i < head.length ? head[i] : byNumber.get(number)?.[offset];
      if (entry) entries.push(entry);
    }
    return { ...wanted, entries };
  }

  private readonly bookkeeping = new Set<Promise<void>>();

  /**
   * Starts bookkeeping that follows a commit (a deployment-wide index) without waiting for it: the
   * committed action is answered at once, never spends its time waiting for an index's lock, and the
   * bookkeeping's failure (a busy lock, storage gone for a moment) goes to `onBackgroundError`, never
   * to the user as a failure of what did happen.
   */
  afterCommit(what: string, work: () => Promise<void>): void {
    const running: Promise<void> = work()
      .catch((error: unknown) => this.options.onBackgroundError?.(what, error))
      .finally(() => this.bookkeeping.delete(running));
    this.bookkeeping.add(running);
  }

  /** Waits for the bookkeeping this process started (readers of the indexes call it first). */
  async settled(): Promise<void> {
    await Promise.all([...this.bookkeeping]);
  }

  /** Changes a deployment-wide document (an index every workspace writes to) under its own lock. */
  async updateShared<T>(key: string, empty: T, change: (document: T) => void): Promise<void> {
    await this.store.withLock(key, async () => {
      const document = (await this.store.get<T>(key)) ?? empty;
      change(document);
      await this.store.write({ set: [{ key, value: document }] });
    });
  }

  /**
   * Runs a change under the workspace lock, on fresh documents, and saves what it touched in one write.
   * `also` names the documents the change will read (its project…), read with the organization.
   */
  async mutate<T>(
    teamId: string,
    work: (tx: Transaction) => Promise<T>,
    also?: (organization: OrganizationOutline) => string[],
  ): Promise<T> {
    const key = documentKeys.organization(teamId);
    const guess = this.lastSeen.get(teamId);
    const guessed = guess && also ? guessKeys(also, guess) : [];
    // Read as the lock is taken: as fresh as reading them after.
    return this.store.withLock(
      key,
      async ([stored, ...values]) => {
        // The first change of a workspace makes its organization, under the lock it already holds.
        const organization = stored
          ? this.seen(stored as Organization)
          : this.seen(await this.createOrganization(teamId));
        const tx = new Transaction(this, organization, new Prefetched(guessed, values));
        const result = await work(tx);
        await tx.commit();
        return result;
      },
      [key, ...guessed],
    );
  }

  /**
   * For `also`: the document of `reference`'s project in `organization`, as a change of it reads it (with
   * the audit log it appends to) or as a read of it (`audit: false`).
   */
  projectReads(organization: OrganizationOutline, reference: string, audit = true): string[] {
    const summary = this.lookup(organization, reference);
    return [
      ...(summary ? [documentKeys.project(summary.id)] : []),
      ...(audit ? [documentKeys.audit(organization.id)] : []),
    ];
  }
}

type ProjectOutline = Pick<ProjectSummary, 'id' | 'name'>;

/** What guessing a command's documents needs of an organization. */
export interface OrganizationOutline {
  id: string;
  projects: ProjectOutline[];
}

/** How many teams' organizations are remembered as guesses before the memory starts over. */
const LAST_SEEN_TEAMS = 1000;

/** The keys `also` names for `organization`, or none when it cannot tell (a name that is not one). */
function guessKeys(
  also: (organization: OrganizationOutline) => string[],
  organization: OrganizationOutline,
): string[] {
  try {
    return also(organization);
  } catch {
    return [];
  }
}

/**
 * Documents read ahead with the organization, each handed out once: a second read of the same key goes
 * to the store, as it would have without them.
 */
export class Prefetched {
  private readonly values = new Map<string, unknown>();

  constructor(keys: string[] = [], values: unknown[] = []) {
    keys.forEach((key, i) => this.values.set(key, values[i] ?? undefined));
  }

  /** The document read ahead for `key` (undefined: it does not exist), or `miss` when it was not read. */
  take<T>(key: string): T | undefined | typeof miss {
    if (!this.values.has(key)) return miss;
    const value = this.values.get(key) as T | undefined;
    this.values.delete(key);
    return value;
  }

  /** `key` from what was read ahead, else from `store`. */
  async read<T>(store: DocumentStore, key: string): Promise<T | undefined> {
    const value = this.take<T>(key);
    return value === miss ? store.get<T>(key) : value;
  }
}

export const miss: unique symbol = Symbol('not read ahead');

export interface AuditTrailPage {
  entries: AuditEntry[];
  /** 1-based, newest first. */
  page: number;
  pages: number;
  total: number;
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

function slicePage(
  total: number,
  page: number,
  pageSize: number,
  take: (start: number, end: number) => AuditEntry[],
): AuditTrailPage {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  if (!Number.isInteger(page) || page < 1 || page > pages) {
    throw new DomainError(
      'invalid_input',
      `There ${pages === 1 ? 'is 1 page' : `are ${pages} pages`} of records: ask for a page from 1 to ${pages}.`,
    );
  }
  const start = (page - 1) * pageSize;
  return { entries: take(start, start + pageSize), page, pages, total };
}

export type AuditInput = Omit<AuditEntry, 'at' | 'outcome'> & { outcome?: AuditEntry['outcome'] };

export class Transaction {
  readonly context: AccessContext;
  readonly at: string;
  private readonly changed = new Map<string, Project>();
  private readonly removed = new Set<string>();
  private audit: AuditLog | undefined;
  /** Whether `audit` was read (it may be absent), so a commit does not read it again. */
  private auditRead = false;
  private readonly records: AuditEntry[] = [];
  private organizationChanged = false;
  private readonly userKeyIndexes = new Map<string, UserKeyIndex>();
  /** Other documents of the workspace changed by this transaction, by key. */
  private readonly documents = new Map<string, unknown>();
  /** Projects whose key set is written with this change even if it did not change. */
  private readonly keySetsDue = new Set<string>();

  constructor(
    private readonly workspaces: Workspaces,
    readonly organization: Organization,
    private readonly prefetched = new Prefetched(),
  ) {
    this.context = workspaces.context(organization);
    this.at = workspaces.now().toISOString();
  }

  /**
   * Reads a project and, in the same round trip, the audit log the change will append to. With
   * `viewer`, only a project they may see: any other is answered as if it did not exist.
   */
  async project(reference: string, viewer?: string): Promise<Project> {
    const summary = this.workspaces.lookupProject(this.organization, reference, viewer);
    if (!summary) throw await this.workspaces.notVisible(this.organization, reference, viewer as string);
    const projectKey = documentKeys.project(summary.id);
    const auditKey = documentKeys.audit(this.organization.id);
    let project = this.prefetched.take<Project>(projectKey);
    let audit = this.auditRead ? undefined : this.prefetched.take<AuditLog>(auditKey);
    if (project === miss || audit === miss) {
      const [stored, log] = await this.workspaces.store.getMany<Project | AuditLog>([projectKey, auditKey]);
      if (project === miss) project = stored as Project | undefined;
      if (audit === miss) audit = log as AuditLog | undefined;
    }
    if (!project) throw new DomainError('not_found', `Project *${summary.name}* was just deleted.`);
    if (viewer !== undefined && !can(this.context, viewer, 'project.view', project as Project)) {
      throw await this.workspaces.notVisible(this.organization, reference, viewer);
    }
    if (!this.auditRead) {
      this.audit = audit;
      this.auditRead = true;
    }
    return project;
  }

  /** The index of a user's keys, loaded once; saved with the change. */
  async userKeys(userId: string): Promise<UserKeyIndex> {
    let index = this.userKeyIndexes.get(userId);
    if (!index) {
      index = (await this.prefetched.read<UserKeyIndex>(
        this.workspaces.store,
        documentKeys.userKeys(this.organization.id, userId),
      )) ?? { keys: [] };
      this.userKeyIndexes.set(userId, index);
    }
    return index;
  }

  /** Reads a document of this workspace (a request…); `put` saves it with the change. */
  async read<T>(key: string): Promise<T | undefined> {
    if (this.documents.has(key)) return this.documents.get(key) as T;
    return this.prefetched.read<T>(this.workspaces.store, key);
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

  /** Writes the project's key set with this change (one made before signed key sets, or one expired). */
  refreshKeySet(project: Project): void {
    this.keySetsDue.add(project.id);
    this.save(project);
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
    // A change of a project's served keys (or offline window) writes its key set in the same write.
    const keySets = [...this.changed.values()].flatMap((project) =>
      keySetWrites(project.id, keySetChange(project, this.at, this.keySetsDue.has(project.id))),
    );
    const sets: { key: string; value: unknown }[] = [...this.changed.values()].map((project) => ({
      key: documentKeys.project(project.id),
      value: project,
    }));
    sets.push(...keySets);
    for (const [key, value] of this.documents) sets.push({ key, value });
    for (const [userId, index] of this.userKeyIndexes) {
      sets.push({ key: documentKeys.userKeys(this.organization.id, userId), value: index });
    }
    const deletes: string[] = [];
    if (this.records.length > 0) {
      if (!this.auditRead) {
        this.audit = await this.prefetched.read<AuditLog>(store, documentKeys.audit(this.organization.id));
      }
      this.auditRead = true;
      const log = currentAuditLog(this.audit);
      const newest = [...this.records].reverse();
      const heads: Record<AuditStream, AuditEntry[]> = {
        security: [...newest.filter((e) => streamOf(e.action) === 'security'), ...log.entries],
        activity: [...newest.filter((e) => streamOf(e.action) === 'activity'), ...log.activity],
      };
      const pages = { ...log.pages };
      // The pages written so far are large ones: from now on this log's new pages are small.
      if (!this.organization.largeAuditPages) {
        this.organization.largeAuditPages = { ...log.pages };
        this.organizationChanged = true;
      }
      const largePages = this.organization.largeAuditPages;
      for (const stream of AUDIT_STREAMS) {
        const head = heads[stream];
        const keptBefore = firstKeptPage(stream, pages[stream], largePages[stream]);
        // A full head moves its oldest records to a new page, written before the head that no longer holds them.
        while (head.length > AUDIT_PAGE_SIZE) {
          pages[stream] += 1;
          const page: AuditPageDocument = { entries: head.splice(head.length - AUDIT_PAGE_SIZE) };
          sets.push({
            key: documentKeys.auditPage(this.organization.id, stream, pages[stream]),
            value: page,
          });
        }
        // Activity pages no longer kept go, after the head stops counting them.
        const keptAfter = firstKeptPage(stream, pages[stream], largePages[stream]);
        for (let dropped = keptBefore; dropped < keptAfter; dropped += 1) {
          deletes.push(documentKeys.auditPage(this.organization.id, stream, dropped));
        }
      }
      const next: AuditLog = { entries: heads.security, activity: heads.activity, pages, version: 2 };
      this.audit = next;
      sets.push({ key: documentKeys.audit(this.organization.id), value: next });
    }
    if (this.organizationChanged) {
      this.organization.updatedAt = this.at;
      // Last: a new project's document exists before the index names it.
      sets.push({ key: documentKeys.organization(this.organization.teamId), value: this.organization });
    }
    // Deleted projects (and their token hashes) go after the index stops naming them.
    await store.write({
      set: sets,
      delete: [
        ...[...this.removed].flatMap((id) => [
          documentKeys.project(id),
          documentKeys.tokenIndex(id),
          keySetKeys.head(id),
          keySetKeys.lines(id),
        ]),
        ...deletes,
      ],
    });
  }
}
