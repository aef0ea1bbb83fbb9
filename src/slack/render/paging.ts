import type { KnownBlock } from '@slack/types';
import type { PageWindow } from '../paging';
import { button, section } from './format';
import { clipMrkdwn, LIMITS, packLines } from './limits';

/** `Keys 21–40 of 61 · page 2 of 4`, or `3 keys` when one page holds them all. */
export function pageRange(window: PageWindow, noun: string, nouns = `${noun}s`): string {
  const capital = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);
  if (window.pages === 1) return `${window.total} ${window.total === 1 ? noun : nouns}`;
  return `${capital(nouns)} ${window.start + 1}–${window.end} of ${window.total} · page ${window.page} of ${window.pages}`;
}

/**
 * Previous/Next buttons (or `labels`, such as Newer/Older) for a paged list, or nothing when it has one
 * page. `state(page)` is what a button carries to load that page.
 */
export function pager(
  window: PageWindow,
  actionPrefix: string,
  state: (page: number) => string,
  blockId: string,
  labels: { previous: string; next: string } = { previous: 'Previous', next: 'Next' },
): KnownBlock[] {
  if (window.pages <= 1) return [];
  const elements = [
    ...(window.page > 1
      ? [button(`${actionPrefix}_previous`, `← ${labels.previous}`, state(window.page - 1))]
      : []),
    ...(window.page < window.pages
      ? [button(`${actionPrefix}_next`, `${labels.next} →`, state(window.page + 1))]
      : []),
  ];
  return [{ type: 'actions', block_id: blockId, elements }];
}

/** A page's lines, each in full (clipped only past a section's length), so a page leaves none out. */
export const pageSections = (lines: string[]): KnownBlock[] =>
  packLines(
    lines.map((line) => clipMrkdwn(line, LIMITS.sectionText - 1)),
    lines.length,
  ).map((text) => section(text));
