import type { WebClient } from '@slack/web-api';
import type { OnCallMembers } from '../domain/breakGlass';

/** How long a user group's members are trusted before Slack is asked again. */
export const ON_CALL_CACHE_MS = 60_000;

/**
 * How long a break-glass command waits for Slack's answer: a form must be answered within 3 s, and the
 * Web API client would otherwise retry a Slack that does not answer for minutes.
 */
export const ON_CALL_TIMEOUT_MS = 2_000;

/** Slack's error code when Slack answered with one (`missing_scope`…), else a general word. */
const slackCode = (error: unknown): string => {
  const data = (error as { data?: { error?: unknown } }).data;
  return typeof data?.error === 'string' ? data.error : 'slack_unreachable';
};

/**
 * Members of a workspace's user group, read with `usergroups.users.list` (scope `usergroups:read`) and
 * kept in memory for a minute per workspace and group, so a burst of break-glass attempts asks Slack
 * once. A failure is never cached: it throws with Slack's error code, and the domain refuses.
 */
export function onCallMembersFrom(
  client: () => WebClient,
  now: () => number = Date.now,
  ttlMs = ON_CALL_CACHE_MS,
  timeoutMs = ON_CALL_TIMEOUT_MS,
): OnCallMembers {
  const cache = new Map<string, { at: number; users: string[] }>();
  return async (teamId, groupId) => {
    const key = `${teamId}:${groupId}`;
    const cached = cache.get(key);
    if (cached && now() - cached.at < ttlMs) return cached.users;
    let users: string[];
    let timer: NodeJS.Timeout | undefined;
    try {
      const asking = client().usergroups.users.list({ usergroup: groupId, team_id: teamId });
      // An answer that comes after the timeout is dropped (and its failure with it).
      asking.catch(() => undefined);
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('slack_timeout')), timeoutMs);
      });
      users = (await Promise.race([asking, late])).users ?? [];
    } catch (error) {
      throw new Error(
        error instanceof Error && error.message === 'slack_timeout' ? 'slack_timeout' : slackCode(error),
      );
    } finally {
      clearTimeout(timer);
    }
    if (cache.size >= 10_000) cache.clear();
    cache.set(key, { at: now(), users });
    return users;
  };
}
