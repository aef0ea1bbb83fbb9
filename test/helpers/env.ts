import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A namespace no other test uses, so tests can share one Redis. */
export const uniqueNamespace = (): string => `test-${randomUUID().slice(0, 18)}`;

export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'keyhouse-test-'));
