import { randomBytes } from 'node:crypto';
import { FakeSlack } from '../helpers/fakeSlack';
import {
  type KeyhouseProcess,
  raw,
  request,
  startKeyhouse,
  processSettings,
} from '../helpers/keyhouseProcess';

/**
 * Whatever arrives at the port, the process answers and stays up: the real app in its own process,
 * spoken to over raw sockets, with /healthz asked after every hostile request.
 */
const slack = new FakeSlack();
let keyhouse: KeyhouseProcess;
const PROJECT = '00000000-0000-4000-8000-000000000000';
const TOKEN = `khk_${'S'.repeat(43)}`;

beforeAll(async () => {
  await slack.start();
  keyhouse = await startKeyhouse({
    ...processSettings(slack),
    LOG_LEVEL: 'warn',
  });
}, 30_000);
afterAll(async () => {
  await keyhouse.stop();
  await slack.stop();
});

async function stillServing(): Promise<void> {
  expect(keyhouse.alive()).toBe(true);
  const health = await raw(keyhouse.port, [request('GET', '/healthz')]);
  expect(health.status).toBe(200);
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE'];
const ROUTES: Record<string, (method: string) => { status: number; allow?: string }> = {
  '/slack/events': (m) => (m === 'POST' ? { status: 401 } : { status: 405, allow: 'POST' }), // unsigned: Bolt's 401
  '/healthz': (m) => (m === 'GET' || m === 'HEAD' ? { status: 200 } : { status: 405, allow: 'GET, HEAD' }),
  '/readyz': (m) => (m === 'GET' || m === 'HEAD' ? { status: 200 } : { status: 405, allow: 'GET, HEAD' }),
  [`/v1/projects/${PROJECT}/authorized_keys`]: (m) =>
    m === 'GET' || m === 'HEAD' ? { status: 401 } : { status: 405, allow: 'GET, HEAD' },
  '/v1/signing-keyz': () => ({ status: 404 }),
  '/': () => ({ status: 404 }),
};

test('every route answers every method with its status, and the process stays up', async () => {
  for (const [route, expected] of Object.entries(ROUTES)) {
    for (const method of METHODS) {
      const answer = await raw(keyhouse.port, [request(method, route)]);
      const want = expected(method);
      expect({ route, method, status: answer.status }).toEqual({ route, method, status: want.status });
      if (want.allow) expect(answer.text.toLowerCase()).toContain(`allow: ${want.allow.toLowerCase()}\r\n`);
    }
    // A method Node does not know is a protocol error: 400 on the socket.
    expect((await raw(keyhouse.port, [request('BREW', route)])).status).toBe(400);
    expect((await raw(keyhouse.port, [`G\u0001T ${route} HTTP/1.1\r\nHost: x\r\n\r\n`])).status).toBe(400);
    await stillServing();
  }
}, 60_000);

test('request targets that cannot be parsed get 400; absolute-form is served', async () => {
  for (const target of ['//:99999', '//:99999/slack/events', 'http://[::1', '%', '/%zz', '*', 'healthz']) {
    for (const method of ['GET', 'POST', 'OPTIONS']) {
      const answer = await raw(keyhouse.port, [request(method, target)]);
      expect({ target, method, status: answer.status }).toEqual({ target, method, status: 400 });
    }
    await stillServing();
  }
  expect((await raw(keyhouse.port, [request('GET', 'http://keyhouse.test/healthz')])).status).toBe(200);
  expect((await raw(keyhouse.port, [request('GET', `/${'a'.repeat(8000)}`)])).status).toBe(404);
  // A target longer than Node's header limit is refused before it is routed.
  expect((await raw(keyhouse.port, [request('GET', `/${'a'.repeat(20_000)}`)])).status).toBe(431);
  await stillServing();
});

test('huge headers get 431, many headers and random bytes do not stop the process', async () => {
  expect(
    (await raw(keyhouse.port, [request('GET', '/healthz', [`X-Big: ${'b'.repeat(20_000)}`])])).status,
  ).toBe(431);
  const many = Array.from({ length: 3000 }, (_, i) => `X-${i}: v`);
  expect((await raw(keyhouse.port, [request('GET', '/healthz', many)])).status).toBe(431);
  await stillServing();
  for (let i = 0; i < 20; i += 1) {
    const answer = await raw(keyhouse.port, [randomBytes(2048)], { waitMs: 2_000, end: true });
    // Garbage gets a 400 or a closed connection, never a crash.
    expect([undefined, 400]).toContain(answer.status);
  }
  await stillServing();
});

test('a body on a GET route is read and discarded; a pipelined request after it is answered', async () => {
  const withBody = request('GET', '/healthz', ['Connection: keep-alive'], 'x'.repeat(5000)).replace(
    'Connection: close\r\n',
    '',
  );
  const answer = await raw(keyhouse.port, [withBody, request('GET', '/readyz')]);
  expect(answer.statuses).toEqual([200, 200]);
  const keys = await raw(keyhouse.port, [
    request('GET', `/v1/projects/${PROJECT}/authorized_keys`, [`Authorization: Bearer ${TOKEN}`], 'body'),
  ]);
  expect(keys.status).toBe(401);
  await stillServing();
});

test('broken bodies to /slack/events: truncated chunks, bad chunk sizes, short and conflicting lengths', async () => {
  const post = (headers: string, body: string) =>
    `POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}\r\n${body}`;
  // The client goes away halfway through a chunked body.
  await raw(keyhouse.port, [post('Transfer-Encoding: chunked\r\n', '40\r\n{"type":"url_ver')], {
    waitMs: 500,
    end: true,
  });
  await stillServing();
  expect(
    (await raw(keyhouse.port, [post('Transfer-Encoding: chunked\r\n', 'zz\r\nabc\r\n0\r\n\r\n')])).status,
  ).toBe(400);
  await raw(keyhouse.port, [post('Content-Length: 100000000\r\n', '{"a":')], { waitMs: 500, end: true });
  expect(
    (await raw(keyhouse.port, [post('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n')]))
      .status,
  ).toBe(400);
  // Too large a body: Bolt's 413.
  const big = 'x'.repeat(11 * 1024 * 1024);
  const tooBig = await raw(keyhouse.port, [post(`Content-Length: ${big.length}\r\n`, big)], {
    waitMs: 10_000,
  });
  expect([413, undefined]).toContain(tooBig.status);
  await stillServing();
}, 30_000);

test('a client that trickles its headers is cut off with 408 while others are served', async () => {
  const chunks: (string | { delayMs: number })[] = ['GET /healthz HTTP/1.1\r\nHost: x\r\n'];
  for (let i = 0; i < 30; i += 1) chunks.push({ delayMs: 500 }, `X-Slow-${i}: y\r\n`);
  const slow = raw(keyhouse.port, chunks, { waitMs: 20_000 });
  await new Promise((r) => setTimeout(r, 1_000));
  await stillServing();
  const answer = await slow;
  expect(answer.status).toBe(408);
  expect(answer.ms).toBeLessThan(13_000);
  // A connection that sends nothing at all is closed too.
  const silent = await raw(keyhouse.port, [], { waitMs: 20_000 });
  expect(silent.ms).toBeLessThan(13_000);
  await stillServing();
}, 40_000);

test('refusals are logged one line each at warn, without query strings or tokens', async () => {
  await raw(keyhouse.port, [
    request('PUT', `/v1/projects/${PROJECT}/authorized_keys?instance=web-1&secret=${TOKEN}`, [
      `Authorization: Bearer ${TOKEN}`,
    ]),
  ]);
  await raw(keyhouse.port, [request('DELETE', '/slack/events')]);
  await new Promise((r) => setTimeout(r, 200));
  const lines = keyhouse.logs();
  expect(lines).toContainEqual(
    expect.objectContaining({
      level: 'warn',
      msg: expect.stringMatching(
        /^refused 405: PUT \/v1\/projects\/[0-9a-f-]+\/authorized_keys from 127\.0\.0\.1/,
      ),
    }),
  );
  expect(lines).toContainEqual(
    expect.objectContaining({
      level: 'warn',
      msg: expect.stringMatching(/^refused 405: DELETE \/slack\/events/),
    }),
  );
  expect(keyhouse.stderr()).not.toContain(TOKEN);
  expect(keyhouse.stderr()).not.toContain('secret=');
  expect(keyhouse.stderr()).not.toMatch(/\n\s+at /); // no stack traces
  expect(keyhouse.alive()).toBe(true);
});
