import { appendFileSync } from 'node:fs';
import { takeViolations } from './slackLint';

/**
 * Every test that talks to the stand-in Slack fails on anything Slack would refuse or render wrongly:
 * the payloads the app sent and its synchronous answers, checked by ../shared/tools/blockkit-lint.
 */
afterEach(() => {
  const violations = takeViolations();
  // SLACK_LINT_REPORT=<file> lists the violations instead of failing, to survey them all at once.
  if (process.env.SLACK_LINT_REPORT) {
    appendFileSync(
      process.env.SLACK_LINT_REPORT,
      violations.map((v) => `${expect.getState().testPath} :: ${v}\n`).join(''),
    );
    return;
  }
  if (violations.length > 0) {
    throw new Error(
      `Slack would refuse or misrender what the app sent:\n${violations.slice(0, 20).join('\n')}${violations.length > 20 ? `\n…and ${violations.length - 20} more` : ''}`,
    );
  }
});
