import { FakeSlack } from './helpers/fakeSlack';
import { processSettings, raw, startKeyhouse, type KeyhouseProcess } from './helpers/keyhouseProcess';
import { quickEd25519Line } from './helpers/sshKeygen';
import { SIGNING_SECRET, SlackUser, visibleText } from './helpers/slackUser';
import { createHmac } from 'node:crypto';

/**
 * A stop as a supervisor makes it: SIGTERM to the real process. What was under way is answered, what
 * comes after is refused, and the process exits 0; a second signal ends it at once.
 */
const slack = new FakeSlack();
beforeAll(() => slack.start());
afterAll(() => slack.stop());
afterEach(() => slack.delays.clear());

let running: KeyhouseProcess[] = [];
afterEach(async () => {
  for (const keyhouse of running) await keyhouse.stop();
  running = [];
});

const start = async (env: Record<string, string> = processSettings(slack)) => {
  const keyhouse = await startKeyhouse(env);
  running.push(keyhouse);
  return keyhouse;
};

const output = (keyhouse: KeyhouseProcess) => keyhouse.stdout() + keyhouse.stderr();
const exitOf = (keyhouse: KeyhouseProcess) =>
  new Promise<number | null>((resolve) => {
    if (keyhouse.child.exitCode !== null) resolve(keyhouse.child.exitCode);
    else keyhouse.child.once('exit', (code) => resolve(code));
  });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A signed slash command as Slack posts it, for writing by hand on a raw connection. */
function signedCommand(text: string, responseUrl: string): { headers: string; body: string } {
  const body = new URLSearchParams({
    team_id: 'T0001',
    team_domain: 'acme',
    channel_id: 'C0GENERAL',
    user_id: 'UOWNER1',
    command: '/project',
    text,
    api_app_id: 'AKEYHOUSE',
    response_url: responseUrl,
    trigger_id: 'trigger-raw',
  }).toString();
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', SIGNING_SECRET).update(`v0:${timestamp}:${body}`).digest('hex');
  const headers =
    'POST /slack/events HTTP/1.1\r\nHost: keyhouse.test\r\nConnection: close\r\n' +
    'Content-Type: application/x-www-form-urlencoded\r\n' +
    `X-Slack-Request-Timestamp: ${timestamp}\r\nX-Slack-Signature: v0=${signature}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  return { headers, body };
}

test('a request still arriving when SIGTERM comes is answered, new connections are refused, and the process exits 0', async () => {
  const env = processSettings(slack);
  const keyhouse = await start(env);
  const exited = exitOf(keyhouse);
  const responseUrl = slack.newResponseUrl();
  const { headers, body } = signedCommand('create during-stop', responseUrl);
  // The headers and half the body now; SIGTERM; the rest of the body a second later.
  const answer = raw(keyhouse.port, [headers, body.slice(0, 20), { delayMs: 1_000 }, body.slice(20)], {
    waitMs: 8_000,
  });
  await sleep(300);
  keyhouse.child.kill('SIGTERM');
  await sleep(200);
  // While it finishes that request, it takes no new connection: a load balancer turns to another replica.
  await expect(fetch(`${keyhouse.url}/healthz`)).rejects.toThrow();
  expect((await answer).status).toBe(200);
  const reply = await slack.waitFor((call) => call.path === new URL(responseUrl).pathname);
  expect(visibleText(reply.body)).toContain('Created project *during-stop*');
  expect(await exited).toBe(0);
  expect(output(keyhouse)).toMatch(/SIGTERM received: stopping\. New connections are refused/);
  expect(output(keyhouse)).toMatch(/Keyhouse stopped: all work under way was finished\./);

  // The change it answered is stored: the next process on the same data lists it.
  const next = await start(env);
  const list = await new SlackUser(next.url, slack, 'UOWNER1').command('/project', 'list');
  expect(visibleText(list.body)).toContain('during-stop');
}, 60_000);

test('a command whose answer to the user is still on its way when SIGTERM comes is finished before the exit', async () => {
  const env = processSettings(slack);
  const keyhouse = await start(env);
  const owner = new SlackUser(keyhouse.url, slack, 'UOWNER1');
  await owner.command('/project', 'create web');
  const exited = exitOf(keyhouse);
  // Slack takes 1.5 s to take the answer: the key is stored and the user not yet told when SIGTERM comes.
  slack.delays.set('respond', 1_500);
  const line = quickEd25519Line('late@answer');
  const started = Date.now();
  const told = owner.command('/sshkey', `add web --name late ${line}`);
  await sleep(400);
  keyhouse.child.kill('SIGTERM');
  const exitedAt = exited.then((code) => ({ code, at: Date.now() }));
  expect(visibleText((await told).body)).toContain('Added key');
  // It exited once Slack had taken the answer, not before.
  expect((await exitedAt).code).toBe(0);
  expect((await exitedAt).at - started).toBeGreaterThanOrEqual(1_500);
  slack.delays.clear();

  const next = await start(env);
  const list = await new SlackUser(next.url, slack, 'UOWNER1').command('/sshkey', 'list web');
  expect(visibleText(list.body)).toContain('late');
}, 60_000);

test('SIGINT stops it the same way, without waiting for idle keep-alive connections to time out', async () => {
  const keyhouse = await start();
  const exited = exitOf(keyhouse);
  // A keep-alive request: answered, then the connection stays open (5 s) unless the server closes it.
  const answer = raw(keyhouse.port, ['GET /healthz HTTP/1.1\r\nHost: keyhouse.test\r\n\r\n'], {
    waitMs: 8_000,
  });
  await sleep(300);
  const signalled = Date.now();
  keyhouse.child.kill('SIGINT');
  expect((await answer).status).toBe(200);
  expect(await exited).toBe(0);
  expect(Date.now() - signalled).toBeLessThan(2_000);
  expect(output(keyhouse)).toMatch(/SIGINT received: stopping/);
  expect(output(keyhouse)).toMatch(/Keyhouse stopped/);
}, 30_000);

test('a request whose body is still trickling in when the grace ends is cut, and the stop line says so', async () => {
  const keyhouse = await start();
  const exited = exitOf(keyhouse);
  // A byte every half second, for longer than the 10 s a stop waits.
  const trickle = Array.from({ length: 30 }, () => [{ delayMs: 500 }, 'x']).flat();
  const answer = raw(
    keyhouse.port,
    ['POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n', ...trickle],
    { waitMs: 20_000 },
  );
  await sleep(300);
  keyhouse.child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect((await answer).status).toBeUndefined();
  expect(keyhouse.logs().map((line) => line.msg)).toContain(
    'Keyhouse stopped: 1 request still running after 10 s was cut off.',
  );
  expect(output(keyhouse)).not.toMatch(/all work under way was finished/);
}, 30_000);

test('a second signal, a second or more after the first, ends the process at once', async () => {
  const keyhouse = await start();
  const exited = exitOf(keyhouse);
  // A client that sends half a request and nothing more keeps the stop waiting.
  void raw(keyhouse.port, ['POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf'], {
    waitMs: 15_000,
  });
  await sleep(300);
  keyhouse.child.kill('SIGTERM');
  await sleep(1_200);
  expect(keyhouse.child.exitCode).toBeNull();
  const again = Date.now();
  keyhouse.child.kill('SIGTERM');
  expect(await exited).toBe(143);
  expect(Date.now() - again).toBeLessThan(1_000);
  expect(output(keyhouse)).toMatch(/SIGTERM received again: exiting now/);
}, 30_000);

test('in Socket Mode, SIGTERM finishes the command under way before the process exits 0', async () => {
  const settings = processSettings(slack);
  delete settings.SLACK_SIGNING_SECRET;
  const keyhouse = await start({ ...settings, SLACK_APP_TOKEN: 'xapp-test' });
  const exited = exitOf(keyhouse).then((code) => ({ code, at: Date.now() }));
  const command = async (text: string) => {
    const responseUrl = slack.newResponseUrl();
    await slack.sendEnvelope('slash_commands', {
      team_id: 'T0001',
      user_id: 'UOWNER1',
      channel_id: 'C0GENERAL',
      command: text.split(' ')[0],
      text: text.split(' ').slice(1).join(' '),
      response_url: responseUrl,
      trigger_id: 'trigger-socket',
    });
    return slack.waitFor((c) => c.method === 'respond' && c.path === new URL(responseUrl).pathname);
  };
  await command('/project create sockets');
  // The command is acknowledged over the socket at once; its answer takes Slack 1.5 s to take.
  slack.delays.set('respond', 1_500);
  const started = Date.now();
  const told = command(`/sshkey add sockets --name late ${quickEd25519Line('late@socket')}`);
  await sleep(400);
  keyhouse.child.kill('SIGTERM');
  expect(visibleText((await told).body)).toContain('Added key');
  expect((await exited).code).toBe(0);
  expect((await exited).at - started).toBeGreaterThanOrEqual(1_500);
  expect(output(keyhouse)).toMatch(/Keyhouse stopped: all work under way was finished\./);
}, 30_000);
