import { invalid } from './errors';

const MAX_DAYS = 366;
const HOW = 'Give an expiry as hours (`8h`), days (`3d`) or a date (`2026-12-31`).';

/** Parses `8h`, `3d` or `YYYY-MM-DD` (end of that day, UTC) into an instant after `now`. */
export function parseExpiry(raw: string, now: Date, field = 'expires'): Date {
  const text = raw.trim().toLowerCase();
  const relative = /^(\d{1,4})\s*([hd])$/.exec(text);
  let at: Date;
  if (relative) {
    const amount = Number(relative[1]);
    at = new Date(now.getTime() + amount * (relative[2] === 'h' ? 3_600_000 : 86_400_000));
    if (amount === 0) throw invalid(`An expiry of zero is already past. ${HOW}`, field);
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
