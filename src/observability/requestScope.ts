import { AsyncLocalStorage } from 'node:async_hooks';

/** How a Slack request ended: done, refused with a reason told to the user, or failed. */
export type Outcome = 'ok' | 'refused' | 'error';

/** The Slack request being handled: its log fields and its outcome so far. */
export interface RequestScope {
  fields: Readonly<Record<string, string>>;
  outcome: Outcome;
}

/** Set by the Slack request middleware for the whole of one request, listeners included. */
export const requestScope = new AsyncLocalStorage<RequestScope>();

const RANK: Record<Outcome, number> = { ok: 0, refused: 1, error: 2 };

/** Records how the current Slack request ends; the worse outcome stays. Outside a request it does nothing. */
export function noteOutcome(outcome: Exclude<Outcome, 'ok'>): void {
  const scope = requestScope.getStore();
  if (scope && RANK[outcome] > RANK[scope.outcome]) scope.outcome = outcome;
}
