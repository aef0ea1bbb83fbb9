import { DomainError } from './errors';
import type { Organization, Project, Role } from './model';

/**
 * The one permission check. Every command, button and form asks `authorize` before it changes or
 * shows anything; refusals name the role needed and, to those who may see the project, who holds it.
 */
export type Permission =
  'organization.manage' | 'project.create' | 'project.view' | 'project.manage' | 'key.add' | 'key.request';

const DOING: Record<Permission, string> = {
  'organization.manage': 'Changing organization settings',
  'project.create': 'Creating a project',
  'project.view': 'Viewing this project',
  'project.manage': 'Managing this project',
  'key.add': 'Adding a key directly',
  'key.request': 'Requesting a key',
};

const RANK: Record<Role, number> = { viewer: 1, member: 2, admin: 3 };
const NEEDED: Partial<Record<Permission, Role>> = {
  'project.view': 'viewer',
  'key.request': 'member',
  'project.manage': 'admin',
  'key.add': 'admin',
};

export interface AccessContext {
  organization: Organization;
  /** Owners named by the ORG_OWNERS setting. */
  configuredOwners: readonly string[];
}

export function ownersOf(context: AccessContext): string[] {
  return [...new Set([...context.configuredOwners, ...context.organization.owners])];
}

export const isOwner = (context: AccessContext, userId: string): boolean =>
  ownersOf(context).includes(userId);

/** The role a user acts with on a project: owners act as admin; others get theirs or the default. */
export function effectiveRole(context: AccessContext, project: Project, userId: string): Role | undefined {
  if (isOwner(context, userId)) return 'admin';
  const role = project.members[userId];
  if (role) return role;
  return context.organization.settings.defaultRole === 'viewer' ? 'viewer' : undefined;
}

export function can(
  context: AccessContext,
  userId: string,
  permission: Permission,
  project?: Project,
): boolean {
  if (isOwner(context, userId)) return true;
  if (permission === 'organization.manage') return false;
  if (permission === 'project.create') return context.organization.settings.projectCreators === 'everyone';
  if (!project) return false;
  const role = effectiveRole(context, project, userId);
  const needed = NEEDED[permission] ?? 'admin';
  return role !== undefined && RANK[role] >= RANK[needed];
}

const mentions = (users: string[]): string =>
  users.length ? users.map((u) => `<@${u}>`).join(', ') : 'nobody yet';

export function authorize(
  context: AccessContext,
  userId: string,
  permission: Permission,
  project?: Project,
): void {
  if (can(context, userId, permission, project)) return;
  const owners = ownersOf(context);
  const ownersText =
    owners.length > 0
      ? `Organization owners: ${mentions(owners)}.`
      : 'This organization has no owners yet: whoever runs Keyhouse sets them with `ORG_OWNERS`.';
  if (permission === 'organization.manage' || permission === 'project.create' || !project) {
    throw new DomainError('forbidden', `${DOING[permission]} is for organization owners. ${ownersText}`);
  }
  // Who holds a role on a project is for those who may see it: anyone else learns only who can let them in.
  if (!can(context, userId, 'project.view', project)) {
    throw new DomainError(
      'forbidden',
      `${DOING[permission]} needs a role on that project, and you have none. ` +
        (owners.length > 0 ? `Organization owners can give you one: ${mentions(owners)}.` : ownersText),
    );
  }
  const needed = NEEDED[permission] ?? 'admin';
  const holders = Object.entries(project.members)
    .filter(([, role]) => RANK[role] >= RANK[needed])
    .map(([user]) => user);
  throw new DomainError(
    'forbidden',
    `${DOING[permission]} needs the *${needed}* role on project *${project.name}*. ` +
      `Who has it: ${mentions(holders)}; ${ownersText.charAt(0).toLowerCase()}${ownersText.slice(1)}`,
  );
}
