import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalLocks, type LockOptions } from './locks';

/**
 * The embedded store belongs to one process: its locks live in that process's memory, so a second
 * process on the same file would change documents without excluding the first. A pid file in DATA_DIR
 * claims the directory; a claim left by a process that is gone (killed, crashed) is taken over.
 * Stores opened on one directory inside one process share the claim and the same locks.
 */
export class DataDirInUse extends Error {}

interface Claim {
  users: number;
  locks: LocalLocks;
}

const claims = new Map<string, Claim>();

const PID_FILE = 'keyhouse.pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function takePidFile(path: string, dir: string): void {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
      throw new DataDirInUse(
        `DATA_DIR ${dir} is in use by another Keyhouse process (pid ${owner}). The embedded store belongs to ` +
          'one process: stop the other one, give this one its own DATA_DIR, or set REDIS_URL to run several replicas.',
      );
    }
    // Left by a process that is gone: take it over (only one of two racing starters wins the `wx`).
    try {
      unlinkSync(path);
    } catch {
      // Someone else removed it first; try again.
    }
  }
  throw new DataDirInUse(`DATA_DIR ${dir} could not be claimed: another process is starting on it.`);
}

/** Claims `dir` for this process; returns its locks and the release to call on close. */
export function claimDataDir(dir: string, lock: LockOptions): { locks: LocalLocks; release: () => void } {
  let claim = claims.get(dir);
  if (!claim) {
    takePidFile(join(dir, PID_FILE), dir);
    claim = { users: 0, locks: new LocalLocks(lock) };
    claims.set(dir, claim);
  }
  claim.users += 1;
  const held = claim;
  let released = false;
  return {
    locks: held.locks,
    release: () => {
      if (released) return;
      released = true;
      held.users -= 1;
      if (held.users > 0) return;
      claims.delete(dir);
      try {
        if (Number.parseInt(readFileSync(join(dir, PID_FILE), 'utf8'), 10) === process.pid) {
          unlinkSync(join(dir, PID_FILE));
        }
      } catch {
        // Already gone.
      }
    },
  };
}
