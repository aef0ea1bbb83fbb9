/**
 * How long commands take through the real app as an organization grows: `npm run bench`.
 * Sends signed `/sshkey list` and `/sshkey add` commands for a 10-key project and times each until its
 * reply reaches the (local, recording) Slack stand-in, in an empty organization and in one of 100
 * projects and 10,000 keys, on the embedded store and on Redis. Prints a table; asserts nothing.
 */
import { performance } from 'node:perf_hooks';
import { startHarness, OWNER_ID, type Harness } from '../test/helpers/harness';
import { seedProjects, seedSmallProject } from '../test/helpers/seed';
import { quickEd25519Line } from '../test/helpers/sshKeygen';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 100);
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

async function time(harness: Harness, text: () => string): Promise<{ p50: number; p95: number }> {
  const user = harness.user(OWNER_ID);
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    const start = performance.now();
    await user.command('/sshkey', text());
    samples.push(performance.now() - start);
  }
  return { p50: percentile(samples, 50), p95: percentile(samples, 95) };
}

async function main(): Promise<void> {
  const rows: string[] = [];
  for (const backend of ['embedded', 'redis'] as const) {
    for (const [label, projects, keysEach] of [
      ['empty org', 0, 0],
      ['100 projects, 10,000 keys', 100, 100],
    ] as const) {
      const harness = await startHarness({ backend });
      try {
        await seed(harness, projects, keysEach);
        const list = await time(harness, () => 'list small');
        let n = 0;
        const add = await time(harness, () => `add small ${quickEd25519Line(`bench-${(n += 1)}`)}`);
        rows.push(
          `| ${backend.padEnd(8)} | ${label.padEnd(26)} | ${list.p50.toFixed(1).padStart(8)} | ${list.p95.toFixed(1).padStart(8)} | ${add.p50.toFixed(1).padStart(7)} | ${add.p95.toFixed(1).padStart(7)} |`,
        );
      } finally {
        await harness.stop();
      }
    }
  }
  console.log(`Milliseconds from signed request to reply, ${ROUNDS} commands each, on a 10-key project:\n`);
  console.log('| store    | organization               | list p50 | list p95 | add p50 | add p95 |');
  console.log('|----------|----------------------------|----------|----------|---------|---------|');
  for (const row of rows) console.log(row);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
