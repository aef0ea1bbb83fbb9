import { createKeyhouse, type Keyhouse } from '../../src/app';
import { loadConfig } from '../../src/config';
import { REDIS_URL, tempDir, uniqueNamespace } from './env';
import { FakeSlack } from './fakeSlack';
import { SIGNING_SECRET, SlackClientOf, SlackUser } from './slackUser';

export const OWNER_ID = 'UOWNER1';

export interface Harness {
  slack: FakeSlack;
  apps: { keyhouse: Keyhouse; url: string }[];
  /** The STORE_NAMESPACE the apps share. */
  namespace: string;
  /** A user talking to the first app (or to app `appIndex`). */
  user(userId: string, appIndex?: number): SlackUser;
  /** The same person's clicks, events and form submissions. */
  client(userId: string, appIndex?: number): SlackClientOf;
  stop(): Promise<void>;
}

/**
 * Starts real Keyhouse apps in HTTP mode on free ports, talking to one fake Slack. With `replicas > 1`
 * or `backend: 'redis'`, they share one Redis namespace, like replicas in production: the shared Redis,
 * or the cluster or Sentinel set `env` names (REDIS_CLUSTER_NODES, REDIS_SENTINELS).
 */
export async function startHarness(
  options: { replicas?: number; backend?: 'embedded' | 'redis'; env?: Record<string, string> } = {},
): Promise<Harness> {
  const slack = new FakeSlack();
  await slack.start();
  const backend = options.backend ?? ((options.replicas ?? 1) > 1 ? 'redis' : 'embedded');
  const namespace = uniqueNamespace();
  const dataDir = tempDir();
  const apps: Harness['apps'] = [];
  const ownRedis = ['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'].some(
    (name) => options.env?.[name],
  );
  for (let i = 0; i < (options.replicas ?? 1); i += 1) {
    const config = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      DATA_DIR: dataDir,
      ORG_OWNERS: OWNER_ID,
      LOG_LEVEL: 'error',
      STORE_NAMESPACE: namespace,
      ...(backend === 'redis' && !ownRedis ? { REDIS_URL } : {}),
      ...options.env,
    });
    const keyhouse = createKeyhouse(config);
    const { port } = await keyhouse.start();
    apps.push({ keyhouse, url: `http://127.0.0.1:${port}` });
  }
  return {
    slack,
    apps,
    namespace,
    user: (userId, appIndex = 0) => new SlackUser((apps[appIndex] ?? apps[0])!.url, slack, userId),
    client: (userId, appIndex = 0) => new SlackClientOf((apps[appIndex] ?? apps[0])!.url, userId),
    async stop() {
      await slack.settle();
      for (const app of apps) await app.keyhouse.stop();
      await slack.stop();
    },
  };
}
