import type { WebClient } from '@slack/web-api';
import type { OnCallMembers } from '../domain/breakGlass';

/** How long a user group's members are trusted before Slack is asked again. */
export const ON_CALL_CACHE_MS = 60_000;

/**
 * How long a break-glass command waits for Slack's answer: a form must be answered within 3 s, and the
 * Web API client would otherwise retry a Slack that does not answer for minutes.
 */
export const ON_CALL_TIMEOUT_MS = 2_000;

/** The options of the WebClient that asks who is on call: one try, within the time, never queued. */
export const ON_CALL_CLIENT_OPTIONS = {
  retryConfig: { retries: 0 },
  timeout: ON_CALL_TIMEOUT_MS,
  rejectRateLimitedCalls: true,
} as const;

/** Slack's error code when Slack answered with one (`missing_scope`…), else a general word. */
const slackCode = (error: unknown): string => {
  if ((error as { code?: unknown }).code === 'slack_webapi_rate_limited_error') return 'ratelimited';
  const data = (error as { data?: { error?: unknown } }).data;
  return typeof data?.error === 'string' ? data.error : 'slack_unreachable';
};

/**
 * Members of a workspace's user group, read with `usergroups.users.list` (scope `usergroups:read`) and
 * kept in memory for a minute per workspace and group, so a burst of break-glass attempts asks Slack
 * once. `client` is a WebClient of its own made with `ON_CALL_CLIENT_OPTIONS` (one try, cut at the
 * timeout, refused rather than queued when rate limited), so a Slack that does not answer never holds
 * up the bot's other calls. One question per workspace and group is in flight at a time; others wait
 * for its answer. An answer that comes after a caller gave up is still kept for the next one. A
 * failure is never cached: it throws with Slack's error code, and the domain refuses.
 */
export function onCallMembersFrom(
  client: () => WebClient,
  now: () => number = Date.now,
  ttlMs = ON_CALL_CACHE_MS,
  timeoutMs = ON_CALL_TIMEOUT_MS,
): OnCallMembers {
  const cache = new Map<string, { at: number; users: string[] }>();
  const inFlight = new Map<string, Promise<string[]>>();
  const ask = (teamId: string, groupId: string, key: string): Promise<string[]> => {
    const asking = inFlight.get(key);
    if (asking) return asking;
    const question = client()
      .usergroups.users.list({ usergroup: groupId, team_id: teamId })
      .then(
        (answer) => {
          const users = answer.users ?? [];
          if (cache.size >= 10_000) cache.clear();
          cache.set(key, { at: now(), users });
          return users;
        },
        (error: unknown) => {
          throw new Error(slackCode(error));
        },
      )
      .finally(() => inFlight.delete(key));
    // Whoever gave up waiting is not told of a late failure.
    question.catch(() => undefined);
    inFlight.set(key, question);
    return question;
  };
  return async (teamId, groupId) => {
    const key = `${teamId}:${groupId}`;
    const cached = cache.get(key);
    if (cached && now() - cached.at < ttlMs) return cached.users;
    let timer: NodeJS.Timeout | undefined;
    try {
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('slack_timeout')), timeoutMs);
      });
      return await Promise.race([ask(teamId, groupId, key), late]);
    } finally {
      clearTimeout(timer);
    }
  };
}
