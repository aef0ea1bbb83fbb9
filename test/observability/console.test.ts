import { createServer } from 'node:net';
import { LogLevel } from '@slack/logger';
import { CONSOLE_REPEAT_MS, createLogger, routeConsole, WITHHELD } from '../../src/observability/logger';
import { FakeSlack } from '../helpers/fakeSlack';
import { logLines, startKeyhouse, processSettings } from '../helpers/keyhouseProcess';
import { KeyFactory } from '../helpers/sshKeygen';

/** What libraries print with console is a log line like any other, and not a flood of them. */

const keys = new KeyFactory();
afterAll(() => keys.cleanup());

describe('console, routed through the logger', () => {
  const saved = { ...console };
  afterEach(() => Object.assign(console, saved));

  test('one line each, at warn (error for console.error), without a stack, redacted and withheld as every line', () => {
    const written: string[] = [];
    const logger = createLogger({ level: LogLevel.INFO, write: (line) => written.push(line) });
    let now = 1_000_000;
    routeConsole(logger, () => now);
    const failure = new Error('None of the sentinels are available\nsecond line');
    console.log(failure);
    console.error('lost', { token: 'xoxb-123-secret' });
    console.debug('debugging');
    console.info(keys.generate('ed25519').privateText);
    const lines = logLines(written.map((line) => `${line}\n`).join(''));
    expect(lines.map(({ level, msg }) => ({ level, msg }))).toEqual([
      { level: 'warn', msg: 'Error: None of the sentinels are available\nsecond line' },
      { level: 'error', msg: 'lost {"token":"xoxb-[redacted]"}' },
      { level: 'warn', msg: 'debugging' },
      { level: 'warn', msg: WITHHELD },
    ]);
    expect(written.join('\n')).not.toMatch(/\bat /);

    // The same message again within a minute is left out; after it, it is written once more.
    written.length = 0;
    for (let i = 0; i < 50; i += 1) {
      now += 1000;
      console.log(failure);
    }
    expect(written).toEqual([]);
    now += CONSOLE_REPEAT_MS;
    console.log(failure);
    console.log(failure);
    console.warn('another');
    expect(written).toHaveLength(2);
  });
});

const closedPort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

test('with the Sentinels unreachable, every line the process writes is a log line, and few of them', async () => {
  const slack = new FakeSlack();
  await slack.start();
  const ports = [await closedPort(), await closedPort()];
  const keyhouse = await startKeyhouse({
    ...processSettings(slack),
    REDIS_SENTINELS: ports.map((port) => `127.0.0.1:${port}`).join(','),
    REDIS_SENTINEL_NAME: 'mymaster',
  });
  try {
    const before = keyhouse.logs().length;
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    expect(keyhouse.stdout()).toBe('');
    const lines = keyhouse.logs();
    expect(lines.length - before).toBeLessThanOrEqual(3);
    expect(keyhouse.stderr()).not.toMatch(/\n\s+at /);
  } finally {
    await keyhouse.stop();
    await slack.stop();
  }
}, 40_000);
