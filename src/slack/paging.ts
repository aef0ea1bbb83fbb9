import { invalid } from '../domain/errors';
import type { AuditStream } from '../domain/workspaces';
import { HOME_TABS, type HomeTab } from './ids';
import { UsageError } from './commands/usage';
import type { Token } from './tokenize';

/**
 * Paged lists: which slice of a list a page shows, the state a Next/Previous button carries, and the
 * `--page N` option of list commands. A button's state is IDs, a page number and a list kind, never
 * user text; whoever clicks is checked again when the page is loaded.
 */

/** Items on one page of each list: each page fits Slack's limits at the longest item. */
export const PAGE_SIZE = {
  keys: 20,
  projects: 20,
  members: 25,
  homeProjects: 20,
  homeKeys: 20,
  /** Each request card is seven blocks. */
  homeApprovals: 10,
} as const;

/** Which items of a list one page holds. */
export interface PageWindow {
  page: number;
  pages: number;
  total: number;
  /** Index of the first item on the page, and one past the last. */
  start: number;
  end: number;
}

export const pageCount = (total: number, size: number): number => Math.max(1, Math.ceil(total / size));

/**
 * The slice `page` covers. A page past the end is refused, saying how many there are; `clamp` shows
 * the last page instead (for a button whose list shrank since its message was rendered).
 */
export function pageWindow(total: number, page: number, size: number, clamp = false): PageWindow {
  const pages = pageCount(total, size);
  if (!Number.isInteger(page) || page < 1 || page > pages) {
    if (!clamp) {
      throw invalid(
        `There ${pages === 1 ? 'is 1 page' : `are ${pages} pages`}: ask for a page from 1 to ${pages}.`,
      );
    }
    page = Math.min(Math.max(1, Number.isInteger(page) ? page : 1), pages);
  }
  const start = (page - 1) * size;
  return { page, pages, total, start, end: Math.min(total, start + size) };
}

/** What a list message's Next/Previous button carries. */
export type ListPage =
  | { kind: 'keys' | 'members'; projectId: string; page: number }
  | { kind: 'projects'; page: number }
  | { kind: 'audit'; projectId?: string; stream: AuditStream; page: number };

/** What an App Home Next/Previous button carries: the tab and its page. */
export interface HomePage {
  tab: HomeTab;
  page: number;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;

export function encodeListPage(state: ListPage): string {
  return JSON.stringify(state);
}

/** A button's page state, or undefined when it is not one this app wrote. */
export function decodeListPage(value: string | undefined): ListPage | undefined {
  const state = parse(value);
  if (!state || !Number.isInteger(state.page) || (state.page as number) < 1) return undefined;
  const page = state.page as number;
  const projectId = typeof state.projectId === 'string' && ID.test(state.projectId) ? state.projectId : '';
  switch (state.kind) {
    case 'keys':
    case 'members':
      return projectId ? { kind: state.kind, projectId, page } : undefined;
    case 'projects':
      return { kind: 'projects', page };
    case 'audit':
      if (state.stream !== 'security' && state.stream !== 'activity') return undefined;
      if (state.projectId !== undefined && !projectId) return undefined;
      return { kind: 'audit', stream: state.stream, page, ...(projectId ? { projectId } : {}) };
    default:
      return undefined;
  }
}

export const encodeHomePage = (state: HomePage): string => JSON.stringify(state);

export function decodeHomePage(value: string | undefined): HomePage | undefined {
  const state = parse(value);
  if (!state || !Number.isInteger(state.page) || (state.page as number) < 1) return undefined;
  if (!(HOME_TABS as readonly unknown[]).includes(state.tab)) return undefined;
  return { tab: state.tab as HomeTab, page: state.page as number };
}

function parse(value: string | undefined): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(value ?? '');
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes `--page N` (or `--page=N`) from anywhere among `tokens`; the other tokens are returned in
 * order. A list command knows no other option.
 */
export function takePage(tokens: Token[], usage: string): { page: number; rest: Token[] } {
  const rest: Token[] = [];
  let page = 1;
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i] as Token;
    const flag = token.quoted ? null : /^--([a-z][a-z-]*)(?:=(.*))?$/.exec(token.value);
    if (!flag) {
      rest.push(token);
      continue;
    }
    if (flag[1] !== 'page') {
      // The usage line goes with the refusal, once: `renderError` prints it, escaped, under the message.
      throw new UsageError(`Unknown option \`--${flag[1]}\`. Options: \`--page\`.`, usage);
    }
    const value = flag[2] ?? tokens[(i += 1)]?.value;
    page = Number(value);
    if (!value || !Number.isInteger(page) || page < 1) {
      throw new UsageError('`--page` takes a page number, like `--page 2`.', usage);
    }
  }
  return { page, rest };
}
