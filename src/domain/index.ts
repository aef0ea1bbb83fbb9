import { ApprovalService } from './approvals';
import { type BreakGlassOptions, BreakGlassService } from './breakGlass';
import { DeliveryService } from './delivery';
import { KeyService } from './keys';
import { OrganizationService } from './organizations';
import { ProjectService } from './projects';
import { ReminderService } from './reminders';
import { RequesterService } from './requester';
import { ResourceService } from './resources';
import { DeploymentSigningKey } from './signingKey';
import type { DocumentStore } from './storage';
import { type WorkspaceOptions, Workspaces } from './workspaces';

/** Every use case of Keyhouse, on one store. */
export interface Domain {
  workspaces: Workspaces;
  organizations: OrganizationService;
  projects: ProjectService;
  keys: KeyService;
  resources: ResourceService;
  approvals: ApprovalService;
  /** On-call keys added at once and reviewed afterwards. */
  breakGlass: BreakGlassService;
  delivery: DeliveryService;
  /** Reminders of pending requests, claimed once across replicas. */
  reminders: ReminderService;
  /** What requesters control: cancelling a request, and their temporary keys (I'm done, Extend). */
  requester: RequesterService;
  /** The deployment's key-set signing key (public half and signatures only). */
  signingKey: DeploymentSigningKey;
}

export function createDomain(store: DocumentStore, options: WorkspaceOptions & BreakGlassOptions): Domain {
  const workspaces = new Workspaces(store, options);
  const signingKey = new DeploymentSigningKey(store, workspaces.now);
  const delivery = new DeliveryService(workspaces, signingKey);
  const approvals = new ApprovalService(workspaces, delivery);
  const keys = new KeyService(workspaces, approvals, delivery);
  return {
    approvals,
    breakGlass: new BreakGlassService(workspaces, keys, delivery, approvals, options.onCallMembers),
    delivery,
    workspaces,
    signingKey,
    organizations: new OrganizationService(workspaces, signingKey),
    projects: new ProjectService(workspaces, approvals),
    keys,
    resources: new ResourceService(workspaces),
    reminders: new ReminderService(workspaces),
    requester: new RequesterService(workspaces, approvals, delivery),
  };
}
