import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
// Bolt's own modules rather than its index, which also loads the Express and AWS Lambda receivers
// Keyhouse does not use (about 120 modules and 6 MiB resident).
import App from '@slack/bolt/dist/App';
import HTTPReceiver from '@slack/bolt/dist/receivers/HTTPReceiver';
import SocketModeReceiver from '@slack/bolt/dist/receivers/SocketModeReceiver';
import { LogLevel } from '@slack/logger';
import { WebClient, type WebClientOptions } from '@slack/web-api';
import type { Config } from './config';
import { createDomain, type Domain } from './domain';
import { allIdle, drainable, WorkInFlight } from './drain';
import type { PendingIndex } from './domain/model';
import type { DocumentStore } from './domain/storage';
import { documentKeys } from './domain/workspaces';
import { createHttpServer, type HttpRoutesOptions } from './http/server';
import { createLogger, type KeyhouseLogger } from './observability/logger';
import { Metrics } from './observability/metrics';
import { observeSlackRequests } from './observability/slackRequests';
import { registerListeners } from './slack/listeners';
import { ON_CALL_CLIENT_OPTIONS, onCallMembersFrom } from './slack/onCallGroup';
import { runSweeps, type SweepResult } from './slack/sweeps';
import { createDocumentStore } from './store/keyvStore';
import { describeRedisTarget } from './store/redisClients';

/** Keyhouse assembled: store, domain, Slack app and HTTP server, started and stopped together. */
export interface Keyhouse {
  domain: Domain;
  store: DocumentStore;
  /** The app's logger (also Bolt's) and its metrics, served at GET /metrics. */
  logger: KeyhouseLogger;
  metrics: Metrics;
  /**
   * Closes key requests whose time is up, sends the reminders due and tells owners of expiring keys
   * (run by `start` every minute, or more often for a short REMINDER_AFTER).
   */
  sweep(now?: Date): Promise<SweepResult>;
  /**
   * Checks the Slack tokens, starts listening on `config.port` (0 picks a free port) and, in Socket
   * Mode, connects to Slack. A token Slack rejects fails with a StartupError; what is only unreachable
   * for now (Slack, storage) comes back as one-line warnings and the app runs on.
   */
  start(): Promise<{ port: number; warnings: string[] }>;
  /**
   * Stops gracefully: refuses new connections (and Socket Mode events), lets the requests, Slack
   * handlers and sweep under way finish for up to `graceMs`, cuts what is left, frees the locks still
   * held and closes the store. Answers how many were cut.
   */
  stop(graceMs?: number): Promise<{ cut: number }>;
}

/** How long a stop waits for the work under way (Slack wants every answer within 3 s anyway). */
export const STOP_GRACE_MS = 10_000;

/**
 * How often the sweep runs: every minute, or often enough that a reminder is never late by more than
 * half of REMINDER_AFTER.
 */
export const sweepIntervalMs = (reminderAfterMs: number): number =>
  Math.min(60_000, Math.max(250, Math.floor(reminderAfterMs / 2)));
const SOCKET_RETRY_MS = 30_000;
const SOCKET_WAIT_MS = 10_000;
const CHECK_TIMEOUT_MS = 5_000;

/** Start-up cannot go on; the message is one line naming the setting at fault. */
export class StartupError extends Error {}

/** Slack's answers that mean the token itself is bad, not that Slack is away. */
const REJECTED = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'user_removed_from_team',
  'team_disabled',
]);

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Slack's error code when Slack answered with one (`invalid_auth`…), else undefined. */
const slackError = (error: unknown): string | undefined => {
  const data = (error as { code?: string; data?: { error?: unknown } }).data;
  return (error as { code?: string }).code === 'slack_webapi_platform_error' &&
    typeof data?.error === 'string'
    ? data.error
    : undefined;
};

/**
 * Asks Slack whether `token` (the setting `name`) is good: once, without retries, within a few seconds.
 * A rejected token throws a StartupError; an unreachable Slack returns a warning.
 */
async function checkToken(
  name: string,
  token: string,
  clientOptions: WebClientOptions,
  call: (client: WebClient) => Promise<unknown>,
): Promise<string | undefined> {
  const client = new WebClient(token, {
    ...clientOptions,
    logger: createLogger({ level: LogLevel.ERROR, write: () => undefined }),
    logLevel: LogLevel.ERROR,
    retryConfig: { retries: 0 },
    timeout: CHECK_TIMEOUT_MS,
  });
  try {
    await call(client);
    return undefined;
  } catch (error) {
    const code = slackError(error);
    if (code && REJECTED.has(code)) {
      throw new StartupError(
        `${name} was rejected by Slack (${code}): set it to a current token of your Slack app`,
      );
    }
    return `Slack could not check ${name} (${code ?? describe(error)}): starting anyway, Slack calls will fail until it answers`;
  }
}

/** Where the store lives, said without credentials. */
const storageName = (config: Config): string => {
  if (config.redisCluster) return describeRedisTarget({ kind: 'cluster', nodes: config.redisCluster });
  if (config.redisSentinel) return describeRedisTarget({ kind: 'sentinel', ...config.redisSentinel });
  if (!config.redisUrl) return `embedded store in ${config.dataDir}`;
  return describeRedisTarget({ kind: 'server', url: config.redisUrl });
};

const within = <T>(promise: Promise<T>, ms: number): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
};

const LOG_LEVELS = { debug: LogLevel.DEBUG, info: LogLevel.INFO, warn: LogLevel.WARN, error: LogLevel.ERROR };

export interface KeyhouseOptions {
  /** Wraps the store every part uses (tests count round trips through it). */
  wrapStore?: (store: DocumentStore) => DocumentStore;
  /** The process's logger, when its start-up lines are written before the app is made. */
  logger?: KeyhouseLogger;
}

export function createKeyhouse(config: Config, options: KeyhouseOptions = {}): Keyhouse {
  const metrics = new Metrics();
  const backend = createDocumentStore({
    dataDir: config.dataDir,
    namespace: config.storeNamespace,
    metrics,
    ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
    ...(config.redisCluster ? { redisCluster: config.redisCluster } : {}),
    ...(config.redisSentinel ? { redisSentinel: config.redisSentinel } : {}),
  });
  const store = options.wrapStore ? options.wrapStore(backend) : backend;
  const logLevel = LOG_LEVELS[config.logLevel];
  const logger = options.logger ?? createLogger({ level: logLevel, format: config.logFormat });
  metrics.countPendingWith(
    async () => (await store.get<PendingIndex>(documentKeys.pendingIndex()))?.requests.length ?? 0,
  );
  const domain = createDomain(store, {
    configuredOwners: config.orgOwners,
    approvalTtlMs: config.approvalTtlMs,
    reminderAfterMs: config.reminderAfterMs,
    onBackgroundError: (what, error) =>
      logger.warn(`${what} failed, to be repaired later: ${describe(error)}`),
    // Break-glass asks Slack who is on call, with a client of its own made below.
    onCallMembers: onCallMembersFrom(() => onCallClient),
  });
  const clientOptions = config.slackApiUrl ? { slackApiUrl: config.slackApiUrl } : {};

  // The bot's identity (auth.test) is asked once, at start or on the first event if Slack was away
  // then. Bolt's own `token` option would ask in its constructor, where a rejected token becomes an
  // unhandled rejection that stops the process after it said it was running.
  let identity: Promise<{ botId?: string; botUserId?: string }> | undefined;
  // The app's own calls (sweeps, direct messages) go out with the bot token.
  const botClient = new WebClient(config.slackBotToken, { ...clientOptions, logger, logLevel });
  // Who is on call is asked apart: one try within a form's time, never queued behind a rate limit.
  const onCallClient = new WebClient(config.slackBotToken, {
    ...clientOptions,
    logger,
    logLevel,
    ...ON_CALL_CLIENT_OPTIONS,
  });
  const whoAmI = () =>
    (identity ??= botClient.auth.test().then(
      (answer) => ({
        ...(answer.bot_id ? { botId: answer.bot_id } : {}),
        ...(answer.user_id ? { botUserId: answer.user_id } : {}),
      }),
      (error: unknown) => {
        identity = undefined;
        throw error;
      },
    ));
  const authorize = async () => ({ botToken: config.slackBotToken, ...(await whoAmI()) });

  // No conversation store (convoStore: false): Keyhouse keeps no per-conversation state in Bolt, and the
  // store's middleware would run on every request.
  let app: App;
  let slackListener: HttpRoutesOptions['slack'];
  if (config.slackAppToken) {
    // The Socket Mode client takes its API URL from installerOptions, not from the app's clientOptions.
    const receiver = new SocketModeReceiver({
      appToken: config.slackAppToken,
      logger,
      logLevel,
      installerOptions: { clientOptions },
    });
    app = new App({ authorize, receiver, clientOptions, logger, logLevel, convoStore: false });
  } else {
    const receiver = new HTTPReceiver({ signingSecret: config.slackSigningSecret ?? '', logger });
    app = new App({ authorize, receiver, clientOptions, logger, logLevel, convoStore: false });
    slackListener = receiver.requestListener;
  }
  app.client = botClient;
  const server: Server = createHttpServer({
    store,
    delivery: domain.delivery,
    logger,
    metrics,
    ...(config.metricsToken ? { metricsToken: config.metricsToken } : {}),
    keyLimits: config.keyLimits,
    trustProxy: config.trustProxy,
    ...(slackListener ? { slack: slackListener } : {}),
  });
  // First of all middleware: each request's log line, log fields and metrics.
  app.use(observeSlackRequests(logger, metrics));
  const http = drainable(server);
  // A Slack handler runs on after its ack (a command answers through response_url): a stop waits for it.
  const handlers = new WorkInFlight();
  app.use(({ next }) => handlers.run(next));
  const sweeps = new WorkInFlight();
  registerListeners(app, domain, config.publicUrl);
  const sweep = (now?: Date) => metrics.sweep(runSweeps(app.client, domain, now));
  let sweeper: NodeJS.Timeout | undefined;
  let socketRetry: NodeJS.Timeout | undefined;
  let stopping = false;

  /** Socket Mode: connects, and while Slack cannot be reached, tries again every 30 s. */
  const retrySocket = (error: unknown) => {
    logger.warn(
      `Socket Mode could not connect to Slack (${slackError(error) ?? describe(error)}): trying again in ${SOCKET_RETRY_MS / 1000} s`,
    );
    socketRetry = setTimeout(() => {
      socketRetry = undefined;
      if (!stopping) app.start().then(() => logger.info('Socket Mode connected to Slack'), retrySocket);
    }, SOCKET_RETRY_MS);
    socketRetry.unref();
  };

  /**
   * Socket Mode: connects; a rejected app token stops start-up, and a Slack that does not answer within
   * a few seconds is a warning while the connection goes on trying in the background.
   */
  const connectSocket = async (warnings: string[]): Promise<void> => {
    const connecting = app.start().then(
      () => ({ connected: true as const }),
      (error: unknown) => ({ connected: false as const, error }),
    );
    const first = await within(connecting, SOCKET_WAIT_MS).catch(() => undefined);
    if (first === undefined) {
      warnings.push(
        `Socket Mode is still connecting to Slack after ${SOCKET_WAIT_MS / 1000} s: Slack events arrive once it does`,
      );
      void connecting.then((later) => {
        if (!later.connected) retrySocket(later.error);
      });
      return;
    }
    if (first.connected) return;
    const code = slackError(first.error);
    if (code && REJECTED.has(code)) {
      throw new StartupError(
        `SLACK_APP_TOKEN was rejected by Slack (${code}): set it to a current app-level token`,
      );
    }
    warnings.push(
      `Socket Mode could not connect to Slack (${code ?? describe(first.error)}): trying again every ${SOCKET_RETRY_MS / 1000} s`,
    );
    socketRetry = setTimeout(() => {
      socketRetry = undefined;
      if (!stopping) app.start().then(() => logger.info('Socket Mode connected to Slack'), retrySocket);
    }, SOCKET_RETRY_MS);
    socketRetry.unref();
  };

  return {
    domain,
    store,
    logger,
    metrics,
    async start() {
      // First: another process on the same DATA_DIR stops this one before it says anything else.
      await backend.open();
      const warnings: string[] = [];
      const botCheck = await checkToken('SLACK_BOT_TOKEN', config.slackBotToken, clientOptions, async (c) => {
        const answer = await c.auth.test();
        identity ??= Promise.resolve({
          ...(answer.bot_id ? { botId: answer.bot_id } : {}),
          ...(answer.user_id ? { botUserId: answer.user_id } : {}),
        });
      });
      if (botCheck) warnings.push(botCheck);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, () => resolve());
      });
      if (config.slackAppToken) await connectSocket(warnings);
      try {
        await within(store.ping(), 3_000);
        // The deployment's key-set signing key: read, or made once (under a lock) at the first start.
        await within(domain.signingKey.get(), 3_000);
      } catch {
        warnings.push(
          `Storage is not reachable yet (${storageName(config)}): /readyz answers 503 until it does`,
        );
      }
      // One sweep at a time in this process: a slow one is not stacked under the next tick.
      let sweeping = false;
      sweeper = setInterval(() => {
        if (sweeping) return;
        sweeping = true;
        sweeps
          .run(() => sweep())
          .catch((error: unknown) =>
            logger.warn(`the periodic sweep failed: ${error instanceof Error ? error.message : 'unknown'}`),
          )
          .finally(() => (sweeping = false));
      }, sweepIntervalMs(config.reminderAfterMs));
      sweeper.unref();
      return { port: (server.address() as AddressInfo).port, warnings };
    },
    sweep,
    async stop(graceMs = STOP_GRACE_MS) {
      const deadline = Date.now() + graceMs;
      stopping = true;
      clearInterval(sweeper);
      clearTimeout(socketRetry);
      // No new connections nor Socket Mode events; what was received is finished, until the deadline.
      const [closed] = await Promise.all([
        http.close(deadline),
        config.slackAppToken
          ? within(app.stop(), Math.max(0, deadline - Date.now())).catch(() => undefined)
          : undefined,
      ]);
      await allIdle([http.requests, handlers, sweeps], deadline);
      // The HTTP requests still open at the deadline were cut with their connections: counted then.
      const cut = closed.cut + handlers.size + sweeps.size;
      await store.close();
      return { cut };
    },
  };
}
