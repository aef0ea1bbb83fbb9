/** Action, callback and block IDs shared by renderers and listeners. */

/** The slash commands of manifest.yml. */
export const COMMAND_NAMES = ['/org', '/project', '/sshkey'] as const;

export const ACTION = {
  dashboardRefresh: 'dashboard_refresh',
  dashboardAddKey: 'dashboard_add_key',
  homeTab: 'home_tab',
  homeOpenProject: 'home_open_project',
  /** Prefixes: `_previous` and `_next` buttons of a paged list message, and of an App Home tab. */
  listPage: 'list_page',
  homePage: 'home_page',
  addKeyProject: 'project',
  approve: 'request_approve',
  /** A break-glass key's review card. */
  breakGlassKeep: 'breakglass_keep',
  breakGlassRevoke: 'breakglass_revoke',
  /** `/project token <project> revoke --all`: the confirmation's buttons. */
  tokensRevokeAll: 'tokens_revoke_all',
  tokensRevokeCancel: 'tokens_revoke_cancel',
  deny: 'request_deny',
  /** The requester's own controls: cancel a pending request; I'm done and Extend on a temporary key. */
  cancelRequest: 'request_cancel',
  keyDone: 'key_done',
  keyExtend: 'key_extend',
} as const;

/**
 * The action IDs listened to as prefixes (`home_tab_keys`, `list_page_next`…); every other ID is listened
 * to exactly, so an ID that only starts with one of those has no listener.
 */
export const ACTION_PREFIXES: readonly string[] = [ACTION.homeTab, ACTION.listPage, ACTION.homePage];

export const CALLBACK = {
  deleteProject: 'project_delete',
  createProject: 'project_create',
  addKey: 'sshkey_add',
  projectSettings: 'project_settings',
  denyRequest: 'request_deny_reason',
  extendKey: 'key_extend_request',
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
  offlineLogins: 'offline_logins',
  breakGlass: 'break_glass',
  breakGlassMax: 'break_glass_max',
  maxKeyLifetime: 'max_key_lifetime',
  /** The add-key form's choice: an ordinary key, or break-glass. */
  keyKind: 'key_kind',
  denyReason: 'deny_reason',
  extendFor: 'extend_for',
} as const;

export const HOME_TABS = ['overview', 'projects', 'keys', 'approvals', 'settings'] as const;
export type HomeTab = (typeof HOME_TABS)[number];
