import type { KnownBlock } from '@slack/types';
import type { Project, ProjectSummary, SshKey } from '../../domain/model';
import { AUDIT_PAGE_SHOWN, type AuditView } from '../../domain/organizations';
import { quoteName } from '../../domain/projects';
import { activityLine, keyLine } from './dashboard';
import type { OrganizationOverview } from '../../domain/organizations';
import { code, context, escapeText, header, plural, section, user, when } from './format';
import { fitBlocks, fitLines, LIMITS, packLines } from './limits';

/** Sections one audit page may fill: its records at their longest still fit, well under 50 blocks. */
const AUDIT_SECTIONS = 10;

/** Pure renderers: domain data in, Slack message out. */
export interface Message {
  text: string;
  blocks?: KnownBlock[];
}

export const plain = (text: string): Message => ({ text, blocks: [section(text)] });

export function renderError(message: string, usage?: string): Message {
  const text = `:warning: ${message}${usage ? `\nUsage: \`${usage}\`` : ''}`;
  return { text, blocks: [section(text)] };
}

export function renderOrganization(overview: OrganizationOverview, name?: string): Message {
  const { organization: org } = overview;
  const owners = overview.owners.length ? overview.owners.map(user).join(', ') : '_none: set `ORG_OWNERS`_';
  const lines = [
    `*Organization ID:* ${code(org.id)}`,
    `*Owners:* ${owners}`,
    `*Projects:* ${overview.projectCount}   *SSH keys:* ${overview.keyCount}   *Resources:* ${overview.resourceCount}`,
    `*Approvals channel:* ${org.settings.approvalsChannel ? `<#${org.settings.approvalsChannel}>` : '_not set_ (`/org channel #channel`)'}`,
    `*Default role:* ${org.settings.defaultRole}   *Who creates projects:* ${org.settings.projectCreators}`,
  ];
  return {
    text: `Organization ${org.id}`,
    blocks: [
      header(name ? `Organization ${name}` : 'Organization'),
      section(lines.join('\n')),
      context(`Created ${when(org.createdAt)}`),
    ],
  };
}

export function renderProjectList(projects: ProjectSummary[]): Message {
  if (projects.length === 0) {
    return plain('You cannot see any project yet. Ask an organization owner for a role.');
  }
  const lines = projects.map(
    (p) =>
      `• *${escapeText(p.name)}*${p.isDefault ? ' _(default)_' : ''} — ${plural(p.keyCount, 'key')}, ${plural(p.resourceCount, 'resource')} · ${code(p.id)}`,
  );
  return {
    text: `${plural(projects.length, 'project')}`,
    blocks: [
      section(`*${plural(projects.length, 'project')}*`),
      section(fitLines(lines)),
      context('`/project show <project>` for details'),
    ],
  };
}

export function renderKeyList(project: Project, keys: SshKey[], now: Date): Message {
  if (keys.length === 0) {
    return plain(`Project *${escapeText(project.name)}* has no SSH keys yet. Add one with \`/sshkey add\`.`);
  }
  return {
    text: `${plural(keys.length, 'SSH key')} in ${project.name}`,
    blocks: [
      section(`*${plural(keys.length, 'SSH key')}* in *${escapeText(project.name)}*`),
      section(fitLines(keys.map((k) => keyLine(k, now)))),
    ],
  };
}

export function renderKeyAdded(key: SshKey, project: Project): Message {
  const text =
    `:white_check_mark: Added key *${escapeText(key.name)}* to *${escapeText(project.name)}*\n` +
    `${key.type} ${key.bits} · ${code(key.fingerprint)}` +
    (key.expiresAt ? `\nExpires ${when(key.expiresAt)}` : '');
  return { text: `Added key ${key.name} (${key.fingerprint}) to ${project.name}`, blocks: [section(text)] };
}

export function renderKeyChanged(
  key: SshKey,
  project: Project,
  change: 'remove' | 'disable' | 'enable',
): Message {
  const verb = { remove: 'Removed', disable: 'Disabled', enable: 'Enabled' }[change];
  return plain(
    `${verb} key *${escapeText(key.name)}* (${code(key.fingerprint)}) in *${escapeText(project.name)}*.`,
  );
}

/** How to ask for another page of the same audit view, as the user would type it. */
function auditCommand(view: AuditView, page: number, stream = view.stream): string {
  const project = view.projectName ? ` ${quoteName(view.projectName)}` : '';
  const flags = `${stream === 'activity' ? ' --activity' : ''}${page > 1 ? ` --page ${page}` : ''}`;
  return `\`/org audit${project}${flags}\``;
}

/** One page of the audit trail: its records, which page of how many, and how to reach the others. */
export function renderAudit(view: AuditView): Message {
  const what = view.stream === 'activity' ? 'Instance check-ins and expired requests' : 'Changes';
  const title = view.projectName ? `${what} in ${view.projectName}` : what;
  const other =
    view.stream === 'activity'
      ? `Changes made by people: ${auditCommand(view, 1, 'security')}`
      : `Instance check-ins and expired requests: ${auditCommand(view, 1, 'activity')}`;
  if (view.entries.length === 0) return plain(`*${escapeText(title)}*\nNothing yet.\n${other}`);
  const first = (view.page - 1) * AUDIT_PAGE_SHOWN + 1;
  const paging = [
    `Page ${view.page} of ${view.pages} · records ${first}–${first + view.entries.length - 1} of ${view.total}, newest first`,
    view.page < view.pages ? `older: ${auditCommand(view, view.page + 1)}` : '',
    view.page > 1 ? `newer: ${auditCommand(view, view.page - 1)}` : '',
  ].filter(Boolean);
  const lines = view.entries.map((entry) => activityLine(entry, !view.projectName));
  const blocks: KnownBlock[] = [
    section(`*${escapeText(title)}* — page ${view.page} of ${view.pages}`),
    ...packLines(lines, AUDIT_SECTIONS).map((text) => section(text)),
    context(paging.join(' · ')),
    context(other),
  ];
  return {
    text: `${title}: page ${view.page} of ${view.pages}`,
    blocks: fitBlocks(blocks, LIMITS.messageBlocks),
  };
}
