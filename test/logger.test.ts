import { LogLevel } from '@slack/logger';
import { createLogger, WITHHELD } from '../src/logger';
import { KeyFactory } from './helpers/sshKeygen';

const keys = new KeyFactory();
afterAll(() => keys.cleanup());

function capture(level = LogLevel.DEBUG) {
  const lines: string[] = [];
  return { lines, logger: createLogger(level, (line) => lines.push(line)) };
}

describe('the logger never writes private key material', () => {
  const secret = () => keys.generate('ed25519').privateText;

  test.each([
    ['as text', (s: string) => s],
    [
      'inside a JSON body (as Socket Mode logs payloads)',
      (s: string) => JSON.stringify({ command: '/sshkey', text: `add web ${s}` }),
    ],
    ['URL-encoded with +', (s: string) => new URLSearchParams({ text: s }).toString()],
    ['URL-encoded with %20', (s: string) => encodeURIComponent(s)],
  ])('%s', (_how, encode) => {
    const { lines, logger } = capture();
    const privateText = secret();
    logger.debug('Received a message on the WebSocket:', encode(privateText));
    expect(lines).toEqual([`[DEBUG] keyhouse ${WITHHELD}`]);
  });

  test('ordinary lines, public keys included, are written as they are', () => {
    const { lines, logger } = capture();
    const publicLine = keys.generate('ed25519').publicLine.trim();
    logger.info('added', { key: publicLine });
    expect(lines).toEqual([`[INFO] keyhouse added ${JSON.stringify({ key: publicLine })}`]);
  });

  test('lines below the level are dropped', () => {
    const { lines, logger } = capture(LogLevel.WARN);
    logger.info('quiet');
    logger.error(new Error('loud'));
    expect(lines).toEqual(['[ERROR] keyhouse Error: loud']);
  });
});

describe('one call is one line', () => {
  test('control characters and line separators are written as escapes', () => {
    // JSON already escapes C0 characters in what it renders; the line escapes the rest.
    const { lines, logger } = capture();
    logger.warn('zone=x\n[ERROR] keyhouse admin UEVIL ok\r\n', {
      text: 'a\tb\u0000c\u0085d\u2028e\u2029f\u007f',
    });
    expect(lines).toEqual([
      '[WARN] keyhouse zone=x\\n[ERROR] keyhouse admin UEVIL ok\\r\\n {"text":"a\\tb\\u0000c\\u0085d\\u2028e\\u2029f\\u007f"}',
    ]);
  });

  test('an Error with a line break in its message is one line', () => {
    const { lines, logger } = capture();
    logger.error(new Error('first\nsecond'));
    expect(lines).toEqual(['[ERROR] keyhouse Error: first\\nsecond']);
  });

  test('a private key is still withheld when its line breaks are what it is recognized by', () => {
    const { lines, logger } = capture();
    logger.info('pasted:', keys.generate('ed25519').privateText);
    expect(lines).toEqual([`[INFO] keyhouse ${WITHHELD}`]);
  });
});
