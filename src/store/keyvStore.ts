import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Keyv from 'keyv';
import { performance } from 'node:perf_hooks';
import { DomainError, isDomainError } from '../domain/errors';
import type { DocumentStore, DocumentWrite } from '../domain/storage';
import type { Metrics, StoreOperation } from '../observability/metrics';
import { claimDataDir } from './dataDirClaim';
import { budgetLeftMs } from './budget';
import { StoreTimeout, withDeadline } from './deadline';
import { runScript } from './scripts';
import { deserialize, serialize } from './serialization';
import { busy, DEFAULT_LOCK_OPTIONS, type LockOptions, type RedisLockClient, RedisLocks } from './locks';
import {
  followClusterFailovers,
  onAnsweringAgain,
  redisConnectOptions,
  REPLICA_WAIT_MS,
  type RedisNode,
  type RedisTarget,
} from './redisClients';
import { sentinelReplicas } from './sentinelReplicas';
import { ClusterReplicas } from './clusterReplicas';
import { clusterLayout, type LayoutClient, placeAdapterKeys, singleNodeLayout } from './redisLayout';

export const STORAGE_UNAVAILABLE =
  'Storage is unavailable right now, so nothing was changed. Try again in a minute; if it persists, tell whoever runs Keyhouse.';

const unavailable = (cause: unknown): DomainError => {
  const error = new DomainError('storage_unavailable', STORAGE_UNAVAILABLE);
  error.cause = cause;
  return error;
};

/**
 * Turns any backend failure into one clear "nothing was changed" error; domain errors pass through.
 * Failures are counted in the metrics, and the operation named by `timed` is timed (a lock's wait is
 * timed by withLock); the key route's own reads and counters are not, so a key fetch costs the metrics
 * one counter and one histogram.
 */
async function guarded<T>(backend: Backend, operation: () => Promise<T>, timed?: StoreOperation): Promise<T> {
  const started = performance.now();
  try {
    await backend.ready();
    return await operation();
  } catch (error) {
    const failure = isDomainError(error) ? error : unavailable(error);
    if (failure.code === 'storage_unavailable') backend.metrics?.storeError(timed ?? 'key_route', failure);
    throw failure;
  } finally {
    if (timed && timed !== 'lock') backend.metrics?.storeOperation(timed, started);
  }
}

interface Backend {
  keyv: Keyv;
  metrics?: Metrics;
  /** Takes what this process must own before serving (the embedded store's DATA_DIR). */
  open(): Promise<void>;
  /** Resolves once the backend is connected; rejects when it cannot be reached. */
  ready(): Promise<void>;
  /** Bounds one operation, so a stalled backend answers "unavailable" instead of never. */
  deadline<T>(operation: Promise<T>, what: string): Promise<T>;
  /** The stored texts of `keys`, as Keyv keeps them, in one round trip (`undefined` where missing). */
  readRaw(keys: string[]): Promise<(string | undefined)[]>;
  /** The same texts when this process already holds them all (the embedded store's rows), else undefined. */
  readCached?(keys: string[]): (string | undefined)[] | undefined;
  /** Applies a write; inside `withLock`, only while every lock held is still ours. */
  write(changes: DocumentWrite): Promise<void>;
  /** Runs `fn` under the lock; with the stored texts of `reads` when the backend read them with it. */
  withLock<T>(name: string, fn: (texts?: (string | undefined)[]) => Promise<T>, reads?: string[]): Promise<T>;
  hit(key: string, windowMs: number, by: number): Promise<{ count: number; resetMs: number }>;
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
      'get',
    );
  }

  getMany<T>(keys: string[]): Promise<(T | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return guarded(
      this.backend,
      async () =>
        (await this.backend.deadline(this.backend.keyv.getMany<T>(keys), 'reading')).map(
          (value) => value ?? undefined,
        ),
      'get_many',
    );
  }

  /**
   * Like getMany, but a stored text is parsed once and its value handed to every caller until the text
   * changes: for the small documents every key fetch reads. Callers must not change what they get.
   */
  getShared<T>(keys: string[], options: { keyFetch?: boolean } = {}): Promise<(T | undefined)[]> {
    // Every row known and parsed already: no I/O, so nothing to bound or to fail.
    const texts = this.backend.readCached?.(keys);
    const values = texts && this.parsed.allKnown<T>(keys, texts);
    if (values) return Promise.resolve(values);
    const timed = options.keyFetch ? undefined : 'get_many';
    return guarded(
      this.backend,
      async () => {
        const texts = await this.backend.deadline(this.backend.readRaw(keys), 'reading');
        const values: (T | undefined)[] = [];
        for (const [i, text] of texts.entries()) {
          values.push(
            this.parsed.known<T>(keys[i] ?? '', text) ??
              (await this.parsed.parse<T>(keys[i] ?? '', text, this.backend.keyv)),
          );
        }
        return values;
      },
      timed,
    );
  }

  private readonly parsed = new ParsedTexts();

  write(changes: DocumentWrite): Promise<void> {
    return guarded(this.backend, () => this.backend.write(changes), 'write');
  }

  withLock<T>(name: string, fn: (documents: unknown[]) => Promise<T>, reads: string[] = []): Promise<T> {
    // The documents as read with the lock, else read now that it is held.
    const inner = async (texts?: (string | undefined)[]) =>
      fn(reads.length === 0 ? [] : texts ? await this.values(texts) : await this.getMany(reads));
    // Only the lock's own failures are storage errors; fn's errors keep their meaning.
    const locked = (run: typeof inner) => this.backend.withLock(name, run, reads);
    return guarded(
      this.backend,
      () => this.backend.metrics?.timeLock(locked, inner) ?? locked(inner),
      'lock',
    );
  }

  /** Stored texts as Keyv reads them: the value, or undefined where missing or expired. */
  private async values(texts: (string | undefined)[]): Promise<unknown[]> {
    const now = Date.now();
    return Promise.all(
      texts.map(async (text) => {
        if (text === undefined) return undefined;
        const data = (await this.backend.keyv.deserializeData(text)) as
          { value?: unknown; expires?: number } | undefined;
        return typeof data?.expires === 'number' && now > data.expires
          ? undefined
          : (data?.value ?? undefined);
      }),
    );
  }

  hit(key: string, windowMs: number, by = 1): Promise<{ count: number; resetMs: number }> {
    return guarded(this.backend, () =>
      this.backend.deadline(this.backend.hit(key, windowMs, by), 'counting'),
    );
  }

  ping(): Promise<void> {
    return guarded(this.backend, () => this.backend.deadline(this.backend.ping(), 'pinging'), 'ping');
  }

  /**
   * Claims what this process must own before it serves: for the embedded store, DATA_DIR (fails
   * with DataDirInUse when another process has it). Stores used only within one process may skip it.
   */
  open(): Promise<void> {
    return this.backend.open();
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}

/**
 * How much stored text the parsed documents may stand for: an organization or a project of thousands of
 * keys is large, and its parsed value larger still.
 */
const PARSED_TEXT_BUDGET = 8 * 1024 * 1024;

/**
 * The last stored text seen for each key and its parsed value; bounded in entries and in text, emptied
 * when full (what is read again is parsed again).
 */
class ParsedTexts {
  private readonly entries = new Map<string, { text: string; value: unknown; expires?: number }>();
  private textLength = 0;

  /** The values of `texts` when each is the last one seen for its key (or missing), else undefined. */
  allKnown<T>(keys: string[], texts: (string | undefined)[]): (T | undefined)[] | undefined {
    const values: (T | undefined)[] = [];
    for (const [i, text] of texts.entries()) {
      if (text === undefined) values.push(undefined);
      else {
        const value = this.known<T>(keys[i] ?? '', text);
        if (value === undefined) return undefined;
        values.push(value);
      }
    }
    return values;
  }

  /** The value of `text` when it is the last one seen for `key` (and not expired), else undefined. */
  known<T>(key: string, text: string | undefined): T | undefined {
    const entry = text === undefined ? undefined : this.entries.get(key);
    if (entry?.text !== text || entry === undefined) return undefined;
    if (entry.expires !== undefined && Date.now() > entry.expires) return undefined;
    return entry.value as T | undefined;
  }

  async parse<T>(key: string, text: string | undefined, keyv: Keyv): Promise<T | undefined> {
    if (text === undefined) return undefined;
    const data = (await keyv.deserializeData(text)) as { value?: unknown; expires?: number } | undefined;
    const expires = typeof data?.expires === 'number' ? data.expires : undefined;
    // Frozen: the one value is handed to every caller, so a caller that changed it would change it for all.
    const value = deepFreeze(data?.value ?? undefined);
    this.textLength -= this.entries.get(key)?.text.length ?? 0;
    this.entries.delete(key);
    if (this.entries.size >= 10_000 || this.textLength + text.length > PARSED_TEXT_BUDGET) {
      this.entries.clear();
      this.textLength = 0;
    }
    if (text.length <= PARSED_TEXT_BUDGET) {
      this.entries.set(key, { text, value, ...(expires !== undefined ? { expires } : {}) });
      this.textLength += text.length;
    }
    if (expires !== undefined && Date.now() > expires) return undefined;
    return value as T | undefined;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

export interface StoreOptions {
  redisUrl?: string;
  /** A Redis Cluster, instead of `redisUrl`. */
  redisCluster?: RedisNode[];
  /** A master found through Sentinel, instead of `redisUrl`. */
  redisSentinel?: { name: string; sentinels: RedisNode[] };
  dataDir: string;
  /** Keeps tests (and several apps on one Redis) apart. */
  namespace?: string;
  lock?: LockOptions;
  /** How long one store operation may take before it is reported as "storage unavailable". */
  timeoutMs?: number;
  /** The app's metrics: operation times, failures, lock waits. */
  metrics?: Metrics;
}

/** Slack wants an answer within 3 s; one stalled operation must leave time to say so. */
export const DEFAULT_STORE_TIMEOUT_MS = 1000;

// Each backend's driver is loaded when that backend is made, not with this module: a process on the
// embedded store never loads the Redis client (over 400 modules), nor one on Redis SQLite's native module.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadRedis = () => (require('@keyv/redis') as typeof import('@keyv/redis')).default;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadSqlite = () => (require('@keyv/sqlite') as typeof import('@keyv/sqlite')).default;

export function createDocumentStore(options: StoreOptions): KeyvDocumentStore {
  const namespace = options.namespace ?? 'keyhouse';
  const target: RedisTarget | undefined = options.redisCluster
    ? { kind: 'cluster', nodes: options.redisCluster }
    : options.redisSentinel
      ? { kind: 'sentinel', ...options.redisSentinel }
      : options.redisUrl
        ? { kind: 'server', url: options.redisUrl }
        : undefined;
  const backend = target
    ? redisBackend(target, namespace, options.lock, options.timeoutMs)
    : sqliteBackend(options.dataDir, namespace, options.lock, options.timeoutMs);
  if (options.metrics) backend.metrics = options.metrics;
  return new KeyvDocumentStore(backend);
}

function sqliteBackend(
  dataDir: string,
  namespace: string,
  lock = DEFAULT_LOCK_OPTIONS,
  timeoutMs = DEFAULT_STORE_TIMEOUT_MS,
): Backend {
  mkdirSync(resolve(dataDir), { recursive: true });
  const claim = claimDataDir(resolve(dataDir), lock);
  const sqlite = new (loadSqlite())({
    uri: `sqlite://${join(resolve(dataDir), 'keyhouse.sqlite')}`,
    busyTimeout: 5000,
  });
  // Reads go through the rows this process already knows (see RowCache).
  const rows = claim.rows;
  const adapter = sqlite as unknown as {
    get(key: string): Promise<unknown>;
    getMany(keys: string[]): Promise<unknown[]>;
    delete(key: string): Promise<boolean>;
  };
  const readRow = adapter.get.bind(sqlite);
  const readRows = adapter.getMany.bind(sqlite);
  const deleteRow = adapter.delete.bind(sqlite);
  adapter.get = async (key: string) => {
    if (rows.has(key)) return rows.get(key);
    const mark = rows.mark();
    const value = (await readRow(key)) as string | undefined;
    rows.remember(key, value, mark);
    return value;
  };
  adapter.getMany = async (keys: string[]) => {
    const missing = keys.filter((key) => !rows.has(key));
    if (missing.length > 0) {
      const mark = rows.mark();
      const values = (await readRows(missing)) as (string | undefined)[];
      missing.forEach((key, i) => rows.remember(key, values[i], mark));
      const found = new Map(missing.map((key, i) => [key, values[i]]));
      return keys.map((key) => (found.has(key) ? found.get(key) : rows.get(key)));
    }
    return keys.map((key) => rows.get(key));
  };
  // Keyv deletes a row it finds expired.
  adapter.delete = async (key: string) => {
    rows.forget([key]);
    return deleteRow(key);
  };
  const keyv = new Keyv({ store: sqlite, namespace, throwOnErrors: true, serialize, deserialize });
  keyv.on('error', () => undefined); // surfaced by throwOnErrors instead
  const locks = claim.locks;
  const counters = new LocalCounters();
  return {
    keyv,
    ready: () => Promise.resolve(),
    deadline: (operation, what) => withDeadline(operation, timeoutMs, what),
    readRaw: async (keys) =>
      (await adapter.getMany(keys.map((key) => keyvKey(namespace, key)))) as (string | undefined)[],
    readCached: (keys) => {
      const stored = keys.map((key) => keyvKey(namespace, key));
      return stored.every((key) => rows.has(key)) ? stored.map((key) => rows.get(key)) : undefined;
    },
    // Not bounded: the file is this process's own, and a write given up on could still land after the
    // user was told it failed. All sets are one statement (SQLite applies a statement whole or not at
    // all); deletes follow, and callers order them so that a failure in between leaves nothing dangling.
    write: async (changes) => {
      const sets = changes.set ?? [];
      const parameters: string[] = [];
      for (const { key, value, ttlMs } of sets) {
        const expires = ttlMs ? Date.now() + ttlMs : undefined;
        parameters.push(keyvKey(namespace, key), String(await keyv.serializeData({ value, expires })));
      }
      const deletes = (changes.delete ?? []).map((key) => keyvKey(namespace, key));
      const touched = [...sets.map(({ key }) => keyvKey(namespace, key)), ...deletes];
      try {
        if (sets.length > 0) {
          await sqlite.query(
            `INSERT INTO ${sqlite.opts.table} (key, value) VALUES ${sets.map(() => '(?, ?)').join(', ')} ` +
              'ON CONFLICT(key) DO UPDATE SET value = excluded.value',
            ...parameters,
          );
          for (let i = 0; i < parameters.length; i += 2) rows.written(parameters[i]!, parameters[i + 1]);
        }
        if (deletes.length > 0) {
          await sqlite.query(
            `DELETE FROM ${sqlite.opts.table} WHERE key IN (SELECT value FROM json_each(?))`,
            JSON.stringify(deletes),
          );
          for (const key of deletes) rows.written(key, undefined);
        }
      } catch (error) {
        rows.forget(touched);
        throw error;
      }
    },
    withLock: (name, fn) => locks.withLock(name, () => fn()),
    hit: (key, windowMs, by) => Promise.resolve(counters.hit(key, windowMs, by)),
    ping: async () => {
      await keyv.get('__ping__');
    },
    open: async () => {
      await claim.open();
      // Write-ahead logging: a commit appends to the log and fsyncs it once (synchronous = FULL), instead
      // of rewriting pages behind a rollback journal: as durable, and several times cheaper per change.
      // (DATA_DIR must be on a local filesystem, as SQLite's WAL needs.)
      await sqlite.query('PRAGMA journal_mode = WAL');
      await sqlite.query('PRAGMA synchronous = FULL');
    },
    close: async () => {
      try {
        await sqlite.close();
      } finally {
        await claim.release();
      }
    },
  };
}

const CONNECT_TIMEOUT_MS = 2000;

// Counts hits and starts the window with the first ones, in one step, so replicas share one count.
const HIT_SCRIPT =
  "local c = redis.call('incrby', KEYS[1], ARGV[2]) " +
  "if redis.call('pttl', KEYS[1]) < 0 then redis.call('pexpire', KEYS[1], ARGV[1]) end " +
  "return {c, redis.call('pttl', KEYS[1])}";

/** Fixed-window counters of one process, for the embedded store. */
class LocalCounters {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  hit(key: string, windowMs: number, by = 1): { count: number; resetMs: number } {
    const now = Date.now();
    if (this.windows.size > 10_000) {
      for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
    }
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.count += by;
    return { count: window.count, resetMs: window.resetAt - now };
  }
}

// Applies a write at most once, and only if: its commit has not been cancelled (see CONFIRM_SCRIPT),
// every lock the writer holds is still its own (a holder paused past its lease changes nothing), and
// Redis's clock has not passed the writer's deadline (a write reaching Redis after the caller gave up
// on it changes nothing). It leaves a short-lived record that it was applied.
// KEYS: the commit's record, the held locks, the documents to set, those to delete.
// ARGV: lock count, set count, deadline (ms on Redis's clock, 0 for none), the lock tokens, then value
// and TTL pairs.
const FENCED_WRITE_SCRIPT = `
local locks = tonumber(ARGV[1])
local sets = tonumber(ARGV[2])
local deadline = tonumber(ARGV[3])
if redis.call('exists', KEYS[1]) == 1 then return 'cancelled' end
if deadline > 0 then
  local t = redis.call('time')
  if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > deadline then return 'late' end
end
for i = 1, locks do
  if redis.call('get', KEYS[1 + i]) ~= ARGV[3 + i] then return 'lost' end
end
for i = 1, sets do
  local value = ARGV[2 + locks + 2 * i]
  local ttl = tonumber(ARGV[3 + locks + 2 * i])
  if ttl > 0 then
    redis.call('set', KEYS[1 + locks + i], value, 'PX', ttl)
  else
    redis.call('set', KEYS[1 + locks + i], value)
  end
end
for i = 2 + locks + sets, #KEYS do redis.call('del', KEYS[i]) end
redis.call('set', KEYS[1], 'applied', 'PX', ARGV[4 + locks + 2 * sets])
return 'ok'`;

// After a write whose answer did not come: was it applied? If not, it never will be.
const CONFIRM_SCRIPT =
  "local v = redis.call('get', KEYS[1]) if v == 'applied' then return v end " +
  "redis.call('set', KEYS[1], 'cancelled', 'PX', ARGV[1]) return 'cancelled'";

const CLOCK_SCRIPT = "local t = redis.call('time') return {tonumber(t[1]), tonumber(t[2])}";

/** How long a commit's record is kept: far longer than any caller waits for its answer. */
const COMMIT_RECORD_MS = 120_000;

// A write Redis runs later than this before the caller's deadline is refused, so its answer (and the
// confirmation after it) can still arrive in time.
const ANSWER_MARGIN_MS = 250;

/** How long the confirmation of an unanswered write may take. */
const CONFIRM_MS = 500;

export const STORAGE_UNCONFIRMED =
  'Storage did not answer in time, so Keyhouse cannot tell whether this change was saved. Check before ' +
  'you try again; if it keeps happening, tell whoever runs Keyhouse.';

/** What must hold a change before it is acknowledged: the replicas a failover could promote. */
interface ReplicaGuard {
  plan(connection: unknown, record: string): Promise<unknown>;
  kept(connection: unknown, plan: never, waitMs: number): Promise<boolean>;
  refresh(): Promise<void>;
  close(): void;
}

/** The key Keyv reads for `key` in `namespace` (Keyv leaves a key that already starts with it as is). */
export const keyvKey = (namespace: string, key: string): string =>
  key.startsWith(`${namespace}:`) ? key : `${namespace}:${key}`;

function redisBackend(
  target: RedisTarget,
  namespace: string,
  lock = DEFAULT_LOCK_OPTIONS,
  timeoutMs = DEFAULT_STORE_TIMEOUT_MS,
): Backend {
  const redis = new (loadRedis())(
    // One server, a cluster or Sentinel; every node fails fast while it is away (see redisClients.ts).
    redisConnectOptions(target),
    { throwOnConnectError: true, throwOnErrors: true },
  );
  const keyv = new Keyv({ store: redis, namespace, throwOnErrors: true, serialize, deserialize });
  keyv.on('error', () => undefined); // surfaced by throwOnErrors instead
  type Client = RedisLockClient & { ping(): Promise<string> };
  // One connection attempt at a time: concurrent first calls would otherwise each try to connect and
  // find the client "offline". A failed attempt is forgotten so the next call tries again.
  // The first attempt is given CONNECT_TIMEOUT_MS; after that the client keeps reconnecting on its own,
  // and commands fail at once (no offline queue) until Redis is back.
  let connecting: Promise<Client> | undefined;
  const client = (): Promise<Client> => {
    connecting ??= withDeadline(redis.getClient(), CONNECT_TIMEOUT_MS, 'connecting to Redis').then(
      (connected) => {
        const ready = connected as unknown as Client & { on(event: 'ready', listener: () => void): void };
        // Each time Redis answers again: measure its clock, and free locks whose release was lost.
        const reconnected = () => {
          void measureClock(ready);
          void locks.releaseLeftovers();
          void locks.releaseRecent();
          void replicas?.refresh();
        };
        onAnsweringAgain(ready, reconnected);
        followClusterFailovers(ready, target);
        reconnected();
        return ready;
      },
      (error: unknown) => {
        connecting = undefined;
        throw error;
      },
    );
    return connecting;
  };
  // Redis's clock minus ours (a lower bound), for deadlines of writes made outside any lock.
  let clockOffsetMs: number | undefined;
  const measureClock = async (connected: RedisLockClient) => {
    try {
      const [seconds, micros] = (await withDeadline(
        runScript(connected, CLOCK_SCRIPT, { keys: [], arguments: [] }),
        timeoutMs,
        'reading the clock',
      )) as [number, number];
      clockOffsetMs = seconds * 1000 + Math.floor(micros / 1000) - Date.now();
    } catch {
      // Measured again at the next reconnection; until then writes outside a lock carry no deadline.
    }
  };
  // In a cluster, each key carries its workspace's hash tag (see redisLayout.ts); one server keeps its keys.
  const layout =
    target.kind === 'cluster'
      ? clusterLayout(namespace, client as unknown as () => Promise<LayoutClient>)
      : singleNodeLayout(namespace);
  const locks = new RedisLocks(client, `${namespace}:`, lock, timeoutMs, layout.lockKey);
  if (layout.sharded) placeAdapterKeys(redis, layout, () => locks.heldLocks());
  const deadline = <T>(operation: Promise<T>, what: string) => withDeadline(operation, timeoutMs, what);
  // Through Sentinel, a change counts once every replica that could be promoted holds it: a failover then
  // keeps it (see sentinelReplicas.ts). One they do not confirm in time may still be lost in a failover,
  // so its caller is told it is not known.
  // On a cluster, once a replica holds it, where the shard has one (see clusterReplicas.ts).
  const replicas: ReplicaGuard | undefined =
    target.kind === 'sentinel'
      ? sentinelReplicas(target.name, target.sentinels)
      : target.kind === 'cluster'
        ? new ClusterReplicas()
        : undefined;
  const keptByReplica = async (connection: Client, plan: unknown): Promise<void> => {
    if (!replicas || !plan) return;
    // The plan is the one this guard made for this write.
    if (await replicas.kept(connection, plan as never, Math.min(REPLICA_WAIT_MS, budgetLeftMs()))) return;
    throw new DomainError('storage_unavailable', STORAGE_UNCONFIRMED);
  };
  return {
    keyv,
    open: () => Promise.resolve(),
    ready: async () => {
      await client();
    },
    deadline,
    readRaw: async (keys) => {
      await client();
      return redis.getMany(keys.map((key) => keyvKey(namespace, key))) as Promise<(string | undefined)[]>;
    },
    write: async (changes) => {
      const connection = await client();
      if (budgetLeftMs() <= 0) throw new StoreTimeout('writing (no time left)', 0);
      const sets = changes.set ?? [];
      // The documents' keys as stored, the commit's record and the locks that fence the write: all in one
      // slot on a cluster (see redisLayout.ts).
      const placed = await deadline(
        layout.placeWrite(
          [...sets.map(({ key }) => key), ...(changes.delete ?? [])].map((key) => keyvKey(namespace, key)),
          locks.heldLocks(),
        ),
        'writing',
      );
      const held = placed.fencing;
      const plan = await replicas?.plan(connection, placed.record);
      const values: string[] = [];
      for (const { value, ttlMs } of sets) {
        const expires = ttlMs ? Date.now() + ttlMs : undefined;
        values.push(String(await keyv.serializeData({ value, expires })), String(ttlMs ?? 0));
      }
      const record = placed.record;
      const waitMs = Math.min(timeoutMs, budgetLeftMs());
      // The deadline on Redis's clock: measured when the lock was taken, else at connection.
      const offsetMs = held.length > 0 ? Math.min(...held.map((h) => h.offsetMs)) : clockOffsetMs;
      const redisDeadline = offsetMs !== undefined ? Date.now() + offsetMs + waitMs - ANSWER_MARGIN_MS : 0;
      let outcome: unknown;
      try {
        outcome = await deadline(
          runScript(connection, FENCED_WRITE_SCRIPT, {
            keys: [
              record,
              ...held.map((h) => h.key),
              // The exact keys Keyv reads, so fenced writes read back through Keyv.
              ...placed.keys.map((key) => redis.createKeyPrefix(key, redis.namespace)),
            ],
            arguments: [
              String(held.length),
              String(sets.length),
              String(Math.floor(redisDeadline)),
              ...held.map((h) => h.token),
              ...values,
              String(COMMIT_RECORD_MS),
            ],
          }),
          'writing',
        );
      } catch (error) {
        // Refused before it was sent (the client is offline or closed), or answered with an error: the
        // write was not applied.
        if (
          !(error instanceof StoreTimeout) &&
          !/closed unexpectedly|ECONNRESET|EPIPE/i.test(String(error))
        ) {
          throw error;
        }
        // No answer: the write may or may not have been applied. Ask, and cancel it if it was not.
        let confirmed: unknown;
        try {
          confirmed = await withDeadline(
            runScript(connection, CONFIRM_SCRIPT, { keys: [record], arguments: [String(COMMIT_RECORD_MS)] }),
            CONFIRM_MS,
            'confirming a write',
          );
        } catch {
          const unknown = new DomainError('storage_unavailable', STORAGE_UNCONFIRMED);
          unknown.cause = error;
          throw unknown;
        }
        if (confirmed === 'applied') return keptByReplica(connection, plan);
        throw error; // cancelled: nothing was changed, and nothing will be
      }
      if (outcome === 'lost') throw busy();
      if (outcome !== 'ok') throw new Error(`the write was not applied (${String(outcome)})`);
      await keptByReplica(connection, plan);
    },
    // The documents read with the lock are those Keyv reads, in the lock's slot on a cluster; those found
    // tell the cluster layout whose IDs they are, as Keyv's reads do (see placeAdapterKeys).
    withLock: (name, fn, reads) =>
      locks.withLock(
        name,
        (texts) => {
          if (texts && reads) {
            const found = reads.filter((_, i) => texts[i] !== undefined);
            layout.found(
              found.map((key) => keyvKey(namespace, key)),
              locks.heldLocks(),
            );
          }
          return fn(texts);
        },
        reads?.length
          ? async (held) =>
              (
                await layout.place(
                  reads.map((key) => keyvKey(namespace, key)),
                  held,
                )
              ).map((placed) =>
                placed === undefined ? undefined : redis.createKeyPrefix(placed, redis.namespace),
              )
          : undefined,
      ),
    hit: async (key, windowMs, by) => {
      const [count, ttl] = (await runScript(await client(), HIT_SCRIPT, {
        keys: [`${namespace}:hit:${key}`],
        arguments: [String(windowMs), String(by)],
      })) as [number, number];
      return { count, resetMs: ttl > 0 ? ttl : windowMs };
    },
    ping: async () => {
      await (await client()).ping();
    },
    close: async () => {
      // Locks still held (a stop that cut work short) are freed now rather than at the end of their lease.
      await locks.releaseAll().catch(() => undefined);
      replicas?.close();
      // Commands already sent are answered before the connection closes.
      await withDeadline(redis.disconnect(false), timeoutMs, 'closing').catch(() => undefined);
      // A client that never connected keeps retrying until it is destroyed, which would keep a
      // stopped process alive.
      try {
        (redis.client as unknown as { destroy?: () => void }).destroy?.();
      } catch {
        // Already closed.
      }
    },
  };
}
