import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { createDocumentStore } from '../../src/store/keyvStore';
import { tempDir, uniqueNamespace } from '../helpers/env';

/**
 * The embedded store commits through SQLite's write-ahead log, fsynced at every commit: a change the
 * store acknowledged is in the file for any other reader (and survives the process, see durability).
 */
function query(file: string, sql: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (error) => {
      if (error) return reject(error);
      db.all(sql, (failure, rows: Record<string, unknown>[]) => {
        db.close();
        if (failure) reject(failure);
        else resolve(rows);
      });
    });
  });
}

test('once opened, the embedded store writes through a write-ahead log that other readers see', async () => {
  const dataDir = tempDir();
  const store = createDocumentStore({ dataDir, namespace: uniqueNamespace() });
  await store.open();
  try {
    await store.write({ set: [{ key: 'kept', value: { n: 1 } }] });
    const file = join(dataDir, 'keyhouse.sqlite');
    expect(await query(file, 'PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    const rows = await query(file, "SELECT value FROM keyv WHERE key LIKE '%:kept'");
    expect(rows).toHaveLength(1);
    expect(JSON.parse(String(rows[0]!.value))).toMatchObject({ value: { n: 1 } });
  } finally {
    await store.close();
  }
});
