import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { tempDir, uniqueNamespace } from './env';
import type { FakeSlack } from './fakeSlack';
import { SIGNING_SECRET } from './slackUser';

/** The settings of a Keyhouse process talking to `slack`, with data of its own. */
export const processSettings = (slack: FakeSlack): Record<string, string> => ({
  SLACK_BOT_TOKEN: 'xoxb-test',
  SLACK_SIGNING_SECRET: SIGNING_SECRET,
  SLACK_API_URL: slack.apiUrl,
  PORT: '0',
  ORG_OWNERS: 'UOWNER1',
  DATA_DIR: tempDir(),
  STORE_NAMESPACE: uniqueNamespace(),
});

/** One line of Keyhouse's log: a JSON object with its time, level and message, then fields. */
export interface LogLine {
  time: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  [field: string]: unknown;
}

/**
 * Every complete line of `text` (what a process wrote so far) as a log line. Fails, quoting the line,
 * when one is not a JSON object with an ISO time, a level and a msg: every line Keyhouse writes is one.
 */
export function logLines(text: string): LogLine[] {
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  if (complete === '') return [];
  return complete
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        throw new Error(`a log line is not JSON: ${JSON.stringify(line.slice(0, 300))}`);
      }
      const fields = record as Partial<LogLine> | null;
      if (
        typeof fields !== 'object' ||
        fields === null ||
        typeof fields.time !== 'string' ||
        Number.isNaN(Date.parse(fields.time)) ||
        !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(fields.time) ||
        !['debug', 'info', 'warn', 'error'].includes(String(fields.level)) ||
        typeof fields.msg !== 'string'
      ) {
        throw new Error(`a log line lacks time, level or msg: ${line.slice(0, 300)}`);
      }
      return fields as LogLine;
    });
}

/** Keyhouse as `npm start` runs it, in its own process, so a crash shows as an exit. */
export interface KeyhouseProcess {
  child: ChildProcess;
  port: number;
  url: string;
  stdout(): string;
  /** Its log, as written: one JSON object a line. */
  stderr(): string;
  /** Its log so far, every line parsed (fails if one is not a log line). */
  logs(): LogLine[];
  alive(): boolean;
  stop(): Promise<void>;
}

export interface Launch {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  logs(): LogLine[];
  /** Resolves with the exit code once the process exits. */
  exited: Promise<number | null>;
}

export interface LaunchOptions {
  /**
   * Run the compiled app as `npm start` and the systemd unit do (`node dist/main.js`; see
   * `buildIfStale`) instead of the TypeScript source through tsx, which starts faster in tests.
   */
  compiled?: boolean;
}

const root = join(__dirname, '..', '..');

/** What `npm start` runs first: builds dist/ when it is missing or older than src/. */
export function buildIfStale(): void {
  const build = spawnSync(process.execPath, [join(root, 'scripts/build.cjs'), '--if-stale'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`the build failed: ${build.stdout}${build.stderr}`);
}

export function launch(env: Record<string, string>, options: LaunchOptions = {}): Launch {
  const child = spawn(
    process.execPath,
    // One process, so signals reach it (tsx's CLI would run it as a child that outlives a SIGKILL).
    options.compiled ? [join(root, 'dist/main.js')] : ['--import', 'tsx', join(root, 'src/main.ts')],
    {
      cwd: root,
      // No developer .env may leak in: point dotenv at a file that does not exist.
      env: { PATH: process.env.PATH ?? '', DOTENV_CONFIG_PATH: join(tempDir(), '.env'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, logs: () => logLines(err), exited };
}

/** Starts the process and waits for its "running" log line. */
export async function startKeyhouse(
  env: Record<string, string>,
  options: LaunchOptions = {},
): Promise<KeyhouseProcess> {
  const run = launch(env, options);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Keyhouse did not start: ${run.stderr()}`)), 20_000);
    const poll = setInterval(() => {
      const match = /HTTP on port (\d+)/.exec(run.stderr());
      if (match) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    }, 20);
    void run.exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`Keyhouse exited with ${code}: ${run.stderr()}`));
    });
  });
  let exited = false;
  void run.exited.then(() => (exited = true));
  return {
    ...run,
    port,
    url: `http://127.0.0.1:${port}`,
    alive: () => !exited && run.child.exitCode === null,
    async stop() {
      if (exited) return;
      run.child.kill('SIGKILL');
      await run.exited;
    },
  };
}

export interface RawAnswer {
  /** The status of the first response, if one came. */
  status?: number;
  /** Every status line received, in order (pipelined requests). */
  statuses: number[];
  text: string;
  /** Milliseconds until the server closed the connection (or the wait ended). */
  ms: number;
}

/**
 * Writes raw bytes to the server and reads until it closes the connection or `waitMs` passes. Chunks
 * with a delay are written one after the other (a slow client); `end` half-closes after writing.
 */
export function raw(
  port: number,
  chunks: (string | Buffer | { delayMs: number })[],
  options: { waitMs?: number; end?: boolean } = {},
): Promise<RawAnswer> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
      resolve({ status: statuses[0], statuses, text, ms: Date.now() - started });
    };
    const timer = setTimeout(finish, options.waitMs ?? 5_000);
    socket.on('data', (data: Buffer) => (text += data.toString('latin1')));
    socket.on('close', finish);
    socket.on('error', finish);
    socket.on('connect', () => {
      void (async () => {
        for (const chunk of chunks) {
          if (done) return;
          if (typeof chunk === 'object' && 'delayMs' in chunk) {
            await new Promise((r) => setTimeout(r, chunk.delayMs));
          } else {
            socket.write(chunk);
          }
        }
        if (options.end) socket.end();
      })();
    });
  });
}

/** One request line and headers, closing the connection after the answer. */
export const request = (method: string, target: string, headers: string[] = [], body = ''): string =>
  `${method} ${target} HTTP/1.1\r\nHost: keyhouse.test\r\nConnection: close\r\n${headers.map((h) => `${h}\r\n`).join('')}${body ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : ''}\r\n${body}`;
