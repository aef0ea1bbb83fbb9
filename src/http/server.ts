import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import { type DeliveryService, Unauthorized } from '../domain/delivery';
import { isDomainError } from '../domain/errors';
import type { DocumentStore } from '../domain/storage';

/**
 * Keyhouse's HTTP server: key delivery and health routes in every mode, and Slack's events endpoint
 * in HTTP mode. One server on PORT whatever the Slack transport, so instances and probes always find it.
 */
export interface HttpRoutesOptions {
  store: DocumentStore;
  delivery: DeliveryService;
  /** Slack's request handler (HTTP mode only). */
  slack?: RequestListener;
}

const AUTHORIZED_KEYS = /^\/v1\/projects\/([^/]+)\/authorized_keys$/;

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

async function serveAuthorizedKeys(
  req: IncomingMessage,
  res: ServerResponse,
  delivery: DeliveryService,
  projectId: string,
  query: URLSearchParams,
): Promise<void> {
  const instance = query.get('instance') ?? undefined;
  const zone = query.get('zone') ?? undefined;
  if (zone !== undefined && instance === undefined) {
    send(res, 400, 'zone needs instance: use ?instance=<name>&zone=<zone>\n');
    return;
  }
  try {
    const keys = await delivery.authorizedKeys(
      projectId,
      bearer(req),
      instance !== undefined ? { instance, ...(zone !== undefined ? { zone } : {}) } : undefined,
    );
    const headers = { etag: keys.etag, 'x-keyhouse-keys': String(keys.count) };
    const known = (req.headers['if-none-match'] ?? '').split(',').map((tag) => tag.trim());
    if (known.includes(keys.etag)) {
      res.writeHead(304, { ...headers, 'cache-control': 'no-store' });
      res.end();
      return;
    }
    send(res, 200, keys.body, headers);
  } catch (error) {
    if (error instanceof Unauthorized) {
      send(res, 401, 'unauthorized\n', { 'www-authenticate': 'Bearer realm="keyhouse"' });
    } else if (isDomainError(error) && error.code === 'invalid_input') {
      send(res, 400, `${error.message.replace(/`/g, '')}\n`);
    } else {
      send(res, 503, 'storage unavailable, try again\n', { 'retry-after': '5' });
    }
  }
}

export function createHttpServer({ store, delivery, slack }: HttpRoutesOptions): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://keyhouse.invalid');
    const path = url.pathname;
    if (path === '/slack/events' && slack) {
      slack(req, res);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    const keysRoute = AUTHORIZED_KEYS.exec(path);
    if (keysRoute) {
      void serveAuthorizedKeys(req, res, delivery, keysRoute[1] ?? '', url.searchParams);
      return;
    }
    if (path === '/healthz') {
      send(res, 200, 'ok\n');
      return;
    }
    if (path === '/readyz') {
      store.ping().then(
        () => send(res, 200, 'ready\n'),
        () => send(res, 503, 'storage unavailable\n'),
      );
      return;
    }
    send(res, 404, 'not found\n');
  });
}
