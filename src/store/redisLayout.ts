import { randomUUID } from 'node:crypto';
import type { HeldLock } from './locks';
import { runScript, type ScriptClient } from './scripts';

/**
 * Where each stored key lives in Redis.
 *
 * One server (or a Sentinel's master) keeps the layout Keyhouse always had: `<ns>::<ns>:<key>` for
 * documents, `<ns>:lock:<name>`, `<ns>:commit:<id>`, `<ns>:hit:<key>`.
 *
 * A Redis Cluster runs a Lua script only on keys of one slot, and every change of a workspace is one
 * script over its documents, the locks it holds and its commit record. So in a cluster each key carries
 * a hash tag: the workspace's Slack team ID for its documents (`<ns>::<ns>:{T123}:project:<id>`), its
 * locks (`<ns>:{T123}:lock:org:T123`) and its commit records (`<ns>:{T123}:commit:<id>`). A
 * deployment-wide document (the pending-requests index, the expiring-keys index, the break-glass index,
 * the signing key) is one key in a slot of its own, tagged with its own name, and is written only with
 * its own lock, never in a workspace's script.
 *
 * A workspace's documents are keyed by IDs (`project:<id>`, `request:<id>`, `breakglass:<id>`,
 * `audit:<organization id>` …) that do not name the team. Inside a change the store knows the team from
 * the workspace lock it holds. Elsewhere (the key route knows only the project ID) it asks a small
 * deployment-wide mapping, `<ns>:workspace-of:<id>` → team ID, written (set if absent) before the first
 * document of a new ID, outside the workspace's script, and kept in memory once known: an ID never moves
 * to another workspace, so the key route reads its documents in one round trip.
 */
export interface RedisLayout {
  readonly sharded: boolean;
  /** The Redis key of lock `name`. */
  lockKey(name: string, held: readonly HeldLock[]): Promise<string>;
  /**
   * Keyv keys (`<ns>:<key>`) as stored; undefined for a document that cannot exist (its ID belongs to
   * no workspace).
   */
  place(keyvKeys: string[], held: readonly HeldLock[]): Promise<(string | undefined)[]>;
  /**
   * Told of documents found inside a workspace's change: their IDs' mappings are stored (each is written
   * before its ID's first document), so later writes need not claim them again.
   */
  found(keyvKeys: string[], held: readonly HeldLock[]): void;
  /**
   * For one write: the Keyv keys it sets and deletes as stored, its commit record, and the locks held
   * that fence it (those of its slot). Refuses a write whose keys would span slots.
   */
  placeWrite(
    keyvKeys: string[],
    held: readonly HeldLock[],
  ): Promise<{ keys: string[]; record: string; fencing: readonly HeldLock[] }>;
}

export function singleNodeLayout(namespace: string): RedisLayout {
  return {
    sharded: false,
    lockKey: (name) => Promise.resolve(`${namespace}:lock:${name}`),
    place: (keys) => Promise.resolve(keys),
    found: () => undefined,
    placeWrite: (keys, held) =>
      Promise.resolve({ keys, record: `${namespace}:commit:${randomUUID()}`, fencing: held }),
  };
}

/** The few commands the cluster layout sends itself. */
export interface LayoutClient extends ScriptClient {
  get(key: string): Promise<string | null>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Sets the mapping if absent and answers the team it holds, in one step. */
const CLAIM_SCRIPT =
  "local v = redis.call('get', KEYS[1]) if v then return v end redis.call('set', KEYS[1], ARGV[1]) return ARGV[1]";

/** What a document key says about its home: a team, an ID of a workspace's, or the deployment. */
type Home = { team: string } | { owner: string } | { shared: string };

/**
 * `org:<team>` is a workspace's organization; a key whose second segment is an ID (`project:<id>`,
 * `audit:<id>:security:3` …) belongs to the workspace that owns the ID; any other key
 * (`requests:pending`, `deployment:signing-key` …) is deployment-wide.
 */
export function homeOf(key: string): Home {
  const [kind, id] = key.split(':', 3);
  if (kind === 'org' && id) return { team: id };
  if (id && UUID.test(id)) return { owner: id };
  return { shared: key };
}

const tagOf = (redisKey: string): string | undefined => /\{([^}]*)\}/.exec(redisKey)?.[1];

/** How many IDs' teams are kept in memory before the map starts over. */
const KNOWN_OWNERS = 100_000;

export function clusterLayout(namespace: string, client: () => Promise<LayoutClient>): RedisLayout {
  /** IDs whose mapping is known to be stored, and their team. */
  const owners = new Map<string, string>();
  const remember = (id: string, team: string) => {
    if (owners.size >= KNOWN_OWNERS) owners.clear();
    owners.set(id, team);
  };
  const mappingKey = (id: string) => `${namespace}:workspace-of:${id}`;
  const prefix = `${namespace}:`;
  const domainKey = (keyvKey: string) =>
    keyvKey.startsWith(prefix) ? keyvKey.slice(prefix.length) : keyvKey;
  const placed = (tag: string, key: string) => `${namespace}:{${tag}}:${key}`;

  /** The team of the innermost workspace lock this context holds. */
  const teamOfLocks = (held: readonly HeldLock[]): string | undefined => {
    for (let i = held.length - 1; i >= 0; i -= 1) {
      const team = /:lock:org:([^:]+)$/.exec(held[i]!.key)?.[1];
      if (team) return team;
    }
    return undefined;
  };

  /** The teams of `ids` from memory or the mapping, in one round trip for those not yet known. */
  const lookUp = async (ids: string[]): Promise<Map<string, string | undefined>> => {
    const teams = new Map<string, string | undefined>();
    const unknown = [...new Set(ids.filter((id) => !owners.has(id)))];
    for (const id of ids) if (owners.has(id)) teams.set(id, owners.get(id));
    if (unknown.length > 0) {
      const connection = await client();
      const found = await Promise.all(unknown.map((id) => connection.get(mappingKey(id))));
      unknown.forEach((id, i) => {
        const team = found[i] ?? undefined;
        teams.set(id, team);
        if (team !== undefined) remember(id, team);
      });
    }
    return teams;
  };

  /** Tags of `keys` (domain keys); undefined where an ID belongs to no workspace. */
  const tags = async (keys: string[], held: readonly HeldLock[]): Promise<(string | undefined)[]> => {
    const homes = keys.map(homeOf);
    const team = teamOfLocks(held);
    const owned = homes.flatMap((home) => ('owner' in home && team === undefined ? [home.owner] : []));
    const teams = owned.length > 0 ? await lookUp(owned) : new Map<string, string | undefined>();
    return homes.map((home) => {
      if ('team' in home) return home.team;
      if ('shared' in home) return home.shared;
      // Inside a workspace's change, its documents are the workspace's own.
      return team ?? teams.get(home.owner);
    });
  };

  /**
   * Before the first document of an ID is written under team `team`'s lock: records that the ID is the
   * team's (if absent), so readers outside the lock find it. An ID another team holds is refused.
   */
  const claim = async (ids: string[], team: string): Promise<void> => {
    const unknown = [...new Set(ids)].filter((id) => owners.get(id) !== team);
    if (unknown.length === 0) return;
    const connection = await client();
    const holders = await Promise.all(
      unknown.map((id) => runScript(connection, CLAIM_SCRIPT, { keys: [mappingKey(id)], arguments: [team] })),
    );
    unknown.forEach((id, i) => {
      const holder = String(holders[i]);
      if (holder !== team) throw new Error(`${id} belongs to another workspace, so it was not written here`);
      remember(id, team);
    });
  };

  return {
    sharded: true,
    lockKey: async (name, held) => {
      const [tag] = await tags([name], held);
      if (tag === undefined) throw new Error(`${name} belongs to no workspace`);
      return `${placed(tag, 'lock')}:${name}`;
    },
    place: async (keyvKeys, held) => {
      const keys = keyvKeys.map(domainKey);
      const found = await tags(keys, held);
      return keys.map((key, i) => {
        const tag = found[i];
        return tag === undefined ? undefined : placed(tag, key);
      });
    },
    found: (keyvKeys, held) => {
      const team = teamOfLocks(held);
      if (team === undefined) return;
      for (const key of keyvKeys) {
        const home = homeOf(domainKey(key));
        if ('owner' in home && !owners.has(home.owner)) remember(home.owner, team);
      }
    },
    placeWrite: async (keyvKeys, held) => {
      const keys = keyvKeys.map(domainKey);
      const found = await tags(keys, held);
      const team = teamOfLocks(held);
      const slotTags = new Set(found);
      if (slotTags.has(undefined)) {
        throw new Error(
          `a document of an ID that belongs to no workspace was not written (${keys.join(', ')})`,
        );
      }
      if (slotTags.size > 1) {
        throw new Error(
          `one write may change one workspace or one deployment-wide document (${keys.join(', ')})`,
        );
      }
      // A write of nothing still gets a record, in the slot of the innermost lock held.
      const tag = found[0] ?? tagOf(held[held.length - 1]?.key ?? '') ?? 'commit';
      if (team !== undefined && tag === team) {
        const ids = keys.flatMap((key) => {
          const home = homeOf(key);
          return 'owner' in home ? [home.owner] : [];
        });
        await claim(ids, team);
      }
      return {
        keys: keys.map((key) => placed(tag, key)),
        record: placed(tag, `commit:${randomUUID()}`),
        fencing: held.filter((lock) => tagOf(lock.key) === tag),
      };
    },
  };
}

/** The reads and deletes Keyv sends its Redis adapter, by Keyv key. */
interface KeyvAdapter {
  get(key: string): Promise<unknown>;
  getMany(keys: string[]): Promise<unknown[]>;
  delete(key: string): Promise<boolean>;
  deleteMany(keys: string[]): Promise<boolean>;
}

/**
 * Makes Keyv's reads and deletes go to the keys `layout` places, in the calling context's workspace: a
 * document of an ID no workspace owns is read as missing without asking Redis.
 */
export function placeAdapterKeys(
  adapter: KeyvAdapter,
  layout: RedisLayout,
  held: () => readonly HeldLock[],
): void {
  const get = adapter.get.bind(adapter);
  const getMany = adapter.getMany.bind(adapter);
  const remove = adapter.delete.bind(adapter);
  const removeMany = adapter.deleteMany.bind(adapter);
  const present = (keys: (string | undefined)[]) => keys.filter((key): key is string => key !== undefined);
  adapter.get = async (key) => {
    const locks = held();
    const [placed] = await layout.place([key], locks);
    const value = placed === undefined ? undefined : await get(placed);
    if (value !== undefined) layout.found([key], locks);
    return value;
  };
  adapter.getMany = async (keys) => {
    const locks = held();
    const placed = await layout.place(keys, locks);
    const found = present(placed);
    const values = found.length > 0 ? await getMany(found) : [];
    let next = 0;
    const answers = placed.map((key) => (key === undefined ? undefined : values[next++]));
    layout.found(
      keys.filter((_, i) => answers[i] !== undefined),
      locks,
    );
    return answers;
  };
  adapter.delete = async (key) => {
    const [placed] = await layout.place([key], held());
    return placed === undefined ? false : remove(placed);
  };
  adapter.deleteMany = async (keys) => {
    const found = present(await layout.place(keys, held()));
    return found.length > 0 ? removeMany(found) : false;
  };
}
