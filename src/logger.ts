import { type Logger, LogLevel } from '@slack/logger';
import { containsPrivateKeyMaterial } from './domain/keys/privateKey';

/**
 * The process's logger, also given to Bolt. Bolt logs whole request bodies at debug level, and a body
 * may hold a private key someone pasted by mistake: such a line is withheld, never written.
 */
const ORDER = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR];
export const WITHHELD = '[log line withheld: it contained private key material]';

const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A log line as one line: control characters (C0, DEL, C1) and the Unicode line and paragraph
 * separators are written as escapes (`\n`, `\r`, `\t`, `\u00XX`), so text from a request can neither
 * end a line nor start a forged one.
 */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (char) => {
    return NAMED_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

export function render(parts: unknown[]): string {
  const line = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      if (part instanceof Error) return `${part.name}: ${part.message}`;
      try {
        return JSON.stringify(part);
      } catch {
        return String(part);
      }
    })
    .join(' ');
  // The detector reads the text as it came, line breaks included; only then is it made one line.
  return containsPrivateKeyMaterial(line) ? WITHHELD : oneLine(line);
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Logger {
  let current = level;
  let name = 'keyhouse';
  const log =
    (at: LogLevel) =>
    (...parts: unknown[]) => {
      if (ORDER.indexOf(at) < ORDER.indexOf(current)) return;
      write(`[${at.toUpperCase()}] ${oneLine(name)} ${render(parts)}`);
    };
  return {
    debug: log(LogLevel.DEBUG),
    info: log(LogLevel.INFO),
    warn: log(LogLevel.WARN),
    error: log(LogLevel.ERROR),
    setLevel: (next) => {
      current = next;
    },
    getLevel: () => current,
    setName: (next) => {
      name = next;
    },
  };
}
