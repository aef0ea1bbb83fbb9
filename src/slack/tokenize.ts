import { invalid } from '../domain/errors';
import { UsageError } from './commands/usage';

/**
 * The one command-text tokenizer. Slack sends slash-command text with `&`, `<` and `>` escaped and
 * with mentions and links as `<@U123|name>`, `<#C123|name>`, `<mailto:a@b|a@b>`. Words may be
 * double-quoted (straight or curly quotes, as Slack clients type them).
 */
export type TokenKind = 'word' | 'user' | 'channel' | 'usergroup';

export interface Token {
  kind: TokenKind;
  /** The decoded text; for users and channels, the ID. */
  value: string;
  /** Offsets in the raw text, so a caller can take "the rest of the line" verbatim. */
  start: number;
  end: number;
  quoted: boolean;
  /** A user group's handle as Slack sent it (`@oncall`), for the `usergroup` kind. */
  label?: string;
}

export interface TokenizeOptions {
  /** Read user-group mentions (`<!subteam^S…|@oncall>`) as `usergroup` tokens instead of refusing them. */
  userGroups?: boolean;
}

const OPEN_QUOTES = new Set(['"', '\u201c', '\u201d']);
const CLOSE_QUOTES = new Set(['"', '\u201d', '\u201c']);

/** Decodes Slack's escaping and link markup in free text (a key comment, a description). */
export function decodeSlackText(raw: string): string {
  return raw
    .replace(/<(?:mailto:|https?:\/\/)[^|>]*\|([^>]*)>/g, '$1')
    .replace(/<((?:mailto:|https?:\/\/)[^>]*)>/g, (_m, url: string) => url.replace(/^mailto:/, ''))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function markup(inner: string, start: number, end: number, options: TokenizeOptions): Token {
  const user = /^@([UW][A-Z0-9]+)(\|.*)?$/.exec(inner);
  if (user) return { kind: 'user', value: user[1] as string, start, end, quoted: false };
  const channel = /^#([CG][A-Z0-9]+)(\|.*)?$/.exec(inner);
  if (channel) return { kind: 'channel', value: channel[1] as string, start, end, quoted: false };
  const group = options.userGroups ? /^!subteam\^(S[A-Z0-9]+)(?:\|(.*))?$/.exec(inner) : null;
  if (group) {
    const label = group[2] ? decodeSlackText(group[2]) : undefined;
    return {
      kind: 'usergroup',
      value: group[1] as string,
      start,
      end,
      quoted: false,
      ...(label ? { label } : {}),
    };
  }
  if (inner.startsWith('!')) {
    throw invalid(
      'Group mentions such as @here or user groups are not accepted here; mention one person, like `@alice`.',
    );
  }
  return { kind: 'word', value: decodeSlackText(`<${inner}>`), start, end, quoted: false };
}

export function tokenize(raw: string, options: TokenizeOptions = {}): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < raw.length) {
    const char = raw[i] as string;
    if (/\s/.test(char)) {
      i += 1;
      continue;
    }
    const start = i;
    if (OPEN_QUOTES.has(char)) {
      let j = i + 1;
      while (j < raw.length && !CLOSE_QUOTES.has(raw[j] as string)) j += 1;
      if (j >= raw.length) throw invalid('A quote is not closed: put a `"` after the quoted words.');
      tokens.push({
        kind: 'word',
        value: decodeSlackText(raw.slice(i + 1, j)),
        start,
        end: j + 1,
        quoted: true,
      });
      i = j + 1;
      continue;
    }
    if (char === '<') {
      const close = raw.indexOf('>', i);
      if (close > i) {
        tokens.push(markup(raw.slice(i + 1, close), start, close + 1, options));
        i = close + 1;
        continue;
      }
    }
    let j = i;
    while (j < raw.length && !/\s/.test(raw[j] as string)) j += 1;
    tokens.push({ kind: 'word', value: decodeSlackText(raw.slice(i, j)), start, end: j, quoted: false });
    i = j;
  }
  return tokens;
}

/** A token as a user reference, or a refusal that says how to mention someone. */
export function expectUser(token: Token | undefined, usage: string): string {
  if (token?.kind === 'user') return token.value;
  // The usage line goes with the refusal, once: `renderError` prints it under the message.
  throw new UsageError('Mention the person with `@`, so Slack turns it into a mention.', usage);
}

export function expectChannel(token: Token | undefined, usage: string): string {
  if (token?.kind === 'channel') return token.value;
  throw new UsageError('Mention the channel with `#`, so Slack turns it into a link.', usage);
}

export interface Flags {
  values: Record<string, string>;
  /** Index of the first token that is neither a flag nor a flag's value. */
  rest: number;
}

/**
 * Reads `--name value` and `--name=value` flags from `from` on, stopping at the first other token.
 * Unknown flags are refused with the list of known ones.
 */
export function readFlags(tokens: Token[], from: number, known: readonly string[], usage: string): Flags {
  const values: Record<string, string> = {};
  let i = from;
  while (i < tokens.length) {
    const token = tokens[i] as Token;
    const flag = token.quoted ? null : /^--([a-z][a-z-]*)(?:=(.*))?$/.exec(token.value);
    if (!flag) break;
    const name = flag[1] as string;
    if (!known.includes(name)) {
      throw new UsageError(
        `Unknown option \`--${name}\`. Options: ${known.map((k) => `\`--${k}\``).join(', ')}.`,
        usage,
      );
    }
    if (flag[2] !== undefined) {
      values[name] = flag[2];
      i += 1;
      continue;
    }
    const value = tokens[i + 1];
    if (!value) throw new UsageError(`\`--${name}\` needs a value.`, usage);
    values[name] = value.value;
    i += 2;
  }
  return { values, rest: i };
}
