/**
 * How fast the key route answers, next to a bare Node HTTP server sending the same bytes:
 * `npm run bench` (after the command benchmark) or `npx tsx bench/delivery.ts`.
 *
 * For a project of 10 keys and one of 5,000, on the embedded store and on Redis, a real Keyhouse app
 * (rate limits counting every request, as in production) answers GET /v1/projects/<id>/authorized_keys?instance=… with a real token, with 200
 * and, given the ETag, 304. A bare `http.createServer` in the same process answers the identical status,
 * headers and body. A bounded load loop (undici Pool, CONNECTIONS connections, a fixed number of
 * requests) against 127.0.0.1 times both, taking turns in ROUNDS rounds. Prints requests/s, p50 and p99, the
 * ratios Keyhouse / bare and the goal (≥ 0.5× requests/s, p99 ≤ 2×). Asserts nothing but the answers.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { OWNER_ID, startHarness } from '../test/helpers/harness';
import { seedProjects, seedSmallProject } from '../test/helpers/seed';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
/** Requests per measured run: fewer for the large body, so the whole run stays within two minutes. */
const REQUESTS = { small: Number(process.env.BENCH_REQUESTS ?? 9000), large200: 1500 };
const owner = { teamId: 'T0001', userId: OWNER_ID };

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
}

/** One load run's raw numbers, so interleaved runs can be summed. */
interface Sample {
  latencies: number[];
  seconds: number;
}

/** Keyhouse and the bare server take turns, ROUNDS times, so a busy machine slows both alike. */
const ROUNDS = 3;

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/** Headers as a server sets them: hop-by-hop and per-response ones are the server's own business. */
function replayable(headers: IncomingHttpHeaders): Record<string, string> {
  const skip = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);
  return Object.fromEntries(
    Object.entries(headers)
      .filter(([name, value]) => !skip.has(name) && typeof value === 'string')
      .map(([name, value]) => [name, value as string]),
  );
}

/** `total` GETs over `connections` kept-alive connections; every answer must be `expected`, in full. */
async function load(
  origin: string,
  path: string,
  headers: Record<string, string>,
  expected: { status: number; bytes: number },
  total: number,
  connections = CONNECTIONS,
): Promise<Sample> {
  const pool = new Pool(origin, { connections, pipelining: 1 });
  const latencies: number[] = [];
  let started = 0;
  const worker = async () => {
    while (started < total) {
      started += 1;
      const begin = performance.now();
      const { statusCode, body } = await pool.request({ path, method: 'GET', headers });
      let bytes = 0;
      for await (const chunk of body) bytes += (chunk as Buffer).length;
      latencies.push(performance.now() - begin);
      if (statusCode !== expected.status || bytes !== expected.bytes) {
        throw new Error(
          `${origin}${path}: ${statusCode} with ${bytes} bytes, expected ${expected.status} with ${expected.bytes}`,
        );
      }
    }
  };
  const begin = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const seconds = (performance.now() - begin) / 1000;
  await pool.close();
  return { latencies, seconds };
}

function summarize(samples: Sample[]): Run {
  const latencies = samples.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const seconds = samples.reduce((sum, s) => sum + s.seconds, 0);
  return { rps: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** A bare Node server answering exactly what Keyhouse answered: 304 on the ETag, else 200 and the body. */
async function bareServer(ok: Answer, notModified: Answer): Promise<{ server: Server; origin: string }> {
  const etag = ok.headers.etag;
  const server = createServer((req, res) => {
    const answer = req.headers['if-none-match'] === etag ? notModified : ok;
    res.writeHead(answer.status, answer.headers);
    res.end(answer.status === 200 ? answer.body : undefined);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function fetchOnce(origin: string, path: string, headers: Record<string, string>): Promise<Answer> {
  const answer = await fetch(`${origin}${path}`, { headers });
  return {
    status: answer.status,
    headers: replayable(Object.fromEntries(answer.headers)),
    body: await answer.text(),
  };
}

interface Row {
  store: string;
  keys: number;
  status: number;
  keyhouse: Run;
  bare: Run;
}

async function measure(backend: 'embedded' | 'redis'): Promise<Row[]> {
  const harness = await startHarness({
    backend,
    // The rate limits count every request, as in production (set high enough never to refuse);
    // BENCH_LIMITS=off turns them off.
    env:
      process.env.BENCH_LIMITS !== 'off'
        ? { KEY_RATE_LIMIT_PER_IP: '100000000', KEY_RATE_LIMIT_PER_PROJECT: '100000000', LOG_LEVEL: 'error' }
        : {
            KEY_RATE_LIMIT_PER_IP: '0',
            KEY_RATE_LIMIT_PER_PROJECT: '0',
            KEY_AUTH_FAILURES_PER_IP: '0',
            KEY_REGISTRATIONS_PER_TOKEN: '0',
            LOG_LEVEL: 'error',
          },
  });
  const rows: Row[] = [];
  try {
    const { domain } = harness.apps[0]!.keyhouse;
    await seedSmallProject(domain, owner); // `small`: 10 keys
    await seedProjects(domain, owner, 1, 5000); // `p-0`: 5,000 keys
    const keyhouse = harness.apps[0]!.url; // http://127.0.0.1:<port>
    for (const [project, keys] of [
      ['small', 10],
      ['p-0', 5000],
    ] as const) {
      const {
        token,
        project: { id },
      } = await domain.delivery.createToken(owner, project);
      const path = `/v1/projects/${id}/authorized_keys?instance=bench-1&zone=fr-par-1`;
      const auth = { authorization: `Bearer ${token}` };
      const ok = await fetchOnce(keyhouse, path, auth);
      const conditional = { ...auth, 'if-none-match': ok.headers.etag ?? '' };
      const notModified = await fetchOnce(keyhouse, path, conditional);
      if (ok.status !== 200 || notModified.status !== 304) {
        throw new Error(`Keyhouse answered ${ok.status} and ${notModified.status}, expected 200 and 304`);
      }
      const bare = await bareServer(ok, notModified);
      try {
        for (const [status, headers] of [
          [200, auth],
          [304, conditional],
        ] as const) {
          const expected = { status, bytes: status === 200 ? Buffer.byteLength(ok.body) : 0 };
          const total = status === 200 && keys > 10 ? REQUESTS.large200 : REQUESTS.small;
          // Both warmed alike: the first requests of a process pay for compiling its code, not for serving.
          const warm = Math.max(500, Math.floor(total / 2));
          await load(keyhouse, path, headers, expected, warm);
          await load(bare.origin, path, headers, expected, warm);
          const samples: Record<'keyhouse' | 'bare', Sample[]> = { keyhouse: [], bare: [] };
          for (let round = 0; round < ROUNDS; round += 1) {
            samples.keyhouse.push(await load(keyhouse, path, headers, expected, total / ROUNDS));
            samples.bare.push(await load(bare.origin, path, headers, expected, total / ROUNDS));
          }
          rows.push({
            store: backend,
            keys,
            status,
            keyhouse: summarize(samples.keyhouse),
            bare: summarize(samples.bare),
          });
        }
      } finally {
        await new Promise((resolve) => bare.server.close(resolve));
      }
    }
  } finally {
    await harness.stop();
  }
  return rows;
}

const fixed = (value: number, digits = 1) => value.toFixed(digits);

async function main(): Promise<void> {
  const begin = performance.now();
  const backends = (process.env.BENCH_STORES ?? 'embedded,redis').split(',') as ('embedded' | 'redis')[];
  const rows: Row[] = [];
  for (const backend of backends) rows.push(...(await measure(backend)));
  console.log(
    `\nKey route next to a bare Node server sending the same bytes: ${CONNECTIONS} connections, ` +
      `${REQUESTS.small} requests a run (${REQUESTS.large200} for 200s of 5,000 keys) in ${ROUNDS} turns each, ` +
      `rate limits ${process.env.BENCH_LIMITS === 'off' ? 'off' : 'counting'}, 127.0.0.1, one process.\nGoal: Keyhouse ≥ 0.5× the bare requests/s, p99 ≤ 2× the bare p99.\n`,
  );
  console.log(
    '| store    | keys | answer | Keyhouse req/s | bare req/s | ratio | Keyhouse p50 / p99 ms | bare p50 / p99 ms | p99 ratio | goal |',
  );
  console.log(
    '|----------|------|--------|----------------|------------|-------|-----------------------|-------------------|-----------|------|',
  );
  for (const { store, keys, status, keyhouse, bare } of rows) {
    const rate = keyhouse.rps / bare.rps;
    const tail = keyhouse.p99 / bare.p99;
    const met = rate >= 0.5 && tail <= 2 ? 'met' : 'MISSED';
    console.log(
      `| ${store.padEnd(8)} | ${String(keys).padStart(4)} | ${String(status).padEnd(6)} | ${fixed(keyhouse.rps, 0).padStart(14)} | ${fixed(bare.rps, 0).padStart(10)} | ${fixed(rate, 2).padStart(5)} | ${`${fixed(keyhouse.p50)} / ${fixed(keyhouse.p99)}`.padStart(21)} | ${`${fixed(bare.p50)} / ${fixed(bare.p99)}`.padStart(17)} | ${fixed(tail, 2).padStart(9)} | ${met.padEnd(4)} |`,
    );
  }
  console.log(`\nRun time: ${fixed((performance.now() - begin) / 1000)} s.`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
