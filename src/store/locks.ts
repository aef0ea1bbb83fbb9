import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { DomainError } from '../domain/errors';
import { withDeadline } from './deadline';
import { runScript, type ScriptClient } from './scripts';

export interface LockOptions {
  /** How long a holder keeps the lock if it dies or stalls without releasing it. */
  leaseMs: number;
  /** How long a caller waits for a busy lock before giving up. */
  waitMs: number;
}

// A form must be answered within 3 s, so a busy lock is given up before that.
export const DEFAULT_LOCK_OPTIONS: LockOptions = { leaseMs: 15_000, waitMs: 2_000 };

export const busy = (): DomainError =>
  new DomainError(
    'busy',
    'Someone else is changing this right now, so nothing was changed. Try again in a moment.',
  );

/**
 * In-process keyed mutex for the embedded store (one process owns the SQLite file). A waiter that gives
 * up leaves the line without touching the holder: only the holder hands the lock on or frees it.
 */
export class LocalLocks {
  /** A name is held while it has an entry; the entry lists who waits, in order. */
  private readonly lines = new Map<string, (() => void)[]>();

  constructor(private readonly options: LockOptions = DEFAULT_LOCK_OPTIONS) {}

  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    await this.acquire(name);
    try {
      return await fn();
    } finally {
      this.release(name);
    }
  }

  /** Whether anyone holds `name` now (for tests and diagnostics). */
  isHeld(name: string): boolean {
    return this.lines.has(name);
  }

  private acquire(name: string): Promise<void> {
    const line = this.lines.get(name);
    if (!line) {
      this.lines.set(name, []);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const grant = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const at = line.indexOf(grant);
        if (at >= 0) line.splice(at, 1);
        reject(busy());
      }, this.options.waitMs);
      line.push(grant);
    });
  }

  private release(name: string): void {
    const next = this.lines.get(name)?.shift();
    if (next) next();
    else this.lines.delete(name);
  }
}

/** The few Redis commands a lock needs, as node-redis v5 exposes them. */
export type RedisLockClient = ScriptClient;

/** A Redis lock this async context holds: its key, the token that proves it is ours, and Redis's clock. */
export interface HeldLock {
  key: string;
  token: string;
  /**
   * Redis's clock minus ours, as a lower bound (Redis read its clock before our answer arrived), so a
   * deadline converted with it is never later on Redis's clock than it is on ours.
   */
  offsetMs: number;
}

// Takes the lock if free and answers Redis's clock in ms, so writes can carry a deadline in Redis's time;
// once taken, also the values of the other keys (the documents read with the lock).
const ACQUIRE_SCRIPT =
  "local t = redis.call('time') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) " +
  "if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then " +
  "if #KEYS > 1 then return {1, now, redis.call('mget', unpack(KEYS, 2))} end return {1, now} end " +
  'return {0, now}';

// Deletes the lock only if this holder still owns it, so an expired holder never frees another's lock.
const RELEASE_SCRIPT =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * Lock shared by every replica: SET NX PX to take it, compare-and-delete to release it. The locks an
 * async context holds are remembered, so the store can fence its writes with them (see `heldLocks`).
 * A release that could not be sent (the connection dropped) is sent again once Redis answers, so a
 * lost connection does not leave a workspace locked for a whole lease.
 */
export class RedisLocks {
  private readonly held = new AsyncLocalStorage<HeldLock[]>();
  private readonly unreleased = new Map<string, string>();
  /** Every lock this process holds now, by key (one holder per key: the SET is NX). */
  private readonly holding = new Map<string, string>();

  constructor(
    private readonly client: () => Promise<RedisLockClient>,
    private readonly prefix: string,
    private readonly options: LockOptions = DEFAULT_LOCK_OPTIONS,
    private readonly timeoutMs = 1000,
    /** Where lock `name` is kept (a cluster puts it in its workspace's slot); `<prefix>lock:<name>` if unset. */
    private readonly keyOf?: (name: string, held: readonly HeldLock[]) => Promise<string>,
  ) {}

  /** The locks the calling async context holds, outermost first. */
  heldLocks(): readonly HeldLock[] {
    return this.held.getStore() ?? [];
  }

  /**
   * Frees every lock this process holds or could not free: called as the store closes, so other replicas
   * need not wait out a lease. A holder still running finds its lock gone, and its fenced write changes
   * nothing (it answers "busy").
   */
  async releaseAll(): Promise<void> {
    // Releases still on their way finish first (one may be sent again after a NOSCRIPT); any that failed
    // is among the leftovers then.
    await Promise.all([...this.releasing]);
    for (const [key, token] of this.holding) this.unreleased.set(key, token);
    await this.releaseLeftovers();
  }

  /** Releases sent and not yet answered. */
  private readonly releasing = new Set<Promise<void>>();

  /** Releases made within the last lease, by token: a master that took over may never have had them. */
  private readonly released = new Map<string, { key: string; at: number }>();

  private remember(key: string, token: string): void {
    const now = Date.now();
    for (const [old, { at }] of this.released) {
      if (now - at <= this.options.leaseMs && this.released.size < 10_000) break;
      this.released.delete(old);
    }
    this.released.set(token, { key, at: now });
  }

  /**
   * Sends again the releases of the last lease: called when another master takes over (a failover), which
   * may have the lock from its old master's replication but not the release. Only a lock that still holds
   * the released token is deleted, so this frees nothing anyone holds now.
   */
  async releaseRecent(): Promise<void> {
    if (this.released.size === 0) return;
    const client = await this.client();
    const now = Date.now();
    for (const [token, { key, at }] of [...this.released]) {
      this.released.delete(token);
      if (now - at > this.options.leaseMs) continue;
      await withDeadline(
        runScript(client, RELEASE_SCRIPT, { keys: [key], arguments: [token] }),
        this.timeoutMs,
        'releasing a lock',
      ).catch(() => undefined);
    }
  }

  /** Sends again the releases that failed; called when Redis answers again. */
  async releaseLeftovers(): Promise<void> {
    if (this.unreleased.size === 0) return;
    const client = await this.client();
    for (const [key, token] of [...this.unreleased]) {
      try {
        await withDeadline(
          runScript(client, RELEASE_SCRIPT, { keys: [key], arguments: [token] }),
          this.timeoutMs,
          'releasing a lock',
        );
        if (this.unreleased.get(key) === token) this.unreleased.delete(key);
      } catch {
        return; // still away: the next answer from Redis tries again
      }
    }
  }

  /**
   * Runs `fn` holding lock `name`. With `readKeys` (the Redis keys to read, given the locks held with this
   * one; undefined for one that cannot exist), their values are read in the same step as the lock is taken
   * and handed to `fn`.
   */
  async withLock<T>(
    name: string,
    fn: (values?: (string | undefined)[]) => Promise<T>,
    readKeys?: (held: readonly HeldLock[]) => Promise<(string | undefined)[]>,
  ): Promise<T> {
    const client = await this.client();
    void this.releaseLeftovers();
    const key = this.keyOf ? await this.keyOf(name, this.heldLocks()) : `${this.prefix}lock:${name}`;
    const token = randomUUID();
    const reads = readKeys ? await readKeys([...this.heldLocks(), { key, token, offsetMs: 0 }]) : [];
    const present = reads.filter((read): read is string => read !== undefined);
    let values: (string | undefined)[] | undefined;
    const release = async (): Promise<void> => {
      try {
        await runScript(client, RELEASE_SCRIPT, { keys: [key], arguments: [token] });
        if (this.unreleased.get(key) === token) this.unreleased.delete(key);
        this.remember(key, token);
      } catch {
        this.unreleased.set(key, token);
      }
    };
    const deadline = Date.now() + this.options.waitMs;
    let pause = 5;
    let offsetMs: number;
    for (;;) {
      let answer: [number, number, (string | null)[]?];
      try {
        answer = (await withDeadline(
          runScript(client, ACQUIRE_SCRIPT, {
            keys: [key, ...present],
            arguments: [token, String(this.options.leaseMs)],
          }),
          this.timeoutMs,
          'taking a lock',
        )) as [number, number, (string | null)[]?];
      } catch (error) {
        // The SET may still run when Redis wakes up; the release queued behind it frees the lock then,
        // or is sent again once Redis answers.
        this.unreleased.set(key, token);
        void release();
        throw error;
      }
      offsetMs = answer[1] - Date.now();
      if (answer[0] === 1) {
        if (readKeys) {
          const found = answer[2] ?? [];
          let next = 0;
          values = reads.map((read) => (read === undefined ? undefined : (found[next++] ?? undefined)));
        }
        break;
      }
      if (Date.now() >= deadline) throw busy();
      await new Promise((resolve) => setTimeout(resolve, pause + Math.random() * pause));
      pause = Math.min(pause * 2, 100);
    }
    this.holding.set(key, token);
    try {
      return await this.held.run([...this.heldLocks(), { key, token, offsetMs }], () => fn(values));
    } finally {
      if (this.holding.get(key) === token) this.holding.delete(key);
      // Sent, not waited for: the answer to the holder's caller does not wait a round trip for it. This
      // process's next commands go out behind it on the same connection, and a release that fails or
      // goes unanswered is sent again (see `releaseLeftovers`).
      const sent = withDeadline(release(), this.timeoutMs, 'releasing a lock').catch(() => {
        this.unreleased.set(key, token);
      });
      this.releasing.add(sent);
      void sent.finally(() => this.releasing.delete(sent));
    }
  }
}
