import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { DomainError } from '../domain/errors';
import { withDeadline } from './deadline';

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
export interface RedisLockClient {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/** A Redis lock this async context holds: its key and the token that proves it is ours. */
export interface HeldLock {
  key: string;
  token: string;
}

// Takes the lock if free and answers Redis's clock in ms, so writes can carry a deadline in Redis's time.
const ACQUIRE_SCRIPT =
  "local t = redis.call('time') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) " +
  "if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, now} end return {0, now}";

// Deletes the lock only if this holder still owns it, so an expired holder never frees another's lock.
const RELEASE_SCRIPT =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * Lock shared by every replica: SET NX PX to take it, compare-and-delete to release it. The locks an
 * async context holds are remembered, so the store can fence its writes with them (see `heldLocks`).
 */
export class RedisLocks {
  private readonly held = new AsyncLocalStorage<HeldLock[]>();
  /** Redis's clock minus ours, measured at each acquisition. */
  private clockOffsetMs = 0;

  constructor(
    private readonly client: () => Promise<RedisLockClient>,
    private readonly prefix: string,
    private readonly options: LockOptions = DEFAULT_LOCK_OPTIONS,
    private readonly timeoutMs = 1000,
  ) {}

  /** The locks the calling async context holds, outermost first. */
  heldLocks(): readonly HeldLock[] {
    return this.held.getStore() ?? [];
  }

  /** Now, on Redis's clock (as last measured). */
  redisNow(): number {
    return Date.now() + this.clockOffsetMs;
  }

  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const client = await this.client();
    const lock: HeldLock = { key: `${this.prefix}lock:${name}`, token: randomUUID() };
    const release = () =>
      client.eval(RELEASE_SCRIPT, { keys: [lock.key], arguments: [lock.token] }).catch(() => undefined);
    const deadline = Date.now() + this.options.waitMs;
    let pause = 5;
    for (;;) {
      const sentAt = Date.now();
      let answer: [number, number];
      try {
        answer = (await withDeadline(
          client.eval(ACQUIRE_SCRIPT, {
            keys: [lock.key],
            arguments: [lock.token, String(this.options.leaseMs)],
          }),
          this.timeoutMs,
          'taking a lock',
        )) as [number, number];
      } catch (error) {
        // The SET may still run when Redis wakes up; the release queued behind it frees the lock then.
        void release();
        throw error;
      }
      this.clockOffsetMs = answer[1] - Math.round((sentAt + Date.now()) / 2);
      if (answer[0] === 1) break;
      if (Date.now() >= deadline) throw busy();
      await new Promise((resolve) => setTimeout(resolve, pause + Math.random() * pause));
      pause = Math.min(pause * 2, 100);
    }
    try {
      return await this.held.run([...this.heldLocks(), lock], fn);
    } finally {
      await withDeadline(release(), this.timeoutMs, 'releasing a lock').catch(() => undefined);
    }
  }
}
