import type { KnownBlock } from '@slack/types';
import { servedSet } from '../../domain/deliveryKeySet';
import type { CheckIn, DeliveryToken, Project } from '../../domain/model';
import { cloudInitConfig, installScript } from '../../domain/recipes';
import { ACTION } from '../ids';
import { button, code, escapeText, section, user, when } from './format';
import { fitLines } from './limits';
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

/** Dashboard blocks: each instance, when it last fetched its keys, and whether it has the current set. */
export function renderInstances(
  project: Project,
  checkIns: Record<string, CheckIn>,
  now: Date,
): KnownBlock[] {
  const instances = project.resources.filter((r) => r.type === 'instance' && checkIns[r.id]);
  if (instances.length === 0) return [];
  const current = servedSet(project, now).version;
  const seen = (id: string) => checkIns[id]?.at ?? '';
  const lines = instances
    .sort((a, b) => seen(b.id).localeCompare(seen(a.id)))
    .map((r) => {
      const fresh = checkIns[r.id]?.version === current;
      return `• *${escapeText(r.name)}*${r.zone ? ` · ${r.zone}` : ''} — seen ${when(seen(r.id))} · ${
        fresh ? ':white_check_mark: current keys' : ':warning: older key set, updates at its next fetch'
      } (${checkIns[r.id]?.count ?? 0})`;
    });
  return [section(`*Instances fetching keys* — ${instances.length}\n${fitLines(lines, 2900)}`)];
}

/** How to connect an instance: the install script and the same steps for cloud-init, as copied. */
export function renderRecipes(publicUrl: string, projectId: string): KnownBlock[] {
  // Inside a code block Slack applies no formatting, but &, < and > are still entities.
  const block = (text: string) => `\`\`\`${escapeText(text.trimEnd())}\`\`\``;
  return [
    section(
      `*Connect instances* — on each, as root, with \`KEYHOUSE_TOKEN\` set to a token of this project ` +
        `(${code('/project token')}; keep it in your secret store). It installs the keyhouse-keys agent as sshd's ` +
        `AuthorizedKeysCommand; the token is readable by root and \`nobody\`'s group only.\n` +
        block(installScript(publicUrl, projectId)),
    ),
    section(
      `At first boot, with cloud-init (fill in the token when you render the user-data):\n` +
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
