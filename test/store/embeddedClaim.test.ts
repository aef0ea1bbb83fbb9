import { FakeSlack } from '../helpers/fakeSlack';
import { tempDir, uniqueNamespace } from '../helpers/env';
import { SIGNING_SECRET, SlackUser, visibleText } from '../helpers/slackUser';
import { launch, startKeyhouse } from '../http/keyhouseProcess';

/**
 * The embedded store belongs to one process. A second Keyhouse started on the same DATA_DIR, even while
 * the first is paused (SIGSTOP), refuses to start instead of changing the file without the first's
 * locks; once the first is gone (SIGKILL), a new one takes the directory over with everything in it.
 */
const slack = new FakeSlack();
beforeAll(() => slack.start());
afterAll(() => slack.stop());

test('a second process on the same DATA_DIR refuses to start; after the first dies, a new one takes over', async () => {
  const env = {
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    PORT: '0',
    ORG_OWNERS: 'UOWNER1',
    DATA_DIR: tempDir(),
    STORE_NAMESPACE: uniqueNamespace(),
  };
  const first = await startKeyhouse(env);
  try {
    const owner = new SlackUser(first.url, slack, 'UOWNER1');
    expect(visibleText((await owner.command('/project', 'create kept')).body)).toContain('Created project');

    first.child.kill('SIGSTOP'); // paused, not gone: its claim still stands
    const second = launch(env);
    const code = await second.exited;
    first.child.kill('SIGCONT');
    expect(code).toBe(1);
    const lines = second.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/DATA_DIR .* is in use by another Keyhouse process \(pid \d+\)/);
    expect(lines[0]).toContain('REDIS_URL');
    expect(second.stdout()).not.toContain('Keyhouse is running');

    // The first one never noticed.
    expect(visibleText((await owner.command('/project', 'list')).body)).toContain('kept');
  } finally {
    await first.stop(); // SIGKILL: the pid file stays behind
  }

  const third = await startKeyhouse(env);
  try {
    const owner = new SlackUser(third.url, slack, 'UOWNER1');
    expect(visibleText((await owner.command('/project', 'list')).body)).toContain('kept');
  } finally {
    await third.stop();
  }
});
