import type { KnownBlock, View } from '@slack/types';
import type { OwnedKey } from '../../domain/keys';
import { keyState } from '../../domain/keys';
import type { AuditEntry, KeyRequest, ProjectSummary } from '../../domain/model';
import { renderRequestCard } from './approvals';
import type { BreakGlassRecord } from '../../domain/breakGlass';
import { onCallGroupText, renderBreakGlassCard } from './breakGlass';
import type { OrganizationOverview } from '../../domain/organizations';
import type { ProjectView } from '../../domain/projects';
import { ACTION, HOME_TABS, type HomeTab } from '../ids';
import { activityLine } from './activity';
import { renderDashboard } from './dashboard';
import { button, code, context, escapeText, header, plural, section, user, when } from './format';
import { clipMrkdwn, fitBlocks, LIMITS } from './limits';
import { AUDIT_PAGE_SHOWN } from '../../domain/organizations';
import { encodeHomePage, PAGE_SIZE, type PageWindow, pageWindow } from '../paging';
import { projectOrder } from './messages';
import { pager, pageRange, pageSections } from './paging';

/** App Home: the Organization dashboard, one tab at a time, switched by buttons. */

const TAB_LABELS: Record<HomeTab, string> = {
  overview: 'Overview',
  projects: 'Projects',
  keys: 'My keys',
  approvals: 'Pending approvals',
  settings: 'Settings',
};

export type HomeContent =
  /** `activity` is the organization's audit log, present for owners only. */
  | {
      tab: 'overview';
      overview: OrganizationOverview;
      activity?: AuditEntry[];
      /** Which page of the audit log `activity` is. */
      auditPage?: { page: number; pages: number; total: number };
    }
  | { tab: 'projects'; projects: ProjectSummary[]; page?: number }
  | { tab: 'keys'; keys: OwnedKey[]; now: Date; page?: number }
  /** `breakGlass`: break-glass keys the user may review, listed before the requests. */
  | { tab: 'approvals'; requests: KeyRequest[]; breakGlass?: BreakGlassRecord[]; page?: number }
  | { tab: 'settings'; overview: OrganizationOverview }
  | { tab: 'project'; view: ProjectView; now: Date; publicUrl: string };

function tabBar(current: HomeTab | 'project'): KnownBlock {
  return {
    type: 'actions',
    block_id: 'home_tabs',
    elements: HOME_TABS.map((tab) =>
      button(`${ACTION.homeTab}_${tab}`, TAB_LABELS[tab], tab, tab === current ? 'primary' : undefined),
    ),
  };
}

/** Next/Previous of a Home tab: the same tab, published again at the other page. */
const homePager = (
  tab: HomeTab,
  window: PageWindow,
  labels?: { previous: string; next: string },
): KnownBlock[] =>
  pager(window, ACTION.homePage, (page) => encodeHomePage({ tab, page }), 'home_pager', labels);

function projectsTab(projects: ProjectSummary[], page: number): KnownBlock[] {
  const window = pageWindow(projects.length, page, PAGE_SIZE.homeProjects, true);
  const rows: KnownBlock[] = projectOrder(projects)
    .slice(window.start, window.end)
    .map((p) => ({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: clipMrkdwn(
          `*${escapeText(p.name)}*${p.isDefault ? ' _(default)_' : ''}\n${plural(p.keyCount, 'key')} · ${plural(p.resourceCount, 'resource')} · ${code(p.id)}`,
          LIMITS.sectionText,
        ),
      },
      accessory: button(ACTION.homeOpenProject, 'Dashboard', p.id),
    }));
  return [section(`*${pageRange(window, 'project')}*`), ...rows, ...homePager('projects', window)];
}

function keysTab(keys: OwnedKey[], now: Date, page: number): KnownBlock[] {
  if (keys.length === 0) return [section('You have not added any SSH keys. `/sshkey add` opens the form.')];
  const window = pageWindow(keys.length, page, PAGE_SIZE.homeKeys, true);
  const sorted = [...keys].sort(
    (a, b) =>
      a.projectName.localeCompare(b.projectName) ||
      a.projectId.localeCompare(b.projectId) ||
      a.key.name.localeCompare(b.key.name) ||
      a.key.id.localeCompare(b.key.id),
  );
  const lines = sorted.slice(window.start, window.end).map(({ key, projectName }) => {
    const state = keyState(key, now);
    const expiry = key.expiresAt
      ? state === 'expired'
        ? ':hourglass: expired'
        : `expires ${when(key.expiresAt)}`
      : 'no expiry';
    return `• *${escapeText(key.name)}* in *${escapeText(projectName)}* — ${key.type} · ${code(key.fingerprint)} · ${state === 'disabled' ? ':no_entry: disabled' : expiry}`;
  });
  return [
    section(`*Your SSH keys* — ${pageRange(window, 'key')}`),
    ...pageSections(lines),
    ...homePager('keys', window),
  ];
}

/** For an organization that has only its default project and no key yet: the first three commands. */
function gettingStarted(overview: OrganizationOverview): KnownBlock[] {
  if (overview.keyCount > 0 || overview.projectCount > 1) return [];
  return [
    section(
      [
        '*Getting started*',
        `1. Create a project for a team or a service: ${code('/project create <name>')}`,
        `2. Add your SSH public key to it: ${code('/sshkey add <project> <public key>')} (or ${code('/sshkey add')} for the form)`,
        `3. Get a delivery token, so its instances fetch the keys: ${code('/project token <project>')}`,
      ].join('\n'),
    ),
  ];
}

/** The organization's audit log, a page at a time, for owners; others are told where to look. */
function activityPanel(content: Extract<HomeContent, { tab: 'overview' }>): KnownBlock[] {
  if (content.activity === undefined) {
    return [
      section(
        '*Recent activity*\n_The organization’s audit log is for its owners. A project’s dashboard shows its recent activity._',
      ),
    ];
  }
  if (content.activity.length === 0) return [section('*Recent activity*\n_Nothing yet._')];
  const entries = content.activity.slice(0, AUDIT_PAGE_SHOWN);
  const { page, pages, total } = content.auditPage ?? { page: 1, pages: 1, total: entries.length };
  const start = (page - 1) * AUDIT_PAGE_SHOWN;
  const window = { page, pages, total, start, end: start + entries.length };
  return [
    section(`*Recent activity* — ${pageRange(window, 'record')}, newest first`),
    ...pageSections(entries.map((e) => activityLine(e))),
    ...homePager('overview', window, { previous: 'Newer', next: 'Older' }),
  ];
}

function body(content: HomeContent): KnownBlock[] {
  switch (content.tab) {
    case 'overview': {
      const { overview } = content;
      return [
        section(
          `*Projects:* ${overview.projectCount}   *SSH keys:* ${overview.keyCount}   *Resources:* ${overview.resourceCount}\n` +
            `*Organization ID:* ${code(overview.organization.id)}`,
        ),
        ...gettingStarted(overview),
        ...activityPanel(content),
      ];
    }
    case 'projects':
      return projectsTab(content.projects, content.page ?? 1);
    case 'keys':
      return keysTab(content.keys, content.now, content.page ?? 1);
    case 'approvals': {
      // Break-glass keys first: they are served already. Both cards are seven blocks with the divider.
      const items = [
        ...(content.breakGlass ?? []).map((record) => ({
          id: record.id,
          card: renderBreakGlassCard(record),
        })),
        ...content.requests.map((request) => ({ id: request.id, card: renderRequestCard(request) })),
      ];
      if (items.length === 0) return [section('Nothing waits for your decision.')];
      const window = pageWindow(items.length, content.page ?? 1, PAGE_SIZE.homeApprovals, true);
      const cards = items.slice(window.start, window.end).flatMap(({ id, card }) => [
        // Cards stacked in one view: each card's block IDs are made unique by its request or key.
        ...(card.blocks ?? []).map((block) =>
          block.block_id ? { ...block, block_id: `${block.block_id}_${id}` } : block,
        ),
        { type: 'divider' } as KnownBlock,
      ]);
      const what = content.breakGlass?.length
        ? pageRange(window, 'break-glass key or request', 'break-glass keys and requests')
        : pageRange(window, 'request');
      return [section(`*${what} waiting for your decision*`), ...cards, ...homePager('approvals', window)];
    }
    case 'settings': {
      const { organization: org, owners } = content.overview;
      return [
        section(
          [
            `*Organization ID:* ${code(org.id)}`,
            `*Owners:* ${owners.length ? owners.map(user).join(', ') : '_none: set `ORG_OWNERS`_'}`,
            `*Approvals channel:* ${org.settings.approvalsChannel ? `<#${org.settings.approvalsChannel}>` : '_not set_ (`/org channel #channel`)'}`,
            `*Default role:* ${org.settings.defaultRole}`,
            `*Who creates projects:* ${org.settings.projectCreators === 'everyone' ? 'everyone' : 'owners'}`,
            `*On-call group:* ${onCallGroupText(org)}`,
            ...(content.overview.signingKeyFingerprint
              ? [`*Key-set signing key:* ${code(content.overview.signingKeyFingerprint)}`]
              : []),
          ].join('\n'),
        ),
        context(`Organization created ${when(org.createdAt)}`),
      ];
    }
    case 'project': {
      const dashboard = renderDashboard(content.view, content.now, content.publicUrl).blocks ?? [];
      return dashboard;
    }
  }
}

export function renderHome(content: HomeContent): View {
  const blocks = [
    header('Keyhouse'),
    tabBar(content.tab),
    { type: 'divider' } as KnownBlock,
    ...body(content),
  ];
  // A tab's Next/Previous buttons stay, whatever else must give way.
  const last = blocks.at(-1);
  const pagerBlocks = last?.block_id === 'home_pager' ? [blocks.pop() as KnownBlock] : [];
  return { type: 'home', blocks: fitBlocks(blocks, LIMITS.viewBlocks, pagerBlocks) };
}
