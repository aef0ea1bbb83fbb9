import { authorize } from './access';
import { validateLocation, validateResourceName, validateResourceType } from './catalog';
import { DomainError } from './errors';
import { assertResourceRoom } from './limits';
import type { Actor, Project, Resource } from './model';
import { nameKey } from './names';
import type { Workspaces } from './workspaces';

export class ResourceService {
  constructor(private readonly workspaces: Workspaces) {}

  async add(
    actor: Actor,
    projectReference: string,
    rawType: string,
    rawName: string,
    rawZone?: string,
  ): Promise<{ resource: Resource; project: Project }> {
    const type = validateResourceType(rawType);
    const name = validateResourceName(rawName);
    const zone = rawZone !== undefined ? validateLocation(rawZone) : undefined;
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      const project = await tx.project(projectReference, actor.userId);
      authorize(tx.context, actor.userId, 'project.manage', project);
      if (project.resources.some((r) => r.type === type && nameKey(r.name) === nameKey(name))) {
        const article = /^[aeiou]/.test(type) ? 'an' : 'a';
        throw new DomainError(
          'conflict',
          `Project *${project.name}* already has ${article} ${type} named *${name}*.`,
        );
      }
      assertResourceRoom(project);
      const resource: Resource = {
        id: this.workspaces.newId(),
        type,
        name,
        ...(zone ? { zone } : {}),
        addedBy: actor.userId,
        createdAt: tx.at,
      };
      project.resources.push(resource);
      tx.record(
        {
          actor: actor.userId,
          action: 'resource.added',
          target: `${type} ${name}${zone ? ` (${zone})` : ''}`,
        },
        project,
      );
      return { resource, project };
    });
  }

  async remove(
    actor: Actor,
    projectReference: string,
    rawType: string,
    rawName: string,
  ): Promise<{ resource: Resource; project: Project }> {
    const type = validateResourceType(rawType);
    return this.workspaces.mutate(actor.teamId, async (tx) => {
      const project = await tx.project(projectReference, actor.userId);
      authorize(tx.context, actor.userId, 'project.manage', project);
      const resource = project.resources.find((r) => r.type === type && nameKey(r.name) === nameKey(rawName));
      if (!resource) {
        throw new DomainError(
          'not_found',
          `Project *${project.name}* has no ${type} named \`${rawName.trim().slice(0, 64)}\`.`,
        );
      }
      project.resources = project.resources.filter((r) => r.id !== resource.id);
      tx.record(
        { actor: actor.userId, action: 'resource.removed', target: `${type} ${resource.name}` },
        project,
      );
      return { resource, project };
    });
  }
}
