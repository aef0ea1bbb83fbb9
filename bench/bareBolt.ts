/**
 * The yardstick of the command benchmark, run in a process of its own as Keyhouse is: a Bolt app with
 * the same HTTP receiver and signing secret and no store, answering every command with the reply its
 * parent last sent it (over IPC), acked and then sent to the response URL, as Keyhouse answers.
 *
 * With BARE_WRITE, it also makes one durable write per command before it answers, of the size an add
 * writes (DOCUMENT_BYTES): `sqlite:<file>` commits one row to SQLite in write-ahead mode with
 * synchronous = FULL, as the embedded store does; `redis:<url>` sends one SET. The benchmark uses it to
 * tell the cost of a durable change from Keyhouse's own.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { createClient } from '@keyv/redis';
import sqlite3 from 'sqlite3';

const DOCUMENT_BYTES = 20_000;

/** One durable write of DOCUMENT_BYTES, as BARE_WRITE says, or nothing. */
async function durableWrite(setting: string | undefined): Promise<() => Promise<void>> {
  const value = 'x'.repeat(DOCUMENT_BYTES);
  if (setting?.startsWith('sqlite:')) {
    const db = new sqlite3.Database(setting.slice('sqlite:'.length));
    const run = (sql: string, ...params: string[]) =>
      new Promise<void>((resolve, reject) =>
        db.run(sql, params, (error) => (error ? reject(error) : resolve())),
      );
    await run('PRAGMA journal_mode = WAL');
    await run('PRAGMA synchronous = FULL');
    await run('CREATE TABLE IF NOT EXISTS documents (key TEXT PRIMARY KEY, value TEXT)');
    let n = 0;
    return () => run('INSERT OR REPLACE INTO documents VALUES (?, ?)', 'document', `${(n += 1)}${value}`);
  }
  if (setting?.startsWith('redis:')) {
    const client = createClient({ url: setting.slice('redis:'.length) });
    await client.connect();
    let n = 0;
    return async () => {
      await client.set('keyhouse-bench:document', `${(n += 1)}${value}`);
    };
  }
  return () => Promise.resolve();
}

let reply: Record<string, unknown> = { text: 'nothing yet' };
let write: () => Promise<void> = () => Promise.resolve();
const receiver = new HTTPReceiver({ signingSecret: process.env.SLACK_SIGNING_SECRET ?? '' });
const app = new App({
  authorize: () => Promise.resolve({ botToken: 'xoxb-test' }),
  receiver,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL ?? '' },
  logLevel: LogLevel.ERROR,
});
app.command(/.*/, async ({ ack, respond }) => {
  await ack();
  await write();
  await respond(reply);
});
const server = createServer(receiver.requestListener);
void durableWrite(process.env.BARE_WRITE).then((made) => {
  write = made;
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (server.address() as AddressInfo).port });
  });
});
process.on('message', (message: { reply?: Record<string, unknown> }) => {
  if (message.reply) reply = message.reply;
  process.send?.({ set: true });
});
process.on('disconnect', () => server.close(() => process.exit(0)));
