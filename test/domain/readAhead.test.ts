import { createDomain, type Domain } from '../../src/domain';
import { createDocumentStore, type KeyvDocumentStore } from '../../src/store/keyvStore';
import { REDIS_URL, tempDir, uniqueNamespace } from '../helpers/env';
import { quickEd25519Line } from '../helpers/sshKeygen';

/**
 * A command reads its project with the organization, guessing the project's document from the
 * organization its process read last. Another replica may have renamed, replaced or deleted that project
 * since: the command must still act on the project the name means now.
 */
const owner = { teamId: 'T1', userId: 'UOWNER' };
let stores: KeyvDocumentStore[];
let a: Domain;
let b: Domain;

beforeEach(() => {
  const namespace = uniqueNamespace();
  stores = [0, 1].map(() => createDocumentStore({ dataDir: tempDir(), namespace, redisUrl: REDIS_URL }));
  [a, b] = stores.map((store) => createDomain(store, { configuredOwners: [owner.userId] })) as [
    Domain,
    Domain,
  ];
});
afterEach(async () => {
  for (const store of stores) await store.close();
});

const names = async (domain: Domain, project: string) =>
  (await domain.keys.list(owner, project)).keys.map((k) => k.name);

test('a project renamed and replaced on another replica: add and list act on the one the name means now', async () => {
  await a.projects.create(owner, 'web');
  await a.keys.add(owner, 'web', { publicKey: quickEd25519Line('first'), name: 'first' });
  expect(await names(a, 'web')).toEqual(['first']); // replica A now remembers 'web' as the first project
  await b.projects.rename(owner, 'web', 'old');
  await b.projects.create(owner, 'web');
  await a.keys.add(owner, 'web', { publicKey: quickEd25519Line('second'), name: 'second' });
  expect(await names(a, 'web')).toEqual(['second']);
  expect(await names(b, 'web')).toEqual(['second']);
  expect(await names(b, 'old')).toEqual(['first']);
});

test('a project deleted on another replica is answered as missing, and nothing is written for it', async () => {
  await a.projects.create(owner, 'web');
  expect(await names(a, 'web')).toEqual([]);
  await b.projects.delete(owner, 'web', 'web');
  await expect(a.keys.add(owner, 'web', { publicKey: quickEd25519Line('late') })).rejects.toMatchObject({
    code: 'not_found',
  });
  await expect(a.keys.list(owner, 'web')).rejects.toMatchObject({ code: 'not_found' });
  expect((await b.projects.list(owner)).projects.map((p) => p.name)).toEqual(['default']);
});
