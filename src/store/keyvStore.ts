import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Keyv from 'keyv';
import KeyvRedis from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import { DomainError, isDomainError } from '../domain/errors';
import type { DocumentStore, DocumentWrite } from '../domain/storage';
import {
  DEFAULT_LOCK_OPTIONS,
  LocalLocks,
  type LockOptions,
  type RedisLockClient,
  RedisLocks,
} from './locks';

export const STORAGE_UNAVAILABLE =
  'Storage is unavailable right now, so nothing was changed. Try again in a minute; if it persists, tell whoever runs Keyhouse.';

const unavailable = (cause: unknown): DomainError => {
  const error = new DomainError('storage_unavailable', STORAGE_UNAVAILABLE);
  error.cause = cause;
  return error;
};

/** Turns any backend failure into one clear "nothing was changed" error; domain errors pass through. */
async function guarded<T>(backend: Backend, operation: () => Promise<T>): Promise<T> {
  try {
    await backend.ready();
    return await operation();
  } catch (error) {
    if (isDomainError(error)) throw error;
    throw unavailable(error);
  }
}

interface Backend {
  keyv: Keyv;
  /** True when `setMany` is one transaction (Redis MULTI). */
  atomicBatches: boolean;
  /** Resolves once the backend is connected; rejects when it cannot be reached. */
  ready(): Promise<void>;
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>;
  hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A DocumentStore on Keyv. Every failure of the backend surfaces as "storage unavailable". */
export class KeyvDocumentStore implements DocumentStore {
  constructor(private readonly backend: Backend) {}

  get<T>(key: string): Promise<T | undefined> {
    return guarded(this.backend, async () => (await this.backend.keyv.get<T>(key)) ?? undefined);
  }

  getMany<T>(keys: string[]): Promise<(T | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return guarded(this.backend, async () =>
      (await this.backend.keyv.getMany<T>(keys)).map((value) => value ?? undefined),
    );
  }

  write(changes: DocumentWrite): Promise<void> {
    return guarded(this.backend, async () => {
      const sets = changes.set ?? [];
      if (this.backend.atomicBatches && sets.length > 1) {
        await this.backend.keyv.setMany(sets.map(({ key, value, ttlMs }) => ({ key, value, ttl: ttlMs })));
      } else {
        for (const { key, value, ttlMs } of sets) await this.backend.keyv.set(key, value, ttlMs);
      }
      for (const key of changes.delete ?? []) await this.backend.keyv.delete(key);
    });
  }

  withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    // Only the lock's own failures are storage errors; fn's errors keep their meaning.
    return guarded(this.backend, () => this.backend.withLock(name, fn));
  }

  hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }> {
    return guarded(this.backend, () => this.backend.hit(key, windowMs));
  }

  ping(): Promise<void> {
    return guarded(this.backend, () => this.backend.ping());
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}

export interface StoreOptions {
  redisUrl?: string;
  dataDir: string;
  /** Keeps tests (and several apps on one Redis) apart. */
  namespace?: string;
  lock?: LockOptions;
}

export function createDocumentStore(options: StoreOptions): KeyvDocumentStore {
  const namespace = options.namespace ?? 'keyhouse';
  return new KeyvDocumentStore(
    options.redisUrl
      ? redisBackend(options.redisUrl, namespace, options.lock)
      : sqliteBackend(options.dataDir, namespace, options.lock),
  );
}

function sqliteBackend(dataDir: string, namespace: string, lock = DEFAULT_LOCK_OPTIONS): Backend {
  mkdirSync(resolve(dataDir), { recursive: true });
  const sqlite = new KeyvSqlite({
    uri: `sqlite://${join(resolve(dataDir), 'keyhouse.sqlite')}`,
    busyTimeout: 5000,
  });
  const keyv = new Keyv({ store: sqlite, namespace, throwOnErrors: true });
  keyv.on('error', () => undefined); // surfaced by throwOnErrors instead
  const locks = new LocalLocks(lock);
  const counters = new LocalCounters();
  return {
    keyv,
    atomicBatches: false,
    ready: () => Promise.resolve(),
    withLock: (name, fn) => locks.withLock(name, fn),
    hit: (key, windowMs) => Promise.resolve(counters.hit(key, windowMs)),
    ping: async () => {
      await keyv.get('__ping__');
    },
    close: async () => {
      await sqlite.close();
    },
  };
}

const CONNECT_TIMEOUT_MS = 2000;

// Counts a hit and starts the window on the first one, in one step, so replicas share one count.
const HIT_SCRIPT =
  "local c = redis.call('incr', KEYS[1]) if c == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end " +
  "return {c, redis.call('pttl', KEYS[1])}";

/** Fixed-window counters of one process, for the embedded store. */
class LocalCounters {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  hit(key: string, windowMs: number): { count: number; resetMs: number } {
    const now = Date.now();
    if (this.windows.size > 10_000) {
      for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
    }
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.count += 1;
    return { count: window.count, resetMs: window.resetAt - now };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function redisBackend(url: string, namespace: string, lock = DEFAULT_LOCK_OPTIONS): Backend {
  const redis = new KeyvRedis(
    {
      url,
      // Fail fast while Redis is away instead of queueing commands until it returns.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 2000,
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
      },
    },
    { throwOnConnectError: true, throwOnErrors: true },
  );
  const keyv = new Keyv({ store: redis, namespace, throwOnErrors: true });
  keyv.on('error', () => undefined); // surfaced by throwOnErrors instead
  type Client = RedisLockClient & { ping(): Promise<string> };
  // One connection attempt at a time: concurrent first calls would otherwise each try to connect and
  // find the client "offline". A failed attempt is forgotten so the next call tries again.
  // The first attempt is given CONNECT_TIMEOUT_MS; after that the client keeps reconnecting on its own,
  // and commands fail at once (no offline queue) until Redis is back.
  let connecting: Promise<Client> | undefined;
  const client = (): Promise<Client> => {
    connecting ??= withTimeout(redis.getClient(), CONNECT_TIMEOUT_MS).then(
      (connected) => connected as unknown as Client,
      (error: unknown) => {
        connecting = undefined;
        throw error;
      },
    );
    return connecting;
  };
  const locks = new RedisLocks(client, `${namespace}:`, lock);
  return {
    keyv,
    atomicBatches: true,
    ready: async () => {
      await client();
    },
    withLock: (name, fn) => locks.withLock(name, fn),
    hit: async (key, windowMs) => {
      const [count, ttl] = (await (
        await client()
      ).eval(HIT_SCRIPT, { keys: [`${namespace}:hit:${key}`], arguments: [String(windowMs)] })) as [
        number,
        number,
      ];
      return { count, resetMs: ttl > 0 ? ttl : windowMs };
    },
    ping: async () => {
      await (await client()).ping();
    },
    close: async () => {
      await redis.disconnect(true).catch(() => undefined);
    },
  };
}
