import type { Domain } from '../../src/domain';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { visibleText } from '../helpers/slackUser';

/**
 * A check-in may move the instance it registered to another zone, within the token's registration
 * budget and on the record; it never changes a resource an admin added. The real app over real HTTP.
 */
let harness: Harness;
let domain: Domain;
let base: string;
let projectId: string;
let token: string;
const owner = { teamId: 'T0001', userId: OWNER_ID };

beforeEach(async () => {
  harness = await startHarness({ env: { KEY_REGISTRATIONS_PER_TOKEN: '3' } });
  domain = harness.apps[0]!.keyhouse.domain;
  base = harness.apps[0]!.url;
  projectId = (await domain.projects.create(owner, 'web')).id;
  token = (await domain.delivery.createToken(owner, 'web', 'fleet')).token;
});
afterEach(() => harness.stop());

const checkIn = async (instance: string, zone: string) => {
  const response = await fetch(
    `${base}/v1/projects/${projectId}/authorized_keys?instance=${instance}&zone=${zone}`,
    { headers: { authorization: `Bearer ${token}` } },
  );
  await response.text();
  return { status: response.status, registration: response.headers.get('x-keyhouse-registration') };
};

const instance = async (name: string) =>
  (await domain.projects.show(owner, 'web')).project.resources.find((r) => r.name === name);

const audit = async (args: string) =>
  visibleText((await harness.user(OWNER_ID).command('/org', `audit ${args}`.trim())).body);

test('moving zones counts against the registration budget and is recorded as activity', async () => {
  expect(await checkIn('vm-1', 'fr-par-1')).toEqual({ status: 200, registration: null }); // 1 of 3
  expect(await checkIn('vm-1', 'nl-ams-1')).toEqual({ status: 200, registration: null }); // 2 of 3
  expect(await checkIn('vm-1', 'fr-par-1')).toEqual({ status: 200, registration: null }); // 3 of 3
  expect(await checkIn('vm-1', 'fr-par-1')).toEqual({ status: 200, registration: null }); // same zone: free
  for (const zone of ['nl-ams-1', 'pl-waw-1', 'nl-ams-1']) {
    const refused = await checkIn('vm-1', zone);
    expect(refused.status).toBe(200); // the keys are still served
    expect(refused.registration).toMatch(
      /^refused: this token registered 3 new instances or zone changes in the last minute, the most it may; the keys are served, the instance stays in fr-par-1/,
    );
  }
  expect((await instance('vm-1'))?.zone).toBe('fr-par-1');
  const lastSeen = (await domain.projects.show(owner, 'web')).checkIns[(await instance('vm-1'))!.id];
  expect(lastSeen).toBeDefined(); // a refused move still records the fetch

  const activity = await audit('--activity');
  expect(activity.match(/moved the instance/g)).toHaveLength(2);
  expect(activity).toMatch(/Keyhouse moved the instance vm-1 \(nl-ams-1\) in \*web\* .*was fr-par-1/);
  expect(activity).toMatch(/moved the instance vm-1 \(fr-par-1\) in \*web\* .*was nl-ams-1/);
  expect(await audit('')).not.toContain('moved the instance'); // noise stays out of the security trail
});

test('an instance an admin added is never moved or changed by a check-in', async () => {
  await domain.resources.add(owner, 'web', 'instance', 'db-1', 'fr-par-1');
  const before = await instance('db-1');
  for (const zone of ['nl-ams-1', 'pl-waw-1', 'nl-ams-2', 'fr-par-2', 'nl-ams-1']) {
    expect(await checkIn('db-1', zone)).toEqual({ status: 200, registration: null });
  }
  expect(await instance('db-1')).toEqual(before);
  expect((await domain.projects.show(owner, 'web')).checkIns[before!.id]).toBeDefined();
  expect(await audit('--activity')).not.toContain('moved the instance');
  // It cost nothing of the budget: the token can still register three instances.
  for (const name of ['vm-1', 'vm-2', 'vm-3']) {
    expect(await checkIn(name, 'fr-par-1')).toEqual({ status: 200, registration: null });
  }
});
