import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { KeyLimits } from '../config';
import type { DocumentStore } from '../domain/storage';

/**
 * The key route's budgets: per client address, per project, and a smaller one for wrong tokens per
 * client address. Counts live in the store (shared by every replica on one Redis); requests are counted
 * in memory and sent in batches, so a fetch waits for no counter; when the counter itself fails, the
 * limit lets the request through and the route answers from its own read.
 */

const WINDOW_MS = 60_000;

export interface Refusal {
  /** Seconds until the caller may try again. */
  retryAfter: number;
  message: string;
}

/**
 * The address a request came from. Behind a proxy that appends to X-Forwarded-For, the last entry is
 * the one the proxy saw (earlier ones are whatever the client claimed). IPv6 clients are counted by
 * their /64, the block one host usually holds.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  let address = req.socket.remoteAddress ?? 'unknown';
  if (trustProxy) {
    const forwarded = String(req.headers['x-forwarded-for'] ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)
      .at(-1);
    if (forwarded && isIP(forwarded)) address = forwarded;
  }
  if (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4) return address.slice(7);
  if (isIP(address) === 6) return `${expandV6(address).slice(0, 4).join(':')}::/64`;
  return address;
}

function expandV6(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const middle = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''));
}

export class KeyRouteLimits {
  /** Addresses over their wrong-token budget, until when: checked before any storage is touched. */
  private readonly blocked = new Map<string, number>();

  constructor(
    private readonly store: DocumentStore,
    private readonly limits: KeyLimits,
    private readonly onCounterFailure: (error: unknown) => void = () => undefined,
  ) {}

  /** Refuses an address that presented too many wrong tokens, without a round trip. */
  blockedAddress(address: string, now = Date.now()): Refusal | undefined {
    const until = this.blocked.get(address);
    if (until === undefined) return undefined;
    if (until <= now) {
      this.blocked.delete(address);
      return undefined;
    }
    return refusal(until - now, 'too many wrong tokens from this address');
  }

  /** Counts a request from an address (see `tally`). */
  perAddress(address: string): Refusal | undefined | Promise<Refusal | undefined> {
    return this.tally(`keys:ip:${address}`, this.limits.perIp, 'too many requests from this address');
  }

  /** Counts a request for a project whose token checked out (see `tally`). */
  perProject(projectId: string): Refusal | undefined | Promise<Refusal | undefined> {
    return this.tally(
      `keys:project:${projectId}`,
      this.limits.perProject,
      'too many requests for this project',
    );
  }

  /** Counts a wrong token; past the budget, the address is refused until the window ends. */
  async failure(address: string): Promise<Refusal | undefined> {
    const refused = await this.count(
      `keys:fail:${address}`,
      this.limits.authFailuresPerIp,
      'too many wrong tokens from this address',
    );
    if (refused) {
      if (this.blocked.size >= 10_000) this.blocked.clear();
      this.blocked.set(address, Date.now() + refused.retryAfter * 1000);
    }
    return refused;
  }

  private async count(
    key: string,
    limit: number,
    what: string,
    by = 1,
    tally?: Tally,
  ): Promise<Refusal | undefined> {
    if (limit <= 0) return undefined;
    let hit;
    try {
      hit = await this.store.hit(key, WINDOW_MS, by);
    } catch (error) {
      this.onCounterFailure(error);
      return undefined; // fail open: the route's own read answers 503 if storage is away
    }
    if (tally) {
      tally.shared = hit.count; // ours included; hits counted meanwhile stay unsent
      tally.resetAt = Date.now() + hit.resetMs;
    }
    return hit.count > limit ? refusal(hit.resetMs, `${what} (${limit} a minute)`) : undefined;
  }

  /** Each counter's known shared count, and the hits this replica counted since it last sent them. */
  private readonly tallies = new Map<string, Tally>();
  private sending: NodeJS.Timeout | undefined;
  private quietUntil = 0;

  /**
   * Counts a request. Far from the limit, without a round trip: the decision uses the shared count as
   * last read plus the hits this replica counted since, which are added to the shared count in one batch
   * every SEND_MS. From EXACT_FROM of the limit on, each hit is counted in the store at once, so the
   * limit holds exactly however many replicas share it.
   */
  private tally(
    key: string,
    limit: number,
    what: string,
    now = Date.now(),
  ): Refusal | undefined | Promise<Refusal | undefined> {
    if (limit <= 0) return undefined;
    let tally = this.tallies.get(key);
    if (!tally || tally.resetAt <= now) {
      if (this.tallies.size >= MAX_TALLIES) this.forgetEnded(now);
      tally = { shared: 0, unsent: 0, resetAt: now + WINDOW_MS };
      this.tallies.set(key, tally);
    }
    tally.unsent += 1;
    if (tally.shared + tally.unsent <= limit * EXACT_FROM) {
      this.sending ??= setTimeout(() => void this.send(), SEND_MS).unref();
      return undefined;
    }
    const by = tally.unsent;
    tally.unsent = 0;
    return this.count(key, limit, what, by, tally);
  }

  /** Adds every replica-local count to the shared one (commands sent together: one round trip). */
  private async send(): Promise<void> {
    this.sending = undefined;
    const due = [...this.tallies].filter(([, tally]) => tally.unsent > 0);
    const failures = await Promise.all(
      due.map(async ([key, tally]) => {
        const by = tally.unsent;
        tally.unsent = 0;
        try {
          const hit = await this.store.hit(key, WINDOW_MS, by);
          tally.shared = hit.count; // ours included; hits counted meanwhile stay unsent
          tally.resetAt = Date.now() + hit.resetMs;
          return undefined;
        } catch (error) {
          return error; // fail open: these hits are not counted
        }
      }),
    );
    const failure = failures.find((error) => error !== undefined);
    if (failure !== undefined && Date.now() >= this.quietUntil) {
      this.quietUntil = Date.now() + WINDOW_MS;
      this.onCounterFailure(failure);
    }
  }

  private forgetEnded(now: number): void {
    for (const [key, tally] of this.tallies)
      if (tally.resetAt <= now && tally.unsent === 0) this.tallies.delete(key);
    if (this.tallies.size >= MAX_TALLIES) this.tallies.clear();
  }
}

/** A counter as this replica sees it: the shared count as last read, and its own hits not yet sent. */
interface Tally {
  shared: number;
  unsent: number;
  resetAt: number;
}

/** How often a replica sends the hits it counted to the shared count. */
const SEND_MS = 100;
/** The share of a limit from which every hit is counted in the store at once. */
const EXACT_FROM = 0.5;
const MAX_TALLIES = 100_000;

function refusal(resetMs: number, message: string): Refusal {
  return { retryAfter: Math.max(1, Math.ceil(resetMs / 1000)), message };
}
