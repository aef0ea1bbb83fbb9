import { withDeadline } from './deadline';

/**
 * Which replicas a change on a Redis Cluster must reach before it is acknowledged.
 *
 * A cluster replicates asynchronously: a master acknowledges a write before its replicas have it, and
 * when the master dies the cluster promotes the replica that is most up to date. So on a shard whose
 * master has a replica online, a change is acknowledged once at least one replica holds it (WAIT 1 on the
 * master's connection, which carried the write); a change no replica confirms in time is reported as not
 * known. A shard without a replica online cannot fail over, so nothing is waited for there. (A master cut
 * off from the rest of the cluster stops taking writes by itself after the node timeout, before a
 * replica is promoted in its place.)
 */

/** The slot of a key, as Redis Cluster computes it (CRC16 of its hash tag, or of the whole key). */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit += 1)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

interface NodeAddress {
  host: string;
  port: number;
}

interface NodeClient {
  info(section: string): Promise<string>;
  wait(replicas: number, timeoutMs: number): Promise<number>;
}

/** The parts of node-redis's cluster client used here. */
interface ClusterClient {
  slots: ({ master: NodeAddress } | undefined)[];
  masters: NodeAddress[];
  nodeClient(node: NodeAddress): Promise<NodeClient>;
}

export interface ClusterWritePlan {
  master: NodeAddress;
  /** Replicas online on the master's shard, as last seen. */
  replicas: number;
}

/** Counts each master's replicas online (INFO replication) every `everyMs`. */
export class ClusterReplicas {
  private readonly online = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private asking: Promise<void> | undefined;
  private connection: ClusterClient | undefined;

  constructor(private readonly everyMs = 2000) {}

  plan(connection: unknown, record: string): Promise<ClusterWritePlan> {
    const cluster = connection as ClusterClient;
    if (!this.timer) {
      this.connection = cluster;
      void this.refresh();
      this.timer = setInterval(() => void this.refresh(), this.everyMs);
      this.timer.unref();
    }
    const master = cluster.slots[keySlot(record)]?.master;
    if (!master) return Promise.reject(new Error('no master serves this workspace now'));
    return Promise.resolve({ master, replicas: this.online.get(`${master.host}:${master.port}`) ?? 0 });
  }

  /** After the write: whether a replica holds it, within `waitMs` (at once when the shard has none). */
  async kept(connection: unknown, plan: ClusterWritePlan, waitMs: number): Promise<boolean> {
    if (plan.replicas === 0) return true;
    const ms = Math.max(1, Math.floor(waitMs)); // WAIT with a timeout of 0 would block for ever
    try {
      const client = await (connection as ClusterClient).nodeClient(plan.master);
      return (await withDeadline(client.wait(1, ms), ms + 100, 'waiting for a replica')) >= 1;
    } catch {
      return false;
    }
  }

  /** Asks every master how many replicas it has online (one question at a time). */
  refresh(): Promise<void> {
    this.asking ??= this.ask().finally(() => (this.asking = undefined));
    return this.asking;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async ask(): Promise<void> {
    const cluster = this.connection;
    if (!cluster) return;
    await Promise.all(
      cluster.masters.map(async (master) => {
        const address = `${master.host}:${master.port}`;
        try {
          const client = await cluster.nodeClient(master);
          const info = await withDeadline(client.info('replication'), 1000, 'asking for replicas');
          this.online.set(address, (info.match(/^slave\d+:.*state=online/gm) ?? []).length);
        } catch {
          // Unreachable: writes to it fail anyway; its count is asked again next time.
        }
      }),
    );
  }
}
