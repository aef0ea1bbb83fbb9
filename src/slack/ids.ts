/** Action, callback and block IDs shared by renderers and listeners. */
export const ACTION = {
  dashboardRefresh: 'dashboard_refresh',
  dashboardAddKey: 'dashboard_add_key',
  homeTab: 'home_tab',
  homeOpenProject: 'home_open_project',
  addKeyProject: 'project',
  approve: 'request_approve',
  deny: 'request_deny',
} as const;

export const CALLBACK = {
  deleteProject: 'project_delete',
  createProject: 'project_create',
  addKey: 'sshkey_add',
  projectSettings: 'project_settings',
  denyRequest: 'request_deny_reason',
} as const;

/** Input blocks: each block's single element uses the same ID as its action_id. */
export const FIELD = {
  confirmation: 'confirmation',
  name: 'name',
  description: 'description',
  project: 'project',
  publicKey: 'public_key',
  expires: 'expires',
  reason: 'reason',
  approvalsChannel: 'approvals_channel',
  approvalsRequired: 'approvals_required',
  denyReason: 'deny_reason',
} as const;

export const HOME_TABS = ['overview', 'projects', 'keys', 'approvals', 'settings'] as const;
export type HomeTab = (typeof HOME_TABS)[number];
