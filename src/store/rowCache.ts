/**
 * The embedded store's rows kept in memory. Only this process writes the SQLite file (it holds the
 * DATA_DIR lock), and every write goes through it, so a row read once stays true until this process
 * writes it: fetches of a busy project read no disk. Bounded by the bytes it holds, oldest first out.
 */
export class RowCache {
  private readonly rows = new Map<string, string | undefined>();
  private bytes = 0;
  /** Grows with every write: a read that overlapped one does not fill the cache. */
  private generation = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  has(key: string): boolean {
    return this.rows.has(key);
  }

  get(key: string): string | undefined {
    return this.rows.get(key);
  }

  /** Marks the start of a read from disk; pass the mark to `remember`. */
  mark(): number {
    return this.generation;
  }

  /** Keeps what a read found, unless a write happened since it started. */
  remember(key: string, value: string | undefined, mark: number): void {
    if (mark === this.generation) this.put(key, value);
  }

  /** What a write stored (or `undefined` for a deleted row). */
  written(key: string, value: string | undefined): void {
    this.generation += 1;
    this.put(key, value);
  }

  /** A write that failed part-way: what it touched is read from disk again. */
  forget(keys: string[]): void {
    this.generation += 1;
    for (const key of keys) this.drop(key);
  }

  private put(key: string, value: string | undefined): void {
    this.drop(key);
    this.rows.set(key, value);
    this.bytes += (value?.length ?? 0) + key.length;
    for (const [oldest, row] of this.rows) {
      if (this.bytes <= this.maxBytes) break;
      this.rows.delete(oldest);
      this.bytes -= (row?.length ?? 0) + oldest.length;
    }
  }

  private drop(key: string): void {
    if (!this.rows.has(key)) return;
    this.bytes -= (this.rows.get(key)?.length ?? 0) + key.length;
    this.rows.delete(key);
  }
}
