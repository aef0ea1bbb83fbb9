import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Keyv from 'keyv';
import KeyvRedis from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import { DomainError, isDomainError } from '../domain/errors';
import type { DocumentStore, DocumentWrite } from '../domain/storage';
import { claimDataDir } from './dataDirClaim';
import { withDeadline } from './deadline';
import { busy, DEFAULT_LOCK_OPTIONS, type LockOptions, type RedisLockClient, RedisLocks } from './locks';

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
  /** Resolves once the backend is connected; rejects when it cannot be reached. */
  ready(): Promise<void>;
  /** Bounds one operation, so a stalled backend answers "unavailable" instead of never. */
  deadline<T>(operation: Promise<T>, what: string): Promise<T>;
  /** Applies a write; inside `withLock`, only while every lock held is still ours. */
  write(changes: DocumentWrite): Promise<void>;
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>;
  hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A DocumentStore on Keyv. Every failure of the backend surfaces as "storage unavailable". */
export class KeyvDocumentStore implements DocumentStore {
  constructor(private readonly backend: Backend) {}

  get<T>(key: string): Promise<T | undefined> {
    return guarded(
      this.backend,
      async () => (await this.backend.deadline(this.backend.keyv.get<T>(key), 'reading')) ?? undefined,
    );
  }

  getMany<T>(keys: string[]): Promise<(T | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return guarded(this.backend, async () =>
      (await this.backend.deadline(this.backend.keyv.getMany<T>(keys), 'reading')).map(
        (value) => value ?? undefined,
      ),
    );
  }

  write(changes: DocumentWrite): Promise<void> {
    return guarded(this.backend, () => this.backend.write(changes));
  }

  withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    // Only the lock's own failures are storage errors; fn's errors keep their meaning.
    return guarded(this.backend, () => this.backend.withLock(name, fn));
  }

  hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }> {
    return guarded(this.backend, () => this.backend.deadline(this.backend.hit(key, windowMs), 'counting'));
  }

  ping(): Promise<void> {
    return guarded(this.backend, () => this.backend.deadline(this.backend.ping(), 'pinging'));
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
  /** How long one store operation may take before it is reported as "storage unavailable". */
  timeoutMs?: number;
}

/** Slack wants an answer within 3 s; one stalled operation must leave time to say so. */
export const DEFAULT_STORE_TIMEOUT_MS = 1000;

export function createDocumentStore(options: StoreOptions): KeyvDocumentStore {
  const namespace = options.namespace ?? 'keyhouse';
  return new KeyvDocumentStore(
    options.redisUrl
      ? redisBackend(options.redisUrl, namespace, options.lock, options.timeoutMs)
      : sqliteBackend(options.dataDir, namespace, options.lock, options.timeoutMs),
  );
}

function sqliteBackend(
  dataDir: string,
  namespace: string,
  lock = DEFAULT_LOCK_OPTIONS,
  timeoutMs = DEFAULT_STORE_TIMEOUT_MS,
): Backend {
  mkdirSync(resolve(dataDir), { recursive: true });
  const claim = claimDataDir(resolve(dataDir), lock);
  const sqlite = new KeyvSqlite({
    uri: `sqlite://${join(resolve(dataDir), 'keyhouse.sqlite')}`,
    busyTimeout: 5000,
  });
  const keyv = new Keyv({ store: sqlite, namespace, throwOnErrors: true });
  keyv.on('error', () => undefined); // surfaced by throwOnErrors instead
  const locks = claim.locks;
  const counters = new LocalCounters();
  return {
    keyv,
    ready: () => Promise.resolve(),
    deadline: (operation, what) => withDeadline(operation, timeoutMs, what),
    // Not bounded: the file is this process's own, and a write given up on could still land after the
    // user was told it failed. The sets land in the given order, so any prefix leaves nothing dangling.
    write: async (changes) => {
      for (const { key, value, ttlMs } of changes.set ?? []) await keyv.set(key, value, ttlMs);
      for (const key of changes.delete ?? []) await keyv.delete(key);
    },
    withLock: (name, fn) => locks.withLock(name, fn),
    hit: (key, windowMs) => Promise.resolve(counters.hit(key, windowMs)),
    ping: async () => {
      await keyv.get('__ping__');
    },
    close: async () => {
      try {
        await sqlite.close();
      } finally {
        claim.release();
      }
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

// Applies a write only if every lock the writer holds is still its own and Redis's clock has not passed
// the writer's deadline: a holder paused past its lease, or a write that reaches Redis after the caller
// was told it failed, changes nothing.
// KEYS: the held locks, then the documents to set, then those to delete.
// ARGV: lock count, set count, deadline (ms on Redis's clock), the lock tokens, then value and TTL pairs.
const FENCED_WRITE_SCRIPT = `
local locks = tonumber(ARGV[1])
local sets = tonumber(ARGV[2])
local t = redis.call('time')
if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[3]) then return 'late' end
for i = 1, locks do
  if redis.call('get', KEYS[i]) ~= ARGV[3 + i] then return 'lost' end
end
for i = 1, sets do
  local value = ARGV[2 + locks + 2 * i]
  local ttl = tonumber(ARGV[3 + locks + 2 * i])
  if ttl > 0 then
    redis.call('set', KEYS[locks + i], value, 'PX', ttl)
  else
    redis.call('set', KEYS[locks + i], value)
  end
end
for i = locks + sets + 1, #KEYS do redis.call('del', KEYS[i]) end
return 'ok'`;

// How long before the caller gives up a fenced write must be applied, so that its answer can still
// arrive in time: a write Redis runs later than this is refused.
const ANSWER_MARGIN_MS = 250;

function redisBackend(
  url: string,
  namespace: string,
  lock = DEFAULT_LOCK_OPTIONS,
  timeoutMs = DEFAULT_STORE_TIMEOUT_MS,
): Backend {
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
    connecting ??= withDeadline(redis.getClient(), CONNECT_TIMEOUT_MS, 'connecting to Redis').then(
      (connected) => connected as unknown as Client,
      (error: unknown) => {
        connecting = undefined;
        throw error;
      },
    );
    return connecting;
  };
  const locks = new RedisLocks(client, `${namespace}:`, lock, timeoutMs);
  // The exact key and stored text Keyv would use, so fenced writes read back through Keyv.
  const redisKey = (key: string) => redis.createKeyPrefix(`${namespace}:${key}`, redis.namespace);
  const deadline = <T>(operation: Promise<T>, what: string) => withDeadline(operation, timeoutMs, what);
  return {
    keyv,
    ready: async () => {
      await client();
    },
    deadline,
    write: async (changes) => {
      const held = locks.heldLocks();
      const sets = changes.set ?? [];
      const values: string[] = [];
      for (const { value, ttlMs } of sets) {
        const expires = ttlMs ? Date.now() + ttlMs : undefined;
        values.push(String(await keyv.serializeData({ value, expires })), String(ttlMs ?? 0));
      }
      const outcome = await deadline(
        (await client()).eval(FENCED_WRITE_SCRIPT, {
          keys: [
            ...held.map((h) => h.key),
            ...sets.map(({ key }) => redisKey(key)),
            ...(changes.delete ?? []).map(redisKey),
          ],
          arguments: [
            String(held.length),
            String(sets.length),
            String(locks.redisNow() + timeoutMs - ANSWER_MARGIN_MS),
            ...held.map((h) => h.token),
            ...values,
          ],
        }),
        'writing',
      );
      if (outcome === 'lost') throw busy();
      if (outcome !== 'ok') throw new Error(`the write reached Redis too late (${String(outcome)})`);
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
