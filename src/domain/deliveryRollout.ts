import { servedSet } from './deliveryKeySet';
import type { CheckIn, Project, Resource } from './model';
import type { DocumentStore } from './storage';
import { documentKeys } from './workspaces';

/**
 * Which instances hold the project's current key set, and which still hold an older one (and since
 * when): what makes a removal or a disabling visible. Read from the instances' check-in documents, in
 * one round trip.
 */

/**
 * Check-ins read for one project: those of its most recently registered instances. Reading them costs
 * one round trip at any size, but the bytes grow with the fleet (on the embedded store about 10 ms for
 * 1,000, over 100 ms for 5,000), so a larger fleet is counted from this many, and the rollout says so.
 */
export const MAX_CHECKINS_READ = 1000;

const instancesOf = (project: Project): Resource[] => project.resources.filter((r) => r.type === 'instance');

/** The instances whose check-ins are read: the most recently registered `MAX_CHECKINS_READ`. */
export const instancesRead = (project: Project): Resource[] => instancesOf(project).slice(-MAX_CHECKINS_READ);

/** The latest check-in of each instance read, by resource ID, in one round trip. */
export async function readCheckIns(store: DocumentStore, project: Project): Promise<Record<string, CheckIn>> {
  const instances = instancesRead(project);
  const records = await store.getMany<CheckIn>(instances.map((r) => documentKeys.checkIn(project.id, r.id)));
  const checkIns: Record<string, CheckIn> = {};
  instances.forEach((r, i) => {
    const record = records[i];
    if (record) checkIns[r.id] = record;
  });
  return checkIns;
}

/** An instance and its last fetch: when, and which set (serial absent in older check-ins). */
export interface InstanceFetch {
  id: string;
  name: string;
  zone?: string;
  at: string;
  serial?: number;
  count: number;
}

export interface KeySetRollout {
  /** The serial of the set served now. */
  serial: number;
  /** Instances in the project, and how many of them were read (the rest are not counted). */
  instances: number;
  read: number;
  /** Instances read that fetched the current set, the most recent fetch first. */
  current: InstanceFetch[];
  /** Instances read whose last fetch was of an older set, the longest-waiting first. */
  behind: InstanceFetch[];
}

/**
 * The rollout of the set served at `now` to the instances whose check-ins were read. An instance is
 * current when the set it fetched has the same keys (its version), whatever its serial: a key disabled
 * and enabled again leaves an instance that fetched before both with the keys served now.
 */
export function keySetRollout(project: Project, checkIns: Record<string, CheckIn>, now: Date): KeySetRollout {
  const { version } = servedSet(project, now);
  const state = project.keySet;
  // A key expired since the set was last written: the next fetch writes it with the next serial.
  const serial = state?.version === version ? state.serial : (state?.serial ?? 0) + 1;
  const current: InstanceFetch[] = [];
  const behind: InstanceFetch[] = [];
  const read = instancesRead(project);
  for (const resource of read) {
    const checkIn = checkIns[resource.id];
    if (!checkIn) continue;
    const fetch: InstanceFetch = {
      id: resource.id,
      name: resource.name,
      at: checkIn.at,
      count: checkIn.count,
      ...(resource.zone !== undefined ? { zone: resource.zone } : {}),
      ...(checkIn.serial !== undefined ? { serial: checkIn.serial } : {}),
    };
    (checkIn.version === version ? current : behind).push(fetch);
  }
  current.sort((a, b) => b.at.localeCompare(a.at));
  behind.sort((a, b) => a.at.localeCompare(b.at));
  return { serial, instances: instancesOf(project).length, read: read.length, current, behind };
}

/** How many instances the rollout knows of: those read that ever fetched. */
export const fetchedCount = (rollout: KeySetRollout): number =>
  rollout.current.length + rollout.behind.length;
