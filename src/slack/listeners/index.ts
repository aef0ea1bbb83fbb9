import type { App } from '@slack/bolt';
import type { Domain } from '../../domain';
import { registerActions } from './actions';
import { registerApprovals } from './approvals';
import { registerBreakGlass } from './breakGlass';
import { registerCommands } from './commands';
import { guardPrivateKeys } from './common';
import { registerHome } from './home';
import { registerRequester } from './requester';
import { registerTokens } from './tokens';
import { registerViews } from './views';
import { withStorageBudget } from '../../store/budget';

/** What one Slack request may spend on storage: its answer must reach Slack within 3 s. */
const SLACK_STORAGE_BUDGET_MS = 2200;

/** Every Slack listener: thin, each parses its input, calls one use case and renders the result. */
export function registerListeners(app: App, domain: Domain, publicUrl: string): void {
  // First, for every request: a pasted private key stops here, before any listener sees it.
  app.use(guardPrivateKeys);
  // Then a storage budget, so that even a slow store leaves time to answer within Slack's 3 s.
  app.use(({ next }) => withStorageBudget(SLACK_STORAGE_BUDGET_MS, next));
  registerCommands(app, domain, publicUrl);
  registerViews(app, domain);
  registerActions(app, domain, publicUrl);
  registerHome(app, domain, publicUrl);
  registerApprovals(app, domain, publicUrl);
  registerBreakGlass(app, domain, publicUrl);
  registerRequester(app, domain);
  registerTokens(app, domain);
}
