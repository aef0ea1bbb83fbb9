/**
 * How long commands take through Keyhouse as an organization grows, next to a bare Bolt app:
 * `npm run bench`.
 *
 * Keyhouse runs as `npm start` runs it: the compiled app (dist/, built first if stale) in a process of
 * its own. The bare Bolt app (bench/bareBolt.ts: the same HTTPReceiver and signing secret, no store) runs
 * in another. This process plays Slack: the recording Slack stand-in, and a person sending signed
 * `/sshkey list` and `/sshkey add` commands for a 10-key project (each added key is removed again by
 * command, untimed, so the project keeps its size). Each command is timed until its reply reaches the
 * stand-in, in an empty organization and in one of 100 projects and 10,000 keys, on the embedded store and
 * on Redis. The bare app answers with the reply Keyhouse gave, acked and then sent to the response URL,
 * as Keyhouse answers; they take turns command by command. Prints p50 and p99 and the ratios against the goal (p50 ≤ 1.3×,
 * p99 ≤ 1.5×), then `add` next to the same bare app making one durable write per command on the same kind
 * of store (what any app that keeps a change pays); asserts nothing but the answers.
 */
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createDomain } from '../src/domain';
import { createDocumentStore } from '../src/store/keyvStore';
import { REDIS_URL, tempDir, uniqueNamespace } from '../test/helpers/env';
import { FakeSlack } from '../test/helpers/fakeSlack';
import { OWNER_ID } from '../test/helpers/harness';
import { seedProjects, seedSmallProject } from '../test/helpers/seed';
import { quickEd25519Line } from '../test/helpers/sshKeygen';
import { SIGNING_SECRET, SlackUser, visibleText } from '../test/helpers/slackUser';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 600);
/** Commands each side answers, untimed, before timing starts. */
const WARM_UP = Number(process.env.BENCH_WARM_UP ?? 2000);
const owner = { teamId: 'T0001', userId: OWNER_ID };
const root = join(__dirname, '..');

type Backend = 'embedded' | 'redis';

interface Place {
  backend: Backend;
  dataDir: string;
  namespace: string;
}

/** Grows the organization before Keyhouse starts on it (the embedded store is one process's at a time). */
async function seed(place: Place, projects: number, keysEach: number): Promise<void> {
  const store = createDocumentStore({
    dataDir: place.dataDir,
    namespace: place.namespace,
    ...(place.backend === 'redis' ? { redisUrl: REDIS_URL } : {}),
  });
  await store.open();
  try {
    const domain = createDomain(store, { configuredOwners: [OWNER_ID] });
    await seedProjects(domain, owner, projects, keysEach);
    await seedSmallProject(domain, owner);
    await domain.workspaces.settled();
  } finally {
    await store.close();
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });

const stopped = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

/** Keyhouse as `npm start` runs it, on `place`; resolves once it answers /readyz. */
async function startKeyhouse(slack: FakeSlack, place: Place) {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH,
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: String(port),
      DATA_DIR: place.dataDir,
      STORE_NAMESPACE: place.namespace,
      ORG_OWNERS: OWNER_ID,
      LOG_LEVEL: 'error',
      ...(place.backend === 'redis' ? { REDIS_URL } : {}),
    },
  });
  const url = `http://127.0.0.1:${port}`;
  for (let waited = 0; ; waited += 50) {
    if (child.exitCode !== null) throw new Error(`Keyhouse stopped at start (exit ${child.exitCode})`);
    const ready = await fetch(`${url}/readyz`).then(
      (answer) => answer.ok,
      () => false,
    );
    if (ready) break;
    if (waited > 20_000) throw new Error('Keyhouse did not become ready within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await stopped(child);
    },
  };
}

/**
 * The bare Bolt app in its own process; `answerWith` sets the reply it gives. With `write`, it makes one
 * durable write per command too (see bareBolt.ts).
 */
async function startBare(slack: FakeSlack, write?: string) {
  const child = fork(join(__dirname, 'bareBolt.ts'), [], {
    cwd: root,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: {
      PATH: process.env.PATH,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      ...(write ? { BARE_WRITE: write } : {}),
    },
  });
  const next = <T>() =>
    new Promise<T>((resolve) => child.once('message', (message) => resolve(message as T)));
  const { port } = await next<{ port: number }>();
  return {
    url: `http://127.0.0.1:${port}`,
    answerWith: async (reply: Record<string, unknown>) => {
      const set = next<unknown>();
      child.send({ reply });
      await set;
    },
    stop: async () => {
      child.disconnect();
      await stopped(child);
    },
  };
}

type Bare = Awaited<ReturnType<typeof startBare>>;

interface Timing {
  keyhouse: number[];
  bare: number[];
}

/**
 * Runs `text()` as a command on Keyhouse and on each bare app, one after the other for every command
 * (the first to go rotates), so that a machine that speeds up or slows down during the run does so for
 * both alike; a bare app answers with Keyhouse's latest reply. `check` says what is wrong with a reply of
 * Keyhouse's, if anything; `undo` (untimed) keeps the project at its size. Answers Keyhouse's times and
 * each bare app's.
 */
async function time(
  slack: FakeSlack,
  keyhouse: { url: string },
  bares: Bare[],
  text: () => string,
  check: (reply: string) => string | undefined,
  undo?: () => Promise<unknown>,
): Promise<Timing[]> {
  const users = [keyhouse, ...bares].map((app) => new SlackUser(app.url, slack, OWNER_ID));
  const samples: number[][] = users.map(() => []);
  let last: Record<string, unknown> | undefined;
  const given = new Map<Bare, Record<string, unknown>>();
  const one = async (who: number, timed: boolean) => {
    const bare = bares[who - 1];
    if (bare && last && given.get(bare) !== last) {
      await bare.answerWith(last);
      given.set(bare, last);
    }
    const command = text();
    const start = performance.now();
    const reply = await users[who]!.command('/sshkey', command);
    if (timed) samples[who]!.push(performance.now() - start);
    // The stand-in looks for a reply among the calls it recorded: forgetting them keeps that search as
    // short at the end of a run as at its start (else every reply, of both apps, waits longer and longer).
    slack.calls.splice(0);
    if (who === 0) {
      const wrong = check(visibleText(reply.body));
      if (wrong) throw new Error(`Keyhouse answered \`/sshkey ${command.slice(0, 40)}…\` wrongly: ${wrong}`);
      last = reply.body;
      await undo?.();
    }
  };
  // Warm each (each process compiles its hot paths as it goes) and have a reply to replay, then time.
  for (let round = 0; round < WARM_UP + ROUNDS; round += 1) {
    for (let turn = 0; turn < users.length; turn += 1) {
      await one(round < WARM_UP ? turn : (round + turn) % users.length, round >= WARM_UP);
    }
  }
  return bares.map((_, i) => ({ keyhouse: samples[0]!, bare: samples[i + 1]! }));
}

const ms = (value: number) => value.toFixed(1);

/**
 * A table row: the store, the organization, the command (left out of the second table), both sides' p50
 * / p99, their ratios, and whether the goal was met (first table only). With `plain` (second table), also
 * the writing bare app's p50 over the plain bare app's: what the one write alone costs, as a ratio.
 */
function row(backend: string, label: string, timing: Timing, command?: string, plain?: Timing): string {
  const [k50, k99, b50, b99] = [
    percentile(timing.keyhouse, 50),
    percentile(timing.keyhouse, 99),
    percentile(timing.bare, 50),
    percentile(timing.bare, 99),
  ] as [number, number, number, number];
  const met = k50 <= 1.3 * b50 && k99 <= 1.5 * b99 ? 'met' : 'MISSED';
  const cells = [
    backend.padEnd(8),
    label.padEnd(26),
    ...(command !== undefined ? [command.padEnd(4)] : []),
    `${ms(k50)} / ${ms(k99)}`.padStart(12),
    `${ms(b50)} / ${ms(b99)}`.padStart(11),
    (k50 / b50).toFixed(2).padStart(5),
    (k99 / b99).toFixed(2).padStart(5),
    ...(command !== undefined ? [met.padEnd(6)] : []),
    ...(plain ? [(b50 / percentile(plain.bare, 50)).toFixed(2).padStart(12)] : []),
  ];
  return `| ${cells.join(' | ')} |`;
}

async function main(): Promise<void> {
  // Keyhouse runs compiled, as `npm start` runs it: build first if src/ changed.
  execFileSync(process.execPath, ['scripts/build.cjs', '--if-stale'], { cwd: root, stdio: 'inherit' });
  const rows: string[] = [];
  const durableRows: string[] = [];
  const backends = (process.env.BENCH_STORES ?? 'embedded,redis').split(',') as Backend[];
  const slack = new FakeSlack();
  await slack.start();
  const bare = await startBare(slack);
  try {
    for (const backend of backends) {
      // The same bare app, making one durable write per command on the same kind of store.
      const writing = await startBare(
        slack,
        backend === 'redis' ? `redis:${REDIS_URL}` : `sqlite:${join(tempDir(), 'bare.sqlite')}`,
      );
      try {
        for (const [label, projects, keysEach] of [
          ['empty org', 0, 0],
          ['100 projects, 10,000 keys', 100, 100],
        ] as const) {
          const place: Place = { backend, dataDir: tempDir(), namespace: uniqueNamespace() };
          await seed(place, projects, keysEach);
          const keyhouse = await startKeyhouse(slack, place);
          try {
            const listed = (reply: string) => (/small-9/.test(reply) ? undefined : reply.slice(0, 200));
            const [list] = await time(slack, keyhouse, [bare], () => 'list small', listed);
            rows.push(row(backend, label, list!, 'list'));
            const person = new SlackUser(keyhouse.url, slack, OWNER_ID);
            let n = 0;
            const [add, addDurable] = await time(
              slack,
              keyhouse,
              [bare, writing],
              () => `add small ${quickEd25519Line(`bench-${(n += 1)}`)}`,
              (reply) => (reply.includes(`bench-${n}`) ? undefined : reply.slice(0, 200)),
              () => person.command('/sshkey', `remove small bench-${n}`),
            );
            rows.push(row(backend, label, add!, 'add'));
            durableRows.push(row(backend, label, addDurable!, undefined, add));
          } finally {
            await keyhouse.stop();
          }
        }
      } finally {
        await writing.stop();
      }
    }
  } finally {
    await bare.stop();
    await slack.settle();
    await slack.stop();
  }
  console.log(
    `Milliseconds from signed request to reply on a 10-key project, ${ROUNDS} commands each, Keyhouse as npm start ` +
      `runs it next to a bare Bolt app answering the same reply, each in its own process, taking turns command by command.\nGoal: Keyhouse p50 ≤ 1.3× and p99 ≤ 1.5× the bare app's.\n`,
  );
  console.log(
    '| store    | organization               | cmd  | Keyhouse p50 / p99 | bare p50 / p99 | p50 × | p99 × | goal   |',
  );
  console.log(
    '|----------|----------------------------|------|--------------------|----------------|-------|-------|--------|',
  );
  for (const line of rows) console.log(line);
  console.log(
    '\n`add` next to the bare app making one durable write of 20 kB per command (a SQLite commit with ' +
      "synchronous = FULL, or one Redis SET), to tell the cost of a durable change from Keyhouse's own. The " +
      "last column is that app's p50 over the bare app's: the write alone, against the same goal:\n",
  );
  console.log(
    '| store    | organization               | Keyhouse p50 / p99 | bare + write | p50 × | p99 × | write alone × |',
  );
  console.log(
    '|----------|----------------------------|--------------------|--------------|-------|-------|---------------|',
  );
  for (const line of durableRows) console.log(line);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
