import { performance } from 'node:perf_hooks';
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import { ACTION, ACTION_PREFIXES, CALLBACK, COMMAND_NAMES, FIELD } from '../slack/ids';
import type { KeyhouseLogger } from './logger';
import type { Metrics } from './metrics';
import { type RequestScope, requestScope } from './requestScope';

/** The app's own IDs: an action, view or option request is counted under one of them, or as `other`. */
const KNOWN_IDS: ReadonlySet<string> = new Set<string>([
  ...Object.values(ACTION),
  ...Object.values(CALLBACK),
  ...Object.values(FIELD),
]);
const COMMANDS: ReadonlySet<string> = new Set<string>(COMMAND_NAMES);
/** The events Keyhouse subscribes to (manifest.yml's bot_events): any other type is counted as `other`. */
export const SUBSCRIBED_EVENTS: ReadonlySet<string> = new Set(['app_home_opened']);

/**
 * An action or callback ID as a bounded kind: itself when it is one of ours, the prefix it extends
 * (`list_page_next` is `list_page`), else `other`: an ID no listener takes (`request_approve_x`) is
 * answered at once rather than left to Bolt's 3 s timeout.
 */
function idKind(id: unknown): string {
  if (typeof id !== 'string') return 'other';
  if (KNOWN_IDS.has(id)) return id;
  return ACTION_PREFIXES.find((prefix) => id.startsWith(`${prefix}_`)) ?? 'other';
}

interface Described {
  kind: string;
  team?: string;
  user?: string;
}

/** What a request is, from identifiers only: never its text, values or search. */
export function describeSlackRequest(body: Record<string, unknown>): Described {
  const str = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const obj = (value: unknown) =>
    value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  const team = str(body.team_id) ?? str(obj(body.team).id) ?? str(obj(body.user).team_id);
  if (typeof body.command === 'string') {
    return { kind: COMMANDS.has(body.command) ? body.command : 'other', team, user: str(body.user_id) };
  }
  const user = str(obj(body.user).id);
  switch (body.type) {
    case 'block_actions': {
      const first = Array.isArray(body.actions) ? obj(body.actions[0]) : {};
      return { kind: idKind(first.action_id), team, user };
    }
    case 'block_suggestion':
      return { kind: idKind(body.action_id), team, user };
    case 'view_submission':
    case 'view_closed':
      return { kind: idKind(obj(body.view).callback_id), team, user };
    case 'shortcut':
    case 'message_action':
      return { kind: idKind(body.callback_id), team, user };
    case 'event_callback': {
      const event = obj(body.event);
      const type = str(event.type);
      return { kind: type && SUBSCRIBED_EVENTS.has(type) ? type : 'other', team, user: str(event.user) };
    }
    default:
      return { kind: 'other', team, user };
  }
}

/**
 * The first global middleware: each Slack request runs inside its own request scope (so every line
 * logged while it is handled carries its kind, team and user, and a refusal or an error logged marks
 * its outcome), then is written as one log line and counted in the metrics. A request waiting for an
 * answer whose command or ID is none of Keyhouse's (no listener would answer it) is answered at once,
 * empty, and is `refused`, rather than left to Bolt's 3 s timeout and 404.
 */
export function observeSlackRequests(
  logger: KeyhouseLogger,
  metrics: Metrics,
): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const { body, next } = args;
    const started = performance.now();
    const { kind, team, user } = describeSlackRequest(body as unknown as Record<string, unknown>);
    const fields: Record<string, string> = { kind, ...(team ? { team } : {}), ...(user ? { user } : {}) };
    const scope: RequestScope = { fields, outcome: 'ok' };
    // Bolt gives `ack` to the requests that wait for an answer (events are answered before this runs).
    const ack = (args as { ack?: (answer?: { options: [] }) => Promise<void> }).ack;
    try {
      if (kind === 'other' && ack) {
        scope.outcome = 'refused';
        await ack(body.type === 'block_suggestion' ? { options: [] } : undefined);
        return;
      }
      await requestScope.run(scope, next);
    } catch (error) {
      scope.outcome = 'error';
      throw error;
    } finally {
      metrics.slackRequest(kind, scope.outcome, started);
      logger
        .child({
          ...fields,
          outcome: scope.outcome,
          duration_ms: Math.round((performance.now() - started) * 10) / 10,
        })
        .info('slack request');
    }
  };
}
