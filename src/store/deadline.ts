import { budgetLeftMs } from './budget';

/** Raised when the store does not answer in time; the store turns it into "storage unavailable". */
export class StoreTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`no answer from the store within ${ms} ms while ${what}`);
    this.name = 'StoreTimeout';
  }
}

/**
 * Settles with `promise`, or rejects with StoreTimeout after `ms` or when the request's storage budget
 * runs out, whichever comes first. The operation itself is not undone: callers that write find out
 * afterwards whether it landed (see the fenced write in keyvStore.ts).
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const wait = Math.max(0, Math.min(ms, budgetLeftMs()));
  // One promise and one timer: this runs for every store operation, key fetches included.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StoreTimeout(what, Math.round(wait))), wait);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error as Error); // passed on as it came
      },
    );
  });
}
