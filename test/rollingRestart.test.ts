import { REDIS_URL } from './helpers/env';
import { FakeSlack } from './helpers/fakeSlack';
import { processSettings, startKeyhouse, type KeyhouseProcess } from './helpers/keyhouseProcess';
import { quickEd25519Line } from './helpers/sshKeygen';
import { SlackUser, visibleText } from './helpers/slackUser';

/**
 * Two replicas on one Redis behind a load balancer, and one of them restarted the way a deploy does it
 * (SIGTERM, wait for the exit, start the new version) while people keep typing commands and instances
 * keep fetching keys.
 *
 * The load balancer here is the clients' own round robin over the replicas it knows. Like nginx
 * (`proxy_next_upstream error`) or HAProxy (`retry-on conn-failure`), it sends a request that could not
 * be delivered (connection refused, or closed before any answer) to the other replica: Keyhouse refuses
 * new connections as soon as it stops and answers everything it had accepted, so such a request was
 * never seen by the stopping replica and sending it again changes nothing twice.
 */
const slack = new FakeSlack();
beforeAll(() => slack.start());
afterAll(() => slack.stop());

const running: KeyhouseProcess[] = [];
afterAll(async () => {
  for (const keyhouse of running) await keyhouse.stop();
});

const OWNER = 'UOWNER1';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The request never reached a replica that would answer it: what a load balancer retries elsewhere. */
const undelivered = (error: unknown): boolean => {
  const code = (error as { cause?: { code?: string } }).cause?.code ?? '';
  return ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(code);
};

/** The base64 blob of each key line a key fetch served. */
const servedBlobs = (body: string): string[] =>
  body
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(' ')[1] ?? '');

test('a rolling restart of one of two replicas loses no acknowledged change and answers every request', async () => {
  const env = {
    ...processSettings(slack),
    REDIS_URL,
    KEY_RATE_LIMIT_PER_IP: '0',
    KEY_RATE_LIMIT_PER_PROJECT: '0',
  };
  const start = async () => {
    const keyhouse = await startKeyhouse(env);
    running.push(keyhouse);
    return keyhouse;
  };
  const [first, second] = await Promise.all([start(), start()]);
  const pool: KeyhouseProcess[] = [first, second];

  await new SlackUser(first.url, slack, OWNER).command('/project', 'create web');
  const tokenReply = visibleText(
    (await new SlackUser(second.url, slack, OWNER).command('/project', 'token web fleet')).body,
  );
  const token = /```(khk_[^`]+)```/.exec(tokenReply)?.[1];
  const projectId = /\/v1\/projects\/([^/]+)\/authorized_keys/.exec(tokenReply)?.[1];
  expect(token).toBeDefined();
  expect(projectId).toBeDefined();

  // Round robin; what could not be delivered goes to the next replica.
  let turn = 0;
  const served = new Map<string, number>();
  /** The requests sent and not yet answered: where to, since when; and those answered. */
  const underWay = new Set<{ url: string; since: number }>();
  const answered: { url: string; since: number; ended: number }[] = [];
  async function balanced<T>(send: (url: string) => Promise<T>): Promise<{ result: T; url: string }> {
    const from = turn++;
    for (let attempt = 0; attempt < 6; attempt += 1) {
      const target = pool[(from + attempt) % pool.length]!;
      const request = { url: target.url, since: Date.now() };
      underWay.add(request);
      try {
        const result = await send(target.url);
        served.set(target.url, (served.get(target.url) ?? 0) + 1);
        answered.push({ ...request, ended: Date.now() });
        return { result, url: target.url };
      } catch (error) {
        if (!undelivered(error)) throw error;
      } finally {
        underWay.delete(request);
      }
    }
    throw new Error('no replica took the request');
  }

  // Slack takes each answer a little slowly, so commands are always under way on both replicas.
  slack.delays.set('respond', 300);
  let loadGoing = true;
  const added = new Map<string, string>(); // name -> key blob, for every add the user was told of
  const removed = new Set<string>();
  const answers: string[] = [];
  let stoppedAt = Number.POSITIVE_INFINITY;

  const commander = async (worker: number) => {
    for (let i = 0; loadGoing; i += 1) {
      const name = `w${worker}-k${i}`;
      const line = quickEd25519Line(name);
      const { result } = await balanced((base) =>
        new SlackUser(base, slack, OWNER).command('/sshkey', `add web --name ${name} ${line}`),
      );
      const text = visibleText(result.body);
      answers.push(text);
      if (text.startsWith(`Added key ${name} (`)) added.set(name, line.split(' ')[1]!);
      else expect(text).toMatch(/Someone else is changing this right now/);
      // Every third key is removed again, through whichever replica comes next.
      if (i % 3 === 2 && added.has(name)) {
        const { result: gone } = await balanced((base) =>
          new SlackUser(base, slack, OWNER).command('/sshkey', `remove web ${name}`),
        );
        const reply = visibleText(gone.body);
        answers.push(reply);
        if (reply.startsWith(`Removed key *${name}*`)) removed.add(name);
        else expect(reply).toMatch(/Someone else is changing this right now/);
      }
    }
  };
  const statuses = new Map<number, number>();
  const fetcher = async () => {
    while (loadGoing) {
      const { result: status } = await balanced(async (base) => {
        const response = await fetch(`${base}/v1/projects/${projectId}/authorized_keys?instance=web-1`, {
          headers: { authorization: `Bearer ${token}` },
        });
        await response.text();
        return response.status;
      });
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  // A worker that fails stops the others, so the test ends with its failure.
  const worker = (work: Promise<void>) =>
    work.catch((error: unknown) => {
      loadGoing = false;
      throw error;
    });
  const load = Promise.all([commander(1), commander(2), commander(3), fetcher(), fetcher()].map(worker));

  await sleep(1_500);
  // The deploy: SIGTERM to the first replica, wait for it to exit, start its successor in its place.
  // It comes while the first replica has a command under way (sent 100 ms ago: taken, not yet answered).
  const exited = new Promise<number | null>((resolve) => first.child.once('exit', resolve));
  const busy = () => [...underWay].some((r) => r.url === first.url && Date.now() - r.since >= 100);
  for (const giveUp = Date.now() + 10_000; !busy() && Date.now() < giveUp;) await sleep(5);
  stoppedAt = Date.now();
  first.child.kill('SIGTERM');
  expect(await exited).toBe(0);
  const successor = await start();
  pool[0] = successor;
  await sleep(1_500);
  loadGoing = false;
  await load;
  slack.delays.clear();

  // Every request was answered, by one replica or the other: commands with their outcome, fetches 200.
  expect([...statuses.keys()]).toEqual([200]);
  expect(answers.length).toBeGreaterThan(20);
  expect(added.size).toBeGreaterThan(10);
  // The stopping replica answered what it had under way when SIGTERM came.
  expect(
    answered.filter((r) => r.url === first.url && r.since < stoppedAt && r.ended > stoppedAt).length,
  ).toBeGreaterThan(0);
  // Its successor took its share.
  expect(served.get(successor.url) ?? 0).toBeGreaterThan(0);
  expect(first.stdout() + first.stderr()).toMatch(/Keyhouse stopped: all work under way was finished\./);

  // Exactly what people were told is what instances get, from either replica.
  const expected = [...added].filter(([name]) => !removed.has(name)).map(([, blob]) => blob);
  for (const replica of [successor, second]) {
    const response = await fetch(`${replica.url}/v1/projects/${projectId}/authorized_keys`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    expect(servedBlobs(await response.text()).sort()).toEqual(expected.sort());
  }
}, 120_000);
