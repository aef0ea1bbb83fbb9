import type { KnownBlock } from '@slack/types';
import {
  fetchedCount,
  type InstanceFetch,
  type KeySetRollout,
  keySetRollout,
} from '../../domain/deliveryRollout';
import type { CheckIn, DeliveryToken, Project } from '../../domain/model';
import { cloudInitConfig, installScript } from '../../domain/recipes';
import { ACTION } from '../ids';
import { button, code, escapeText, plural, section, user, when } from './format';
import { fitLines, LIMITS } from './limits';
import type { Message } from './messages';

/** Key delivery as users see it: tokens, instances' check-ins, and the recipes that connect instances. */

export function renderTokenCreated(
  project: Project,
  tokens: DeliveryToken[],
  token: string,
  record: DeliveryToken,
  publicUrl: string,
): Message {
  const text =
    `:key: New key-delivery token *${escapeText(record.label)}* for *${escapeText(project.name)}*. ` +
    `Copy it now: it is shown only this once and Keyhouse keeps only its hash.\n\`\`\`${token}\`\`\`\n` +
    `Instances fetch the project's keys with it:\n\`\`\`curl -H "Authorization: Bearer ${token.slice(0, 8)}…" ${publicUrl}/v1/projects/${project.id}/authorized_keys\`\`\``;
  return {
    text: `New key-delivery token ${record.label} for ${project.name}`,
    blocks: [section(text), section(renderTokenLines(tokens))],
  };
}

export function renderTokenLines(tokens: DeliveryToken[]): string {
  if (tokens.length === 0) return `_No tokens: ${code('/project token <project>')} creates one._`;
  return (
    `*Tokens (${tokens.length})*\n` +
    fitLines(
      tokens.map(
        (t) =>
          `• *${escapeText(t.label)}* — created by ${user(t.createdBy)} ${when(t.createdAt)} · ${t.lastUsedAt ? `last used ${when(t.lastUsedAt)}` : 'never used'}`,
      ),
    )
  );
}

/**
 * Older sets and who holds them, the longest-waiting first and at most `shown` named:
 * `3 still hold serial 13: *web-1* (last fetch …), …`.
 */
function olderSets(behind: InstanceFetch[], shown = 10): string {
  const groups = new Map<number | undefined, InstanceFetch[]>();
  for (const fetch of behind) groups.set(fetch.serial, [...(groups.get(fetch.serial) ?? []), fetch]);
  let left = shown;
  const parts = [...groups.entries()]
    .sort(([a], [b]) => (b ?? -1) - (a ?? -1))
    .map(([serial, items]) => {
      const names = items
        .slice(0, Math.max(0, left))
        .map((f) => `*${escapeText(f.name)}* (last fetch ${when(f.at)})`);
      left -= names.length;
      const more = items.length - names.length;
      const listed = [...names, ...(more > 0 ? [`…and ${more} more`] : [])].join(', ');
      const set = serial !== undefined ? `serial ${serial}` : 'an older set';
      return groups.size === 1 ? `${set}: ${listed}` : `${set} (${items.length}): ${listed}`;
    });
  const verb = behind.length === 1 ? 'holds' : 'hold';
  return groups.size === 1
    ? `${behind.length} still ${verb} ${parts[0]}`
    : `${behind.length} still ${verb} older sets — ${parts.join('; ')}`;
}

const ofInstances = (count: number, fetched: number): string =>
  `${count} of ${plural(fetched, 'instance')} ${fetched === 1 ? 'has' : 'have'}`;

/** When not every instance was read, which were: a large fleet is counted from its newest instances. */
const countedFrom = (rollout: KeySetRollout): string =>
  rollout.read < rollout.instances
    ? ` Counted from the ${rollout.read} most recently registered of ${rollout.instances} instances; the others are not read.`
    : '';

/** `2 of 5 instances have the current keys (serial 14); 3 still hold serial 13: …`. */
export function rolloutSummary(rollout: KeySetRollout): string {
  const fetched = fetchedCount(rollout);
  const current = `${ofInstances(rollout.current.length, fetched)} the current keys (serial ${rollout.serial})`;
  return (
    (rollout.behind.length ? `${current}; ${olderSets(rollout.behind)}.` : `${current}.`) +
    countedFrom(rollout)
  );
}

/**
 * What a key change means for the instances: how many have fetched the new set, and which still hold an
 * older one. Empty when no instance fetches keys (or the check-ins could not be read).
 */
export function rolloutAfterChange(rollout: KeySetRollout | undefined, setChanged: boolean): string {
  if (!rollout || fetchedCount(rollout) === 0) return '';
  if (!setChanged) return `The served keys did not change. ${rolloutSummary(rollout)}`;
  const fetched = ofInstances(rollout.current.length, fetchedCount(rollout));
  const newSet = `the new set (serial ${rollout.serial})`;
  return (
    (rollout.behind.length
      ? `${fetched} fetched ${newSet} yet; ${olderSets(rollout.behind)}. ` +
        'Instances pick it up at their next SSH login or fetch.'
      : `${fetched} fetched ${newSet}.`) + countedFrom(rollout)
  );
}

/**
 * Dashboard blocks: which instances have the current key set and which still hold an older one (since
 * their last fetch), then each instance, when it last fetched its keys and which set.
 */
export function renderInstances(
  project: Project,
  checkIns: Record<string, CheckIn>,
  now: Date,
): KnownBlock[] {
  const rollout = keySetRollout(project, checkIns, now);
  const fetched = fetchedCount(rollout);
  if (fetched === 0) return [];
  const summary = `${rollout.behind.length ? ':warning:' : ':white_check_mark:'} ${rolloutSummary(rollout)}`;
  const lines = [
    ...rollout.current.map((f) => ({ f, fresh: true })),
    ...rollout.behind.map((f) => ({ f, fresh: false })),
  ]
    .sort((a, b) => b.f.at.localeCompare(a.f.at))
    .map(({ f, fresh }) => {
      const serial = f.serial !== undefined ? ` · serial ${f.serial}` : '';
      return `• *${escapeText(f.name)}*${f.zone ? ` · ${f.zone}` : ''} — seen ${when(f.at)} · ${
        fresh
          ? `:white_check_mark: current keys (${f.count})${serial}`
          : `:warning: older key set (${f.count})${serial}, updates at its next fetch`
      }`;
    });
  const head = `*Instances fetching keys* — ${fetched}\n${summary}\n`;
  return [section(head + fitLines(lines, 2900 - head.length))];
}

/** How to connect an instance: the install script and the same steps for cloud-init, as copied. */
export function renderRecipes(publicUrl: string, projectId: string): KnownBlock[] {
  // Inside a code block Slack applies no formatting, but &, < and > are still entities.
  const block = (text: string) => `\`\`\`${escapeText(text.trimEnd())}\`\`\``;
  // A script is never clipped (a cut script breaks as copied): its lead-in moves to a block of its own
  // when both do not fit in one (PUBLIC_URL is bounded so that a script alone always fits).
  const withLead = (lead: string, script: string): KnownBlock[] =>
    lead.length + 1 + script.length <= LIMITS.sectionText
      ? [section(`${lead}\n${script}`)]
      : [section(lead), section(script)];
  return [
    ...withLead(
      `*Connect instances* — on each, as root, with \`KEYHOUSE_TOKEN\` set to a token of this project ` +
        `(${code('/project token')}; keep it in your secret store). It installs the keyhouse-keys agent as sshd's ` +
        `AuthorizedKeysCommand; it runs as the system user \`keyhouse\`, the only one besides root that can read the token.`,
      block(installScript(publicUrl, projectId)),
    ),
    ...withLead(
      `At first boot, with cloud-init (fill in the token when you render the user-data):`,
      block(cloudInitConfig(publicUrl, projectId)),
    ),
  ];
}

const projectArgument = (name: string): string => (/\s/.test(name) ? `"${name}"` : name);

/** `revoke` without a label: which tokens there are, and how to revoke one or all. Nothing is revoked. */
export function renderTokenRevokeChoice(project: Project, tokens: DeliveryToken[]): Message {
  const name = projectArgument(project.name);
  if (tokens.length === 0) {
    return {
      text: `${project.name} has no key-delivery tokens.`,
      blocks: [
        section(`Project *${escapeText(project.name)}* has no key-delivery tokens: nothing to revoke.`),
      ],
    };
  }
  const text =
    `Which token of *${escapeText(project.name)}* should be revoked? Nothing was revoked.\n` +
    `${renderTokenLines(tokens)}\n` +
    `One: ${code(`/project token ${name} revoke ${tokens[0]?.label ?? '<label>'}`)} · ` +
    `all of them: ${code(`/project token ${name} revoke --all`)} (asks you to confirm). ` +
    'Instances using a revoked token get 401.';
  return { text: `Which token of ${project.name} should be revoked?`, blocks: [section(text)] };
}

/** What a Revoke-all button carries: the project, and when it was asked (newer tokens are spared). */
export interface RevokeAllValue {
  projectId: string;
  createdUpTo: string;
}

export function decodeRevokeAllValue(raw: string | undefined): RevokeAllValue | undefined {
  try {
    const value = JSON.parse(raw ?? '') as Partial<RevokeAllValue>;
    return typeof value.projectId === 'string' && typeof value.createdUpTo === 'string'
      ? { projectId: value.projectId, createdUpTo: value.createdUpTo }
      : undefined;
  } catch {
    return undefined;
  }
}

/** `revoke --all` asks first: a danger-styled Confirm button, and Cancel. */
export function renderRevokeAllConfirmation(project: Project, tokens: DeliveryToken[], at: string): Message {
  if (tokens.length === 0) return renderTokenRevokeChoice(project, tokens);
  const value: RevokeAllValue = { projectId: project.id, createdUpTo: at };
  const labels = tokens.map((t) => `*${escapeText(t.label)}*`).join(', ');
  const text =
    `:warning: Revoke all ${tokens.length} key-delivery token${tokens.length === 1 ? '' : 's'} of *${escapeText(project.name)}* (${labels})? ` +
    'Every instance that fetches keys with them gets 401 until it is given a new token.';
  return {
    text: `Revoke all tokens of ${project.name}?`,
    blocks: [
      section(text),
      {
        type: 'actions',
        elements: [
          button(ACTION.tokensRevokeAll, 'Revoke all', JSON.stringify(value), 'danger'),
          button(ACTION.tokensRevokeCancel, 'Cancel', project.id),
        ],
      },
    ],
  };
}

export function renderTokensRevoked(project: Project, revoked: DeliveryToken[]): Message {
  if (revoked.length === 0) {
    const text = `Nothing more to revoke: the tokens of *${escapeText(project.name)}* were already revoked.`;
    return { text, blocks: [section(text)] };
  }
  const text =
    `Revoked ${revoked.map((t) => `*${escapeText(t.label)}*`).join(', ')} of *${escapeText(project.name)}*: ` +
    `instances using ${revoked.length === 1 ? 'it' : 'them'} get 401 from now on.`;
  return { text, blocks: [section(text)] };
}
