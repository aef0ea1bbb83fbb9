import { randomUUID } from 'node:crypto';
import { DomainError } from '../domain/errors';

export interface LockOptions {
  /** How long a holder keeps the lock if it dies without releasing it. */
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

/** In-process keyed mutex for the embedded store (one process owns the SQLite file). */
export class LocalLocks {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly options: LockOptions = DEFAULT_LOCK_OPTIONS) {}

  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(name, tail);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.options.waitMs);
    });
    try {
      const outcome = await Promise.race([previous.then(() => 'acquired' as const), timedOut]);
      if (outcome === 'timeout') throw busy();
      return await fn();
    } finally {
      clearTimeout(timer);
      release();
      if (this.tails.get(name) === tail) this.tails.delete(name);
    }
  }
}

/** The few Redis commands a lock needs, as node-redis v5 exposes them. */
export interface RedisLockClient {
  set(key: string, value: string, options: { NX: true; PX: number }): Promise<string | null>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

// Deletes the lock only if this holder still owns it, so an expired holder never frees another's lock.
const RELEASE_SCRIPT =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/** Lock shared by every replica: SET NX PX to take it, compare-and-delete to release it. */
export class RedisLocks {
  constructor(
    private readonly client: () => Promise<RedisLockClient>,
    private readonly prefix: string,
    private readonly options: LockOptions = DEFAULT_LOCK_OPTIONS,
  ) {}

  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const client = await this.client();
    const key = `${this.prefix}lock:${name}`;
    const token = randomUUID();
    const deadline = Date.now() + this.options.waitMs;
    let pause = 5;
    while ((await client.set(key, token, { NX: true, PX: this.options.leaseMs })) !== 'OK') {
      if (Date.now() >= deadline) throw busy();
      await new Promise((resolve) => setTimeout(resolve, pause + Math.random() * pause));
      pause = Math.min(pause * 2, 100);
    }
    try {
      return await fn();
    } finally {
      await client.eval(RELEASE_SCRIPT, { keys: [key], arguments: [token] }).catch(() => undefined);
    }
  }
}
