import { LogLevel } from '@slack/logger';
import { createLogger, type LogFormat, WITHHELD } from '../../src/observability/logger';
import { noteOutcome, type RequestScope, requestScope } from '../../src/observability/requestScope';
import { logLines } from '../helpers/keyhouseProcess';
import { KeyFactory } from '../helpers/sshKeygen';

const keys = new KeyFactory();
afterAll(() => keys.cleanup());

function capture(level: LogLevel = LogLevel.DEBUG, format: LogFormat = 'json') {
  const written: string[] = [];
  const logger = createLogger({ level, format, write: (line) => written.push(line) });
  return { written, logger, lines: () => logLines(written.map((line) => `${line}\n`).join('')) };
}

const DELIVERY_TOKEN = `khk_${'a1B2-c3_D4'.repeat(5)}`;

describe('one JSON object a line', () => {
  test('time (ISO), level and msg; a call’s parts are one message; Errors without their stack', () => {
    const { lines, logger } = capture();
    const before = Date.now();
    logger.info('added', { key: 'ssh-ed25519 AAAA' }, 3);
    logger.error(new Error('loud'));
    const [added, loud] = lines();
    expect(added).toEqual({
      time: expect.any(String),
      level: 'info',
      msg: 'added {"key":"ssh-ed25519 AAAA"} 3',
    });
    expect(Date.parse(added!.time)).toBeGreaterThanOrEqual(before - 1);
    expect(loud).toEqual({ time: expect.any(String), level: 'error', msg: 'Error: loud' });
  });

  test('lines below the level are dropped; Bolt may change the level', () => {
    const { lines, logger } = capture(LogLevel.WARN);
    logger.info('quiet');
    logger.warn('heard');
    logger.setLevel(LogLevel.ERROR);
    expect(logger.getLevel()).toBe(LogLevel.ERROR);
    logger.warn('quiet again');
    logger.error('loud');
    expect(lines().map((line) => line.msg)).toEqual(['heard', 'loud']);
  });

  test('a child logger’s lines carry its fields', () => {
    const { lines, logger } = capture();
    logger.child({ kind: '/sshkey', duration_ms: 3.5 }).info('slack request');
    expect(lines()).toEqual([
      expect.objectContaining({ level: 'info', kind: '/sshkey', duration_ms: 3.5, msg: 'slack request' }),
    ]);
  });

  test('inside a Slack request every line carries its fields, and an error marks its outcome', async () => {
    const { lines, logger } = capture();
    const scope: RequestScope = { fields: { kind: '/org', team: 'T1', user: 'U1' }, outcome: 'ok' };
    await requestScope.run(scope, async () => {
      await Promise.resolve();
      logger.debug('inside');
      noteOutcome('refused');
      logger.error('failed');
    });
    logger.info('outside');
    expect(scope.outcome).toBe('error');
    expect(lines()).toEqual([
      expect.objectContaining({ kind: '/org', team: 'T1', user: 'U1', msg: 'inside' }),
      expect.objectContaining({ kind: '/org', team: 'T1', user: 'U1', msg: 'failed' }),
      { time: expect.any(String), level: 'info', msg: 'outside' },
    ]);
  });

  test('LOG_FORMAT=pretty: time, level, message and fields, one line for people', () => {
    const { written, logger } = capture(LogLevel.DEBUG, 'pretty');
    logger.child({ kind: '/sshkey', team: 'T1', outcome: 'ok', duration_ms: 12 }).info('slack request');
    logger.warn('two\nlines');
    expect(written).toEqual([
      expect.stringMatching(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}slack request kind=\/sshkey team=T1 outcome=ok duration_ms=12$/,
      ),
      expect.stringMatching(/^\S+Z WARN {2}two\\nlines$/),
    ]);
  });
});

describe('what never reaches the log', () => {
  test.each<LogFormat>(['json', 'pretty'])('a private key withholds the whole line (%s)', (format) => {
    const { written, logger } = capture(LogLevel.DEBUG, format);
    const secret = keys.generate('ed25519').privateText;
    logger.debug('Received a message on the WebSocket:', JSON.stringify({ text: `add web ${secret}` }));
    logger.child({ kind: '/sshkey' }).info(secret);
    expect(written).toHaveLength(2);
    for (const line of written) {
      expect(line).toContain(WITHHELD);
      expect(line).not.toContain(secret.split('\n')[1]!.slice(0, 20));
    }
    if (format === 'json') {
      expect(logLines(written.map((line) => `${line}\n`).join(''))).toEqual([
        { time: expect.any(String), level: 'debug', msg: WITHHELD },
        { time: expect.any(String), level: 'info', msg: WITHHELD },
      ]);
    }
  });

  test.each([
    ['as text', (s: string) => s],
    ['inside a JSON body', (s: string) => JSON.stringify({ command: '/sshkey', text: `add web ${s}` })],
    ['URL-encoded with +', (s: string) => new URLSearchParams({ text: s }).toString()],
    ['URL-encoded with %20', (s: string) => encodeURIComponent(s)],
  ])('a private key %s is withheld', (_how, encode) => {
    const { lines, logger } = capture();
    logger.debug('Received a request:', encode(keys.generate('ed25519').privateText));
    expect(lines()).toEqual([{ time: expect.any(String), level: 'debug', msg: WITHHELD }]);
  });

  test.each<LogFormat>(['json', 'pretty'])(
    'a Socket Mode URL keeps its host but not its ticket, nor any query (%s)',
    (format) => {
      const { written, logger } = capture(LogLevel.DEBUG, format);
      const url = 'wss://wss-primary.slack.com/link/?ticket=9f1c2b7e-aaaa-bbbb&app_id=A0KEYHOUSE';
      logger.debug(`http request result: ${JSON.stringify({ ok: true, url })}`);
      logger.child({ url: 'ws://127.0.0.1:9/socket?t=1' }).debug('connecting', 'ticket=abc-123');
      const text = written.join('\n');
      expect(text).not.toMatch(/9f1c2b7e|A0KEYHOUSE|t=1|abc-123/);
      expect(text).toContain('wss://wss-primary.slack.com/link/?[redacted]');
      expect(text).toContain('ticket=[redacted]');
      if (format === 'json') expect(logLines(written.map((line) => `${line}\n`).join(''))).toHaveLength(2);
    },
  );

  test('public keys are written as they are', () => {
    const { lines, logger } = capture();
    const publicLine = keys.generate('ed25519').publicLine.trim();
    logger.info('added', publicLine);
    expect(lines()[0]!.msg).toBe(`added ${publicLine}`);
  });

  test.each<LogFormat>(['json', 'pretty'])(
    'delivery and Slack tokens are redacted in the message and in any field (%s)',
    (format) => {
      const { written, logger } = capture(LogLevel.DEBUG, format);
      logger.info(`token ${DELIVERY_TOKEN} then xoxb-1234-5678-abcdEFGH and xapp-1-A0-99-ffee`);
      logger.child({ header: `Bearer ${DELIVERY_TOKEN}`, form: 'text=khk%5Fabcdefghijklmnop' }).warn('x');
      const text = written.join('\n');
      expect(text).not.toContain(DELIVERY_TOKEN.slice(4, 20));
      expect(text).not.toContain('1234-5678');
      expect(text).not.toContain('A0-99');
      expect(text).not.toContain('abcdefghijklmnop');
      expect(text).toContain('khk_[redacted]');
      expect(text).toContain('xoxb-[redacted]');
      expect(text).toContain('xapp-[redacted]');
    },
  );

  test('control characters and line separators are escaped: one call is one line, parsed back as sent', () => {
    const { written, lines, logger } = capture();
    const sent = 'zone=x\n{"level":"error","msg":"forged"}\r\n a\tb\u0000c\u0085d\u2028e\u2029f\u007f';
    logger.warn(sent);
    expect(written).toHaveLength(1);
    expect(written[0]).not.toMatch(/[\n\r\u2028\u2029\u0085\u007f]/);
    expect(lines()).toEqual([{ time: expect.any(String), level: 'warn', msg: sent }]);
  });

  test('pretty lines are escaped too', () => {
    const { written, logger } = capture(LogLevel.DEBUG, 'pretty');
    logger.error(new Error('first\nsecond\u2028third'));
    expect(written).toEqual([expect.stringMatching(/ ERROR Error: first\\nsecond\\u2028third$/)]);
  });
});

test('a notice (started, stopping) is written whatever the level', () => {
  const { lines, logger } = capture(LogLevel.ERROR);
  logger.info('quiet');
  logger.notice('Keyhouse is running');
  expect(lines()).toEqual([{ time: expect.any(String), level: 'info', msg: 'Keyhouse is running' }]);
});
