import { FakeSlack } from '../helpers/fakeSlack';
import { SlackUser, visibleText } from '../helpers/slackUser';
import { launch, startKeyhouse, processSettings } from '../helpers/keyhouseProcess';

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
    ...processSettings(slack),
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
    const lines = second.logs();
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('error');
    expect(lines[0]!.msg).toMatch(/DATA_DIR .* is in use by another Keyhouse process \(pid \d+\)/);
    expect(lines[0]!.msg).toContain('REDIS_URL');

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

test('of four processes started at once on one DATA_DIR, exactly one runs', async () => {
  const env = {
    ...processSettings(slack),
  };
  const runs = Array.from({ length: 4 }, () => launch(env));
  try {
    // Each either says it is running or exits; give them time to do one or the other.
    const deadline = Date.now() + 20_000;
    const settled = () =>
      runs.every((run) => run.child.exitCode !== null || run.stderr().includes('Keyhouse is running'));
    while (!settled() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const running = runs.filter((run) => run.child.exitCode === null);
    const refused = runs.filter((run) => run.child.exitCode === 1);
    expect(running).toHaveLength(1);
    expect(refused).toHaveLength(3);
    for (const run of refused) expect(run.stderr()).toMatch(/DATA_DIR .* is in use by another/);
  } finally {
    for (const run of runs) run.child.kill('SIGKILL');
    await Promise.all(runs.map((run) => run.exited));
  }
});
