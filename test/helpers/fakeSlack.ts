import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { lintCall } from './slackLint';

/**
 * A local stand-in for Slack's servers: the Web API (reached through SLACK_API_URL) and response_url.
 * It records every call, so tests assert on what the app sent, as a user would see it.
 */
export interface RecordedCall {
  /** Web API method (`chat.postMessage`) or `respond` for response_url posts. */
  method: string;
  /** The request path: for response_url posts, which response URL was used. */
  path: string;
  body: Record<string, unknown>;
}

const JSON_FIELDS = ['blocks', 'view', 'attachments'];

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if (!raw) return {};
  if ((req.headers['content-type'] ?? '').includes('application/json'))
    return JSON.parse(raw) as Record<string, unknown>;
  const body: Record<string, unknown> = Object.fromEntries(new URLSearchParams(raw));
  for (const field of JSON_FIELDS) {
    if (typeof body[field] === 'string') body[field] = JSON.parse(body[field] as string);
  }
  return body;
}

export class FakeSlack {
  readonly calls: RecordedCall[] = [];
  private lastCallAt = 0;
  /** What Slack would have refused or rendered wrongly (the test fails on any; see slackLint.ts). */
  readonly violations: string[] = [];
  private server: Server | undefined;
  private port = 0;
  private counter = 0;
  /** Methods made to fail, with the Slack error they answer. */
  readonly failures = new Map<string, string>();
  /** Methods (or `respond`) answered only after this many milliseconds: a slow Slack. */
  readonly delays = new Map<string, number>();
  /** User groups' members by group ID, as `usergroups.users.list` answers them (a test sets them). */
  readonly userGroups = new Map<string, string[]>();
  private waiters: (() => void)[] = [];
  /** Socket Mode: the app's WebSocket connections, and acks received per envelope. */
  private sockets: WebSocket[] = [];
  private readonly acks = new Map<string, (ack: Record<string, unknown>) => void>();

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void readBody(req).then(async (body) => {
        const path = req.url ?? '/';
        const method = path.startsWith('/respond/')
          ? 'respond'
          : (path.replace(/^\/api\//, '').split('?')[0] ?? '');
        const delay = this.delays.get(method);
        if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
        this.calls.push({ method, path, body });
        this.lastCallAt = Date.now();
        // Strict, as Slack is: every payload is checked against Slack's Block Kit rules.
        this.violations.push(...lintCall(method, body));
        for (const wake of this.waiters.splice(0)) wake();
        const failure = this.failures.get(method);
        // Web API errors come with 200; a dead response_url answers 404.
        res.writeHead(failure && method === 'respond' ? 404 : 200, { 'content-type': 'application/json' });
        if (failure) {
          res.end(JSON.stringify({ ok: false, error: failure }));
          return;
        }
        res.end(JSON.stringify(this.answer(method, body)));
      });
    });
    const sockets = new WebSocketServer({ server: this.server, path: '/socket' });
    sockets.on('connection', (socket) => {
      this.sockets.push(socket);
      socket.on('message', (data) => {
        const ack = JSON.parse(data.toString()) as { envelope_id?: string };
        if (ack.envelope_id) this.acks.get(ack.envelope_id)?.(ack);
      });
      socket.send(
        JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'AKEYHOUSE' } }),
      );
      for (const wake of this.waiters.splice(0)) wake();
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server?.address() as AddressInfo).port;
  }

  /** Delivers a payload to the app over Socket Mode and resolves with the app's ack. */
  async sendEnvelope(type: string, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 5000;
    while (this.sockets.length === 0) {
      if (Date.now() > deadline) throw new Error('the app never opened a Socket Mode connection');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const envelopeId = `env-${(this.counter += 1)}`;
    const acked = new Promise<Record<string, unknown>>((resolve) => this.acks.set(envelopeId, resolve));
    this.sockets
      .at(-1)
      ?.send(JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: true }));
    return acked;
  }

  private answer(method: string, body: Record<string, unknown>): Record<string, unknown> {
    this.counter += 1;
    switch (method) {
      case 'apps.connections.open':
        return { ok: true, url: `ws://127.0.0.1:${this.port}/socket` };
      case 'auth.test':
        return { ok: true, user_id: 'UKEYHOUSE', bot_id: 'BKEYHOUSE', team_id: 'T0001', user: 'keyhouse' };
      case 'chat.postMessage':
        return { ok: true, channel: body.channel, ts: `1700000000.${String(this.counter).padStart(6, '0')}` };
      case 'usergroups.users.list': {
        const users = this.userGroups.get(String(body.usergroup));
        return users ? { ok: true, users } : { ok: false, error: 'no_such_subteam' };
      }
      case 'views.open':
      case 'views.update':
      case 'views.push':
      case 'views.publish':
        return { ok: true, view: { id: `V${this.counter}`, ...(body.view as object) } };
      default:
        return { ok: true };
    }
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  newResponseUrl(): string {
    this.counter += 1;
    return `http://127.0.0.1:${this.port}/respond/${this.counter}`;
  }

  of(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Waits until a call matching `predicate` was recorded, and returns it. */
  async waitFor(predicate: (call: RecordedCall) => boolean, timeoutMs = 5000): Promise<RecordedCall> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.calls.find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `no matching Slack call; recorded: ${this.calls.map((c) => c.method).join(', ') || 'none'}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /**
   * Waits until the app has made no call for `idleMs` (at most `maxMs`): work it does after answering
   * (direct messages, card updates) lands here instead of failing against a stopped server and being
   * retried for minutes.
   */
  async settle(idleMs = 150, maxMs = 2000): Promise<void> {
    const deadline = Date.now() + maxMs;
    while (Date.now() < deadline && Date.now() - this.lastCallAt < idleMs) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
