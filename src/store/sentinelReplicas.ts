import { withDeadline } from './deadline';
import type { RedisNode } from './redisClients';

/**
 * Which replicas a change through Sentinel must reach before it is acknowledged.
 *
 * Redis replicates asynchronously: a master acknowledges a write before its replicas have it, and a
 * failover promotes a replica, so the writes the old master acknowledged just before (or, while clients
 * still talk to it, just after) are dropped when it rejoins as a replica. A change is therefore
 * acknowledged only when every replica Sentinel could promote holds it (WAIT n), and only when it went to
 * the master Sentinel names: then whichever replica is promoted has it. A replica that is down,
 * disconnected or not yet following the master cannot be promoted and is not waited for; with none, no
 * failover can happen, so nothing is waited for.
 */
export interface ReplicaView {
  /** The master Sentinel names (`host:port`) and the replicas that could take its place. */
  master: string;
  replicas: number;
}

export interface WritePlan {
  master: string;
  replicas: number;
}

/** The few calls made to a Sentinel. */
interface SentinelClient {
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  destroy(): void;
  on(event: 'error', listener: (error: unknown) => void): unknown;
}

type CreateClient = (options: Record<string, unknown>) => SentinelClient;

/** `[k1, v1, k2, v2, …]` as a map (Sentinel's answers in RESP2). */
const fields = (flat: unknown): Map<string, string> => {
  const map = new Map<string, string>();
  if (Array.isArray(flat))
    for (let i = 0; i + 1 < flat.length; i += 2) map.set(String(flat[i]), String(flat[i + 1]));
  return map;
};

/** Counts the replicas of `master` that Sentinel could promote, from SENTINEL REPLICAS. */
export function promotable(replicas: unknown, master: string): number {
  if (!Array.isArray(replicas)) return 0;
  return replicas.filter((replica) => {
    const info = fields(replica);
    const flags = (info.get('flags') ?? '').split(',');
    return (
      !flags.some((flag) => ['s_down', 'o_down', 'disconnected'].includes(flag)) &&
      info.get('role-reported') === 'slave' &&
      info.get('master-link-status') === 'ok' &&
      `${info.get('master-host') ?? ''}:${info.get('master-port') ?? ''}` === master
    );
  }).length;
}

/**
 * Asks the Sentinels, every `everyMs` and when told the topology changed, which master they name and how
 * many replicas could take its place.
 */
export class SentinelReplicas {
  private view: ReplicaView | undefined;
  private timer: NodeJS.Timeout | undefined;
  private asking: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly name: string,
    private readonly sentinels: RedisNode[],
    private readonly createClient: CreateClient,
    private readonly everyMs = 2000,
  ) {}

  /** The last answer, if any Sentinel answered. */
  current(): ReplicaView | undefined {
    return this.view;
  }

  start(): void {
    if (this.timer || this.closed) return;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.everyMs);
    this.timer.unref();
  }

  /** Asks again now (one question at a time). */
  refresh(): Promise<void> {
    this.asking ??= this.ask().finally(() => (this.asking = undefined));
    return this.asking;
  }

  /**
   * Before a write on `connection`: the master it goes to and the replicas it must reach. Refuses (before
   * anything is written) when the client talks to another master than the one Sentinel names.
   */
  async plan(connection: unknown): Promise<WritePlan> {
    this.start();
    const node = (connection as { getMasterNode?(): RedisNode | undefined }).getMasterNode?.();
    const master = node ? `${node.host}:${node.port}` : undefined;
    if (this.view?.master !== master) await this.refresh();
    const view = this.view;
    if (master === undefined || view?.master !== master) {
      throw new Error(`Sentinel names another master than ${master ?? 'the one connected'}`);
    }
    return { master, replicas: view.replicas };
  }

  /** After the write: whether every replica that could be promoted holds it, within `waitMs`. */
  async kept(connection: unknown, plan: WritePlan, waitMs: number): Promise<boolean> {
    if (this.view?.master !== plan.master) return false; // a failover began meanwhile
    if (plan.replicas === 0) return true;
    const wait = (connection as { wait(replicas: number, timeoutMs: number): Promise<number> }).wait.bind(
      connection,
    );
    // WAIT with a timeout of 0 would block for ever.
    const ms = Math.max(1, Math.floor(waitMs));
    try {
      return (
        (await withDeadline(wait(plan.replicas, ms), ms + 100, 'waiting for the replicas')) >= plan.replicas
      );
    } catch {
      return false;
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
  }

  private async ask(): Promise<void> {
    for (const node of this.sentinels) {
      const client = this.createClient({
        socket: {
          host: node.host,
          port: node.port,
          connectTimeout: 1000,
          reconnectStrategy: false,
          ...(node.tls ? { tls: true } : {}),
        },
        ...(node.username ? { username: node.username } : {}),
        ...(node.password ? { password: node.password } : {}),
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const address = await client.sendCommand(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name]);
        if (!Array.isArray(address) || address.length < 2) continue;
        const master = `${String(address[0])}:${String(address[1])}`;
        const replicas = promotable(await client.sendCommand(['SENTINEL', 'REPLICAS', this.name]), master);
        if (!this.closed) this.view = { master, replicas };
        return;
      } catch {
        // The next Sentinel, or the next round.
      } finally {
        try {
          client.destroy();
        } catch {
          // Already closed.
        }
      }
    }
  }
}

/** The replica watch of a Sentinel target, with node-redis's plain client (loaded only here). */
export function sentinelReplicas(name: string, sentinels: RedisNode[]): SentinelReplicas {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createClient } = require('@keyv/redis') as typeof import('@keyv/redis');
  return new SentinelReplicas(
    name,
    sentinels,
    (options) => createClient(options) as unknown as SentinelClient,
  );
}
