import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A namespace no other test uses, so tests can share one Redis. */
export const uniqueNamespace = (): string => `test-${randomUUID().slice(0, 18)}`;

const made: string[] = [];
// Removed when the test process ends, whatever the tests left open in them.
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory for a test's data, removed when the test process ends. */
export const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'keyhouse-test-'));
  made.push(dir);
  return dir;
};
