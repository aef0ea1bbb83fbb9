import { createDomain, type Domain } from '../../src/domain';
import { DomainError } from '../../src/domain/errors';
import { createDocumentStore, type KeyvDocumentStore } from '../../src/store/keyvStore';
import { tempDir, uniqueNamespace } from './env';

export const OWNER = 'UOWNER1';
export const TEAM = 'T0001';

export function embeddedDomain(options: { owners?: string[]; now?: () => Date } = {}): {
  domain: Domain;
  store: KeyvDocumentStore;
} {
  const store = createDocumentStore({ dataDir: tempDir(), namespace: uniqueNamespace() });
  const domain = createDomain(store, {
    configuredOwners: options.owners ?? [OWNER],
    ...(options.now ? { now: options.now } : {}),
  });
  return { domain, store };
}

export const actor = (userId: string, teamId = TEAM) => ({ teamId, userId });

/** The DomainError a promise is refused with; fails the test if it succeeds. */
export async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}
