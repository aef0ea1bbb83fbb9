import type { DocumentStore, DocumentWrite } from '../../src/domain/storage';

/** The real store, wrapped only to record what is asked of it: which documents are read, counted, locked. */
export class RecordingStore implements DocumentStore {
  reads: string[] = [];
  hits: string[] = [];
  locks: string[] = [];
  constructor(private readonly inner: DocumentStore) {}
  get<T>(key: string) {
    this.reads.push(key);
    return this.inner.get<T>(key);
  }
  getMany<T>(keys: string[]) {
    this.reads.push(...keys);
    return this.inner.getMany<T>(keys);
  }
  getShared<T>(keys: string[], options?: { keyFetch?: boolean }) {
    this.reads.push(...keys);
    return this.inner.getShared<T>(keys, options);
  }
  write(changes: DocumentWrite) {
    return this.inner.write(changes);
  }
  withLock<T>(name: string, fn: (documents: unknown[]) => Promise<T>, reads?: string[]) {
    this.locks.push(name);
    this.reads.push(...(reads ?? []));
    return this.inner.withLock(name, fn, reads);
  }
  hit(key: string, windowMs: number, by?: number) {
    this.hits.push(key);
    return this.inner.hit(key, windowMs, by);
  }
  ping() {
    return this.inner.ping();
  }
  close() {
    return this.inner.close();
  }
  reset() {
    this.reads = [];
    this.hits = [];
    this.locks = [];
  }
}
