import { DomainError, invalid } from './errors';
import { refusePrivateKey } from './keys/privateKey';

export const PROJECT_NAME_MAX = 64;
export const KEY_NAME_MAX = 64;
export const DESCRIPTION_MAX = 200;

const PROJECT_NAME = /^[A-Za-z0-9 ._-]+$/;

/** Names are unique case-insensitively; this is the form they are compared in. */
export const nameKey = (name: string): string => name.trim().toLowerCase();

export function validateProjectName(raw: string, field = 'name'): string {
  refusePrivateKey(raw, field);
  // Quotes typed around a name (as a command needs for spaces) are not part of it.
  const name = raw
    .trim()
    .replace(/^["\u201c\u201d](.*)["\u201c\u201d]$/s, '$1')
    .trim();
  if (name === '')
    throw invalid('A project needs a name: 1 to 64 letters, digits, spaces, `.`, `_` or `-`.', field);
  if (name.length > PROJECT_NAME_MAX) {
    throw invalid(
      `That name has ${name.length} characters; a project name has at most ${PROJECT_NAME_MAX}.`,
      field,
    );
  }
  if (!PROJECT_NAME.test(name)) {
    throw invalid('A project name may hold only letters, digits, spaces, `.`, `_` and `-`.', field);
  }
  return name;
}

export function validateDescription(raw: string, field = 'description'): string {
  refusePrivateKey(raw, field);
  const description = raw.trim();
  if (description.length > DESCRIPTION_MAX) {
    throw invalid(
      `That description has ${description.length} characters; at most ${DESCRIPTION_MAX} are allowed.`,
      field,
    );
  }
  return description;
}

export function validateKeyName(raw: string, field = 'name'): string {
  refusePrivateKey(raw, field);
  const name = raw.trim().replace(/\s+/g, ' ');
  if (name === '') throw invalid('A key name cannot be empty.', field);
  if (name.length > KEY_NAME_MAX) {
    throw invalid(`That key name has ${name.length} characters; at most ${KEY_NAME_MAX} are allowed.`, field);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f<>`*]/.test(name)) {
    throw invalid('A key name cannot hold control characters or any of `<`, `>`, `` ` `` and `*`.', field);
  }
  return name;
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = previous[0] as number;
    previous[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = previous[j] as number;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      previous[j] = Math.min(above + 1, (previous[j - 1] as number) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return previous[b.length] as number;
}

/** The candidate closest to `wanted`, if it is close enough to be a likely typo. */
export function closestName(wanted: string, candidates: string[]): string | undefined {
  const target = nameKey(wanted);
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const key = nameKey(name);
    const distance = key.includes(target) || target.includes(key) ? 1 : editDistance(target, key);
    if (!best || distance < best.distance) best = { name, distance };
  }
  if (!best) return undefined;
  return best.distance <= Math.max(2, Math.floor(target.length / 3)) ? best.name : undefined;
}

/** "There is no X `wanted`. Did you mean `closest`? <where to look>" — the one not-found answer. */
export function notFound(
  what: string,
  wanted: string,
  candidates: string[],
  whereToLook: string,
): DomainError {
  const suggestion = closestName(wanted, candidates);
  return new DomainError(
    'not_found',
    `${what} \`${wanted.slice(0, 64)}\`.` +
      (suggestion ? ` Did you mean \`${suggestion}\`?` : '') +
      ` ${whereToLook}`,
  );
}
