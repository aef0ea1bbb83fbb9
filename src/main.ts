import 'dotenv/config';
import { constants } from 'node:os';
import { createKeyhouse, StartupError, STOP_GRACE_MS } from './app';
import { ConfigError, loadConfig } from './config';
import { createLogger, type KeyhouseLogger, routeConsole } from './observability/logger';

/**
 * Everything the process says is a log line (JSON by default, LOG_FORMAT=pretty for people) on
 * standard error. A setting that stops start-up is one too: in the format LOG_FORMAT names, or JSON
 * when that setting is itself unset or bad.
 */
let logger: KeyhouseLogger | undefined;

/** The logger for a refusal written before the settings are read. */
const earlyLogger = (): KeyhouseLogger =>
  createLogger({ level: 'error', format: process.env.LOG_FORMAT === 'pretty' ? 'pretty' : 'json' });

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      earlyLogger().error(`Keyhouse cannot start: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const log = (logger = createLogger({ level: config.logLevel, format: config.logFormat }));
  // What libraries print with console (node-redis does, while Sentinel is away) becomes log lines too.
  routeConsole(log);
  if (config.orgOwners.length === 0) {
    log.warn(
      'ORG_OWNERS is empty: nobody can change organization settings or create projects until it is set.',
    );
  }
  // A stray rejection is logged in one line; it must not take every other request down with it.
  process.on('unhandledRejection', (reason: unknown) => {
    log.error(`unhandled rejection: ${reason instanceof Error ? reason.message : String(reason)}`);
  });
  const keyhouse = createKeyhouse(config, { logger: log });
  let started;
  try {
    started = await keyhouse.start();
  } catch (error) {
    if (error instanceof StartupError) {
      log.error(`Keyhouse cannot start: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const { port, warnings } = started;
  for (const warning of warnings) log.warn(warning);
  const mode = config.slackAppToken ? 'Socket Mode' : 'HTTP mode (POST /slack/events)';
  const storage = config.redisCluster
    ? 'Redis Cluster'
    : config.redisSentinel
      ? 'Redis through Sentinel'
      : config.redisUrl
        ? 'Redis'
        : `embedded store in ${config.dataDir}`;
  log.notice(`Keyhouse is running: ${mode}, ${storage}, HTTP on port ${port}.`);

  // SIGTERM (a supervisor) or SIGINT (Ctrl-C): stop taking work, finish what is under way, exit 0. A
  // second signal means "now": exit at once, as the signal's default would (128 + its number). One that
  // comes within a second of the first is the same stop: Ctrl-C under `npm start` reaches Keyhouse from
  // the terminal and again from npm, which passes signals on.
  let stoppingSince: number | undefined;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince < 1_000) return;
      log.warn(`${signal} received again: exiting now, without finishing the work under way.`);
      process.exit(128 + constants.signals[signal]);
    }
    stoppingSince = Date.now();
    log.notice(
      `${signal} received: stopping. New connections are refused; the work under way gets up to ${STOP_GRACE_MS / 1000} s to finish.`,
    );
    keyhouse.stop().then(
      ({ cut }) => {
        log.notice(
          cut === 0
            ? 'Keyhouse stopped: all work under way was finished.'
            : `Keyhouse stopped: ${cut} request${cut === 1 ? '' : 's'} still running after ${STOP_GRACE_MS / 1000} s ${cut === 1 ? 'was' : 'were'} cut off.`,
        );
        process.exit(0);
      },
      (error: unknown) => {
        log.error(`Keyhouse did not stop cleanly: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

// Anything that ends main() ends start-up: it is said in one line, like a bad setting.
main().catch((error: unknown) => {
  const line = `Keyhouse cannot start: ${error instanceof Error ? error.message : String(error)}`;
  (logger ?? earlyLogger()).error(line);
  process.exit(1);
});
