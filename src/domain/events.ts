import type { BreakGlassRecord } from './keyRemoval';
import type { KeyRequest, SshKey } from './model';

/**
 * What the domain tells whoever listens once a change has committed, so that people can be told (the
 * Slack side listens; the domain knows nothing of who). A listener's failure is its own: it never
 * reaches the change that was made.
 */
export interface TemporaryKeyAdded {
  teamId: string;
  projectId: string;
  projectName: string;
  key: SshKey;
}

/** A key was removed (by an admin, its owner, a Revoke) and what waited on it was closed with it. */
export interface KeyRemoved {
  teamId: string;
  key: SshKey;
  by: string;
  /** Pending requests for more time on the key, withdrawn. */
  closed: KeyRequest[];
  /** A break-glass key's review, closed as removed: its cards no longer offer Keep and Revoke. */
  breakGlass?: BreakGlassRecord;
  /** A break-glass key its owner removed: its review stays open, its cards say it is gone. */
  stillToReview?: BreakGlassRecord;
}

export class DomainEvents {
  private readonly temporaryKeyListeners: ((event: TemporaryKeyAdded) => void)[] = [];
  private readonly keyRemovedListeners: ((event: KeyRemoved) => void)[] = [];

  /** A key with an expiry was added directly (by an admin with an expiry, or break-glass). */
  onTemporaryKeyAdded(listener: (event: TemporaryKeyAdded) => void): void {
    this.temporaryKeyListeners.push(listener);
  }

  temporaryKeyAdded(event: TemporaryKeyAdded): void {
    for (const listener of this.temporaryKeyListeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is not the change's: the key was added.
      }
    }
  }

  /** A key was removed and requests or a review that waited on it were closed. */
  onKeyRemoved(listener: (event: KeyRemoved) => void): void {
    this.keyRemovedListeners.push(listener);
  }

  keyRemoved(event: KeyRemoved): void {
    for (const listener of this.keyRemovedListeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is not the change's: the key was removed.
      }
    }
  }
}
