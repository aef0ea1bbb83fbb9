import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The time one request may spend on storage, shared by every store operation it makes. Slack wants an
 * answer within 3 s: each operation waits at most what is left of its request's budget, so a slow but
 * answering store (every reply just under the per-operation deadline) still ends in time.
 */
const budgets = new AsyncLocalStorage<number>();

/** Runs `fn` with a storage budget of `ms` (a nested budget never extends an outer one). */
export function withStorageBudget<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const outer = budgets.getStore();
  const deadline = Math.min(Date.now() + ms, outer ?? Number.POSITIVE_INFINITY);
  return budgets.run(deadline, fn);
}

/** Milliseconds left of the current request's budget; infinite outside any request. */
export function budgetLeftMs(): number {
  const deadline = budgets.getStore();
  return deadline === undefined ? Number.POSITIVE_INFINITY : deadline - Date.now();
}
