import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A namespace no other test uses, so tests can share one Redis. */
export const uniqueNamespace = (): string => `test-${randomUUID().slice(0, 18)}`;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

// Each test process keeps its directories under one folder named with its pid. It removes that folder
// when it exits; a process killed at the end of a run cannot, so each new one removes what processes
// that are gone left behind.
for (const entry of readdirSync(tmpdir())) {
  const pid = /^keyhouse-run-(\d+)-/.exec(entry)?.[1];
  if (pid && !alive(Number(pid))) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
}
const runDir = mkdtempSync(join(tmpdir(), `keyhouse-run-${process.pid}-`));
process.once('exit', () => rmSync(runDir, { recursive: true, force: true }));

/** A fresh directory for a test's data, removed with its test process's folder. */
export const tempDir = (): string => mkdtempSync(join(runDir, 'keyhouse-test-'));
