import { createHash } from 'node:crypto';
import { DomainError } from './errors';
import { headerLine, isCurrent, type KeySetHead, keySetKeys, type KeySetLines } from './deliveryKeySet';
import type { Project } from './model';
import type { DeploymentSigningKey } from './signingKey';
import type { Workspaces } from './workspaces';

/** One answer of the key route: the body, its ETag and its signature, rendered once per state. */
export interface SignedKeySet {
  body: string;
  etag: string;
  /** SSHSIG of the body, namespace `keyhouse-authorized-keys`, base64 without line breaks. */
  signature: string;
  count: number;
  serial: number;
  version: string;
}

const MAX_CACHED_PROJECTS = 10_000;
const HOUR_MS = 3_600_000;

/** A set rendered for one head: served again as is while the same head is read within the same hour. */
interface Rendered {
  stamp: string;
  set: SignedKeySet;
  head: KeySetHead;
  hour: number;
  /** When the head stops being current (its next key expiry), in ms. */
  currentUntil: number;
}
const etagOf = (body: string): string => `"${createHash('sha256').update(body).digest('base64url')}"`;

/**
 * Serves signed key sets from memory while their version is current: a fetch reads the small head
 * (with the token index, in one round trip), and the lines only when this replica has not seen that
 * version yet. The body is rendered and signed once per version and issue time (at most hourly).
 */
export class SignedKeySets {
  private readonly lines = new Map<string, KeySetLines>();
  private readonly rendered = new Map<string, Rendered>();
  private readonly rebuilding = new Map<string, Promise<void>>();

  constructor(
    private readonly workspaces: Workspaces,
    readonly signingKey: DeploymentSigningKey,
  ) {}

  /**
   * The set already rendered for this very head (the store hands out the same head object while its
   * text is unchanged) within the same hour, if any: the fetch's fast path, with nothing to compute.
   */
  known(
    projectId: string,
    read: KeySetHead | undefined,
    now = this.workspaces.now(),
  ): SignedKeySet | undefined {
    const known = this.rendered.get(projectId);
    const at = now.getTime();
    return known &&
      read &&
      known.head === read &&
      known.hour === Math.floor(at / HOUR_MS) &&
      at < known.currentUntil
      ? known.set
      : undefined;
  }

  /** The set to serve for a project whose head was just read (undefined: never written yet). */
  async current(projectId: string, read: KeySetHead | undefined, retried = false): Promise<SignedKeySet> {
    const now = this.workspaces.now();
    const hour = Math.floor(now.getTime() / HOUR_MS);
    const ready = this.known(projectId, read, now);
    if (ready) return ready;
    const known = this.rendered.get(projectId);
    let head = read;
    if (!head || !isCurrent(head, now)) {
      await this.rebuild(projectId, now);
      head = await this.workspaces.store.get<KeySetHead>(keySetKeys.head(projectId));
      if (!head || !isCurrent(head, now)) {
        throw new DomainError('busy', 'The key set is being rewritten, try again.');
      }
    }
    const header = headerLine(projectId, head, now);
    const stamp = `${head.version}|${header}`;
    const currentUntil = head.nextExpiry === undefined ? Infinity : Date.parse(head.nextExpiry);
    if (known?.stamp === stamp) {
      this.remember(this.rendered, projectId, { ...known, head, hour, currentUntil });
      return known.set;
    }

    let lines = this.lines.get(projectId);
    if (lines?.version !== head.version) {
      lines = await this.workspaces.store.get<KeySetLines>(keySetKeys.lines(projectId));
      if (lines?.version !== head.version) {
        // Written between our two reads: read the head again, once.
        if (retried) throw new DomainError('busy', 'The key set is being rewritten, try again.');
        return this.current(
          projectId,
          await this.workspaces.store.get<KeySetHead>(keySetKeys.head(projectId)),
          true,
        );
      }
      this.remember(this.lines, projectId, lines);
    }
    const body = header + lines.lines.join('');
    const signingKey = await this.signingKey.get();
    const set: SignedKeySet = {
      body,
      etag: etagOf(body),
      signature: signingKey.sign(body),
      count: head.count,
      serial: head.serial,
      version: head.version,
    };
    this.remember(this.rendered, projectId, { stamp, set, head, hour, currentUntil });
    return set;
  }

  private remember<T>(map: Map<string, T>, key: string, value: T): void {
    if (map.size >= MAX_CACHED_PROJECTS && !map.has(key)) map.clear();
    map.set(key, value);
  }

  /**
   * Writes the head of a project that has none yet (made before signed key sets) or whose next expiry
   * has passed: a transaction under the workspace lock, so it counts as a change like any other. One
   * rebuild per project at a time in this process; another replica's is seen and not repeated.
   */
  private rebuild(projectId: string, now: Date): Promise<void> {
    let running = this.rebuilding.get(projectId);
    if (!running) {
      running = (async () => {
        const snapshot = await this.workspaces.store.get<Project>(`project:${projectId}`);
        if (!snapshot) throw new DomainError('not_found', 'This project no longer exists.');
        await this.workspaces.mutate(snapshot.teamId, async (tx) => {
          const head = await tx.read<KeySetHead>(keySetKeys.head(projectId));
          if (head && isCurrent(head, now)) return;
          tx.refreshKeySet(await tx.project(projectId));
        });
      })().finally(() => this.rebuilding.delete(projectId));
      this.rebuilding.set(projectId, running);
    }
    return running;
  }
}
