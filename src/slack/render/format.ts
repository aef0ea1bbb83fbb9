import type { Button, KnownBlock } from '@slack/types';
import { clip, clipMrkdwn, LIMITS } from './limits';

/** Escapes user-provided text for mrkdwn, so it cannot forge mentions or links. */
export const escapeText = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// What a domain message may carry on purpose: mentions of people and channels, and dates.
const CONTROL_SEQUENCE = /<(?:@[UW][A-Z0-9]+|#C[A-Z0-9]+|!date\^[^<>|]+)(?:\|[^<>]*)?>/g;

/**
 * A domain message (light markup: `*bold*`, inline code, mentions) made safe for mrkdwn: the text it
 * echoes (names, references, reasons) is escaped, once; mentions and dates stay live. `<!channel>`,
 * links and anything else in angle brackets show as typed.
 */
export function mrkdwnFromDomain(message: string): string {
  let out = '';
  let last = 0;
  for (const match of message.matchAll(CONTROL_SEQUENCE)) {
    out += escapeText(message.slice(last, match.index)) + match[0];
    last = (match.index ?? 0) + match[0].length;
  }
  return out + escapeText(message.slice(last));
}

/**
 * A domain message for a place that shows plain text only (a modal's field error): no `*` markers,
 * inline code in quotes, mentions as @names.
 */
export function plainFromDomain(message: string): string {
  return message
    .replace(/<@([UW][A-Z0-9]+)(?:\|([^<>]*))?>/g, (_m, id: string, name?: string) => `@${name ?? id}`)
    .replace(/<#(C[A-Z0-9]+)(?:\|([^<>]*))?>/g, (_m, id: string, name?: string) => `#${name ?? id}`)
    .replace(/<!date\^[^<>|]+\|([^<>]*)>/g, '$1')
    .replace(/`([^`]*)`/g, '‘$1’')
    .replace(/\*([^*\n]+)\*/g, '$1');
}

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
  return { type: 'section', text: { type: 'mrkdwn', text: clipMrkdwn(text, LIMITS.sectionText) } };
}

export function header(text: string): KnownBlock {
  return { type: 'header', text: { type: 'plain_text', text: clip(text, LIMITS.headerText), emoji: true } };
}

export function context(text: string): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: clipMrkdwn(text, LIMITS.sectionText) }] };
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
