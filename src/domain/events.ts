import type { SshKey } from './model';

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

export class DomainEvents {
  private readonly temporaryKeyListeners: ((event: TemporaryKeyAdded) => void)[] = [];

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
}
