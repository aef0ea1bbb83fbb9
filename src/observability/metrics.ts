import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Outcome } from './requestScope';

/**
 * Keyhouse's Prometheus metrics, one set per app (its own Registry: tests run several apps in one
 * process), handed to the HTTP server, the store and the Slack request middleware, which call the
 * one-line hooks below. Labels are bounded: Slack request kinds are the app's own command names and
 * IDs (anything else is `other`), statuses and store operations are the code's own; no user, project
 * or instance ID is ever a label.
 */
export type StoreOperation = 'get' | 'get_many' | 'write' | 'lock' | 'ping' | 'key_route';

/** How long the pending-requests gauge may wait for the store at a scrape. */
const PENDING_DEADLINE_MS = 1_000;
/**
 * How long a scrape open to anyone (no METRICS_TOKEN) reuses the last read of the pending count, so
 * scrapes cost the store at most one read in that time.
 */
export const OPEN_PENDING_REUSE_MS = 5_000;

const seconds = (startedMs: number): number => (performance.now() - startedMs) / 1000;

/** Buckets in seconds: Slack wants an answer within 3 s, the key route and the store answer in ms. */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10];
const FAST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface Scrape {
  status: number;
  contentType: string;
  body: string;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly slackRequests: Counter<'kind' | 'outcome'>;
  private readonly slackRequestDuration: Histogram<'kind'>;
  private readonly keyDeliveries: Counter<'status'>;
  private readonly keyDeliveryDuration: Histogram;
  private readonly storeDuration: Histogram<'op'>;
  private readonly storeErrors: Counter<'op'>;
  private readonly lockWait: Histogram;
  private readonly lockBusyTotal: Counter;
  private readonly sweepRuns: Counter<'outcome'>;
  /** One counter child per status, so a key fetch does not hash labels. */
  private readonly deliveredWith = new Map<number, { inc(): void }>();
  /** Store failures already counted: one failure seen by nested operations counts once. */
  private readonly counted = new WeakSet<object>();
  private countPending?: () => Promise<number>;
  private readonly pending: Gauge;
  /** The read of the pending count under way, which concurrent scrapes share, and when the last began. */
  private pendingRead: Promise<void> | undefined;
  private pendingReadAt = -Infinity;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.slackRequests = new Counter({
      name: 'keyhouse_slack_requests_total',
      help: 'Slack requests handled (commands, actions, views, options, events) by kind and outcome (ok, refused, error).',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.slackRequestDuration = new Histogram({
      name: 'keyhouse_slack_request_duration_seconds',
      help: 'Time to handle a Slack request, answer and follow-up calls included.',
      labelNames: ['kind'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.keyDeliveries = new Counter({
      name: 'keyhouse_key_deliveries_total',
      help: 'Answers of the authorized_keys route, by HTTP status.',
      labelNames: ['status'],
      registers,
    });
    this.keyDeliveryDuration = new Histogram({
      name: 'keyhouse_key_delivery_duration_seconds',
      help: 'Time to answer the authorized_keys route.',
      buckets: FAST_BUCKETS,
      registers,
    });
    this.storeDuration = new Histogram({
      name: 'keyhouse_store_operation_duration_seconds',
      help: "Time of one store operation (get, get_many, write, ping), failed ones included; the key route's own reads and counters are not timed.",
      labelNames: ['op'],
      buckets: FAST_BUCKETS,
      registers,
    });
    this.storeErrors = new Counter({
      name: 'keyhouse_store_errors_total',
      help: 'Store operations that failed as "storage unavailable", by operation (get, get_many, write, lock, ping, key_route).',
      labelNames: ['op'],
      registers,
    });
    this.lockWait = new Histogram({
      name: 'keyhouse_lock_wait_seconds',
      help: 'Time from asking for a lock to holding it.',
      buckets: FAST_BUCKETS,
      registers,
    });
    this.lockBusyTotal = new Counter({
      name: 'keyhouse_lock_busy_total',
      help: 'Locks given up on because another holder kept them past the wait ("busy, try again").',
      registers,
    });
    this.pending = new Gauge({
      name: 'keyhouse_pending_requests',
      help: 'Key requests waiting for a decision (read from the pending index at a scrape; the last value is kept while the store does not answer).',
      registers,
    });
    this.sweepRuns = new Counter({
      name: 'keyhouse_sweep_runs_total',
      help: 'Periodic sweeps (request expiry, key expiry notices), by outcome (ok, error).',
      labelNames: ['outcome'],
      registers,
    });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** One Slack request handled; `kind` is already bounded by the caller. */
  slackRequest(kind: string, outcome: Outcome, startedMs: number): void {
    this.slackRequests.inc({ kind, outcome });
    this.slackRequestDuration.observe({ kind }, seconds(startedMs));
  }

  /** Times one authorized_keys answer and counts its status (500 when it threw). */
  async keyDelivery(res: ServerResponse, serving: Promise<void>): Promise<void> {
    const started = performance.now();
    let status = 500;
    try {
      await serving;
      status = res.statusCode;
    } finally {
      let counter = this.deliveredWith.get(status);
      if (!counter) {
        counter = this.keyDeliveries.labels({ status: String(status) });
        this.deliveredWith.set(status, counter);
      }
      counter.inc();
      this.keyDeliveryDuration.observe(seconds(started));
    }
  }

  storeOperation(op: StoreOperation, startedMs: number): void {
    this.storeDuration.observe({ op }, seconds(startedMs));
  }

  /** A store failure, counted once however many nested operations it passes through. */
  storeError(op: StoreOperation, failure: object): void {
    if (this.counted.has(failure)) return;
    this.counted.add(failure);
    this.storeErrors.inc({ op });
  }

  /**
   * Runs `fn` under `lock`, timing the wait until `fn` starts; a "busy" refusal before that (another
   * holder kept the lock past the wait) is counted.
   */
  async timeLock<T, A extends unknown[]>(
    lock: (fn: (...args: A) => Promise<T>) => Promise<T>,
    fn: (...args: A) => Promise<T>,
  ): Promise<T> {
    const asked = performance.now();
    let held = false;
    try {
      return await lock((...args: A) => {
        held = true;
        this.lockWait.observe(seconds(asked));
        return fn(...args);
      });
    } catch (error) {
      if (!held && (error as { code?: unknown }).code === 'busy') this.lockBusyTotal.inc();
      throw error;
    }
  }

  /** Counts a sweep run by its outcome and passes its result on. */
  async sweep<T>(run: Promise<T>): Promise<T> {
    try {
      const result = await run;
      this.sweepRuns.inc({ outcome: 'ok' });
      return result;
    } catch (error) {
      this.sweepRuns.inc({ outcome: 'error' });
      throw error;
    }
  }

  /** How the pending-requests gauge is read at each scrape. */
  countPendingWith(count: () => Promise<number>): void {
    this.countPending = count;
  }

  /**
   * The answer to `GET /metrics`. With a token configured, the request must carry it as a Bearer
   * token (compared in constant time); anything else is a 401.
   */
  async scrape(authorization: string | undefined, token: string | undefined): Promise<Scrape> {
    if (token !== undefined && !sameSecret(/^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1], token)) {
      return { status: 401, contentType: 'text/plain; charset=utf-8', body: 'unauthorized\n' };
    }
    await this.readPending(token === undefined ? OPEN_PENDING_REUSE_MS : 0);
    return { status: 200, contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /**
   * Reads the pending count into its gauge, unless a read began less than `reuseMs` ago; scrapes that
   * come while a read is under way wait for that one. A store that does not answer leaves the last value.
   */
  private readPending(reuseMs: number): Promise<void> {
    const count = this.countPending;
    if (!count) return Promise.resolve();
    if (this.pendingRead) return this.pendingRead;
    if (performance.now() - this.pendingReadAt < reuseMs) return Promise.resolve();
    this.pendingReadAt = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const read = Promise.race([
      count(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer')), PENDING_DEADLINE_MS);
      }),
    ]).then(
      (value) => this.pending.set(value),
      // The store did not answer in time: the last value stands.
      () => undefined,
    );
    this.pendingRead = read.finally(() => {
      clearTimeout(timer);
      this.pendingRead = undefined;
    });
    return this.pendingRead;
  }
}

/** Constant-time equality of a presented secret and the expected one (digests, so lengths leak nothing). */
function sameSecret(presented: string | undefined, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(presented ?? ''), digest(expected)) && presented !== undefined;
}
