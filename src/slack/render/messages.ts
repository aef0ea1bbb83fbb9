import type { KnownBlock } from '@slack/types';
import type { AuditEntry, Project, ProjectSummary, SshKey } from '../../domain/model';
import { activityLine, keyLine } from './dashboard';
import type { OrganizationOverview } from '../../domain/organizations';
import { code, context, escapeText, header, plural, section, user, when } from './format';
import { fitLines, LIMITS } from './limits';

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

export function renderAudit(entries: AuditEntry[], projectName?: string): Message {
  const title = projectName ? `Recent changes in ${projectName}` : 'Recent changes';
  if (entries.length === 0) return plain(`*${escapeText(title)}*\nNothing yet.`);
  return {
    text: title,
    blocks: [
      section(`*${escapeText(title)}*`),
      section(
        fitLines(
          entries.slice(0, 50).map((entry) => activityLine(entry)),
          LIMITS.sectionText,
          entries.length,
        ),
      ),
    ],
  };
}
