import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { DocumentStore } from '../domain/storage';

/**
 * Keyhouse's HTTP server: health routes in every mode, and Slack's events endpoint in HTTP mode.
 * One server on PORT whatever the Slack transport, so instances and probes always find it.
 */
export interface HttpRoutesOptions {
  store: DocumentStore;
  /** Slack's request handler (HTTP mode only). */
  slack?: RequestListener;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

export function createHttpServer({ store, slack }: HttpRoutesOptions): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/slack/events' && slack) {
      slack(req, res);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
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
