import 'dotenv/config';
import { createKeyhouse, StartupError } from './app';
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
  // A stray rejection is logged in one line; it must not take every other request down with it.
  process.on('unhandledRejection', (reason: unknown) => {
    console.error(
      `[ERROR] keyhouse unhandled rejection: ${reason instanceof Error ? reason.message : String(reason)}`,
    );
  });
  const keyhouse = createKeyhouse(config);
  let started;
  try {
    started = await keyhouse.start();
  } catch (error) {
    if (error instanceof StartupError) {
      console.error(`Keyhouse cannot start: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const { port, warnings } = started;
  for (const warning of warnings) console.warn(warning);
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

// Anything that ends main() ends start-up: it is said in one line, like a bad setting.
main().catch((error: unknown) => {
  console.error(`Keyhouse cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
