/**
 * How long commands take through the real app as an organization grows, next to a bare Bolt app:
 * `npm run bench`.
 *
 * Sends signed `/sshkey list` and `/sshkey add` commands for a 10-key project (each added key is
 * removed again, untimed, so the project keeps its size) and times each until its reply reaches the (local, recording) Slack stand-in, in an empty organization and in one of 100
 * projects and 10,000 keys, on the embedded store and on Redis. A bare Bolt app (the same HTTPReceiver,
 * the same signing secret, no store) answers the same commands with the reply Keyhouse gave, acked and
 * sent to the response URL the same way; the two take turns. Prints p50 and p99 and the ratios against
 * the goal (p50 ≤ 1.3×, p99 ≤ 1.5×); asserts nothing but the answers.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import type { FakeSlack } from '../test/helpers/fakeSlack';
import { startHarness, OWNER_ID, type Harness } from '../test/helpers/harness';
import { seedProjects, seedSmallProject } from '../test/helpers/seed';
import { quickEd25519Line } from '../test/helpers/sshKeygen';
import { SIGNING_SECRET, SlackUser } from '../test/helpers/slackUser';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 300);
/** Keyhouse and the bare app take turns this many times, so a busy machine slows both alike. */
const TURNS = 3;
const owner = { teamId: 'T0001', userId: OWNER_ID };

async function seed(harness: Harness, projects: number, keysEach: number): Promise<void> {
  const { domain } = harness.apps[0]!.keyhouse;
  await seedProjects(domain, owner, projects, keysEach);
  await seedSmallProject(domain, owner);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** A Bolt app that does nothing but answer every command with `reply`, as Keyhouse answers. */
async function bareBolt(slack: FakeSlack, reply: () => Record<string, unknown>) {
  const receiver = new HTTPReceiver({ signingSecret: SIGNING_SECRET });
  const app = new App({
    authorize: () => Promise.resolve({ botToken: 'xoxb-test' }),
    receiver,
    clientOptions: { slackApiUrl: slack.apiUrl },
    logLevel: LogLevel.ERROR,
  });
  app.command(/.*/, async ({ ack, respond }) => {
    await ack();
    await respond(reply() as Parameters<typeof respond>[0]);
  });
  const server: Server = createServer(receiver.requestListener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}

interface Timing {
  keyhouse: number[];
  bare: number[];
}

/** Runs `text()` as a command on Keyhouse and on the bare app, in turns; the bare app replays Keyhouse's reply. */
async function time(harness: Harness, text: () => string, undo?: () => Promise<unknown>): Promise<Timing> {
  let last: Record<string, unknown> = {};
  const bare = await bareBolt(harness.slack, () => last);
  const users = {
    keyhouse: harness.user(OWNER_ID),
    bare: new SlackUser(bare.url, harness.slack, OWNER_ID),
  };
  const samples: Timing = { keyhouse: [], bare: [] };
  try {
    const run = async (who: 'keyhouse' | 'bare', rounds: number) => {
      for (let i = 0; i < rounds; i += 1) {
        const start = performance.now();
        const reply = await users[who].command('/sshkey', text());
        samples[who].push(performance.now() - start);
        if (who === 'keyhouse') {
          last = reply.body;
          await undo?.(); // untimed: the project stays at its size
        }
      }
    };
    await run('keyhouse', 10); // warm both, and have a reply to replay
    await run('bare', 10);
    samples.keyhouse = [];
    samples.bare = [];
    for (let turn = 0; turn < TURNS; turn += 1) {
      await run('keyhouse', Math.ceil(ROUNDS / TURNS));
      await run('bare', Math.ceil(ROUNDS / TURNS));
    }
  } finally {
    await bare.stop();
  }
  return samples;
}

const ms = (value: number) => value.toFixed(1);

function row(backend: string, label: string, command: string, timing: Timing): string {
  const [k50, k99, b50, b99] = [
    percentile(timing.keyhouse, 50),
    percentile(timing.keyhouse, 99),
    percentile(timing.bare, 50),
    percentile(timing.bare, 99),
  ] as [number, number, number, number];
  const met = k50 <= 1.3 * b50 && k99 <= 1.5 * b99 ? 'met' : 'MISSED';
  return `| ${backend.padEnd(8)} | ${label.padEnd(26)} | ${command.padEnd(4)} | ${`${ms(k50)} / ${ms(k99)}`.padStart(12)} | ${`${ms(b50)} / ${ms(b99)}`.padStart(11)} | ${(k50 / b50).toFixed(2).padStart(5)} | ${(k99 / b99).toFixed(2).padStart(5)} | ${met.padEnd(6)} |`;
}

async function main(): Promise<void> {
  const rows: string[] = [];
  const backends = (process.env.BENCH_STORES ?? 'embedded,redis').split(',') as ('embedded' | 'redis')[];
  for (const backend of backends) {
    for (const [label, projects, keysEach] of [
      ['empty org', 0, 0],
      ['100 projects, 10,000 keys', 100, 100],
    ] as const) {
      const harness = await startHarness({ backend });
      try {
        await seed(harness, projects, keysEach);
        rows.push(row(backend, label, 'list', await time(harness, () => 'list small')));
        let n = 0;
        const { domain } = harness.apps[0]!.keyhouse;
        const add = await time(
          harness,
          () => `add small ${quickEd25519Line(`bench-${(n += 1)}`)}`,
          () => domain.keys.change(owner, 'small', `bench-${n}`, 'remove'),
        );
        rows.push(row(backend, label, 'add', add));
      } finally {
        await harness.stop();
      }
    }
  }
  console.log(
    `Milliseconds from signed request to reply on a 10-key project, ${ROUNDS} commands each, next to a bare ` +
      `Bolt app answering the same reply (in ${TURNS} turns each).\nGoal: Keyhouse p50 ≤ 1.3× and p99 ≤ 1.5× the bare app's.\n`,
  );
  console.log(
    '| store    | organization               | cmd  | Keyhouse p50 / p99 | bare p50 / p99 | p50 × | p99 × | goal   |',
  );
  console.log(
    '|----------|----------------------------|------|--------------------|----------------|-------|-------|--------|',
  );
  for (const line of rows) console.log(line);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
