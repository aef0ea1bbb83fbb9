import { KeyService } from './keys';
import { OrganizationService } from './organizations';
import { ProjectService } from './projects';
import { ResourceService } from './resources';
import type { DocumentStore } from './storage';
import { type WorkspaceOptions, Workspaces } from './workspaces';

/** Every use case of Keyhouse, on one store. */
export interface Domain {
  workspaces: Workspaces;
  organizations: OrganizationService;
  projects: ProjectService;
  keys: KeyService;
  resources: ResourceService;
}

export function createDomain(store: DocumentStore, options: WorkspaceOptions): Domain {
  const workspaces = new Workspaces(store, options);
  return {
    workspaces,
    organizations: new OrganizationService(workspaces),
    projects: new ProjectService(workspaces),
    keys: new KeyService(workspaces),
    resources: new ResourceService(workspaces),
  };
}
