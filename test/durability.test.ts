import { FakeSlack } from './helpers/fakeSlack';
import { REDIS_URL } from './helpers/env';
import { processSettings, startKeyhouse } from './helpers/keyhouseProcess';
import { SlackUser, visibleText } from './helpers/slackUser';
import { KeyFactory } from './helpers/sshKeygen';

/** Keyhouse as `npm start` runs it, in its own process, killed hard (SIGKILL) and started again. */
const keys = new KeyFactory();
afterAll(() => keys.cleanup());

describe.each(['embedded', 'redis'] as const)(
  'every acknowledged change survives a hard kill (%s store)',
  (backend) => {
    const slack = new FakeSlack();
    beforeAll(() => slack.start());
    afterAll(() => slack.stop());

    test('project and key are there after SIGKILL and restart', async () => {
      const env = { ...processSettings(slack), ...(backend === 'redis' ? { REDIS_URL } : {}) };
      const first = await startKeyhouse(env);
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
        await first.stop(); // SIGKILL
      }
      const second = await startKeyhouse(env);
      try {
        const user = new SlackUser(second.url, slack, 'UOWNER1');
        const list = visibleText((await user.command('/sshkey', 'list durable')).body);
        expect(list).toContain('*kept*');
        expect(list).toContain(keys.fingerprint(key.publicLine).fingerprint);
      } finally {
        await second.stop();
      }
    });
  },
);

test('a bad setting stops start-up with one line naming it', async () => {
  await expect(startKeyhouse({ SLACK_BOT_TOKEN: 'not-a-token', SLACK_SIGNING_SECRET: 's' })).rejects.toThrow(
    /exited with 1: \{"level":"error","time":"[^"]+","msg":"Keyhouse cannot start: SLACK_BOT_TOKEN must be a bot token starting with xoxb-"\}\n$/,
  );
});

test('a private key pasted into a command never reaches the logs, even at debug level', async () => {
  const slack = new FakeSlack();
  await slack.start();
  const keyhouse = await startKeyhouse({ ...processSettings(slack), LOG_LEVEL: 'debug' });
  const { url } = keyhouse;
  const logs = () => keyhouse.stdout() + keyhouse.stderr();
  try {
    const secret = keys.generate('ed25519');
    const user = new SlackUser(url, slack, 'UOWNER1');
    const reply = visibleText((await user.command('/sshkey', `add default ${secret.privateText}`)).body);
    expect(reply).toMatch(/That is a \*private\* key/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(keyhouse.logs().filter((line) => line.level === 'debug').length).toBeGreaterThan(0); // debug logging was on
    for (const line of secret.privateText
      .split('\n')
      .filter((l) => l.length > 20 && !l.startsWith('-----'))) {
      expect(logs()).not.toContain(line.slice(0, 20));
    }
  } finally {
    await keyhouse.stop();
    await slack.stop();
  }
});
