import { ACTION } from '../../src/slack/ids';
import { renderCreateProjectModal } from '../../src/slack/render/modals';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { RedisProcess } from '../helpers/redisServer';
import { visibleText } from '../helpers/slackUser';

/**
 * A Redis that stops answering (SIGSTOP: a partition, a stuck failover). People still get an answer
 * within Slack's 3 s window, instances a 503, probes a 503; and nothing they were told failed is applied
 * once Redis wakes up.
 */
const redis = new RedisProcess();
let harness: Harness;
const UNAVAILABLE = 'Storage is unavailable right now, so nothing was changed';

beforeAll(async () => {
  await redis.start();
  harness = await startHarness({ backend: 'redis', env: { REDIS_URL: redis.url } });
});
afterAll(async () => {
  redis.resume();
  await harness.stop();
  await redis.kill();
});

async function within<T>(ms: number, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await work();
  expect(Date.now() - started).toBeLessThan(ms);
  return result;
}

test('with Redis paused, commands, buttons, forms, the key route and /readyz all answer in time', async () => {
  const owner = harness.user(OWNER_ID);
  const base = harness.apps[0]!.url;
  await owner.command('/project', 'create web');
  const token = /```(khk_[^`]+)```/.exec(
    visibleText((await owner.command('/project', 'token web')).body),
  )?.[1];
  expect(token).toBeDefined();
  const { project } = await harness.apps[0]!.keyhouse.domain.projects.show(
    { teamId: 'T0001', userId: OWNER_ID },
    'web',
  );

  redis.pause();
  try {
    const reply = await within(3000, () => owner.command('/project', 'create api'));
    expect(visibleText(reply.body)).toContain(UNAVAILABLE);

    const form = await within(3000, () =>
      harness
        .client(OWNER_ID)
        .submitForm(renderCreateProjectModal('C0GENERAL') as unknown as Record<string, unknown>, {
          name: 'from-form',
          description: '',
        }),
    );
    expect(JSON.stringify(form)).toContain(UNAVAILABLE);

    const responseUrl = harness.slack.newResponseUrl();
    await within(3000, async () => {
      await harness.client(OWNER_ID).click(ACTION.dashboardRefresh, project.id, { responseUrl });
      const answer = await harness.slack.waitFor(
        (call) => call.method === 'respond' && call.path === new URL(responseUrl).pathname,
      );
      expect(visibleText(answer.body)).toContain(UNAVAILABLE);
    });

    const keys = await within(3000, () =>
      fetch(`${base}/v1/projects/${project.id}/authorized_keys`, {
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    expect(keys.status).toBe(503);
    expect(keys.headers.get('retry-after')).toBeTruthy();

    expect((await within(2000, () => fetch(`${base}/readyz`))).status).toBe(503);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  } finally {
    redis.resume();
  }

  // Once Redis is back: what people were told failed was not applied, and Keyhouse works again.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const list = visibleText((await owner.command('/project', 'list')).body);
  expect(list).toContain('web');
  expect(list).not.toContain('api');
  expect(list).not.toContain('from-form');
  expect(visibleText((await owner.command('/project', 'create api')).body)).toContain('Created project');
  expect((await fetch(`${base}/readyz`)).status).toBe(200);
});
