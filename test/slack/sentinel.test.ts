import { STORAGE_UNAVAILABLE, STORAGE_UNCONFIRMED } from '../../src/store/keyvStore';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { RedisSentinelProcesses, redisCli } from '../helpers/redisCluster';
import { KeyFactory } from '../helpers/sshKeygen';
import { visibleText } from '../helpers/slackUser';

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

type Outcome = 'added' | 'unavailable' | 'unconfirmed' | 'busy';

function outcomeOf(text: string): Outcome {
  if (text.includes('Added key')) return 'added';
  if (text.includes(STORAGE_UNCONFIRMED.slice(0, 40))) return 'unconfirmed';
  if (text.includes(STORAGE_UNAVAILABLE.slice(0, 40))) return 'unavailable';
  if (text.includes('Someone else is changing this right now')) return 'busy';
  throw new Error(`an answer that is neither a change nor a storage failure: ${text}`);
}

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

  const answers: { line: string; outcome: Outcome }[] = [];
  let stop = false;
  const worker = async (w: number) => {
    for (let i = 0; !stop; i += 1) {
      const line = keys.generate('ed25519').publicLine;
      const text = visibleText(
        (await harness.user(OWNER_ID, (w + i) % 2).command('/sshkey', `add web ${line}`)).body,
      );
      answers.push({ line, outcome: outcomeOf(text) });
    }
  };
  const workers = [0, 1].map(worker);
  while (answers.filter((a) => a.outcome === 'added').length < 5) await new Promise((r) => setTimeout(r, 20));
  await redis.failover();
  const failedOverAt = answers.length;
  const until = Date.now() + 30_000;
  while (answers.slice(failedOverAt).filter((a) => a.outcome === 'added').length < 5 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
  }
  stop = true;
  await Promise.all(workers);

  expect(redis.currentMaster()).not.toBe(first);
  // Serving after the failover, on both replicas.
  expect(answers.slice(failedOverAt).filter((a) => a.outcome === 'added').length).toBeGreaterThanOrEqual(5);
  const { keys: stored } = await harness.apps[1]!.keyhouse.domain.keys.list(owner, 'web');
  const has = (line: string) => stored.some((k) => line.startsWith(`${k.publicKey} `));
  for (const { line, outcome } of answers) {
    if (outcome === 'added') expect(has(line)).toBe(true);
    if (outcome === 'unavailable' || outcome === 'busy') expect(has(line)).toBe(false);
  }
  const fingerprints = stored.map((k) => k.fingerprint);
  expect(new Set(fingerprints).size).toBe(fingerprints.length);
  // The new master holds the workspace.
  expect(
    redisCli(redis.currentMaster(), 'exists', `${harness.namespace}::${harness.namespace}:org:T0001`),
  ).toBe('1');
});
