import { authorize, can, isOwner, ownersOf } from './access';
import { DomainError, invalid } from './errors';
import type { Actor, Organization, Project } from './model';
import { type AuditStream, type AuditTrailPage, documentKeys, type Workspaces } from './workspaces';
import type { DeploymentSigningKey } from './signingKey';

/** Records shown on one page of `/org audit`. */
export const AUDIT_PAGE_SHOWN = 20;

export interface AuditView extends AuditTrailPage {
  stream: AuditStream;
  projectName?: string;
  projectId?: string;
  /** `visible`: the caller is not an owner, so only the records of the projects they may see. */
  scope?: 'visible';
}

export interface OrganizationOverview {
  organization: Organization;
  owners: string[];
  configuredOwners: readonly string[];
  projectCount: number;
  keyCount: number;
  resourceCount: number;
  /** The deployment signing key's fingerprint (absent when storage could not give it). */
  signingKeyFingerprint?: string;
}

export class OrganizationService {
  constructor(
    private readonly workspaces: Workspaces,
    private readonly signingKey?: DeploymentSigningKey,
  ) {}

  async overview(actor: Actor): Promise<OrganizationOverview> {
    const organization = await this.workspaces.organization(actor.teamId);
    const sum = (pick: (p: Organization['projects'][number]) => number) =>
      organization.projects.reduce((total, project) => total + pick(project), 0);
    const fingerprint = await this.signingKey?.get().then(
      (key) => key.fingerprint,
      () => undefined,
    );
    return {
      ...(fingerprint ? { signingKeyFingerprint: fingerprint } : {}),
      organization,
      owners: ownersOf(this.workspaces.context(organization)),
      configuredOwners: this.workspaces.options.configuredOwners,
      projectCount: organization.projects.length,
      keyCount: sum((p) => p.keyCount),
      resourceCount: sum((p) => p.resourceCount),
    };
  }

  async addOwner(actor: Actor, userId: string): Promise<Organization> {
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      authorize(tx.context, actor.userId, 'organization.manage');
      if (isOwner(tx.context, userId)) {
        throw new DomainError('conflict', `<@${userId}> is already an organization owner.`);
      }
      tx.organization.owners.push(userId);
      tx.touchOrganization();
      tx.record({ actor: actor.userId, action: 'owner.added', target: `<@${userId}>` });
      return tx.organization;
    });
  }

  async removeOwner(actor: Actor, userId: string): Promise<Organization> {
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      authorize(tx.context, actor.userId, 'organization.manage');
      if (tx.context.configuredOwners.includes(userId)) {
        throw new DomainError(
          'conflict',
          `<@${userId}> is an owner through the \`ORG_OWNERS\` setting; whoever runs Keyhouse can remove them there.`,
        );
      }
      if (!tx.organization.owners.includes(userId)) {
        throw new DomainError('not_found', `<@${userId}> is not an organization owner.`);
      }
      if (ownersOf(tx.context).length <= 1) {
        throw new DomainError(
          'conflict',
          `<@${userId}> is the last owner, and an organization always keeps one. Add another owner first.`,
        );
      }
      tx.organization.owners = tx.organization.owners.filter((owner) => owner !== userId);
      tx.touchOrganization();
      tx.record({ actor: actor.userId, action: 'owner.removed', target: `<@${userId}>` });
      return tx.organization;
    });
  }

  async setApprovalsChannel(actor: Actor, channelId: string): Promise<Organization> {
    if (!/^[CG][A-Z0-9]+$/.test(channelId))
      throw invalid('Name a channel as a mention, for example `#approvals`.');
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      authorize(tx.context, actor.userId, 'organization.manage');
      tx.organization.settings.approvalsChannel = channelId;
      tx.touchOrganization();
      tx.record({ actor: actor.userId, action: 'organization.channel_set', target: `<#${channelId}>` });
      return tx.organization;
    });
  }

  /** `default-role viewer|none` or `project-creators owners|everyone`. */
  async updateSettings(actor: Actor, setting: string, value: string): Promise<Organization> {
    const allowed: Record<string, string[]> = {
      'default-role': ['viewer', 'none'],
      'project-creators': ['owners', 'everyone'],
    };
    const values = allowed[setting];
    if (!values)
      throw invalid(
        `\`${setting.slice(0, 30)}\` is not a setting. Settings: \`default-role\`, \`project-creators\`, \`oncall-group\`.`,
      );
    if (!values.includes(value)) {
      throw invalid(`\`${setting}\` takes ${values.map((v) => `\`${v}\``).join(' or ')}.`);
    }
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      authorize(tx.context, actor.userId, 'organization.manage');
      if (setting === 'default-role') tx.organization.settings.defaultRole = value as 'viewer' | 'none';
      else tx.organization.settings.projectCreators = value as 'owners' | 'everyone';
      tx.touchOrganization();
      tx.record({
        actor: actor.userId,
        action: 'organization.setting_changed',
        target: setting,
        detail: value,
      });
      return tx.organization;
    });
  }

  /**
   * One page of the audit trail, newest first: the organization's (for owners; for others, the records
   * of every project they may see), or one project's (for whoever may see it). Security records by
   * default; `activity` pages through the noise instead.
   */
  async audit(
    actor: Actor,
    projectReference?: string,
    options: { page?: number; stream?: AuditStream } = {},
  ): Promise<AuditView> {
    const organization = await this.workspaces.organization(actor.teamId);
    const context = this.workspaces.context(organization);
    const stream = options.stream ?? 'security';
    const page = options.page ?? 1;
    if (projectReference !== undefined) {
      const project = await this.workspaces.project(organization, projectReference, actor.userId);
      authorize(context, actor.userId, 'project.view', project);
      const trail = await this.workspaces.auditTrail(
        organization,
        stream,
        page,
        AUDIT_PAGE_SHOWN,
        project.id,
      );
      return { ...trail, stream, projectName: project.name, projectId: project.id };
    }
    if (isOwner(context, actor.userId)) {
      return { ...(await this.workspaces.auditTrail(organization, stream, page, AUDIT_PAGE_SHOWN)), stream };
    }
    // Others see the records of the projects they may see; organization-wide records stay with owners.
    const visible = await this.visibleProjectIds(organization, actor.userId);
    if (visible.size === 0) {
      const owners = ownersOf(context);
      throw new DomainError(
        'forbidden',
        'You cannot see any project yet, so there are no changes to show you. ' +
          (owners.length > 0
            ? `Organization owners can give you a role: ${owners.map((u) => `<@${u}>`).join(', ')}.`
            : 'This organization has no owners yet: whoever runs Keyhouse sets them with `ORG_OWNERS`.'),
      );
    }
    const trail = await this.workspaces.auditTrail(organization, stream, page, AUDIT_PAGE_SHOWN, visible);
    return { ...trail, stream, scope: 'visible' };
  }

  private async visibleProjectIds(organization: Organization, userId: string): Promise<Set<string>> {
    if (organization.settings.defaultRole === 'viewer')
      return new Set(organization.projects.map((p) => p.id));
    const context = this.workspaces.context(organization);
    const projects = await this.workspaces.store.getMany<Project>(
      organization.projects.map((p) => documentKeys.project(p.id)),
    );
    return new Set(
      projects.filter((p): p is Project => !!p && can(context, userId, 'project.view', p)).map((p) => p.id),
    );
  }
}
