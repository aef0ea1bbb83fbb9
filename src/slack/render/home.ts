import type { KnownBlock, View } from '@slack/types';
import type { OwnedKey } from '../../domain/keys';
import { keyState } from '../../domain/keys';
import type { AuditEntry, KeyRequest, ProjectSummary } from '../../domain/model';
import { renderRequestCard } from './approvals';
import type { OrganizationOverview } from '../../domain/organizations';
import type { ProjectView } from '../../domain/projects';
import { ACTION, HOME_TABS, type HomeTab } from '../ids';
import { activityLine, renderDashboard } from './dashboard';
import { button, code, context, escapeText, header, plural, section, user, when } from './format';
import { clip, fitBlocks, fitLines, LIMITS } from './limits';

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
  | { tab: 'overview'; overview: OrganizationOverview; activity?: AuditEntry[] }
  | { tab: 'projects'; projects: ProjectSummary[] }
  | { tab: 'keys'; keys: OwnedKey[]; now: Date }
  | { tab: 'approvals'; requests: KeyRequest[] }
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

const PROJECT_ROWS = 40;
const KEY_ROWS = 60;
/** Each card is seven blocks; ten fit well within the Home tab's 100. */
const APPROVALS_SHOWN = 10;

function projectsTab(projects: ProjectSummary[]): KnownBlock[] {
  const sorted = [...projects].sort(
    (a, b) => Number(b.isDefault) - Number(a.isDefault) || a.name.localeCompare(b.name),
  );
  const rows: KnownBlock[] = sorted.slice(0, PROJECT_ROWS).map((p) => ({
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: clip(
        `*${escapeText(p.name)}*${p.isDefault ? ' _(default)_' : ''}\n${plural(p.keyCount, 'key')} · ${plural(p.resourceCount, 'resource')} · ${code(p.id)}`,
        LIMITS.sectionText,
      ),
    },
    accessory: button(ACTION.homeOpenProject, 'Dashboard', p.id),
  }));
  const hidden = sorted.length - rows.length;
  return [
    section(`*${plural(projects.length, 'project')}*`),
    ...rows,
    ...(hidden > 0
      ? [
          context(
            `…and ${hidden} more. \`/project list\` lists them all; \`/project show <project>\` opens one.`,
          ),
        ]
      : []),
  ];
}

function keysTab(keys: OwnedKey[], now: Date): KnownBlock[] {
  if (keys.length === 0) return [section('You have not added any SSH keys. `/sshkey add` opens the form.')];
  const lines = keys.map(({ key, projectName }) => {
    const state = keyState(key, now);
    const expiry = key.expiresAt
      ? state === 'expired'
        ? ':hourglass: expired'
        : `expires ${when(key.expiresAt)}`
      : 'no expiry';
    return `• *${escapeText(key.name)}* in *${escapeText(projectName)}* — ${key.type} · ${code(key.fingerprint)} · ${state === 'disabled' ? ':no_entry: disabled' : expiry}`;
  });
  return [
    section(`*Your SSH keys* — ${keys.length}`),
    section(fitLines(lines.slice(0, KEY_ROWS), LIMITS.sectionText, lines.length)),
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
        section(
          `*Recent activity*\n` +
            (content.activity === undefined
              ? '_The organization’s audit log is for its owners. A project’s dashboard shows its recent activity._'
              : content.activity.length
                ? fitLines(content.activity.slice(0, 15).map((e) => activityLine(e)))
                : '_Nothing yet._'),
        ),
      ];
    }
    case 'projects':
      return projectsTab(content.projects);
    case 'keys':
      return keysTab(content.keys, content.now);
    case 'approvals': {
      if (content.requests.length === 0) return [section('Nothing waits for your decision.')];
      const shown = content.requests.slice(0, APPROVALS_SHOWN);
      const cards = shown.flatMap((request) => [
        ...(renderRequestCard(request).blocks ?? []),
        { type: 'divider' } as KnownBlock,
      ]);
      const hidden = content.requests.length - shown.length;
      return [
        section(`*${plural(content.requests.length, 'request')} waiting for your decision*`),
        ...cards,
        ...(hidden > 0
          ? [context(`…and ${hidden} more; decide these first, or find them in the approvals channel.`)]
          : []),
      ];
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
  return { type: 'home', blocks: fitBlocks(blocks, LIMITS.viewBlocks) };
}
