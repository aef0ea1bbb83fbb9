import type { Button, KnownBlock } from '@slack/types';
import { clip, LIMITS } from './limits';

/** Escapes user-provided text for mrkdwn, so it cannot forge mentions or links. */
export const escapeText = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export const user = (id: string): string => (/^[UW][A-Z0-9]+$/.test(id) ? `<@${id}>` : escapeText(id));

/** Inline code. Its text is escaped here, so placeholders such as `<project>` and user text show as typed. */
export const code = (text: string): string => `\`${escapeText(text.replace(/`/g, "'"))}\``;

/** Slack renders `<!date^…>` in each reader's own time zone. */
export function when(iso: string): string {
  const seconds = Math.floor(Date.parse(iso) / 1000);
  const fallback = iso.slice(0, 16).replace('T', ' ') + ' UTC';
  return `<!date^${seconds}^{date_short_pretty} {time}|${fallback}>`;
}

export function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(text, LIMITS.sectionText) } };
}

export function header(text: string): KnownBlock {
  return { type: 'header', text: { type: 'plain_text', text: clip(text, LIMITS.headerText), emoji: true } };
}

export function context(text: string): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: clip(text, LIMITS.sectionText) }] };
}

export function button(actionId: string, label: string, value: string, style?: 'primary' | 'danger'): Button {
  return {
    type: 'button',
    action_id: actionId,
    value,
    text: { type: 'plain_text', text: clip(label, LIMITS.buttonText) },
    ...(style ? { style } : {}),
  };
}

export const plural = (count: number, word: string, many = `${word}s`): string =>
  `${count} ${count === 1 ? word : many}`;
