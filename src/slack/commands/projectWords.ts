import type { Domain } from '../../domain';
import type { Actor } from '../../domain/model';
import { nameKey, PROJECT_NAME_MAX } from '../../domain/names';
import { code, escapeText } from '../render/format';
import type { Token } from '../tokenize';
import { UsageError } from './usage';

/**
 * Names with spaces, typed without quotes. The words after a sub-command may name a project by a longer
 * run of words (`/project show web team`): the one place that decides which words are the project, for
 * every sub-command that takes `<project>`.
 */
export interface ProjectArguments {
  /** The sub-command as typed before the project (`/project rename`), for the suggestions. */
  command: string;
  usage: string;
  /** Whether the tokens after the project are what the sub-command takes. */
  fits(rest: Token[]): boolean;
  /** The sub-command's last argument is free text (a new name, a key): suggestions quote it whole. */
  restIsText?: boolean;
  /** Among readings that fit, the ones that make sense (a known resource type…) win over the others. */
  prefer?(rest: Token[]): boolean;
}

export interface ProjectWords {
  /** The project as the domain looks it up: a name or an ID. */
  reference: string;
  /** Index of the first token after the project. */
  next: number;
}

const isFlag = (token: Token): boolean => !token.quoted && /^--[a-z]/.test(token.value);
const canonical = (words: string): string => nameKey(words.replace(/\s+/g, ' '));

/** How many tokens from `from` could together be a project name: a run of plain, unquoted words. */
function runLength(tokens: Token[], from: number): number {
  const first = tokens[from];
  if (!first) return 0;
  if (first.quoted || first.kind !== 'word') return 1;
  let length = 0;
  let chars = -1;
  for (let i = from; i < tokens.length; i += 1) {
    const token = tokens[i] as Token;
    if (token.quoted || token.kind !== 'word' || isFlag(token)) break;
    chars += token.value.length + 1;
    if (chars > PROJECT_NAME_MAX) break;
    length += 1;
  }
  return Math.max(length, 1);
}

const phrase = (tokens: Token[], from: number, length: number): string =>
  tokens
    .slice(from, from + length)
    .map((t) => t.value)
    .join(' ');

/** The runs of words from `from` that could name a project, shortest first. */
export function projectPhrases(tokens: Token[], from: number): string[] {
  return Array.from({ length: runLength(tokens, from) }, (_, i) => phrase(tokens, from, i + 1));
}

function typed(token: Token): string {
  if (token.kind === 'user') return `<@${token.value}>`;
  if (token.kind === 'channel') return `<#${token.value}>`;
  return token.quoted || /\s/.test(token.value) ? `"${token.value}"` : token.value;
}

const quoted = (words: string): string => (/\s/.test(words) ? `"${words}"` : words);

/** A reading of the words, retyped with the quotes that make it the only one. */
function retyped(shape: ProjectArguments, project: string, rest: Token[]): string {
  const tail =
    shape.restIsText && rest.length > 1
      ? quoted(rest.map((t) => t.value).join(' '))
      : rest.map(typed).join(' ');
  return `${shape.command} ${quoted(project)}${tail ? ` ${tail}` : ''}`;
}

/**
 * Which of the tokens from `from` are the project, given the names (and IDs) of the projects the
 * caller may see that those words could spell. Longest existing name wins when the rest fits; two
 * readings that both fit, or words left over, are answered with the readings and how to quote.
 */
export function resolveProjectWords(
  tokens: Token[],
  from: number,
  projectNames: readonly string[],
  shape: ProjectArguments,
): ProjectWords {
  const length = runLength(tokens, from);
  const first = tokens[from];
  if (!first || length === 0) throw new UsageError('The project is missing.', shape.usage);
  const known = new Set(projectNames.map(canonical));
  const lengths = Array.from({ length }, (_, i) => length - i); // longest first
  const existing = lengths.filter((k) => known.has(canonical(phrase(tokens, from, k))));
  const fitting = existing.filter((k) => shape.fits(tokens.slice(from + k)));
  const preferred = shape.prefer ? fitting.filter((k) => shape.prefer?.(tokens.slice(from + k))) : [];
  const readings = preferred.length > 0 ? preferred : fitting;
  const reading = (k: number): ProjectWords => ({ reference: phrase(tokens, from, k), next: from + k });
  if (readings.length === 1) return reading(readings[0] as number);
  if (readings.length > 1) {
    const lines = readings.map((k) => {
      const project = phrase(tokens, from, k);
      const rest = tokens.slice(from + k);
      const after = rest.length ? `, then ${code(rest.map((t) => t.value).join(' '))}` : '';
      return `• project *${escapeText(project)}*${after}: ${code(retyped(shape, project, rest))}`;
    });
    throw new UsageError(
      `${code(
        tokens
          .slice(from)
          .map((t) => t.value)
          .join(' '),
      )} can be read ${readings.length === 2 ? 'two' : `${readings.length}`} ways, so nothing was changed:\n` +
        `${lines.join('\n')}\nType the one you mean, with the quotes.`,
      shape.usage,
    );
  }
  if (existing.length > 0) {
    const k = existing[0] as number;
    const project = phrase(tokens, from, k);
    const left = tokens
      .slice(from + k)
      .map((t) => t.value)
      .join(' ');
    const example = shape.fits([])
      ? ` To mean *${escapeText(project)}*: ${code(retyped(shape, project, []))}.`
      : '';
    throw new UsageError(
      `After project *${escapeText(project)}*, ${code(left)} is left over, and ${code(shape.command)} does not take it there, so nothing was changed.` +
        `${example} A name with spaces goes in quotes, like ${code('"web team"')}.`,
      shape.usage,
    );
  }
  // No name the caller may see: the reading that fits, else the first word (the domain says what is close).
  const shortest = [...lengths].reverse().find((k) => shape.fits(tokens.slice(from + k)));
  return reading(shortest ?? 1);
}

/** Reads the project from `from` on, asking the organization once for the names those words could spell. */
export async function projectWords(
  domain: Domain,
  actor: Actor,
  tokens: Token[],
  from: number,
  shape: ProjectArguments,
): Promise<ProjectWords> {
  const phrases = projectPhrases(tokens, from);
  if (phrases.length === 0) throw new UsageError('The project is missing.', shape.usage);
  const found = phrases.length > 1 ? await domain.projects.named(actor, phrases) : [];
  return resolveProjectWords(
    tokens,
    from,
    found.flatMap((p) => [p.name, p.id]),
    shape,
  );
}

/** Nothing after the project. */
export const nothingAfter = (rest: Token[]): boolean => rest.length === 0;
