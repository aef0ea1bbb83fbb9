import { renderCreateProjectModal } from '../../src/slack/render/modals';
import { mrkdwnFromDomain, plainFromDomain } from '../../src/slack/render/format';
import { renderHelp, renderUnknownSubcommand, USAGE } from '../../src/slack/render/help';
import { renderError } from '../../src/slack/render/messages';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { lintCall, takeViolations } from '../helpers/slackLint';
import { visibleText } from '../helpers/slackUser';

/**
 * What people type comes back as they typed it, escaped once for Slack; our own markup (mentions,
 * dates) stays live; form errors are plain text. Every help and usage text passes Slack's rules.
 */
const HOSTILE = '<web> & <!channel> <https://evil.example|click> &lt;';

describe('help and usage texts', () => {
  test.each(Object.keys(USAGE) as (keyof typeof USAGE)[])('/%s help passes Slack’s rules', (command) => {
    expect(lintCall('chat.postMessage', { channel: 'C1', ...renderHelp(command) })).toEqual([]);
    expect(
      lintCall('chat.postMessage', { channel: 'C1', ...renderUnknownSubcommand(command, HOSTILE) }),
    ).toEqual([]);
    for (const usage of Object.values(USAGE[command])) {
      expect(
        lintCall('chat.postMessage', { channel: 'C1', ...renderError(`Bad ${HOSTILE}`, usage) }),
      ).toEqual([]);
    }
  });
});

describe('domain messages at the edge', () => {
  test('echoed text is escaped once; mentions, channels and dates stay live', () => {
    const message = `There is no project \`${HOSTILE}\`. Ask <@U0OWNER> in <#C0INFRA|infra> before <!date^1700000000^{date}|Nov 14>.`;
    const shown = mrkdwnFromDomain(message);
    expect(shown).toContain(
      '`&lt;web&gt; &amp; &lt;!channel&gt; &lt;https://evil.example|click&gt; &amp;lt;`',
    );
    expect(shown).toContain('<@U0OWNER>');
    expect(shown).toContain('<#C0INFRA|infra>');
    expect(shown).toContain('<!date^1700000000^{date}|Nov 14>');
    expect(lintCall('chat.postMessage', { channel: 'C1', text: shown })).toEqual([]);
  });

  test('form errors are plain text', () => {
    expect(
      plainFromDomain('*web* is taken by <@U0ALICE|alice>: pick a name with `.`, `_` or `-` in <#C0X|ops>.'),
    ).toBe('web is taken by @alice: pick a name with ‘.’, ‘_’ or ‘-’ in #ops.');
  });
});

describe('through the real app', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(() => harness.stop());

  test('a reference with angle brackets and ampersands is answered as typed, and Slack accepts it', async () => {
    // Slack sends what was typed with &, < and > escaped.
    const answer = await harness.user(OWNER_ID).command('/project', 'show &lt;web&gt; &amp; co');
    expect(visibleText(answer.body)).toContain('<web> & co');
    expect(takeViolations()).toEqual([]);
  });

  test('the create-project form takes a quoted name, and its errors are plain text', async () => {
    const form = harness.client(OWNER_ID);
    const view = renderCreateProjectModal('C0GENERAL') as unknown as Record<string, unknown>;
    expect(await form.submitForm(view, { name: '"web team"', description: '' })).toEqual({});
    const list = visibleText((await harness.user(OWNER_ID).command('/project', 'list')).body);
    expect(list).toContain('*web team*');
    const refused = await form.submitForm(view, { name: 'web/team', description: '' });
    const error = (refused.errors as Record<string, string>).name ?? '';
    expect(error).toMatch(/only letters, digits, spaces/);
    expect(error).not.toMatch(/[*`]|&lt;|&amp;/);
    expect(error).not.toMatch(/Quote names/);
  });
});
