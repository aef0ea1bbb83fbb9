import type { App } from '@slack/bolt';
import type { Domain } from '../../domain';
import { registerActions } from './actions';
import { registerApprovals } from './approvals';
import { registerBreakGlass } from './breakGlass';
import { registerCommands } from './commands';
import { guardPrivateKeys } from './common';
import { registerHome } from './home';
import { registerRequester } from './requester';
import { Listeners } from './router';
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
  const listeners = new Listeners();
  registerCommands(listeners, domain, publicUrl);
  registerViews(app, listeners, domain);
  registerActions(listeners, domain, publicUrl);
  registerHome(listeners, domain, publicUrl);
  registerApprovals(listeners, domain, publicUrl);
  registerBreakGlass(app, listeners, domain, publicUrl);
  registerRequester(app, listeners, domain);
  registerTokens(listeners, domain);
  listeners.attach(app);
}
