import type { KnownBlock } from '@slack/types';
import type { Project, ProjectSummary, SshKey } from '../../domain/model';
import { AUDIT_PAGE_SHOWN, type AuditView } from '../../domain/organizations';
import { quoteName } from '../../domain/projects';
import { offlineLoginsOf } from '../../domain/deliveryKeySet';
import { breakGlassMaxOf, breakGlassOf, maxKeyLifetimeOf } from '../../domain/keyPolicy';
import { onCallGroupText } from './breakGlass';
import type { KeyChanged } from '../../domain/keys';
import { activityLine, keyLine } from './dashboard';
import { rolloutAfterChange } from './delivery';
import type { OrganizationOverview } from '../../domain/organizations';
import { code, context, escapeText, header, mrkdwnFromDomain, plural, section, user, when } from './format';
import { fitBlocks, LIMITS, packLines } from './limits';
import { ACTION } from '../ids';
import { encodeListPage, PAGE_SIZE, pageWindow } from '../paging';
import { pager, pageRange, pageSections } from './paging';

/** Sections one audit page may fill: its records at their longest still fit, well under 50 blocks. */
const AUDIT_SECTIONS = 10;

/** Pure renderers: domain data in, Slack message out. */
export interface Message {
  text: string;
  blocks?: KnownBlock[];
}

export const plain = (text: string): Message => ({ text, blocks: [section(text)] });

export function renderError(message: string, usage?: string): Message {
  const text = `:warning: ${mrkdwnFromDomain(message)}${usage ? `\nUsage: ${code(usage)}` : ''}`;
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
    `*On-call group:* ${onCallGroupText(org)}`,
    ...(overview.signingKeyFingerprint
      ? [`*Key-set signing key:* ${code(overview.signingKeyFingerprint)} (\`GET /v1/signing-key\`)`]
      : []),
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

/** `/project set <project>`: the project's settings, and how to change them. */
export function renderProjectSettings(project: Project): Message {
  const settings = project.settings;
  const lines = [
    `*Settings of ${escapeText(project.name)}* (${code(project.id)})`,
    `*Approvals channel:* ${settings.approvalsChannel ? `<#${settings.approvalsChannel}>` : "_the organization's_"}`,
    `*Approvals required:* ${settings.approvalsRequired}`,
    `*Offline logins:* ${code(offlineLoginsOf(project))} — how long instances may log people in from the last key set they fetched when Keyhouse cannot be reached`,
    `*Break-glass:* ${code(breakGlassOf(project))} — whether members of the on-call group may add a key at once, reviewed afterwards`,
    `*Break-glass max:* ${code(breakGlassMaxOf(project))} — the longest a break-glass key lasts`,
    `*Max key lifetime:* ${code(maxKeyLifetimeOf(project))} — keys added by people who are not admins expire within it`,
    `Change one with ${code(`/project set ${quoteName(project.name)} <setting> <value>`)}: ` +
      `${code('offline-logins strict|1h|24h|7d')}, ${code('break-glass on|off')}, ${code('break-glass-max 1h|4h|8h')}, ${code('max-key-lifetime 8h|3d|30d|none')}.`,
  ];
  return { text: `Settings of ${project.name}`, blocks: [section(lines.join('\n'))] };
}

/** Projects in the order every page uses: the default first, then by name. */
export const projectOrder = (projects: ProjectSummary[]): ProjectSummary[] =>
  [...projects].sort(
    (a, b) =>
      Number(b.isDefault) - Number(a.isDefault) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id),
  );

/** One page of `/project list`: every project is on some page, reached with `--page N` or the buttons. */
export function renderProjectList(projects: ProjectSummary[], page = 1, clamp = false): Message {
  if (projects.length === 0) {
    return plain('You cannot see any project yet. Ask an organization owner for a role.');
  }
  const window = pageWindow(projects.length, page, PAGE_SIZE.projects, clamp);
  const lines = projectOrder(projects)
    .slice(window.start, window.end)
    .map(
      (p) =>
        `• *${escapeText(p.name)}*${p.isDefault ? ' _(default)_' : ''} — ${plural(p.keyCount, 'key')}, ${plural(p.resourceCount, 'resource')} · ${code(p.id)}`,
    );
  const pagerBlocks = pager(
    window,
    ACTION.listPage,
    (n) => encodeListPage({ kind: 'projects', page: n }),
    'list_pager',
  );
  return {
    text: `${pageRange(window, 'project')}`,
    blocks: fitBlocks(
      [
        section(`*${pageRange(window, 'project')}*`),
        ...pageSections(lines),
        context(`${code('/project show <project>')} for details`),
      ],
      LIMITS.messageBlocks,
      pagerBlocks,
    ),
  };
}

/** Keys in the order every page uses: by name, then ID. */
export const keyOrder = (keys: SshKey[]): SshKey[] =>
  [...keys].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));

/** One page of `/sshkey list`: every key is on some page, reached with `--page N` or the buttons. */
export function renderKeyList(project: Project, keys: SshKey[], now: Date, page = 1, clamp = false): Message {
  if (keys.length === 0) {
    return plain(`Project *${escapeText(project.name)}* has no SSH keys yet. Add one with \`/sshkey add\`.`);
  }
  const window = pageWindow(keys.length, page, PAGE_SIZE.keys, clamp);
  const lines = keyOrder(keys)
    .slice(window.start, window.end)
    .map((k) => keyLine(k, now));
  const pagerBlocks = pager(
    window,
    ACTION.listPage,
    (n) => encodeListPage({ kind: 'keys', projectId: project.id, page: n }),
    'list_pager',
  );
  return {
    text: `${pageRange(window, 'SSH key')} in ${escapeText(project.name)}`,
    blocks: fitBlocks(
      [section(`*${pageRange(window, 'key')}* in *${escapeText(project.name)}*`), ...pageSections(lines)],
      LIMITS.messageBlocks,
      pagerBlocks,
    ),
  };
}

/** One page of a project's members and their roles (`/project members`). */
export function renderMembers(project: Project, page = 1, clamp = false): Message {
  const members = Object.entries(project.members).sort(
    ([a, roleA], [b, roleB]) => roleA.localeCompare(roleB) || a.localeCompare(b),
  );
  if (members.length === 0) {
    return plain(
      `Nobody has a role on *${escapeText(project.name)}* yet; organization owners act as its admins.`,
    );
  }
  const window = pageWindow(members.length, page, PAGE_SIZE.members, clamp);
  const lines = members.slice(window.start, window.end).map(([id, role]) => `• ${user(id)} — ${role}`);
  const pagerBlocks = pager(
    window,
    ACTION.listPage,
    (n) => encodeListPage({ kind: 'members', projectId: project.id, page: n }),
    'list_pager',
  );
  return {
    text: `${pageRange(window, 'member')} of ${escapeText(project.name)}`,
    blocks: fitBlocks(
      [section(`*${pageRange(window, 'member')}* of *${escapeText(project.name)}*`), ...pageSections(lines)],
      LIMITS.messageBlocks,
      pagerBlocks,
    ),
  };
}

export function renderKeyAdded(key: SshKey, project: Project): Message {
  const text =
    `:white_check_mark: Added key *${escapeText(key.name)}* to *${escapeText(project.name)}*\n` +
    `${key.type} ${key.bits} · ${code(key.fingerprint)}` +
    (key.expiresAt ? `\nExpires ${when(key.expiresAt)}` : '');
  return { text: `Added key ${key.name} (${key.fingerprint}) to ${project.name}`, blocks: [section(text)] };
}

/** A key removed, disabled or enabled, and how far the set served now has reached the instances. */
export function renderKeyChanged(
  { key, project, setChanged, rollout }: KeyChanged,
  change: 'remove' | 'disable' | 'enable',
): Message {
  const verb = { remove: 'Removed', disable: 'Disabled', enable: 'Enabled' }[change];
  const instances = rolloutAfterChange(rollout, setChanged);
  return plain(
    `${verb} key *${escapeText(key.name)}* (${code(key.fingerprint)}) in *${escapeText(project.name)}*.` +
      (instances ? ` ${instances}` : ''),
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
  const title = view.projectName
    ? `${what} in ${view.projectName}`
    : view.scope === 'visible'
      ? `${what} in the projects you can see`
      : what;
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
  const window = { page: view.page, pages: view.pages, total: view.total, start: first - 1, end: first - 1 };
  const buttons = pager(
    window,
    ACTION.listPage,
    (n) =>
      encodeListPage({
        kind: 'audit',
        stream: view.stream,
        page: n,
        ...(view.projectId ? { projectId: view.projectId } : {}),
      }),
    'list_pager',
    { previous: 'Newer', next: 'Older' },
  );
  return {
    text: `${title}: page ${view.page} of ${view.pages}`,
    blocks: fitBlocks(blocks, LIMITS.messageBlocks, buttons),
  };
}
