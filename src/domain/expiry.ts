import { invalid } from './errors';

const MAX_DAYS = 366;
/** The shortest relative expiry: a key that lasts less would expire before anyone could use it. */
export const MIN_EXPIRY_MINUTES = 5;
const HOW = 'Give an expiry as minutes (`30m`), hours (`8h`), days (`3d`) or a date (`2026-12-31`).';

/**
 * The one duration grammar: a whole number and a unit, `30m`, `8h`, `3d` (and `s`, for settings such as
 * APPROVAL_TTL). Returns milliseconds, or undefined when the text is not a duration.
 */
const DURATION = /^(\d{1,9})\s*([smhd])$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim().toLowerCase());
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** Parses `30m`, `8h`, `3d` or `YYYY-MM-DD` (end of that day, UTC) into an instant after `now`. */
export function parseExpiry(raw: string, now: Date, field = 'expires'): Date {
  const text = raw.trim().toLowerCase();
  const relative = /^\d{1,6}\s*[mhd]$/.test(text) ? parseDuration(text) : undefined;
  let at: Date;
  if (relative !== undefined) {
    if (relative === 0) throw invalid(`An expiry of zero is already past. ${HOW}`, field);
    if (relative < MIN_EXPIRY_MINUTES * 60_000) {
      throw invalid(`An expiry is at least ${MIN_EXPIRY_MINUTES} minutes away. ${HOW}`, field);
    }
    at = new Date(now.getTime() + relative);
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    at = new Date(`${text}T23:59:59.999Z`);
    if (Number.isNaN(at.getTime()) || at.toISOString().slice(0, 10) !== text) {
      throw invalid(`\`${raw.slice(0, 20)}\` is not a calendar date. ${HOW}`, field);
    }
    if (at.getTime() <= now.getTime()) throw invalid(`${text} is already past. ${HOW}`, field);
  } else {
    throw invalid(`\`${raw.slice(0, 20)}\` is not an expiry. ${HOW}`, field);
  }
  if (at.getTime() - now.getTime() > MAX_DAYS * 86_400_000) {
    throw invalid(`An expiry can be at most ${MAX_DAYS} days away. ${HOW}`, field);
  }
  return at;
}

export const isExpired = (expiresAt: string | undefined, now: Date): boolean =>
  expiresAt !== undefined && Date.parse(expiresAt) <= now.getTime();
