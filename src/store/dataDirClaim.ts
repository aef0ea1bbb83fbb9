import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type sqlite3 from 'sqlite3';
import { LocalLocks, type LockOptions } from './locks';
import { RowCache } from './rowCache';

/**
 * The embedded store belongs to one process: its locks live in that process's memory, so a second
 * process on the same file would change documents without excluding the first. The directory is
 * claimed with an exclusive SQLite lock on `keyhouse.lock`, which the operating system holds for the
 * life of the process (also while it is paused) and drops when it dies, whatever its pid or container.
 * `keyhouse.pid` only tells who holds it. Stores opened on one directory inside one process share the
 * claim and the same locks.
 */
export class DataDirInUse extends Error {}

interface Claim {
  users: number;
  locks: LocalLocks;
  rows: RowCache;
  /** The OS-level lock, taken once by `open`. */
  held?: Promise<sqlite3.Database>;
}

const claims = new Map<string, Claim>();

const LOCK_FILE = 'keyhouse.lock';
const PID_FILE = 'keyhouse.pid';

function run(database: sqlite3.Database, sql: string): Promise<void> {
  return new Promise((resolve, reject) => database.exec(sql, (error) => (error ? reject(error) : resolve())));
}

async function lockDirectory(dir: string): Promise<sqlite3.Database> {
  const database = await new Promise<sqlite3.Database>((resolve, reject) => {
    // Loaded here, so a process on Redis never loads SQLite's native module.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Database } = require('sqlite3') as typeof import('sqlite3');
    const opened: sqlite3.Database = new Database(join(dir, LOCK_FILE), (error) =>
      error ? reject(error) : resolve(opened),
    );
  });
  try {
    // Exclusive mode keeps the lock until the connection closes; the transaction is never committed.
    await run(database, 'PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;');
  } catch (error) {
    database.close();
    if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
    let owner = 'another process';
    try {
      owner = `another Keyhouse process (pid ${Number.parseInt(readFileSync(join(dir, PID_FILE), 'utf8'), 10)})`;
    } catch {
      // No pid file yet: the other process is still starting.
    }
    throw new DataDirInUse(
      `DATA_DIR ${dir} is in use by ${owner}. The embedded store belongs to one process: stop the other ` +
        'one, give this one its own DATA_DIR, or set REDIS_URL to run several replicas.',
    );
  }
  writeFileSync(join(dir, PID_FILE), `${process.pid}\n`);
  return database;
}

/**
 * Joins this process's claim on `dir` (created by the caller): its locks now, `open` to take the
 * directory from other processes, `release` on close.
 */
export function claimDataDir(
  dir: string,
  lock: LockOptions,
): { locks: LocalLocks; rows: RowCache; open: () => Promise<void>; release: () => Promise<void> } {
  const key = realpathSync(dir);
  let claim = claims.get(key);
  if (!claim) {
    claim = { users: 0, locks: new LocalLocks(lock), rows: new RowCache() };
    claims.set(key, claim);
  }
  claim.users += 1;
  const shared = claim;
  let released = false;
  return {
    locks: shared.locks,
    rows: shared.rows,
    open: async () => {
      shared.held ??= lockDirectory(key).catch((error: unknown) => {
        shared.held = undefined;
        throw error;
      });
      await shared.held;
    },
    release: async () => {
      if (released) return;
      released = true;
      shared.users -= 1;
      if (shared.users > 0) return;
      claims.delete(key);
      const database = await shared.held?.catch(() => undefined);
      if (database) await new Promise<void>((resolve) => database.close(() => resolve()));
    },
  };
}
