import pino from 'pino';
import { type Logger, LogLevel } from '@slack/logger';
import { containsPrivateKeyMaterial } from '../domain/keys/privateKey';
import { noteOutcome, type RequestScope, requestScope } from './requestScope';

/**
 * The process's logger, also given to Bolt and the Slack Web API client: one JSON object a line
 * (`time`, `level`, `msg`, then fields), or a line for people with `LOG_FORMAT=pretty`. Inside a Slack
 * request every line also carries the request's kind, team and user.
 *
 * Every line passes the same filters, in this order, on the text about to be written, whatever field
 * it came in: Keyhouse delivery tokens (`khk_…`), Slack tokens (`xoxb-…`, `xapp-…`) and Socket Mode
 * tickets (the query of a `wss://` URL, `ticket=…`) are redacted;
 * a line holding private key material is withheld whole (Bolt logs whole request bodies at debug
 * level, and a body may hold a key someone pasted by mistake); control characters are escaped, so
 * text from a request can neither end a line nor start a forged one.
 */
export type LogFormat = 'json' | 'pretty';
export type LevelName = 'debug' | 'info' | 'warn' | 'error';

export const WITHHELD = '[log line withheld: it contained private key material]';

export interface KeyhouseLogger extends Logger {
  /** A logger whose every line also carries `fields`: identifiers and numbers, never user text. */
  child(fields: Record<string, string | number | boolean>): KeyhouseLogger;
  /** A line at info written whatever the level: the process started (and on which port), or stops. */
  notice(...parts: unknown[]): void;
}

export interface LoggerOptions {
  level: LevelName | LogLevel;
  format?: LogFormat;
  /** Where finished lines go, without their line break (default: standard error). */
  write?: (line: string) => void;
}

const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text as one line: control characters (C0, DEL, C1) and the Unicode line and paragraph separators
 * are written as escapes (`\n`, `\r`, `\t`, `\u00XX`). In a JSON line they can only stand inside a
 * string, where these escapes mean the same character.
 */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (char) => {
    return NAMED_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** A log call's parts as its message: Errors by name and message (no stack), objects as JSON. */
export function render(parts: unknown[]): string {
  return parts
    .map((part) => {
      if (typeof part === 'string') return part;
      if (part instanceof Error) return `${part.name}: ${part.message}`;
      try {
        return JSON.stringify(part) ?? String(part);
      } catch {
        return String(part);
      }
    })
    .join(' ');
}

/** Delivery tokens (also form-encoded) and Slack tokens, wherever they stand in a line. */
const TOKENS = /(khk(?:_|%5[Ff])|xox[a-z]-|xapp-)[A-Za-z0-9_-]+/g;
/**
 * A Socket Mode URL's query (`wss://…/link/?ticket=…`: apps.connections.open's answer, logged at debug)
 * and any `ticket=` value. Both stop at a backslash, so a JSON line keeps its escapes.
 */
const SOCKET_QUERY = /(wss?:\/\/[^\s"'\\?]*\?)[^\s"'\\]+/gi;
const TICKET = /\b(ticket=)[^\s"'\\&]+/gi;
export const redactTokens = (text: string): string =>
  text.replace(TOKENS, '$1[redacted]').replace(SOCKET_QUERY, '$1[redacted]').replace(TICKET, '$1[redacted]');

/** A field value as `key=value` shows it: bare when it has no space or quote. */
const shown = (value: unknown): string =>
  typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);

/** `2025-01-01T00:00:00.000Z INFO  message key=value …`, from a JSON line. */
function pretty(record: Record<string, unknown>): string {
  const { level, time, msg, ...fields } = record;
  const extra = Object.entries(fields)
    .map(([key, value]) => ` ${key}=${shown(value)}`)
    .join('');
  return `${String(time)} ${String(level).toUpperCase().padEnd(5)} ${String(msg)}${extra}`;
}

const HEAD = /^\{"level":"(\w+)","time":"([^"]*)"/;

export function createLogger(options: LoggerOptions): KeyhouseLogger {
  const format = options.format ?? 'json';
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));

  /** The last step before a line is written: the filters above, private-key withholding last but escaping. */
  const finish = (serialized: string): void => {
    const json = serialized.endsWith('\n') ? serialized.slice(0, -1) : serialized;
    const head = HEAD.exec(json);
    const level = head?.[1] ?? 'info';
    const time = head?.[2] ?? new Date().toISOString();
    let line = redactTokens(format === 'pretty' ? pretty(JSON.parse(json) as Record<string, unknown>) : json);
    // The detector reads the text as it came (a pretty line keeps its line breaks until the escaping).
    if (containsPrivateKeyMaterial(line)) {
      line =
        format === 'pretty'
          ? pretty({ time, level, msg: WITHHELD })
          : JSON.stringify({ level, time, msg: WITHHELD });
    }
    write(oneLine(line));
  };

  const settings = {
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  const root = pino({ ...settings, level: options.level }, { write: finish });
  const always = pino({ ...settings, level: 'info' }, { write: finish });

  // Inside a Slack request, the root logger's lines carry the request's fields.
  const scoped = new WeakMap<RequestScope, pino.Logger>();
  const current = (): pino.Logger => {
    const scope = requestScope.getStore();
    if (!scope) return root;
    let child = scoped.get(scope);
    if (!child) {
      child = root.child(scope.fields);
      scoped.set(scope, child);
    }
    return child;
  };

  // A call's parts are rendered, and a request's child logger made, only for a line that is written
  // (Bolt logs at debug on every request).
  const at = (level: 'debug' | 'info' | 'warn' | 'error', target: () => pino.Logger, parts: unknown[]) => {
    if (!root.isLevelEnabled(level)) return;
    const logger = target();
    if (logger.isLevelEnabled(level)) logger[level](render(parts));
  };
  const wrap = (target: () => pino.Logger): KeyhouseLogger => ({
    debug: (...parts: unknown[]) => at('debug', target, parts),
    info: (...parts: unknown[]) => at('info', target, parts),
    warn: (...parts: unknown[]) => at('warn', target, parts),
    error: (...parts: unknown[]) => {
      noteOutcome('error');
      at('error', target, parts);
    },
    setLevel: (level: LogLevel) => {
      root.level = level;
    },
    getLevel: () => root.level as LogLevel,
    // Bolt and the Slack clients name the logger they are given; one logger serves them all.
    setName: () => undefined,
    child: (fields) => {
      // Made when it first writes: a child whose lines are all below the level costs nothing.
      let child: pino.Logger | undefined;
      return wrap(() => (child ??= target().child(fields)));
    },
    notice: (...parts: unknown[]) => always.info(render(parts)),
  });
  return wrap(current);
}

/** How long a line written through `console` keeps its like from being written again. */
export const CONSOLE_REPEAT_MS = 60_000;

/**
 * Sends what libraries write with `console` (node-redis's Sentinel client prints every failed
 * reconnection, about once a second) through `logger`: one line each, at warn (error for
 * console.error), Errors without their stack, the same message at most once a minute.
 */
export function routeConsole(logger: KeyhouseLogger, now: () => number = Date.now): void {
  const lastWritten = new Map<string, number>();
  const route =
    (level: 'warn' | 'error') =>
    (...parts: unknown[]): void => {
      const message = render(parts);
      const at = now();
      const last = lastWritten.get(message);
      if (last !== undefined && at - last < CONSOLE_REPEAT_MS) return;
      // Kept small: messages not seen for a minute are forgotten once there are many.
      if (lastWritten.size >= 1000) {
        for (const [seen, when] of lastWritten) if (at - when >= CONSOLE_REPEAT_MS) lastWritten.delete(seen);
        if (lastWritten.size >= 1000) lastWritten.clear();
      }
      lastWritten.set(message, at);
      logger[level](message);
    };
  console.log = route('warn');
  console.info = route('warn');
  console.warn = route('warn');
  console.debug = route('warn');
  console.error = route('error');
}
