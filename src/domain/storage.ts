/**
 * What the domain needs from storage: JSON documents by key, written together, and a lock per
 * aggregate. src/store implements it on Keyv; nothing here knows which backend answers.
 */
export interface DocumentWrite {
  set?: { key: string; value: unknown; ttlMs?: number }[];
  delete?: string[];
}

export interface DocumentStore {
  get<T>(key: string): Promise<T | undefined>;
  /** One round trip, whatever the number of keys. */
  getMany<T>(keys: string[]): Promise<(T | undefined)[]>;
  /**
   * getMany for documents read again and again and only read: a stored text is parsed once and the same
   * frozen value handed to every caller until it changes. `keyFetch`: the read of a key fetch, which the
   * metrics count under the key route and do not time (a fetch costs them one counter and one histogram).
   */
  getShared<T>(keys: string[], options?: { keyFetch?: boolean }): Promise<(T | undefined)[]>;
  /**
   * Sets, then deletes. Atomic on Redis (MULTI); on the embedded store the sets land in the given
   * order, so callers order them so that any prefix leaves nothing dangling.
   */
  write(changes: DocumentWrite): Promise<void>;
  /**
   * Runs `fn` while holding the named lock, shared by every replica on the same backend. Waits a bounded
   * time for it, then fails with a "busy" DomainError rather than racing. The documents of `reads` are
   * read once the lock is held (on Redis, in the same round trip as taking it) and handed to `fn`, in order.
   */
  withLock<T>(name: string, fn: (documents: unknown[]) => Promise<T>, reads?: string[]): Promise<T>;
  /**
   * Counts `by` hits (default 1) on `key` in a fixed window of `windowMs`, shared by every replica on the
   * same backend: the count so far in this window (these hits included) and the milliseconds until the
   * window resets.
   */
  hit(key: string, windowMs: number, by?: number): Promise<{ count: number; resetMs: number }>;
  /** Throws when the backend does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
