import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '@slack/logger';
import type { KeyLimits } from '../config';
import {
  type CheckIn,
  type DeliveryService,
  isWellFormedProjectId,
  isWellFormedToken,
  Unauthorized,
  validateCheckIn,
} from '../domain/delivery';
import { isDomainError } from '../domain/errors';
import type { DocumentStore } from '../domain/storage';
import type { Metrics } from '../observability/metrics';
import { clientAddress, KeyRouteLimits, type Refusal } from './limits';

/**
 * Keyhouse's HTTP server: key delivery and health routes in every mode, and Slack's events endpoint
 * in HTTP mode. One server on PORT whatever the Slack transport, so instances and probes always find it.
 *
 * Every request gets an answer and none can stop the process: a wrong method is a 405, a request
 * target that cannot be parsed a 400, a protocol error a 4xx written on the socket, and anything
 * unexpected a 500 with one log line.
 */
export interface HttpRoutesOptions {
  store: DocumentStore;
  delivery: DeliveryService;
  logger: Logger;
  /** Served at GET /metrics (behind `metricsToken` when set); the key route counts its answers in it. */
  metrics: Metrics;
  metricsToken?: string;
  keyLimits: KeyLimits;
  /** Take the client address from X-Forwarded-For (set when a proxy stands in front). */
  trustProxy?: boolean;
  /** Slack's request handler (HTTP mode only). */
  slack?: RequestListener;
  /** How long a client may take to send its headers, and its whole request (default 10 s each). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
}

const ORIGIN = 'http://keyhouse.invalid';
const AUTHORIZED_KEYS = /^\/v1\/projects\/([^/]+)\/authorized_keys$/;
/** A key-route target with nothing to normalize: what parseTarget would read the same way. */
const PLAIN_KEYS_TARGET = /^\/v1\/projects\/([A-Za-z0-9-]{1,64})\/authorized_keys(?:\?([^#]*))?$/;
const READ_METHODS = 'GET, HEAD';
/** The allowed_signers line that verifies every key set's Keyhouse-Signature (no token needed). */
const SIGNING_KEY_PATH = '/v1/signing-key';
const AGENT_PATH = '/v1/agent';
const METRICS_PATH = '/metrics';

/** The agent instances install as sshd's AuthorizedKeysCommand, served as the repository holds it. */
let agentScript: string | undefined;
const agent = (): string =>
  (agentScript ??= readFileSync(join(__dirname, '..', '..', 'contrib', 'keyhouse-keys'), 'utf8'));
/** The rate limits' window: a flood of refusals is told once per window. */
const LOG_WINDOW_MS = 60_000;
/** Refusals that cost no storage (malformed input, a malformed or wrong token, an unknown path). */
const FREE_REFUSALS = new Set([400, 401, 404]);

/** The request target as a URL, or undefined when it is not a path (or an absolute http URL). */
export function parseTarget(target: string | undefined): URL | undefined {
  if (!target) return undefined;
  try {
    let url: URL;
    if (target.startsWith('/') && !target.startsWith('//')) url = new URL(target, ORIGIN);
    else if (/^https?:\/\/[^/]/i.test(target)) url = new URL(target);
    else return undefined;
    decodeURIComponent(url.pathname); // a broken %-escape is a broken target
    return url;
  } catch {
    return undefined;
  }
}

/** What may appear of a path in a log line: no query, no token, not too much. */
const loggable = (path: string): string =>
  path
    .replace(/khk_[A-Za-z0-9_-]*/g, 'khk_…')
    .replace(/xox[a-z]-[A-Za-z0-9-]*/g, 'xox…')
    .slice(0, 200);

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function bearer(req: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

export function createHttpServer(options: HttpRoutesOptions): Server {
  const { store, delivery, logger, metrics, slack } = options;
  const trustProxy = options.trustProxy ?? false;
  const limits = new KeyRouteLimits(store, options.keyLimits, (error) =>
    logger.warn(`key route: the rate-limit counter failed, letting the request through: ${describe(error)}`),
  );

  const where = (req: IncomingMessage, path: string) =>
    `${req.method ?? '?'} ${loggable(path)} from ${clientAddress(req, trustProxy)}`;

  /**
   * Until when a repeated warning (429s from one client address, refused registrations in one project)
   * is quiet, so a flood of them is one warning a minute, not one per request.
   */
  const warned = new Map<string, number>();
  const firstInWindow = (about: string, now = Date.now()): boolean => {
    const until = warned.get(about);
    if (until !== undefined && until > now) return false;
    if (warned.size >= 10_000) warned.clear();
    warned.set(about, now + LOG_WINDOW_MS);
    return true;
  };

  /**
   * Answers a 4xx with one log line. What costs nothing to refuse (malformed input, a malformed or
   * wrong token, an unknown path: scanners send them by the thousand) is logged at debug; a 429 is a
   * warning once a minute per client address; anything else a warning.
   */
  const refuse = (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ) => {
    const line = `refused ${status}: ${where(req, path)}: ${body.trim()}`;
    if (FREE_REFUSALS.has(status)) logger.debug(line);
    else if (status !== 429) logger.warn(line);
    else if (firstInWindow(`429 ${clientAddress(req, trustProxy)}`)) {
      logger.warn(`${line} (more from this address in the next minute are logged at debug)`);
    } else logger.debug(line);
    send(res, status, body, headers);
  };

  const tooMany = (req: IncomingMessage, res: ServerResponse, path: string, refusal: Refusal) =>
    refuse(req, res, path, 429, `${refusal.message}: try again in ${refusal.retryAfter} s\n`, {
      'retry-after': String(refusal.retryAfter),
    });

  /** The key route, its answer counted by status and timed. */
  const serveAuthorizedKeys = (...args: Parameters<typeof answerAuthorizedKeys>) =>
    metrics.keyDelivery(args[1], answerAuthorizedKeys(...args));

  async function answerAuthorizedKeys(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    projectId: string,
    query: URLSearchParams,
  ): Promise<void> {
    const address = clientAddress(req, trustProxy);
    const blocked = limits.blockedAddress(address);
    if (blocked) return tooMany(req, res, path, blocked);

    const instance = query.get('instance') ?? undefined;
    const zone = query.get('zone') ?? undefined;
    if (zone !== undefined && instance === undefined) {
      return refuse(req, res, path, 400, 'zone needs instance: use ?instance=<name>&zone=<zone>\n');
    }
    let checkIn: CheckIn | undefined;
    try {
      checkIn =
        instance !== undefined
          ? validateCheckIn({ instance, ...(zone !== undefined ? { zone } : {}) })
          : undefined;
    } catch (error) {
      if (isDomainError(error)) return refuse(req, res, path, 400, `${error.message.replace(/`/g, '')}\n`);
      throw error;
    }
    const unauthorized = () =>
      refuse(req, res, path, 401, 'unauthorized\n', { 'www-authenticate': 'Bearer realm="keyhouse"' });

    // What cannot be a token or a project costs nothing: no count, no read.
    const token = bearer(req);
    if (!isWellFormedToken(token) || !isWellFormedProjectId(projectId)) return unauthorized();

    const counted = limits.perAddress(address); // far from the limit, counted in memory: no await
    const overAddress = counted instanceof Promise ? await counted : counted;
    if (overAddress) return tooMany(req, res, path, overAddress);
    try {
      const caller = await delivery.authenticate(projectId, token);
      const countedProject = limits.perProject(caller.projectId);
      const overProject = countedProject instanceof Promise ? await countedProject : countedProject;
      if (overProject) return tooMany(req, res, path, overProject);
      const keys = await delivery.serve(caller, checkIn, {
        registrationsPerToken: options.keyLimits.registrationsPerToken,
      });
      const headers: Record<string, string> = {
        etag: keys.etag,
        'x-keyhouse-keys': String(keys.count),
        'keyhouse-signature': keys.signature,
      };
      if (keys.registration?.outcome === 'refused') {
        headers['x-keyhouse-registration'] = `refused: ${keys.registration.message}`;
        (firstInWindow(`registration ${caller.projectId}`) ? logger.warn : logger.debug)(
          `instance not registered in project ${caller.projectId} (${keys.registration.reason}): ${keys.registration.message}`,
        );
      }
      const known = (req.headers['if-none-match'] ?? '').split(',').map((tag) => tag.trim());
      if (known.includes(keys.etag)) {
        res.writeHead(304, { ...headers, 'cache-control': 'no-store' });
        res.end();
        return;
      }
      send(res, 200, keys.body, headers);
    } catch (error) {
      if (error instanceof Unauthorized) {
        const over = await limits.failure(address);
        return over ? tooMany(req, res, path, over) : unauthorized();
      }
      if (isDomainError(error) && (error.code === 'storage_unavailable' || error.code === 'busy')) {
        logger.error(`key route answered 503: ${where(req, path)}: ${error.message}`);
        send(res, 503, 'storage unavailable, try again\n', { 'retry-after': '5' });
        return;
      }
      throw error;
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Every login of the fleet comes here: a plain key-route target skips the general parse below.
    const plain = (req.method === 'GET' || req.method === 'HEAD') && PLAIN_KEYS_TARGET.exec(req.url ?? '');
    if (plain) {
      const projectId = plain[1] ?? '';
      const path = `/v1/projects/${projectId}/authorized_keys`;
      return serveAuthorizedKeys(req, res, path, projectId, new URLSearchParams(plain[2] ?? ''));
    }
    const url = parseTarget(req.url);
    if (!url) {
      return refuse(req, res, '(unparsable target)', 400, 'bad request target\n', { connection: 'close' });
    }
    const path = url.pathname;
    const method = req.method ?? '';
    if (path === '/slack/events') {
      if (!slack) {
        // Socket Mode: events come over the WebSocket, no method is served here.
        return refuse(
          req,
          res,
          path,
          405,
          'method not allowed: this app receives Slack events over Socket Mode\n',
          {
            allow: '',
          },
        );
      }
      if (method !== 'POST') {
        return refuse(req, res, path, 405, 'method not allowed: Slack posts here\n', { allow: 'POST' });
      }
      slack(req, res);
      return;
    }
    const keysRoute = AUTHORIZED_KEYS.exec(path);
    const known =
      keysRoute !== null ||
      path === '/healthz' ||
      path === '/readyz' ||
      path === SIGNING_KEY_PATH ||
      path === AGENT_PATH ||
      path === METRICS_PATH;
    if (!known) return refuse(req, res, path, 404, 'not found\n');
    if (method !== 'GET' && method !== 'HEAD') {
      return refuse(req, res, path, 405, 'method not allowed\n', { allow: READ_METHODS });
    }
    if (keysRoute) return serveAuthorizedKeys(req, res, path, keysRoute[1] ?? '', url.searchParams);
    if (path === '/healthz') return send(res, 200, 'ok\n');
    if (path === METRICS_PATH) {
      const scrape = await metrics.scrape(req.headers.authorization, options.metricsToken);
      if (scrape.status !== 200) {
        return refuse(req, res, path, scrape.status, scrape.body, {
          'www-authenticate': 'Bearer realm="keyhouse"',
        });
      }
      return send(res, 200, scrape.body, { 'content-type': scrape.contentType });
    }
    if (path === AGENT_PATH)
      return send(res, 200, agent(), { 'content-type': 'text/x-shellscript; charset=utf-8' });
    if (path === SIGNING_KEY_PATH) {
      try {
        const signingKey = await delivery.keySets.signingKey.get();
        return send(res, 200, `${signingKey.allowedSigners}\n`);
      } catch {
        return send(res, 503, 'storage unavailable, try again\n', { 'retry-after': '5' });
      }
    }
    try {
      await store.ping();
      send(res, 200, 'ready\n');
    } catch {
      send(res, 503, 'storage unavailable\n');
    }
  }

  const server = createServer(
    {
      headersTimeout: options.headersTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 10_000,
      // How often the timeouts above are checked (Node's default is every 30 s).
      connectionsCheckingInterval: Math.min(1_000, options.headersTimeoutMs ?? 1_000),
    },
    (req, res) => {
      const failed = (error: unknown) => {
        logger.error(
          `request failed with 500: ${req.method ?? '?'} ${loggable(req.url?.split('?')[0] ?? '')}: ${describe(error)}`,
        );
        if (!res.headersSent) send(res, 500, 'internal error\n', { connection: 'close' });
        else res.destroy();
      };
      try {
        route(req, res).catch(failed);
      } catch (error) {
        failed(error);
      }
    },
  );
  // Protocol errors (garbage, headers too large, too slow) never reach the handler: answer on the socket.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const pending = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
      socket.destroy();
      return;
    }
    const status =
      error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    logger.debug(`refused ${status}: malformed or slow request (${error.code ?? error.message})`);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
      () => socket.destroy(),
    );
  });
  return server;
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));
