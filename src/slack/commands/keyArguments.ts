import { invalid } from '../../domain/errors';
import { code } from '../render/format';
import { decodeSlackText, type Token } from '../tokenize';

/**
 * `/sshkey add <project> [flags] <public key>`, as people type and paste it: flags before or after the
 * project or after the key, the key bare, in backticks, in a ``` code block or in quotes.
 */
export const ADD_FLAGS = ['name', 'expires', 'reason', 'breakglass'] as const;
export type AddFlag = (typeof ADD_FLAGS)[number];
/** Flags that take no value: present or not. */
const SWITCHES: readonly AddFlag[] = ['breakglass'];

const LOOKS_LIKE_KEY = /^(ssh-|ecdsa-|sk-|-----BEGIN|----)/;
const FLAG = /^--([a-z][a-z-]*)(?:=([\s\S]*))?$/;
const isFlagToken = (token: Token): boolean => !token.quoted && /^--[a-z]/i.test(token.value);
const options = ADD_FLAGS.map((f) => `\`--${f}\``).join(', ');

export interface AddArguments {
  /** The words before the key that are not flags: the project (maybe several words). */
  projectTokens: Token[];
  /** The public key as pasted, when it could be told apart from the project; else undefined. */
  publicKey: string | undefined;
  flags: Partial<Record<AddFlag, string>>;
}

export function parseAddArguments(text: string, tokens: Token[], from: number): AddArguments {
  const flags: Partial<Record<AddFlag, string>> = {};
  const projectTokens: Token[] = [];
  let publicKey: string | undefined;
  let keyEnd = text.length;
  let where: 'before' | 'after' = 'before';
  let bare = false;

  /** Reads the flag at `i`; returns the index after it (and its value). */
  const readFlag = (i: number): number => {
    const token = tokens[i] as Token;
    const match = FLAG.exec(token.value);
    const name = (match?.[1] ?? token.value.slice(2)).toLowerCase();
    if (!(ADD_FLAGS as readonly string[]).includes(name)) {
      throw invalid(`Unknown option ${code(`--${name.slice(0, 30)}`)}. Options: ${options}.`);
    }
    if (flags[name as AddFlag] !== undefined) throw invalid(`\`--${name}\` is given twice: give it once.`);
    if (SWITCHES.includes(name as AddFlag)) {
      if (match?.[2] !== undefined) throw invalid(`\`--${name}\` takes no value: give it alone.`);
      flags[name as AddFlag] = 'yes';
      return i + 1;
    }
    if (match?.[2] !== undefined) {
      flags[name as AddFlag] = match[2];
      return i + 1;
    }
    const value = tokens[i + 1];
    if (!value || isFlagToken(value) || (where === 'before' && startsKey(value))) {
      throw invalid(`\`--${name}\` needs a value right after it, like \`--${name} ${example(name)}\`.`);
    }
    flags[name as AddFlag] = value.value;
    return i + 2;
  };
  const startsKey = (token: Token): boolean =>
    text[token.start] === '`' || LOOKS_LIKE_KEY.test(token.value.trimStart());

  let i = from;
  while (i < tokens.length) {
    const token = tokens[i] as Token;
    if (isFlagToken(token)) {
      i = readFlag(i);
      continue;
    }
    if (text[token.start] === '`') {
      // Pasted as code: `key` or ```key```.
      const fence = text.startsWith('```', token.start) ? '```' : '`';
      const close = text.indexOf(fence, token.start + fence.length);
      if (close < 0) {
        throw invalid(
          `The key starts with ${code(fence)} but has no closing ${code(fence)}: close it, or paste the key without it.`,
        );
      }
      publicKey = decodeSlackText(text.slice(token.start + fence.length, close));
      keyEnd = close + fence.length;
      break;
    }
    if (LOOKS_LIKE_KEY.test(token.value.trimStart())) {
      if (token.quoted) {
        // Quotes around a key are accepted: its comment is then everything up to the closing quote.
        publicKey = token.value;
        keyEnd = token.end;
      } else {
        bare = true;
        const trailing = tokens.findIndex((t, j) => j > i && isFlagToken(t));
        keyEnd = trailing >= 0 ? (tokens[trailing] as Token).start : text.length;
        publicKey = decodeSlackText(text.slice(token.start, keyEnd));
      }
      break;
    }
    projectTokens.push(token);
    i += 1;
  }

  // After the key, only flags.
  where = 'after';
  let j = tokens.findIndex((t) => t.start >= keyEnd);
  let firstTrailing: Token | undefined;
  while (publicKey !== undefined && j >= 0 && j < tokens.length) {
    const token = tokens[j] as Token;
    if (!isFlagToken(token)) {
      if (firstTrailing && bare) {
        throw invalid(
          `${code(firstTrailing.value.split('=')[0] as string)} is inside the key: put options before the key or after all of it.`,
        );
      }
      throw invalid(
        `${code(token.value.slice(0, 30))} follows the key, where only options (${options}) may come. Put the key last, or quote it.`,
      );
    }
    firstTrailing ??= token;
    j = readFlag(j);
  }
  return { projectTokens, publicKey, flags };
}

function example(flag: string): string {
  if (flag === 'expires') return '8h';
  if (flag === 'reason') return '"incident 42"';
  return 'laptop';
}
