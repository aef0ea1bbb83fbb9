import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { RedisSentinelProcesses, redisCli } from '../helpers/redisCluster';
import { KeyFactory } from '../helpers/sshKeygen';
import { expectNoneLostOrDoubled, streamOfAdds } from '../helpers/addStream';

/**
 * Two app instances on a Redis master found through Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_NAME),
 * with one replica: they follow a failover and keep serving, and no acknowledged change is lost.
 */
jest.setTimeout(120_000);

const keys = new KeyFactory();
const redis = new RedisSentinelProcesses();
let harness: Harness;

beforeAll(() => redis.start());
afterAll(async () => {
  await harness?.stop();
  await redis.stop();
  keys.cleanup();
});

const owner = { teamId: 'T0001', userId: OWNER_ID };

test('both replicas follow a Sentinel failover and keep serving; no acknowledged change is lost', async () => {
  harness = await startHarness({
    replicas: 2,
    backend: 'redis',
    env: { REDIS_SENTINELS: redis.sentinels, REDIS_SENTINEL_NAME: redis.name },
  });
  await harness.user(OWNER_ID).command('/project', 'create web');
  const first = redis.currentMaster();
  // Through Sentinel, the keys are laid out as on one server (no hash tags).
  expect(redisCli(first, 'exists', `${harness.namespace}::${harness.namespace}:org:T0001`)).toBe('1');

  const stream = streamOfAdds(harness, keys);
  const { answers } = stream;
  await stream.waitForAdded(5);
  await redis.failover();
  const failedOverAt = answers.length;
  await stream.waitForAdded(5, failedOverAt, 30_000);
  await stream.stop();

  expect(redis.currentMaster()).not.toBe(first);
  // Serving after the failover, on both replicas.
  expect(stream.added(failedOverAt)).toBeGreaterThanOrEqual(5);
  const { keys: stored } = await harness.apps[1]!.keyhouse.domain.keys.list(owner, 'web');
  expectNoneLostOrDoubled(stored, answers);
  // The new master holds the workspace.
  expect(
    redisCli(redis.currentMaster(), 'exists', `${harness.namespace}::${harness.namespace}:org:T0001`),
  ).toBe('1');
});
