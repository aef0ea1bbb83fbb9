import { createHash } from 'node:crypto';
import { isExpired } from './expiry';
import type { KeySetState, OfflineLogins, Project, SshKey } from './model';

export type { KeySetState, OfflineLogins } from './model';

/**
 * A project's signed key set: what it serves to its instances, as a versioned document.
 *
 * The served set changes only in a transaction (a key added, removed, enabled, disabled) or when a key
 * expires. Every transaction that saves a project runs `keySetChange`: when the served set differs from
 * the one last written, the project's `serial` grows by one and two documents are written with the
 * change, in the same write: `keylines:<project>` (the lines, read once per version by each replica) and
 * `keyset:<project>` (small: serial, version, count, next expiry, offline window), read by every fetch.
 * Expiry is computed at serve time: a fetch that finds the head's `nextExpiry` past rebuilds the set
 * under the workspace lock (a transaction like any other), so an expired key is never served and its
 * expiry counts as a change.
 */

export const KEYSET_NAMESPACE = 'keyhouse-authorized-keys';
export const SIGNER_PRINCIPAL = 'keyhouse';

export const OFFLINE_LOGINS: readonly OfflineLogins[] = ['strict', '1h', '24h', '7d'];
export const DEFAULT_OFFLINE_LOGINS: OfflineLogins = '24h';
const WINDOW_MS: Record<OfflineLogins, number> = {
  strict: 0,
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
};
export const isOfflineLogins = (text: string): text is OfflineLogins =>
  (OFFLINE_LOGINS as readonly string[]).includes(text);
export const offlineLoginsOf = (project: Project): OfflineLogins =>
  project.settings.offlineLogins ?? DEFAULT_OFFLINE_LOGINS;

export const keySetKeys = {
  /** Small: read by every fetch. */
  head: (projectId: string) => `keyset:${projectId}`,
  /** The served lines of one version: read once per version by each replica. */
  lines: (projectId: string) => `keylines:${projectId}`,
};

export interface KeySetHead extends KeySetState {
  /** The project's workspace, whose lock a rebuild takes. */
  teamId: string;
  count: number;
  /** The earliest expiry among the served keys: from then on the head is stale. */
  nextExpiry?: string;
}

export interface KeySetLines {
  version: string;
  lines: string[];
}

/** The keys instances may use at `at`: enabled and unexpired. */
export const servedKeys = (project: Project, at: Date): SshKey[] =>
  project.keys.filter((key) => !key.disabled && !isExpired(key.expiresAt, at));

/**
 * One OpenSSH line per key, `type base64 name`, in a stable order. A key that expires carries sshd's
 * `expiry-time` option, so sshd itself refuses it from then on, even from a copy an instance kept
 * while Keyhouse could not be reached (the offline window may outlast the key).
 */
export function servedLines(keys: SshKey[]): string[] {
  return [...keys]
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
    .map(
      (key) =>
        `${key.expiresAt !== undefined ? `expiry-time="${sshdTime(key.expiresAt)}" ` : ''}${key.publicKey} ${key.name.replace(/\s+/g, '_')}\n`,
    );
}

/** sshd's timespec in UTC, to the second: `YYYYMMDDHHMMSSZ`. */
export const sshdTime = (iso: string): string =>
  new Date(iso)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:T]/g, '');

/** The set served at `at`: its lines, their expiries (sorted) and its version. */
export function servedSet(
  project: Project,
  at: Date,
): { lines: string[]; expiries: string[]; version: string } {
  const keys = servedKeys(project, at);
  const lines = servedLines(keys);
  const expiries = keys
    .map((k) => k.expiresAt)
    .filter((e): e is string => e !== undefined)
    .sort();
  const version = createHash('sha256')
    .update(JSON.stringify([lines, expiries]))
    .digest('base64url');
  return { lines, expiries, version };
}

/**
 * What a transaction that saved `project` writes for its key set: nothing when neither the served set
 * nor the offline window changed (unless `force`). Updates `project.keySet` in place.
 */
export function keySetChange(
  project: Project,
  at: string,
  force = false,
): { head: KeySetHead; lines?: KeySetLines } | undefined {
  const { lines, expiries, version } = servedSet(project, new Date(at));
  const offlineLogins = offlineLoginsOf(project);
  const before = project.keySet;
  const setChanged = before?.version !== version;
  if (!setChanged && before.offlineLogins === offlineLogins && !force) return undefined;
  const state: KeySetState = {
    serial: (before?.serial ?? 0) + (setChanged ? 1 : 0),
    changedAt: setChanged || before.offlineLogins !== offlineLogins ? at : before.changedAt,
    version,
    offlineLogins,
  };
  project.keySet = state;
  const head: KeySetHead = {
    ...state,
    teamId: project.teamId,
    count: lines.length,
    ...(expiries[0] !== undefined ? { nextExpiry: expiries[0] } : {}),
  };
  return setChanged || force ? { head, lines: { version, lines } } : { head };
}

/** The documents a transaction writes for a changed key set, the lines before the head that names them. */
export function keySetWrites(projectId: string, change: ReturnType<typeof keySetChange>) {
  if (!change) return [];
  return [
    ...(change.lines ? [{ key: keySetKeys.lines(projectId), value: change.lines }] : []),
    { key: keySetKeys.head(projectId), value: change.head },
  ];
}

/** Whether a head may be served at `now` (else a key in it has expired since). */
export const isCurrent = (head: KeySetHead, now: Date): boolean =>
  head.nextExpiry === undefined || Date.parse(head.nextExpiry) > now.getTime();

const HOUR_MS = 3_600_000;
/** RFC 3339 in UTC, to the second: `2026-01-02T03:04:05Z`. */
export const rfc3339 = (ms: number): string =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * When the set served at `now` counts as issued: the start of the current hour or the last change,
 * whichever is later, so replicas render the same body for the same state, and a copy is re-issued
 * (new `issued`, new signature) at least hourly.
 */
export function issuedAt(head: KeySetHead, now: Date): number {
  const hour = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS;
  const changed = Math.floor(Date.parse(head.changedAt) / 1000) * 1000;
  return Math.max(hour, changed);
}

/** The first line of every answer: a comment sshd ignores. */
export function headerLine(projectId: string, head: KeySetHead, now: Date): string {
  const issued = issuedAt(head, now);
  const until = issued + WINDOW_MS[head.offlineLogins];
  return `# keyhouse project=${projectId} serial=${head.serial} issued=${rfc3339(issued)} offline-until=${rfc3339(until)}\n`;
}
