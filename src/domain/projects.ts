import { authorize, can, effectiveRole } from './access';
import { isOfflineLogins, OFFLINE_LOGINS, offlineLoginsOf } from './deliveryKeySet';
import { readCheckIns } from './deliveryRollout';
import type { ApprovalService } from './approvals';
import { DomainError, invalid } from './errors';
import type { Actor, CheckIn, Organization, Project, ProjectSummary, Role } from './model';
import { ROLES } from './model';
import { MAX_APPROVALS, MAX_PROJECTS } from './limits';
import {
  BREAK_GLASS_MAXIMA,
  BREAK_GLASS_SWITCH,
  breakGlassMaxOf,
  breakGlassOf,
  isBreakGlassMax,
  isBreakGlassSwitch,
  isMaxKeyLifetime,
  MAX_KEY_LIFETIMES,
  maxKeyLifetimeOf,
} from './keyPolicy';
import { nameKey, validateDescription, validateProjectName } from './names';
import { documentKeys, type Transaction, type Workspaces } from './workspaces';

export interface SettingsChange {
  description?: string;
  /** A channel ID, or null to fall back to the organization's channel. */
  approvalsChannel?: string | null;
  approvalsRequired?: number;
  /** `strict`, `1h`, `24h` or `7d`: how long instances may log people in from a cached key set. */
  offlineLogins?: string;
  /** `on` or `off`: whether on-call engineers may add break-glass keys. */
  breakGlass?: string;
  /** `1h`, `4h` or `8h`: the longest a break-glass key lasts. */
  breakGlassMax?: string;
  /** `8h`, `3d`, `30d` or `none`: how long keys added by non-admins may last. */
  maxKeyLifetime?: string;
}

/** A setting's value, trimmed and lower-cased, or a refusal that lists the values it takes. */
function settingValue<T extends string>(
  raw: string | undefined,
  is: (text: string) => text is T,
  values: readonly string[],
  label: string,
  field: string,
): T | undefined {
  const value = raw?.trim().toLowerCase();
  if (value === undefined) return undefined;
  if (!is(value)) throw invalid(`${label} is one of ${values.map((v) => `\`${v}\``).join(', ')}.`, field);
  return value;
}

export interface ProjectView {
  organization: Organization;
  project: Project;
  /** The caller's role on it. */
  role: Role | undefined;
  owners: string[];
  /** Latest key fetch of each instance, by resource ID (the most recent instances only: `instancesRead`). */
  checkIns: Record<string, CheckIn>;
}

export class ProjectService {
  constructor(
    private readonly workspaces: Workspaces,
    private readonly approvals: ApprovalService,
  ) {}

  /**
   * After a role change in `tx`: the person's open requests in the project that nobody may still make
   * are closed with it (the deciding click checks again, so a card left open never adds the key). Their
   * entries in the pending index go when the sweep reaches their deadline and finds them closed.
   */
  private async afterRoleChange(
    tx: Transaction,
    project: Project,
    userId: string,
    by: string,
  ): Promise<void> {
    await this.approvals.withdrawRequestsOf(tx, project, userId, by);
  }

  /** Projects the caller may see. */
  async list(actor: Actor): Promise<{ organization: Organization; projects: ProjectSummary[] }> {
    const organization = await this.workspaces.organization(actor.teamId);
    const context = this.workspaces.context(organization);
    if (organization.settings.defaultRole === 'viewer' || can(context, actor.userId, 'organization.manage')) {
      return { organization, projects: organization.projects };
    }
    // Without a default role, visibility depends on membership, kept in each project: one round trip.
    const projects = await this.workspaces.store.getMany<Project>(
      organization.projects.map((p) => documentKeys.project(p.id)),
    );
    const visible = new Set(
      projects
        .filter((p): p is Project => !!p && can(context, actor.userId, 'project.view', p))
        .map((p) => p.id),
    );
    return { organization, projects: organization.projects.filter((p) => visible.has(p.id)) };
  }

  /** A project the caller may see, for the list of its members: two round trips at any size. */
  async members(actor: Actor, reference: string): Promise<{ project: Project }> {
    const organization = await this.workspaces.organization(actor.teamId);
    const project = await this.workspaces.project(organization, reference, actor.userId);
    authorize(this.workspaces.context(organization), actor.userId, 'project.view', project);
    return { project };
  }

  /**
   * Which of `phrases` name (or are the ID of) a project the caller may see: what a command needs to
   * read unquoted words as a project name. One read of the organization; where visibility depends on
   * membership, one more of only the projects named, so the cost follows the phrases, not the
   * organization, and no hidden project's name is confirmed.
   */
  async named(actor: Actor, phrases: readonly string[]): Promise<ProjectSummary[]> {
    const organization = await this.workspaces.organization(actor.teamId);
    const wanted = new Set(phrases.map((p) => nameKey(p.replace(/\s+/g, ' '))));
    const candidates = organization.projects.filter((p) => wanted.has(nameKey(p.name)) || wanted.has(p.id));
    const context = this.workspaces.context(organization);
    if (
      candidates.length === 0 ||
      organization.settings.defaultRole === 'viewer' ||
      can(context, actor.userId, 'organization.manage')
    ) {
      return candidates;
    }
    const projects = await this.workspaces.store.getMany<Project>(
      candidates.map((p) => documentKeys.project(p.id)),
    );
    return candidates.filter((_, i) => {
      const project = projects[i];
      return !!project && can(context, actor.userId, 'project.view', project);
    });
  }

  async show(actor: Actor, reference: string): Promise<ProjectView> {
    const organization = await this.workspaces.organization(actor.teamId);
    const context = this.workspaces.context(organization);
    const project = await this.workspaces.project(organization, reference, actor.userId);
    authorize(context, actor.userId, 'project.view', project);
    // The latest check-ins of the instances a dashboard counts, in one round trip.
    const checkIns = await readCheckIns(this.workspaces.store, project);
    return {
      organization,
      project,
      role: effectiveRole(context, project, actor.userId),
      owners: [...new Set([...context.configuredOwners, ...organization.owners])],
      checkIns,
    };
  }

  async create(actor: Actor, rawName: string, rawDescription = ''): Promise<Project> {
    const name = validateProjectName(rawName);
    const description = validateDescription(rawDescription);
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      authorize(tx.context, actor.userId, 'project.create');
      assertNameFree(tx, name);
      if (tx.organization.projects.length >= MAX_PROJECTS) {
        throw new DomainError(
          'conflict',
          `This organization has ${MAX_PROJECTS} projects, the most it can hold. Delete unused ones first.`,
        );
      }
      const project: Project = {
        id: this.workspaces.newId(),
        orgId: tx.organization.id,
        teamId: tx.organization.teamId,
        name,
        description,
        isDefault: false,
        createdAt: tx.at,
        updatedAt: tx.at,
        keys: [],
        resources: [],
        members: { [actor.userId]: 'admin' },
        settings: { approvalsRequired: 1 },
        activity: [],
      };
      tx.save(project);
      tx.record({ actor: actor.userId, action: 'project.created', target: name }, project);
      return project;
    });
  }

  async rename(
    actor: Actor,
    reference: string,
    rawName: string,
  ): Promise<{ project: Project; previousName: string }> {
    const name = validateProjectName(rawName);
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      const project = await tx.project(reference, actor.userId);
      authorize(tx.context, actor.userId, 'project.manage', project);
      const previousName = project.name;
      if (previousName === name) throw invalid(`Project *${name}* already has that name.`);
      if (nameKey(previousName) !== nameKey(name)) assertNameFree(tx, name);
      project.name = name;
      tx.record(
        { actor: actor.userId, action: 'project.renamed', target: name, detail: `was ${previousName}` },
        project,
      );
      return { project, previousName };
    });
  }

  /** Deletes an empty, non-default project; `confirmation` must repeat its name. */
  async delete(actor: Actor, reference: string, confirmation: string): Promise<Project> {
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      const project = await tx.project(reference, actor.userId);
      authorize(tx.context, actor.userId, 'project.manage', project);
      assertDeletable(project);
      if (nameKey(confirmation) !== nameKey(project.name)) {
        throw invalid(`Type the project's name, \`${project.name}\`, to confirm.`, 'confirmation');
      }
      tx.remove(project);
      tx.record({ actor: actor.userId, action: 'project.deleted', target: project.name }, project);
      return project;
    });
  }

  /** The checks of `delete` that need no confirmation, so a form can refuse before asking for one. */
  async prepareDelete(actor: Actor, reference: string): Promise<Project> {
    const { project, organization } = await this.show(actor, reference);
    authorize(this.workspaces.context(organization), actor.userId, 'project.manage', project);
    assertDeletable(project);
    return project;
  }

  /** The checks of `updateSettings` that come before the form. */
  async prepareSettings(actor: Actor, reference: string): Promise<Project> {
    const { project, organization } = await this.show(actor, reference);
    authorize(this.workspaces.context(organization), actor.userId, 'project.manage', project);
    return project;
  }

  /** Changes the settings given; the others stay as they are. */
  async updateSettings(actor: Actor, reference: string, changes: SettingsChange): Promise<Project> {
    const description =
      changes.description !== undefined ? validateDescription(changes.description) : undefined;
    const required = changes.approvalsRequired;
    if (required !== undefined && (!Number.isInteger(required) || required < 1 || required > MAX_APPROVALS)) {
      throw invalid(`Approvals required is a whole number from 1 to ${MAX_APPROVALS}.`, 'approvals_required');
    }
    const offline = changes.offlineLogins?.trim().toLowerCase();
    if (offline !== undefined && !isOfflineLogins(offline)) {
      throw invalid(
        `Offline logins is one of ${OFFLINE_LOGINS.map((o) => `\`${o}\``).join(', ')}.`,
        'offline_logins',
      );
    }
    const breakGlass = settingValue(
      changes.breakGlass,
      isBreakGlassSwitch,
      BREAK_GLASS_SWITCH,
      'Break-glass',
      'break_glass',
    );
    const breakGlassMax = settingValue(
      changes.breakGlassMax,
      isBreakGlassMax,
      BREAK_GLASS_MAXIMA,
      'Break-glass max',
      'break_glass_max',
    );
    const maxKeyLifetime = settingValue(
      changes.maxKeyLifetime,
      isMaxKeyLifetime,
      MAX_KEY_LIFETIMES,
      'Max key lifetime',
      'max_key_lifetime',
    );
    if (changes.approvalsChannel && !/^[CG][A-Z0-9]+$/.test(changes.approvalsChannel)) {
      throw invalid('Pick a channel for approval requests.', 'approvals_channel');
    }
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      const project = await tx.project(reference, actor.userId);
      authorize(tx.context, actor.userId, 'project.manage', project);
      const changed: string[] = [];
      if (description !== undefined && description !== project.description) {
        project.description = description;
        changed.push('description');
      }
      if (
        changes.approvalsChannel !== undefined &&
        changes.approvalsChannel !== (project.settings.approvalsChannel ?? null)
      ) {
        if (changes.approvalsChannel) project.settings.approvalsChannel = changes.approvalsChannel;
        else delete project.settings.approvalsChannel;
        changed.push('approvals channel');
      }
      if (required !== undefined && required !== project.settings.approvalsRequired) {
        project.settings.approvalsRequired = required;
        changed.push(`approvals required: ${required}`);
      }
      if (offline !== undefined && offline !== offlineLoginsOf(project)) {
        project.settings.offlineLogins = offline;
        changed.push(`offline logins: ${offline}`);
      }
      if (breakGlass !== undefined && breakGlass !== breakGlassOf(project)) {
        project.settings.breakGlass = breakGlass;
        changed.push(`break-glass: ${breakGlass}`);
      }
      if (breakGlassMax !== undefined && breakGlassMax !== breakGlassMaxOf(project)) {
        project.settings.breakGlassMax = breakGlassMax;
        changed.push(`break-glass max: ${breakGlassMax}`);
      }
      if (maxKeyLifetime !== undefined && maxKeyLifetime !== maxKeyLifetimeOf(project)) {
        project.settings.maxKeyLifetime = maxKeyLifetime;
        changed.push(`max key lifetime: ${maxKeyLifetime}`);
      }
      if (changed.length > 0) {
        tx.record(
          { actor: actor.userId, action: 'project.settings_changed', detail: changed.join(', ') },
          project,
        );
      }
      return project;
    });
  }

  async grant(actor: Actor, reference: string, userId: string, role: string): Promise<Project> {
    if (!(ROLES as readonly string[]).includes(role)) {
      throw invalid(`\`${role.slice(0, 20)}\` is not a role. Roles: \`admin\`, \`member\`, \`viewer\`.`);
    }
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      const project = await tx.project(reference, actor.userId);
      authorize(tx.context, actor.userId, 'project.manage', project);
      project.members[userId] = role as Role;
      tx.record(
        { actor: actor.userId, action: 'role.granted', target: `<@${userId}>`, detail: role },
        project,
      );
      await this.afterRoleChange(tx, project, userId, actor.userId);
      return project;
    });
  }

  async revoke(actor: Actor, reference: string, userId: string): Promise<Project> {
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      const project = await tx.project(reference, actor.userId);
      authorize(tx.context, actor.userId, 'project.manage', project);
      if (!project.members[userId]) {
        throw new DomainError('not_found', `<@${userId}> has no role on project *${project.name}*.`);
      }
      delete project.members[userId];
      tx.record({ actor: actor.userId, action: 'role.revoked', target: `<@${userId}>` }, project);
      await this.afterRoleChange(tx, project, userId, actor.userId);
      return project;
    });
  }
}

function assertNameFree(tx: Transaction, name: string): void {
  const taken = tx.organization.projects.find((p) => nameKey(p.name) === nameKey(name));
  if (taken) {
    throw new DomainError(
      'conflict',
      `A project named *${taken.name}* already exists (names ignore case). Pick another name.`,
      'name',
    );
  }
}

function assertDeletable(project: Project): void {
  if (project.isDefault) {
    throw new DomainError(
      'conflict',
      `*${project.name}* is the default project: its ID is the Organization ID, so it cannot be deleted. You can rename it.`,
    );
  }
  const pending = project.pendingRequests?.length ?? 0;
  if (pending > 0) {
    throw new DomainError(
      'conflict',
      `Project *${project.name}* has ${pending} key request${pending === 1 ? '' : 's'} waiting for a decision. Approve or deny ${pending === 1 ? 'it' : 'them'} first.`,
    );
  }
  if (project.keys.length > 0 || project.resources.length > 0) {
    const parts = [
      project.keys.length ? `${project.keys.length} SSH key${project.keys.length === 1 ? '' : 's'}` : '',
      project.resources.length
        ? `${project.resources.length} resource${project.resources.length === 1 ? '' : 's'}`
        : '',
    ].filter(Boolean);
    throw new DomainError(
      'conflict',
      `Project *${project.name}* still holds ${parts.join(' and ')}. Remove them first (\`/sshkey list ${quoteName(project.name)}\` shows the keys).`,
    );
  }
}

/** A project name as a user would type it in a command. */
export const quoteName = (name: string): string => (/\s/.test(name) ? `"${name}"` : name);
