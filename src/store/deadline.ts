/** Raised when the store does not answer in time; the store turns it into "storage unavailable". */
export class StoreTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`no answer from the store within ${ms} ms while ${what}`);
    this.name = 'StoreTimeout';
  }
}

/**
 * Settles with `promise`, or rejects with StoreTimeout after `ms`. The operation itself is not undone:
 * callers that write make sure a late write cannot land (see the fenced write in keyvStore.ts).
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeout(what, ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
