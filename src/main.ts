import 'dotenv/config';
import { createKeyhouse } from './app';
import { ConfigError, loadConfig } from './config';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`Keyhouse cannot start: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  if (config.orgOwners.length === 0) {
    console.warn(
      'ORG_OWNERS is empty: nobody can change organization settings or create projects until it is set.',
    );
  }
  const keyhouse = createKeyhouse(config);
  const { port } = await keyhouse.start();
  const mode = config.slackAppToken ? 'Socket Mode' : 'HTTP mode (POST /slack/events)';
  const storage = config.redisUrl ? 'Redis' : `embedded store in ${config.dataDir}`;
  console.log(`Keyhouse is running: ${mode}, ${storage}, HTTP on port ${port}.`);

  const shutdown = (signal: string) => {
    console.log(`${signal} received, stopping.`);
    keyhouse.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(`Keyhouse stopped: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
