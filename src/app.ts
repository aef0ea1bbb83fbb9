import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { App, HTTPReceiver, LogLevel, SocketModeReceiver } from '@slack/bolt';
import { createLogger } from './logger';
import type { Config } from './config';
import { createDomain, type Domain } from './domain';
import type { DocumentStore } from './domain/storage';
import { createHttpServer } from './http/server';
import { registerListeners } from './slack/listeners';
import { runSweeps, type SweepResult } from './slack/sweeps';
import { createDocumentStore } from './store/keyvStore';

/** Keyhouse assembled: store, domain, Slack app and HTTP server, started and stopped together. */
export interface Keyhouse {
  domain: Domain;
  store: DocumentStore;
  /** Closes key requests whose time is up and tells owners of expiring keys (run every minute by `start`). */
  sweep(now?: Date): Promise<SweepResult>;
  /** Starts listening on `config.port` (0 picks a free port) and, in Socket Mode, connects to Slack. */
  start(): Promise<{ port: number }>;
  stop(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 60_000;

const LOG_LEVELS = { debug: LogLevel.DEBUG, info: LogLevel.INFO, warn: LogLevel.WARN, error: LogLevel.ERROR };

export function createKeyhouse(config: Config): Keyhouse {
  const store = createDocumentStore({
    dataDir: config.dataDir,
    namespace: config.storeNamespace,
    ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
  });
  const domain = createDomain(store, {
    configuredOwners: config.orgOwners,
    approvalTtlMs: config.approvalTtlMs,
  });
  const clientOptions = config.slackApiUrl ? { slackApiUrl: config.slackApiUrl } : {};
  const logLevel = LOG_LEVELS[config.logLevel];
  const logger = createLogger(logLevel);

  let app: App;
  let server: Server;
  if (config.slackAppToken) {
    // The Socket Mode client takes its API URL from installerOptions, not from the app's clientOptions.
    const receiver = new SocketModeReceiver({
      appToken: config.slackAppToken,
      logger,
      logLevel,
      installerOptions: { clientOptions },
    });
    app = new App({ token: config.slackBotToken, receiver, clientOptions, logger, logLevel });
    server = createHttpServer({ store, delivery: domain.delivery });
  } else {
    const receiver = new HTTPReceiver({ signingSecret: config.slackSigningSecret ?? '', logger });
    app = new App({ token: config.slackBotToken, receiver, clientOptions, logger, logLevel });
    server = createHttpServer({ store, delivery: domain.delivery, slack: receiver.requestListener });
  }
  registerListeners(app, domain, config.publicUrl);
  const sweep = (now?: Date) => runSweeps(app.client, domain, now);
  let sweeper: NodeJS.Timeout | undefined;

  return {
    domain,
    store,
    async start() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, () => resolve());
      });
      if (config.slackAppToken) await app.start();
      sweeper = setInterval(() => {
        sweep().catch((error: unknown) =>
          logger.warn(`the periodic sweep failed: ${error instanceof Error ? error.message : 'unknown'}`),
        );
      }, SWEEP_INTERVAL_MS);
      sweeper.unref();
      return { port: (server.address() as AddressInfo).port };
    },
    sweep,
    async stop() {
      clearInterval(sweeper);
      if (config.slackAppToken) await app.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
}
