import { OWNER_ID, type Harness } from './harness';
import type { KeyFactory } from './sshKeygen';
import { visibleText } from './slackUser';

/**
 * The invariants two replicas must keep whatever store they share (one Redis, a cluster): one project
 * per name and one default, no key lost, one copy of a key. Declares the tests; `harness()` is the
 * suite's current two-replica harness.
 */
export function replicaScenarios(harness: () => Harness, keys: KeyFactory): void {
  const domainOf = (i: number) => harness().apps[i]!.keyhouse.domain;
  const owner = { teamId: 'T0001', userId: OWNER_ID };

  test('concurrent creates of one project name on both replicas leave exactly one project', async () => {
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        harness()
          .user(OWNER_ID, i % 2)
          .command('/project', 'create race')
          .then((c) => visibleText(c.body)),
      ),
    );
    expect(replies.filter((text) => text.includes('Created project *race*'))).toHaveLength(1);
    expect(replies.filter((text) => /already exists|Someone else is changing/.test(text))).toHaveLength(9);
    const { projects } = await domainOf(1).projects.list(owner);
    expect(projects.filter((p) => p.name === 'race')).toHaveLength(1);
    // One organization, one default project, whichever replica created it.
    expect(projects.filter((p) => p.isDefault)).toHaveLength(1);
  });

  test('concurrent adds of distinct keys on both replicas lose none', async () => {
    await harness().user(OWNER_ID).command('/project', 'create web');
    const lines = Array.from({ length: 12 }, () => keys.generate('ed25519').publicLine);
    const replies = await Promise.all(
      lines.map((line, i) =>
        harness()
          .user(OWNER_ID, i % 2)
          .command('/sshkey', `add web ${line}`)
          .then((c) => visibleText(c.body)),
      ),
    );
    expect(replies.every((text) => text.includes('Added key'))).toBe(true);
    const { keys: stored } = await domainOf(0).keys.list(owner, 'web');
    expect(stored).toHaveLength(12);
    expect(new Set(stored.map((k) => k.fingerprint)).size).toBe(12);
    expect((await domainOf(1).organizations.overview(owner)).keyCount).toBe(12);
  });

  test('concurrent adds of one key on both replicas store it once', async () => {
    await harness().user(OWNER_ID).command('/project', 'create web');
    const line = keys.generate('ed25519').publicLine;
    const replies = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        harness()
          .user(OWNER_ID, i % 2)
          .command('/sshkey', `add web ${line}`)
          .then((c) => visibleText(c.body)),
      ),
    );
    expect(replies.filter((text) => text.includes('Added key'))).toHaveLength(1);
    const { keys: stored } = await domainOf(1).keys.list(owner, 'web');
    expect(stored).toHaveLength(1);
  });
}
