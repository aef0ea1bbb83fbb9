import { join } from 'node:path';

/**
 * Slack's own Block Kit rules, as the strict stand-in applies them to everything the app sends and to
 * every synchronous answer. The validator lives beside the project (../shared/tools), each rule with
 * its source; it is used from there, never copied.
 */
interface Linter {
  lintPayload(kind: 'message' | 'modal' | 'home', payload: unknown, opts?: { method?: string }): string[];
  lintAck(ack: {
    source: 'command' | 'view_submission' | 'block_actions' | 'block_suggestion' | 'event';
    status?: number;
    json?: unknown;
    text?: string;
    ms?: number;
    view?: unknown;
  }): string[];
  lintCalls(calls: { method: string; args: unknown }[]): { violations: string[] };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const linter = require(join(__dirname, '..', '..', '..', 'shared', 'tools', 'blockkit-lint.cjs')) as Linter;

/** Violations seen since the last `takeViolations`, each prefixed with where it was sent. */
const seen: string[] = [];

export function takeViolations(): string[] {
  return seen.splice(0);
}

/** Lints one Web API call or response_url post the app made. */
export function lintCall(method: string, args: Record<string, unknown>): string[] {
  const { violations } = linter.lintCalls([{ method: method === 'respond' ? 'response_url' : method, args }]);
  seen.push(...violations);
  return violations;
}

export type AckSource = 'command' | 'view_submission' | 'block_actions' | 'block_suggestion' | 'event';

/** Lints the app's synchronous HTTP answer to one of Slack's requests. */
export function lintAnswer(
  source: AckSource,
  answer: { status: number; body: string; ms: number },
  view?: unknown,
): string[] {
  let json: unknown = null;
  try {
    json = answer.body ? JSON.parse(answer.body) : null;
  } catch {
    json = null;
  }
  const violations = linter
    .lintAck({
      source,
      status: answer.status,
      json,
      text: answer.body,
      ms: answer.ms,
      ...(view ? { view } : {}),
    })
    .map((violation) => `ack(${source}) ${violation}`);
  seen.push(...violations);
  return violations;
}
