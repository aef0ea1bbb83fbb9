import { DomainError } from './errors';
import { parseDuration } from './expiry';
import type { Project, ProjectSettings } from './model';

/** A project name as typed in a command (as projects.ts quotes it; kept here to import nothing). */
const quoteName = (name: string): string => (/\s/.test(name) ? `"${name}"` : name);

/**
 * A project's key policies: its key lifetime and its break-glass settings.
 *
 * The one key-lifetime rule: keys added by anyone who is not an admin of the project expire within
 * its `max-key-lifetime`. A longer expiry is refused with the limit named; a missing one gets the
 * limit. Commands, forms, requests (counted from approval) and break-glass keys all ask here.
 */

export type MaxKeyLifetime = NonNullable<ProjectSettings['maxKeyLifetime']>;
export type KeyLifetimeLimit = Exclude<MaxKeyLifetime, 'none'>;

export const MAX_KEY_LIFETIMES: readonly MaxKeyLifetime[] = ['8h', '3d', '30d', 'none'];
export const DEFAULT_MAX_KEY_LIFETIME: MaxKeyLifetime = 'none';

export const isMaxKeyLifetime = (text: string): text is MaxKeyLifetime =>
  (MAX_KEY_LIFETIMES as readonly string[]).includes(text);

export const maxKeyLifetimeOf = (project: Project): MaxKeyLifetime =>
  project.settings.maxKeyLifetime ?? DEFAULT_MAX_KEY_LIFETIME;

const limitMs = (limit: KeyLifetimeLimit): number => parseDuration(limit) as number;

/** The project's limit, or undefined when it has none. */
export function keyLifetimeLimit(project: Project): KeyLifetimeLimit | undefined {
  const limit = maxKeyLifetimeOf(project);
  return limit === 'none' ? undefined : limit;
}

/**
 * Refuses an expiry beyond the project's limit for a key added by a non-admin, naming the limit and
 * what to do instead. An absent expiry passes: the caller gives it the limit (`keyLifetimeExpiry`).
 */
export function assertKeyLifetime(project: Project, expiresAt: Date | undefined, now: Date): void {
  const limit = keyLifetimeLimit(project);
  if (!limit || !expiresAt) return;
  if (expiresAt.getTime() - now.getTime() <= limitMs(limit)) return;
  throw new DomainError(
    'invalid_input',
    `Keys added by people who are not admins of project *${project.name}* must expire within ${limit} ` +
      `(its max-key-lifetime). Give \`--expires ${limit}\` or less, or leave the expiry out to get ${limit}; ` +
      `an admin can add a longer-lived key, or change the limit with \`/project set ${quoteName(project.name)} max-key-lifetime\`.`,
    'expires',
  );
}

/** The expiry a non-admin's key gets now: as asked (checked), else the project's limit, else none. */
export function keyLifetimeExpiry(
  project: Project,
  expiresAt: Date | undefined,
  now: Date,
): Date | undefined {
  assertKeyLifetime(project, expiresAt, now);
  const limit = keyLifetimeLimit(project);
  if (expiresAt || !limit) return expiresAt;
  return new Date(now.getTime() + limitMs(limit));
}

/**
 * The expiry of a requested key at its approval, `at`: as asked, within the stricter of the limit the
 * request was made under and the project's limit now, counted from the approval; without either, as
 * asked.
 */
export function expiryAtApproval(
  project: Project,
  asked: string | undefined,
  limitWhenAsked: KeyLifetimeLimit | undefined,
  at: string,
): string | undefined {
  const limits = [keyLifetimeLimit(project), limitWhenAsked].filter(
    (l): l is KeyLifetimeLimit => l !== undefined,
  );
  if (limits.length === 0) return asked;
  const cap = Date.parse(at) + Math.min(...limits.map(limitMs));
  return new Date(asked ? Math.min(Date.parse(asked), cap) : cap).toISOString();
}

// ——— break-glass settings ———

export type BreakGlassSwitch = NonNullable<ProjectSettings['breakGlass']>;
export type BreakGlassMax = NonNullable<ProjectSettings['breakGlassMax']>;

export const BREAK_GLASS_SWITCH: readonly BreakGlassSwitch[] = ['on', 'off'];
export const BREAK_GLASS_MAXIMA: readonly BreakGlassMax[] = ['1h', '4h', '8h'];
export const DEFAULT_BREAK_GLASS_MAX: BreakGlassMax = '4h';

export const isBreakGlassSwitch = (text: string): text is BreakGlassSwitch =>
  (BREAK_GLASS_SWITCH as readonly string[]).includes(text);
export const isBreakGlassMax = (text: string): text is BreakGlassMax =>
  (BREAK_GLASS_MAXIMA as readonly string[]).includes(text);

export const breakGlassOf = (project: Project): BreakGlassSwitch => project.settings.breakGlass ?? 'off';
export const breakGlassMaxOf = (project: Project): BreakGlassMax =>
  project.settings.breakGlassMax ?? DEFAULT_BREAK_GLASS_MAX;
export const breakGlassMaxMs = (project: Project): number =>
  parseDuration(breakGlassMaxOf(project)) as number;
