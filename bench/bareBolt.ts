/**
 * The yardstick of the command benchmark, run in a process of its own as Keyhouse is: a Bolt app with
 * the same HTTP receiver and signing secret and no store, answering every command with the reply its
 * parent last sent it (over IPC), acked and then sent to the response URL, as Keyhouse answers.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';

let reply: Record<string, unknown> = { text: 'nothing yet' };
const receiver = new HTTPReceiver({ signingSecret: process.env.SLACK_SIGNING_SECRET ?? '' });
const app = new App({
  authorize: () => Promise.resolve({ botToken: 'xoxb-test' }),
  receiver,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL ?? '' },
  logLevel: LogLevel.ERROR,
});
app.command(/.*/, async ({ ack, respond }) => {
  await ack();
  await respond(reply);
});
const server = createServer(receiver.requestListener);
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('message', (message: { reply?: Record<string, unknown> }) => {
  if (message.reply) reply = message.reply;
  process.send?.({ set: true });
});
process.on('disconnect', () => server.close(() => process.exit(0)));
