import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { KeyLimits } from '../config';
import type { DocumentStore } from '../domain/storage';

/**
 * The key route's budgets: per client address, per project, and a smaller one for wrong tokens per
 * client address. Counts live in the store (shared by every replica on one Redis); when the counter
 * itself fails, the limit lets the request through and the route answers from its own read.
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

  perAddress(address: string): Promise<Refusal | undefined> {
    return this.count(`keys:ip:${address}`, this.limits.perIp, 'too many requests from this address');
  }

  perProject(projectId: string): Promise<Refusal | undefined> {
    return this.count(
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

  private async count(key: string, limit: number, what: string): Promise<Refusal | undefined> {
    if (limit <= 0) return undefined;
    let hit;
    try {
      hit = await this.store.hit(key, WINDOW_MS);
    } catch (error) {
      this.onCounterFailure(error);
      return undefined; // fail open: the route's own read answers 503 if storage is away
    }
    return hit.count > limit ? refusal(hit.resetMs, `${what} (${limit} a minute)`) : undefined;
  }
}

function refusal(resetMs: number, message: string): Refusal {
  return { retryAfter: Math.max(1, Math.ceil(resetMs / 1000)), message };
}
