import { createDomain, type Domain } from '../../src/domain';
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
