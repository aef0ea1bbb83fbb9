import { z } from 'zod';
import { parseDuration } from './domain/expiry';
import { MAX_REGISTRATIONS_PER_TOKEN_PER_MINUTE } from './domain/limits';

/** The install scripts on the dashboard hold the URL and must each fit one Slack text whole. */
export const MAX_PUBLIC_URL_LENGTH = 200;
import { documentKeys } from './domain/workspaces';
import { isRedisUrl, parseRedisNodes, type RedisNode } from './store/redisClients';

/** Settings from the environment (and `.env`). A bad or missing one stops start-up with one line naming it. */

const blankAsUnset = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blankAsUnset, schema.optional());

// Settings and key expiries share one duration grammar (`30m`, `8h`, `3d`).
export { parseDuration } from './domain/expiry';

/**
 * The first segment of every key the store writes: the documents', and the store's own counters, locks
 * and commit records. Keyv leaves a key that already starts with `<namespace>:` as it is, so a namespace
 * equal to one of these would read and write some documents outside the namespace.
 */
const STORE_KEY_PREFIXES: ReadonlySet<string> = new Set([
  ...Object.values(documentKeys).map((key) =>
    (key as (...parts: string[]) => string)('x', 'x', 'x').split(':')[0]!.toLowerCase(),
  ),
  'hit',
  'lock',
  'commit',
]);

/** A per-minute budget: a whole number, 0 switching the limit off. */
const perMinute = (fallback: number) =>
  z.preprocess(
    blankAsUnset,
    z.coerce
      .number({ error: 'must be a number of requests per minute (0 turns the limit off)' })
      .int('must be a whole number of requests per minute (0 turns the limit off)')
      .min(0, 'must be 0 (no limit) or more')
      .max(1_000_000_000, 'must be at most 1000000000')
      .default(fallback),
  );

/** `host:port,host:port,…` (each entry may be a redis:// or rediss:// URL carrying credentials). */
const redisNodes = z.string().transform((text, ctx) => {
  const nodes = parseRedisNodes(text);
  if (typeof nodes === 'string') {
    ctx.addIssue({ code: 'custom', message: nodes });
    return z.NEVER;
  }
  return nodes;
});

const schema = z
  .object({
    SLACK_BOT_TOKEN: z.preprocess(
      blankAsUnset,
      z
        .string({
          error:
            'is missing: set it to the bot token (xoxb-…) from your Slack app\'s "OAuth & Permissions" page',
        })
        .regex(/^xoxb-\S+$/, 'must be a bot token starting with xoxb-'),
    ),
    SLACK_APP_TOKEN: optional(
      z.string().regex(/^xapp-\S+$/, 'must be an app-level token starting with xapp-'),
    ),
    SLACK_SIGNING_SECRET: optional(z.string().regex(/^\S+$/, 'must not contain spaces')),
    SLACK_API_URL: optional(z.url({ error: 'must be a URL such as https://slack.com/api/' })),
    PORT: z.preprocess(
      blankAsUnset,
      z.coerce
        .number({ error: 'must be a port number' })
        .int('must be a whole number')
        .min(0, 'must be between 0 and 65535')
        .max(65535, 'must be between 0 and 65535')
        .default(3000),
    ),
    PUBLIC_URL: optional(
      z
        .url({
          error: 'must be the URL instances use to reach Keyhouse, such as https://keyhouse.example.com',
        })
        .max(
          MAX_PUBLIC_URL_LENGTH,
          `must be at most ${MAX_PUBLIC_URL_LENGTH} characters (it is written into install scripts shown in Slack)`,
        ),
    ),
    REDIS_URL: optional(
      z
        .string()
        .refine(
          isRedisUrl,
          'must be a URL such as redis://host:6379 or rediss://user:password@host:6380/0 (a password holding / ? # @ or % written %2F %3F %23 %40 %25)',
        ),
    ),
    REDIS_CLUSTER_NODES: optional(redisNodes),
    REDIS_SENTINELS: optional(redisNodes),
    REDIS_SENTINEL_NAME: optional(
      z
        .string()
        .regex(
          /^[A-Za-z0-9._-]{1,128}$/,
          'must be the name of the master the Sentinels monitor (letters, digits, ., _ or -), such as mymaster',
        ),
    ),
    DATA_DIR: z.preprocess(blankAsUnset, z.string().default('./data')),
    ORG_OWNERS: z.preprocess(
      blankAsUnset,
      z
        .string()
        .default('')
        .transform((text) =>
          text
            .split(',')
            .map((id) => id.trim())
            .filter(Boolean),
        )
        .refine(
          (ids) => ids.every((id) => /^[UW][A-Z0-9]{2,}$/.test(id)),
          'must be Slack user IDs such as U012AB3CD, separated by commas',
        ),
    ),
    APPROVAL_TTL: z.preprocess(
      blankAsUnset,
      z
        .string()
        .default('24h')
        .transform((text, ctx) => {
          const ms = parseDuration(text);
          if (ms === undefined || ms < 60_000) {
            ctx.addIssue({
              code: 'custom',
              message: 'must be a duration of at least a minute, such as 30m, 24h or 3d',
            });
            return z.NEVER;
          }
          return ms;
        }),
    ),
    REMINDER_AFTER: z.preprocess(
      blankAsUnset,
      z
        .string()
        .default('30m')
        .transform((text, ctx) => {
          const ms = /^\s*\d+\s*[smh]\s*$/i.test(text) ? parseDuration(text) : undefined;
          if (ms === undefined || ms < 1000) {
            ctx.addIssue({
              code: 'custom',
              message:
                'must be a duration in seconds, minutes or hours of at least 1s, such as 90s, 30m or 2h',
            });
            return z.NEVER;
          }
          return ms;
        }),
    ),
    STORE_NAMESPACE: z.preprocess(
      blankAsUnset,
      z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, _ or -')
        .default('keyhouse')
        .refine((namespace) => !STORE_KEY_PREFIXES.has(namespace.toLowerCase()), {
          error: (issue) =>
            `must not be ${String(issue.input)}, a prefix of Keyhouse's own stored keys (${[...STORE_KEY_PREFIXES].join(', ')}): pick another name, such as keyhouse`,
        }),
    ),
    LOG_LEVEL: z.preprocess(blankAsUnset, z.enum(['debug', 'info', 'warn', 'error']).default('info')),
    LOG_FORMAT: z.preprocess(
      blankAsUnset,
      z.enum(['json', 'pretty'], { error: 'must be json or pretty' }).default('json'),
    ),
    METRICS_TOKEN: optional(
      z.string().regex(/^[\x21-\x7e]{16,}$/, 'must be at least 16 printable characters without spaces'),
    ),
    KEY_RATE_LIMIT_PER_IP: perMinute(600),
    KEY_RATE_LIMIT_PER_PROJECT: perMinute(6000),
    KEY_AUTH_FAILURES_PER_IP: perMinute(60),
    KEY_REGISTRATIONS_PER_TOKEN: perMinute(MAX_REGISTRATIONS_PER_TOKEN_PER_MINUTE),
    TRUST_PROXY: z.preprocess(
      blankAsUnset,
      z
        .enum(['true', 'false'], { error: 'must be true or false' })
        .default('false')
        .transform((text) => text === 'true'),
    ),
  })
  .superRefine((env, ctx) => {
    // One way to reach Redis: a server, a cluster, or a master through Sentinel.
    const redis = (['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'] as const).filter(
      (name) => env[name],
    );
    if (redis.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [redis[1]!],
        message: `cannot be used with ${redis[0]!}: set one of them (a server, a cluster or Sentinel)`,
      });
    }
    if (env.REDIS_SENTINELS && !env.REDIS_SENTINEL_NAME) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_SENTINEL_NAME'],
        message:
          'is missing: with REDIS_SENTINELS, set it to the name of the master the Sentinels monitor, such as mymaster',
      });
    }
    if (env.REDIS_SENTINEL_NAME && !env.REDIS_SENTINELS) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_SENTINELS'],
        message: `is missing: REDIS_SENTINEL_NAME names a master found through Sentinel; list the Sentinels as host:port,host:port`,
      });
    }
    if (!env.SLACK_APP_TOKEN && !env.SLACK_SIGNING_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['SLACK_SIGNING_SECRET'],
        message:
          'is missing: HTTP mode needs the signing secret from your Slack app\'s "Basic Information" page (or set SLACK_APP_TOKEN for Socket Mode)',
      });
    }
  });

export interface Config {
  slackBotToken: string;
  slackAppToken?: string;
  slackSigningSecret?: string;
  slackApiUrl?: string;
  port: number;
  /** Where instances reach Keyhouse; shown in the setup recipes. */
  publicUrl: string;
  redisUrl?: string;
  /** The nodes of a Redis Cluster (REDIS_CLUSTER_NODES), instead of `redisUrl`. */
  redisCluster?: RedisNode[];
  /** A master found through Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_NAME), instead of `redisUrl`. */
  redisSentinel?: { name: string; sentinels: RedisNode[] };
  dataDir: string;
  /** Prefix of every stored key, so several deployments can share one Redis. */
  storeNamespace: string;
  orgOwners: string[];
  approvalTtlMs: number;
  /** When a pending request's approvers are first reminded; each later reminder waits twice as long. */
  reminderAfterMs: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** One JSON object a line, or lines for people. */
  logFormat: 'json' | 'pretty';
  /** When set, GET /metrics needs it as a Bearer token. */
  metricsToken?: string;
  /** Key route budgets per minute; 0 turns a limit off. */
  keyLimits: KeyLimits;
  /** Take the client address from X-Forwarded-For (the address the nearest proxy saw). */
  trustProxy: boolean;
}

export interface KeyLimits {
  perIp: number;
  perProject: number;
  /** Wrong or revoked tokens one client address may present before it is refused for the minute. */
  authFailuresPerIp: number;
  /** New instances one token may register. */
  registrationsPerToken: number;
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = String(issue?.path[0] ?? 'configuration');
    throw new ConfigError(`${name} ${issue?.message ?? 'is invalid'}`);
  }
  const e = result.data;
  return {
    slackBotToken: e.SLACK_BOT_TOKEN,
    ...(e.SLACK_APP_TOKEN ? { slackAppToken: e.SLACK_APP_TOKEN } : {}),
    ...(e.SLACK_SIGNING_SECRET ? { slackSigningSecret: e.SLACK_SIGNING_SECRET } : {}),
    ...(e.SLACK_API_URL ? { slackApiUrl: e.SLACK_API_URL } : {}),
    port: e.PORT,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    ...(e.REDIS_URL ? { redisUrl: e.REDIS_URL } : {}),
    ...(e.REDIS_CLUSTER_NODES ? { redisCluster: e.REDIS_CLUSTER_NODES } : {}),
    ...(e.REDIS_SENTINELS && e.REDIS_SENTINEL_NAME
      ? { redisSentinel: { name: e.REDIS_SENTINEL_NAME, sentinels: e.REDIS_SENTINELS } }
      : {}),
    dataDir: e.DATA_DIR,
    storeNamespace: e.STORE_NAMESPACE,
    orgOwners: e.ORG_OWNERS,
    approvalTtlMs: e.APPROVAL_TTL,
    reminderAfterMs: e.REMINDER_AFTER,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    ...(e.METRICS_TOKEN ? { metricsToken: e.METRICS_TOKEN } : {}),
    keyLimits: {
      perIp: e.KEY_RATE_LIMIT_PER_IP,
      perProject: e.KEY_RATE_LIMIT_PER_PROJECT,
      authFailuresPerIp: e.KEY_AUTH_FAILURES_PER_IP,
      registrationsPerToken: e.KEY_REGISTRATIONS_PER_TOKEN,
    },
    trustProxy: e.TRUST_PROXY,
  };
}
