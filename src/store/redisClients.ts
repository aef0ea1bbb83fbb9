/**
 * The three ways Keyhouse reaches Redis: one server (REDIS_URL), a Redis Cluster (REDIS_CLUSTER_NODES) or
 * a master found through Sentinel (REDIS_SENTINELS and REDIS_SENTINEL_NAME). This module knows their
 * settings and the connection options each needs; it loads no driver.
 */

/** One `host:port`, with what its URL form carried (credentials, TLS), applied to every connection. */
export interface RedisNode {
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls?: boolean;
}

export type RedisTarget =
  | { kind: 'server'; url: string }
  | { kind: 'cluster'; nodes: RedisNode[] }
  | { kind: 'sentinel'; name: string; sentinels: RedisNode[] };

/**
 * Parses `host:port,host:port,…`; each entry may also be written `redis://[user:password@]host:port` (or
 * `rediss://` for TLS). Returns the nodes, or what is wrong in words.
 */
export function parseRedisNodes(text: string): RedisNode[] | string {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) return 'must list host:port pairs separated by commas';
  const nodes: RedisNode[] = [];
  for (const [index, entry] of entries.entries()) {
    const node = parseNode(entry);
    if (!node) {
      // A URL-form entry may hold a password, perhaps one its parse failed on: it is not repeated.
      return /^rediss?:\/\//i.test(entry)
        ? `must list host:port pairs separated by commas, each of which may be a URL such as rediss://user:password@10.0.0.1:6379 (a password holding / ? # @ or % written %2F %3F %23 %40 %25); entry ${index + 1}, a URL not repeated here, is not one`
        : `must list host:port pairs separated by commas (such as 10.0.0.1:6379,10.0.0.2:6379); ${JSON.stringify(entry.replace(/^.*@/s, '…@'))} is not one`;
    }
    nodes.push(node);
  }
  const withCredentials = nodes.filter((n) => n.password !== undefined || n.tls);
  if (withCredentials.length > 0 && withCredentials.length < nodes.length) {
    return 'must give every entry the same URL form when one carries a password or rediss:// (or give it once, to all)';
  }
  return nodes;
}

/** A URL's user name and password, decoded; undefined when one is not valid percent-encoding (`%zz`). */
function urlCredentials(url: URL): { username?: string; password?: string } | undefined {
  try {
    return {
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * Whether `text` is a Redis URL node-redis can use: redis:// or rediss://, a host, a port if any, a
 * database number if any, and credentials in valid percent-encoding.
 */
export function isRedisUrl(text: string): boolean {
  if (!/^rediss?:\/\/\S+$/i.test(text)) return false;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return url.hostname !== '' && /^(\/\d*)?$/.test(url.pathname) && urlCredentials(url) !== undefined;
}

function parseNode(entry: string): RedisNode | undefined {
  if (/^rediss?:\/\//i.test(entry)) {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      return undefined;
    }
    if (!url.hostname || !url.port || (url.pathname !== '' && url.pathname !== '/')) return undefined;
    const credentials = urlCredentials(url);
    if (!credentials) return undefined;
    return {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port),
      ...credentials,
      ...(url.protocol === 'rediss:' ? { tls: true } : {}),
    };
  }
  const match = /^(?:\[([0-9a-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/i.exec(entry);
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65535) return undefined;
  return { host: match[1] ?? match[2] ?? '', port };
}

/** How the target is named in the start-up line, without credentials. */
export function describeRedisTarget(target: RedisTarget): string {
  const list = (nodes: RedisNode[]) => nodes.map((n) => `${n.host}:${n.port}`).join(', ');
  switch (target.kind) {
    case 'cluster':
      return `Redis Cluster at ${list(target.nodes)}`;
    case 'sentinel':
      return `Redis master ${target.name} through Sentinel at ${list(target.sentinels)}`;
    default:
      try {
        return `Redis at ${new URL(target.url).host}`;
      } catch {
        return 'Redis';
      }
  }
}

/** Options every connection to a Redis node gets: fail fast while it is away, reconnect with backoff. */
const nodeOptions = (credentials: RedisNode | undefined) => ({
  // Fail fast while a node is away instead of queueing commands until it returns.
  disableOfflineQueue: true,
  ...(credentials?.username ? { username: credentials.username } : {}),
  ...(credentials?.password ? { password: credentials.password } : {}),
  socket: {
    connectTimeout: 2000,
    reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
    ...(credentials?.tls ? { tls: true as const } : {}),
  },
});

/**
 * What @keyv/redis is given to connect: node-redis's createClient options for one server, its
 * createCluster options (`rootNodes`, `defaults`) for a cluster, its createSentinel options
 * (`sentinelRootNodes`, `name`) for Sentinel.
 */
export function redisConnectOptions(target: RedisTarget): Record<string, unknown> {
  switch (target.kind) {
    case 'cluster':
      return {
        rootNodes: target.nodes.map((n) => ({ socket: { host: n.host, port: n.port } })),
        defaults: nodeOptions(target.nodes[0]),
        // Every command goes to the master of its slot: a lock or a fenced write must read what the
        // master holds, never a replica that lags it.
        useReplicas: false,
      };
    case 'sentinel':
      return {
        name: target.name,
        sentinelRootNodes: target.sentinels.map((n) => ({ host: n.host, port: n.port })),
        nodeClientOptions: nodeOptions(target.sentinels[0]),
        sentinelClientOptions: nodeOptions(target.sentinels[0]),
      };
    default:
      return { url: target.url, ...nodeOptions(undefined) };
  }
}

interface Emitter {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/**
 * Calls `listener` each time Redis answers again after it was away: a server's connection is ready, a
 * cluster node's connection is ready, or Sentinel names a new master.
 */
export function onAnsweringAgain(client: Emitter, listener: () => void): void {
  client.on('ready', listener);
  client.on('node-ready', listener);
  client.on('topology-change', (event) => {
    if ((event as { type?: string } | undefined)?.type === 'MASTER_CHANGE') listener();
  });
}

/** How long a change through Sentinel waits for its replicas to hold it. */
export const REPLICA_WAIT_MS = 300;

/**
 * node-redis's cluster client learns the cluster's shape again only when a node answers MOVED or ASK: after
 * a master dies and a replica takes its place, the commands of its slots would keep going to the dead
 * node for as long as it stays away. So while a node's connection fails, the cluster is asked for its
 * shape again, at most once a second (through the client's own rediscovery, which also drops the
 * connections of nodes that left).
 */
export function followClusterFailovers(client: unknown, target: RedisTarget): void {
  if (target.kind !== 'cluster') return;
  const cluster = client as Emitter & {
    _slots?: { rediscover?(startWith: { options: unknown }): Promise<void> };
  };
  const root = target.nodes[0];
  if (!root || typeof cluster._slots?.rediscover !== 'function') return;
  let last = 0;
  cluster.on('node-error', () => {
    const now = Date.now();
    if (now - last < 1000) return;
    last = now;
    cluster._slots
      ?.rediscover?.({ options: { socket: { host: root.host, port: root.port } } })
      .catch(() => undefined);
  });
}
