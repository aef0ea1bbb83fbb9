import { FakeSlack } from '../helpers/fakeSlack';
import {
  type KeyhouseProcess,
  type LogLine,
  logLines,
  startKeyhouse,
  processSettings,
} from '../helpers/keyhouseProcess';

/**
 * What a client sends to the key route cannot write a log line of its own, and refusals that cost
 * nothing do not fill the log: the real process, at debug level, its stderr read line by line.
 */
const slack = new FakeSlack();
let keyhouse: KeyhouseProcess;
const PROJECT = '00000000-0000-4000-8000-000000000000';
const WRONG = `khk_${'W'.repeat(43)}`;

beforeAll(async () => {
  await slack.start();
  keyhouse = await startKeyhouse({
    ...processSettings(slack),
    LOG_LEVEL: 'debug',
    KEY_RATE_LIMIT_PER_IP: '5',
  });
}, 30_000);
afterAll(async () => {
  await keyhouse.stop();
  await slack.stop();
});

const get = async (target: string, token?: string) => {
  const response = await fetch(`${keyhouse.url}${target}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: response.status, body: await response.text() };
};

/** The log lines written since `from` characters of stderr, once the process had time to write them. */
const linesSince = async (from: number): Promise<LogLine[]> => {
  await new Promise((resolve) => setTimeout(resolve, 200));
  return logLines(keyhouse.stderr().slice(from));
};

const FORGED = '\n{"time":"2025-01-01T00:00:00.000Z","level":"error","msg":"admin UEVIL ok"}\n';

test.each([
  ['zone', `instance=a&zone=${encodeURIComponent(`x${FORGED}`)}`],
  [
    'zone, with CR and a Unicode line separator',
    `instance=a&zone=${encodeURIComponent('x\r\u2028{"level":"error"} x')}`,
  ],
  ['instance', `instance=${encodeURIComponent(`a${FORGED}`)}`],
])('control characters in the %s are neither echoed nor logged as lines', async (_what, query) => {
  const from = keyhouse.stderr().length;
  const answer = await get(`/v1/projects/x/authorized_keys?${query}`);
  expect(answer.status).toBe(400);
  // One line of plain text: nothing of what was sent is repeated.
  expect(answer.body).toMatch(/^[^\n\r\u2028]*\n$/);
  expect(answer.body).not.toContain('UEVIL');
  expect(answer.body).not.toContain('"level"');
  const lines = await linesSince(from); // each one a JSON object: nothing forged a line of its own
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    expect(line.level).toBe('debug');
    expect(line.msg).toMatch(/^refused 400: GET \/v1\/projects\/x\/authorized_keys from /);
  }
  expect(keyhouse.stderr()).not.toMatch(/[\r\u2028]/);
  expect(keyhouse.logs().filter((line) => line.msg.startsWith('admin UEVIL'))).toEqual([]);
});

test('refusals that cost nothing are logged at debug; a flood of 429s is one warning', async () => {
  const from = keyhouse.stderr().length;
  // Malformed input, malformed tokens, a wrong token, unknown paths: 400, 401, 404.
  for (let i = 0; i < 3; i += 1) {
    expect((await get(`/v1/projects/${PROJECT}/authorized_keys?zone=fr-par-1`)).status).toBe(400);
    expect((await get(`/v1/projects/${PROJECT}/authorized_keys`, 'khk_short')).status).toBe(401);
    expect((await get(`/v1/projects/${PROJECT}/authorized_keys`)).status).toBe(401);
    expect((await get(`/wp-login.php?i=${i}`)).status).toBe(404);
  }
  expect((await get(`/v1/projects/${PROJECT}/authorized_keys`, WRONG)).status).toBe(401);
  const quiet = await linesSince(from);
  expect(quiet.filter((line) => /refused (400|401|404)/.test(line.msg)).length).toBe(13);
  expect(quiet.filter((line) => line.level !== 'debug')).toEqual([]);

  // Over the per-address budget (5 a minute): every request is refused, one warning is written.
  const floodFrom = keyhouse.stderr().length;
  const statuses: number[] = [];
  for (let i = 0; i < 12; i += 1) {
    statuses.push((await get(`/v1/projects/${PROJECT}/authorized_keys`, WRONG)).status);
  }
  expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(8);
  const flood = await linesSince(floodFrom);
  expect(flood.filter((line) => line.level === 'warn')).toEqual([
    expect.objectContaining({
      msg: expect.stringMatching(/^refused 429: GET .* from 127\.0\.0\.1: too many/),
    }),
  ]);
  expect(flood.filter((line) => line.level === 'debug' && line.msg.startsWith('refused 429')).length).toBe(
    statuses.filter((s) => s === 429).length - 1,
  );
});
