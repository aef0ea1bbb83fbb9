import { createHmac } from 'node:crypto';
import type { FakeSlack, RecordedCall } from './fakeSlack';
import { type AckSource, lintAnswer } from './slackLint';

export const SIGNING_SECRET = 'test-signing-secret';

/** Text a user would read in a message: its fallback text and every text in its blocks. */
export function visibleText(body: Record<string, unknown>): string {
  const texts: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'text' && typeof inner === 'string') texts.push(inner);
        else walk(inner);
      }
    }
  };
  walk(body.blocks ?? body.view ?? []);
  if (typeof body.text === 'string') texts.unshift(body.text);
  // As Slack shows it: the three escaped characters read as themselves.
  return texts.join('\n').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export interface HttpAnswer {
  status: number;
  body: string;
  /** How long the app took to answer. */
  ms: number;
  json: () => Record<string, unknown>;
}

/** Sends requests to the app the way Slack does: signed with the signing secret. */
export async function signedPost(
  baseUrl: string,
  body: string,
  contentType: string,
  options: { secret?: string; timestamp?: number } = {},
): Promise<HttpAnswer> {
  const started = Date.now();
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = `v0=${createHmac('sha256', options.secret ?? SIGNING_SECRET)
    .update(`v0:${timestamp}:${body}`)
    .digest('hex')}`;
  const response = await fetch(`${baseUrl}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': contentType,
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': signature,
    },
    body,
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text,
    ms: Date.now() - started,
    json: () => (text ? (JSON.parse(text) as Record<string, unknown>) : {}),
  };
}

/** A person in a workspace, typing commands and submitting forms. */
export class SlackUser {
  constructor(
    private readonly baseUrl: string,
    private readonly slack: FakeSlack,
    readonly userId: string,
    readonly teamId = 'T0001',
    readonly channelId = 'C0GENERAL',
  ) {}

  /** Runs a slash command and returns the ephemeral reply (or the modal it opened). */
  async command(command: string, text: string): Promise<RecordedCall> {
    const responseUrl = this.slack.newResponseUrl();
    const triggerId = `trigger-${responseUrl.split('/').pop()}`;
    const body = new URLSearchParams({
      token: 'legacy',
      team_id: this.teamId,
      team_domain: 'acme',
      channel_id: this.channelId,
      channel_name: 'general',
      user_id: this.userId,
      user_name: this.userId.toLowerCase(),
      command,
      text,
      api_app_id: 'AKEYHOUSE',
      is_enterprise_install: 'false',
      response_url: responseUrl,
      trigger_id: triggerId,
    }).toString();
    const answer = await signedPost(this.baseUrl, body, 'application/x-www-form-urlencoded');
    lintAnswer('command', answer);
    if (answer.status !== 200) throw new Error(`command answered ${answer.status}: ${answer.body}`);
    const responsePath = new URL(responseUrl).pathname;
    return this.slack.waitFor(
      (call) =>
        (call.method === 'respond' && call.path === responsePath) ||
        (call.method === 'views.open' && call.body.trigger_id === triggerId),
    );
  }

  /** Submits a modal with the given text inputs; returns the app's acknowledgement (field errors or nothing). */
  submit(view: Record<string, unknown>, values: Record<string, string>): Promise<Record<string, unknown>> {
    return new SlackClientOf(this.baseUrl, this.userId, this.teamId).submitForm(view, values);
  }
}

export type FormValue = string | { selected: string } | { conversation: string };

function stateOf(values: Record<string, FormValue>) {
  return {
    values: Object.fromEntries(
      Object.entries(values).map(([block, value]) => {
        if (typeof value === 'string') return [block, { [block]: { type: 'plain_text_input', value } }];
        if ('selected' in value) {
          return [
            block,
            {
              [block]: {
                type: 'static_select',
                selected_option: {
                  value: value.selected,
                  text: { type: 'plain_text', text: value.selected },
                },
              },
            },
          ];
        }
        return [
          block,
          { [block]: { type: 'conversations_select', selected_conversation: value.conversation } },
        ];
      }),
    ),
  };
}

/** Slack's other payloads: events, button clicks, form submissions with selects, option requests. */
export class SlackClientOf {
  constructor(
    private readonly baseUrl: string,
    readonly userId: string,
    readonly teamId = 'T0001',
  ) {}

  private async interact(payload: Record<string, unknown>): Promise<HttpAnswer> {
    const answer = await signedPost(
      this.baseUrl,
      new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
      'application/x-www-form-urlencoded',
    );
    lintAnswer(
      payload.type as AckSource,
      answer,
      payload.type === 'view_submission' ? payload.view : undefined,
    );
    if (answer.status !== 200) throw new Error(`interaction answered ${answer.status}: ${answer.body}`);
    return answer;
  }

  async event(event: Record<string, unknown>): Promise<void> {
    const body = JSON.stringify({
      token: 'legacy',
      team_id: this.teamId,
      api_app_id: 'AKEYHOUSE',
      type: 'event_callback',
      event_id: `Ev${Math.random().toString(36).slice(2, 10)}`,
      event_time: Math.floor(Date.now() / 1000),
      event,
    });
    const answer = await signedPost(this.baseUrl, body, 'application/json');
    lintAnswer('event', answer);
    if (answer.status !== 200) throw new Error(`event answered ${answer.status}: ${answer.body}`);
  }

  /** Clicks a button in a message (with its response_url) or in a view (App Home). */
  async click(
    actionId: string,
    value: string,
    where: { responseUrl: string; channelId?: string } | { viewId: string },
  ): Promise<void> {
    const inMessage = 'responseUrl' in where;
    await this.interact({
      type: 'block_actions',
      team: { id: this.teamId, domain: 'acme' },
      user: { id: this.userId, username: this.userId.toLowerCase(), team_id: this.teamId },
      api_app_id: 'AKEYHOUSE',
      token: 'legacy',
      trigger_id: `trigger-click-${actionId}`,
      container: inMessage
        ? {
            type: 'message',
            message_ts: '1700000000.000100',
            channel_id: where.channelId ?? 'C0GENERAL',
            is_ephemeral: false,
          }
        : { type: 'view', view_id: where.viewId },
      ...(inMessage
        ? {
            channel: { id: where.channelId ?? 'C0GENERAL', name: 'general' },
            response_url: where.responseUrl,
          }
        : { view: { id: where.viewId, type: 'home', team_id: this.teamId } }),
      actions: [
        {
          type: 'button',
          action_id: actionId,
          block_id: 'b',
          value,
          action_ts: '1700000000.000200',
          text: { type: 'plain_text', text: 'x' },
        },
      ],
    });
  }

  async submitForm(
    view: Record<string, unknown>,
    values: Record<string, FormValue>,
  ): Promise<Record<string, unknown>> {
    const answer = await this.interact({
      type: 'view_submission',
      team: { id: this.teamId, domain: 'acme' },
      user: { id: this.userId, username: this.userId.toLowerCase(), team_id: this.teamId },
      api_app_id: 'AKEYHOUSE',
      token: 'legacy',
      trigger_id: 'trigger-submit',
      view: { id: 'V1', team_id: this.teamId, type: 'modal', hash: 'h', ...view, state: stateOf(values) },
    });
    return answer.json();
  }

  async options(actionId: string, value: string): Promise<Record<string, unknown>> {
    const answer = await this.interact({
      type: 'block_suggestion',
      team: { id: this.teamId, domain: 'acme' },
      user: { id: this.userId, team_id: this.teamId },
      api_app_id: 'AKEYHOUSE',
      token: 'legacy',
      action_id: actionId,
      block_id: actionId,
      value,
      view: { id: 'V1', type: 'modal', callback_id: 'sshkey_add', team_id: this.teamId },
    });
    return answer.json();
  }
}
