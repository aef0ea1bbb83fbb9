import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { FakeSlack } from './helpers/fakeSlack';
import { REDIS_URL, tempDir, uniqueNamespace } from './helpers/env';
import { SIGNING_SECRET, SlackUser, visibleText } from './helpers/slackUser';
import { KeyFactory } from './helpers/sshKeygen';

/** Keyhouse as `npm start` runs it, in its own process, so it can be killed hard. */
async function startProcess(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const root = join(__dirname, '..');
  const child = spawn(
    process.execPath,
    // One process, so signals reach it (tsx's CLI would run it as a child that outlives a SIGKILL).
    ['--import', 'tsx', join(root, 'src/main.ts')],
    {
      cwd: root,
      // No developer .env may leak in: point dotenv at a file that does not exist.
      env: { PATH: process.env.PATH ?? '', DOTENV_CONFIG_PATH: join(tempDir(), '.env'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Keyhouse did not start: ${output}`)), 20_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /HTTP on port (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => reject(new Error(`Keyhouse exited with ${code}: ${output}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

/** Settings of a process talking to `slack`, with its own data. */
const settingsFor = (slack: FakeSlack): Record<string, string> => ({
  SLACK_BOT_TOKEN: 'xoxb-test',
  SLACK_SIGNING_SECRET: SIGNING_SECRET,
  SLACK_API_URL: slack.apiUrl,
  PORT: '0',
  ORG_OWNERS: 'UOWNER1',
  DATA_DIR: tempDir(),
  STORE_NAMESPACE: uniqueNamespace(),
});

const killHard = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });

const keys = new KeyFactory();
afterAll(() => keys.cleanup());

describe.each(['embedded', 'redis'] as const)(
  'every acknowledged change survives a hard kill (%s store)',
  (backend) => {
    const slack = new FakeSlack();
    beforeAll(() => slack.start());
    afterAll(() => slack.stop());

    test('project and key are there after SIGKILL and restart', async () => {
      const env = { ...settingsFor(slack), ...(backend === 'redis' ? { REDIS_URL } : {}) };
      const first = await startProcess(env);
      const key = keys.generate('ed25519', { comment: 'kept' });
      try {
        const user = new SlackUser(first.url, slack, 'UOWNER1');
        expect(visibleText((await user.command('/project', 'create durable')).body)).toContain(
          'Created project *durable*',
        );
        expect(visibleText((await user.command('/sshkey', `add durable ${key.publicLine}`)).body)).toContain(
          'Added key *kept*',
        );
      } finally {
        await killHard(first.child);
      }
      const second = await startProcess(env);
      try {
        const user = new SlackUser(second.url, slack, 'UOWNER1');
        const list = visibleText((await user.command('/sshkey', 'list durable')).body);
        expect(list).toContain('*kept*');
        expect(list).toContain(keys.fingerprint(key.publicLine).fingerprint);
      } finally {
        await killHard(second.child);
      }
    });
  },
);

test('a bad setting stops start-up with one line naming it', async () => {
  await expect(startProcess({ SLACK_BOT_TOKEN: 'not-a-token', SLACK_SIGNING_SECRET: 's' })).rejects.toThrow(
    /exited with 1: Keyhouse cannot start: SLACK_BOT_TOKEN must be a bot token starting with xoxb-\n$/,
  );
});

test('a private key pasted into a command never reaches the logs, even at debug level', async () => {
  const slack = new FakeSlack();
  await slack.start();
  const { child, url } = await startProcess({ ...settingsFor(slack), LOG_LEVEL: 'debug' });
  let logs = '';
  child.stdout?.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  try {
    const secret = keys.generate('ed25519');
    const user = new SlackUser(url, slack, 'UOWNER1');
    const reply = visibleText((await user.command('/sshkey', `add default ${secret.privateText}`)).body);
    expect(reply).toMatch(/That is a \*private\* key/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(logs).toContain('[DEBUG]'); // debug logging was on
    for (const line of secret.privateText
      .split('\n')
      .filter((l) => l.length > 20 && !l.startsWith('-----'))) {
      expect(logs).not.toContain(line.slice(0, 20));
    }
  } finally {
    await killHard(child);
    await slack.stop();
  }
});
