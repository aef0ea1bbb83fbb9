import { type Logger, LogLevel } from '@slack/logger';
import { containsPrivateKeyMaterial } from './domain/keys/privateKey';

/**
 * The process's logger, also given to Bolt. Bolt logs whole request bodies at debug level, and a body
 * may hold a private key someone pasted by mistake: such a line is withheld, never written.
 */
const ORDER = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR];
export const WITHHELD = '[log line withheld: it contained private key material]';

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
  return containsPrivateKeyMaterial(line) ? WITHHELD : line;
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
      write(`[${at.toUpperCase()}] ${name} ${render(parts)}`);
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
