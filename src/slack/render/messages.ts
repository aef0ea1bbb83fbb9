import type { KnownBlock } from '@slack/types';
import { keyState } from '../../domain/keys';
import type { AuditEntry, Project, ProjectSummary, Resource, SshKey } from '../../domain/model';
import type { OrganizationOverview } from '../../domain/organizations';
import type { ProjectView } from '../../domain/projects';
import { code, context, escapeText, header, plural, section, user, when } from './format';
import { fitBlocks, fitLines, LIMITS } from './limits';

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

export function renderOrganization(overview: OrganizationOverview): Message {
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
    blocks: [header('Organization'), section(lines.join('\n')), context(`Created ${when(org.createdAt)}`)],
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

export function keyLine(key: SshKey, now: Date): string {
  const state = keyState(key, now);
  const badges = [
    state === 'disabled' ? ':no_entry: disabled' : '',
    state === 'expired' ? ':hourglass: expired' : '',
    state === 'active' && key.expiresAt ? `expires ${when(key.expiresAt)}` : '',
  ].filter(Boolean);
  return (
    `• *${escapeText(key.name)}* — ${key.type} ${key.bits} · ${code(key.fingerprint)} · added by ${user(key.addedBy)}` +
    (badges.length ? ` · ${badges.join(' · ')}` : '')
  );
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

function groupResources(resources: Resource[]): string[] {
  const byType = new Map<string, Map<string, Resource[]>>();
  for (const resource of resources) {
    const zones = byType.get(resource.type) ?? new Map<string, Resource[]>();
    const zone = resource.zone ?? 'no zone';
    zones.set(zone, [...(zones.get(zone) ?? []), resource]);
    byType.set(resource.type, zones);
  }
  const lines: string[] = [];
  for (const [type, zones] of [...byType].sort(([a], [b]) => a.localeCompare(b))) {
    for (const [zone, items] of [...zones].sort(([a], [b]) => a.localeCompare(b))) {
      const names = items.map((r) => escapeText(r.name));
      const shown =
        names.slice(0, 20).join(', ') + (names.length > 20 ? `, …and ${names.length - 20} more` : '');
      lines.push(`• *${type}* · ${zone} (${items.length}): ${shown}`);
    }
  }
  return lines;
}

export function activityLine(entry: AuditEntry): string {
  const where = entry.projectName ? ` in *${escapeText(entry.projectName)}*` : '';
  const target = entry.target
    ? ` ${escapeText(entry.target).replace(/&lt;([@#][A-Z0-9]+)&gt;/g, '<$1>')}`
    : '';
  const detail = entry.detail ? ` _(${escapeText(entry.detail)})_` : '';
  const outcome = entry.outcome === 'done' ? '' : ` — ${entry.outcome}`;
  return `${when(entry.at)} ${user(entry.actor)} ${entry.action}${target}${where}${detail}${outcome}`;
}

export function renderProject(view: ProjectView, now: Date): Message {
  const { project, organization } = view;
  const blocks: KnownBlock[] = [
    header(`${project.name}${project.isDefault ? ' · default' : ''}`),
    section(
      `*Project ID:* ${code(project.id)}\n*Organization ID:* ${code(organization.id)}` +
        (project.description ? `\n${escapeText(project.description)}` : ''),
    ),
    section(
      `*SSH keys (${project.keys.length})*\n` +
        (project.keys.length
          ? fitLines(
              project.keys.map((k) => keyLine(k, now)),
              LIMITS.sectionText - 40,
            )
          : '_none_'),
    ),
    section(
      `*Resources (${project.resources.length})*\n` +
        (project.resources.length
          ? fitLines(groupResources(project.resources), LIMITS.sectionText - 40)
          : '_none_'),
    ),
    section(
      `*Members*\n` +
        (Object.keys(project.members).length
          ? fitLines(
              Object.entries(project.members).map(([id, role]) => `• ${user(id)} — ${role}`),
              LIMITS.sectionText - 20,
            )
          : '_nobody has a role yet; organization owners act as admins_'),
    ),
    section(
      `*Recent activity*\n` +
        (project.activity.length
          ? fitLines(project.activity.slice(0, 10).map(activityLine), LIMITS.sectionText - 30)
          : '_none_'),
    ),
    context(`Your role: ${view.role ?? 'none'} · updated ${when(project.updatedAt)}`),
  ];
  return { text: `Project ${project.name}`, blocks: fitBlocks(blocks, LIMITS.messageBlocks) };
}

export function renderAudit(entries: AuditEntry[], projectName?: string): Message {
  const title = projectName ? `Recent changes in ${projectName}` : 'Recent changes';
  if (entries.length === 0) return plain(`*${escapeText(title)}*\nNothing yet.`);
  return {
    text: title,
    blocks: [
      section(`*${escapeText(title)}*`),
      section(fitLines(entries.slice(0, 50).map(activityLine), LIMITS.sectionText, entries.length)),
    ],
  };
}
