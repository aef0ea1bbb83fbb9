import type { Domain } from '../../src/domain';
import type { Actor } from '../../src/domain/model';
import { quickEd25519Line } from './sshKeygen';

/**
 * Grows an organization quickly: `projects` projects of `keysEach` keys, each project written in one
 * change (the keys still go through the key parser). For size tests and the benchmark.
 */
export async function seedProjects(
  domain: Domain,
  owner: Actor,
  projects: number,
  keysEach: number,
): Promise<void> {
  for (let p = 0; p < projects; p += 1) {
    const project = await domain.projects.create(owner, `p-${p}`);
    await domain.workspaces.mutate(owner.teamId, async (tx) => {
      const loaded = await tx.project(project.id);
      for (let k = 0; k < keysEach; k += 1) {
        const { parsed } = domain.keys.check({ publicKey: quickEd25519Line('x') });
        loaded.keys.push({
          ...parsed,
          id: `${p}-${k}`,
          name: `k-${k}`,
          addedBy: owner.userId,
          createdAt: tx.at,
          disabled: false,
        });
      }
      tx.save(loaded);
    });
  }
}

/** A project of ten keys added the ordinary way: the one commands are measured on. */
export async function seedSmallProject(domain: Domain, owner: Actor): Promise<void> {
  await domain.projects.create(owner, 'small');
  for (let k = 0; k < 10; k += 1)
    await domain.keys.add(owner, 'small', { publicKey: quickEd25519Line(`small-${k}`) });
}
