import type { KnownBlock } from '@slack/types';

/** Slack's limits, and the one guard that keeps every rendered surface inside them. */
export const LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  sectionText: 3000,
  headerText: 150,
  fields: 10,
  fieldText: 2000,
  contextElements: 10,
  optionText: 75,
  staticSelectOptions: 100,
  modalTitle: 24,
  buttonText: 75,
  privateMetadata: 3000,
} as const;

/** Cuts plain text (not mrkdwn) to `max` characters, marking the cut. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${cutBefore(text, max - 1)}…`;
}

/** Where to cut so that no character is split in two (a surrogate pair, such as most emoji). */
function cutBefore(text: string, end: number): string {
  const code = text.charCodeAt(end - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? end - 1 : end);
}

/**
 * Cuts escaped mrkdwn to `max` characters, marking the cut. The one way to shorten text that was
 * escaped: it never splits an entity (`&amp;`) nor a token (`<@U1>`, `<!date^…>`), which Slack would
 * show as broken text, so it may cut a little earlier than `max`.
 */
export function clipMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  let head = cutBefore(text, max - 1);
  const entity = /&[a-z]{0,4}$/i.exec(head);
  if (entity) head = head.slice(0, entity.index);
  const open = head.lastIndexOf('<');
  if (open >= 0 && !head.includes('>', open)) head = head.slice(0, open);
  return `${head}…`;
}

/**
 * Joins as many lines as fit in `maxChars`, then says how many were left out. `total` is the full
 * count when `lines` is already a first slice of a longer list.
 */
export function fitLines(
  lines: string[],
  maxChars: number = LIMITS.sectionText,
  total = lines.length,
): string {
  const out: string[] = [];
  let used = 0;
  const reserve = 40; // room for the "…and N more" line
  for (const [index, line] of lines.entries()) {
    const cost = line.length + 1;
    const remaining = total - index;
    const budget = remaining > 1 ? maxChars - reserve : maxChars;
    if (used + cost > budget) break;
    out.push(line);
    used += cost;
  }
  const hidden = total - out.length;
  if (hidden > 0) out.push(`_…and ${hidden} more_`);
  return clipMrkdwn(out.join('\n'), maxChars);
}

/**
 * Keeps a block list within `max`, replacing what does not fit by one context block that says how
 * many blocks' worth was left out. Blocks listed in `keepLast` (such as buttons) stay at the end.
 */
export function fitBlocks(blocks: KnownBlock[], max: number, keepLast: KnownBlock[] = []): KnownBlock[] {
  const room = max - keepLast.length;
  if (blocks.length <= room) return [...blocks, ...keepLast];
  const kept = blocks.slice(0, room - 1);
  const note: KnownBlock = {
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `_${blocks.length - kept.length} more sections not shown._` }],
  };
  return [...kept, note, ...keepLast];
}

/**
 * Packs lines into at most `maxSections` texts of at most `maxChars` each; the last says how many
 * lines did not fit. Used where one list may fill several sections of a message.
 */
export function packLines(
  lines: string[],
  maxSections: number,
  maxChars: number = LIMITS.sectionText,
): string[] {
  const texts: string[] = [];
  let index = 0;
  while (index < lines.length && texts.length < maxSections) {
    const last = texts.length === maxSections - 1;
    const remaining = lines.slice(index);
    if (last) {
      texts.push(fitLines(remaining, maxChars));
      break;
    }
    const chunk: string[] = [];
    let used = 0;
    for (const line of remaining) {
      if (used + line.length + 1 > maxChars) break;
      chunk.push(line);
      used += line.length + 1;
    }
    if (chunk.length === 0) chunk.push(clipMrkdwn(remaining[0] ?? '', maxChars));
    texts.push(chunk.join('\n'));
    index += chunk.length;
  }
  return texts;
}
