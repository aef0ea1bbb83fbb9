import type { KnownBlock } from '@slack/types';
import { keyState } from '../../domain/keys';
import type { Resource, SshKey } from '../../domain/model';
import { type ProjectView, quoteName } from '../../domain/projects';
import { ACTION } from '../ids';
import { activityLine } from './activity';
import { renderInstances, renderRecipes } from './delivery';
import { button, code, context, escapeText, header, plural, section, user, when } from './format';
import { fitBlocks, fitLines, LIMITS, packLines } from './limits';
import type { Message } from './messages';

/** The project dashboard: one Block Kit message that stays within Slack's limits at any size. */

const KEY_SECTIONS = 4;
const RESOURCE_SECTIONS = 2;
const ACTIVITY_SHOWN = 8;

/** A break-glass key, and where its review stands. */
function breakGlassBadge(key: SshKey): string {
  const review = key.breakGlass?.review;
  if (review === 'kept')
    return `:rotating_light: break-glass, kept by ${user(key.breakGlass?.reviewedBy ?? '')}`;
  if (review === 'unreviewed') return ':rotating_light: break-glass, *unreviewed*';
  return ':rotating_light: break-glass, awaiting review';
}

export function keyLine(key: SshKey, now: Date): string {
  const state = keyState(key, now);
  const badges = [
    state === 'disabled' ? ':no_entry: disabled' : '',
    state === 'expired' ? ':hourglass: expired' : '',
    state === 'active' && key.expiresAt ? `expires ${when(key.expiresAt)}` : '',
    key.origin === 'breakglass' ? breakGlassBadge(key) : '',
  ].filter(Boolean);
  return (
    `• *${escapeText(key.name)}* — ${key.type} ${key.bits} · ${code(key.fingerprint)} · added by ${user(key.addedBy)}` +
    (badges.length ? ` · ${badges.join(' · ')}` : '')
  );
}

/** One line per type and zone: `instance · fr-par-1 (3): web-1, web-2, web-3`. */
export function resourceLines(resources: Resource[]): string[] {
  const groups = new Map<string, Resource[]>();
  for (const resource of resources) {
    const group = `${resource.type}\u0000${resource.zone ?? ''}`;
    groups.set(group, [...(groups.get(group) ?? []), resource]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, items]) => {
      const [type, zone] = group.split('\u0000') as [string, string];
      const names = items.map((r) => escapeText(r.name));
      const shown =
        names.slice(0, 25).join(', ') + (names.length > 25 ? `, …and ${names.length - 25} more` : '');
      return `• *${type}* · ${zone || 'no zone'} (${items.length}): ${shown}`;
    });
}

/** Whether a summary left lines out (see `fitLines`). */
const hides = (text: string | undefined): boolean => /_…and \d+ more_$/.test(text ?? '');

/** Kept for importers of this module; activity lines are worded in ./activity. */
export { activityLine };

/** `publicUrl` is where instances reach Keyhouse, for the setup recipes. */
export function renderDashboard(view: ProjectView, now: Date, publicUrl: string): Message {
  const { project, organization } = view;
  const keys = [...project.keys].sort((a, b) => a.name.localeCompare(b.name));
  const active = keys.filter((k) => keyState(k, now) === 'active').length;
  const members = Object.entries(project.members).sort(([, a], [, b]) => a.localeCompare(b));
  // The dashboard summarizes; when it leaves some out, it says which command lists them all.
  const keyTexts = packLines(
    keys.map((k) => keyLine(k, now)),
    KEY_SECTIONS,
  );
  const memberText = fitLines(
    members.map(([id, role]) => `• ${user(id)} — ${role}`),
    LIMITS.sectionText - 40,
  );

  const blocks: KnownBlock[] = [
    header(project.name),
    ...(project.isDefault
      ? [context('*default* project · created with the organization; its ID is the Organization ID')]
      : []),
    section(
      `*Project ID:* ${code(project.id)}\n*Organization ID:* ${code(organization.id)}` +
        (project.description ? `\n${escapeText(project.description)}` : ''),
    ),
    { type: 'divider' },
    section(`*SSH keys* — ${plural(keys.length, 'key')}, ${active} active`),
    ...(keys.length ? keyTexts.map(section) : [section('_No keys yet. Use *Add key* below._')]),
    ...(hides(keyTexts.at(-1))
      ? [context(`All of them, a page at a time: ${code(`/sshkey list ${quoteName(project.name)}`)}`)]
      : []),
    { type: 'divider' },
    section(`*Resources* — ${plural(project.resources.length, 'resource')}`),
    ...(project.resources.length
      ? packLines(resourceLines(project.resources), RESOURCE_SECTIONS).map(section)
      : [section('_None yet: `/project resource add`_')]),
    { type: 'divider' },
    section(
      `*Members* — ${plural(members.length, 'member')}\n` +
        (members.length ? memberText : '_Nobody has a role yet; organization owners act as admins._'),
    ),
    ...(hides(memberText)
      ? [context(`All of them, a page at a time: ${code(`/project members ${quoteName(project.name)}`)}`)]
      : []),
    ...renderInstances(project, view.checkIns, now),
    ...(project.pendingRequests?.length
      ? [
          section(
            `*Pending requests* — ${project.pendingRequests.length}\n` +
              fitLines(
                project.pendingRequests.map(
                  (r) =>
                    `• *${escapeText(r.keyName)}* for ${user(r.requester)} · ${code(r.fingerprint)} · asked ${when(r.createdAt)}`,
                ),
                LIMITS.sectionText - 40,
              ),
          ),
        ]
      : []),
    section(
      `*Recent activity*\n` +
        (project.activity.length
          ? fitLines(
              project.activity.slice(0, ACTIVITY_SHOWN).map((e) => activityLine(e, false)),
              LIMITS.sectionText - 40,
            )
          : '_Nothing yet._'),
    ),
    ...renderRecipes(publicUrl, project.id),
    context(`Updated ${when(project.updatedAt)} · shown ${when(now.toISOString())}`),
  ];
  const actions: KnownBlock = {
    type: 'actions',
    block_id: 'dashboard_actions',
    elements: [
      button(ACTION.dashboardAddKey, 'Add key', project.id, 'primary'),
      button(ACTION.dashboardRefresh, 'Refresh', project.id),
    ],
  };
  return {
    text: `Project ${project.name}: ${plural(keys.length, 'SSH key')}, ${plural(project.resources.length, 'resource')}`,
    blocks: fitBlocks(blocks, LIMITS.messageBlocks, [actions]),
  };
}
