import type { KnownBlock } from '@slack/types';
import { authorizedKeysText, etagOf, servedKeys } from '../../domain/delivery';
import type { CheckIn, DeliveryToken, Project } from '../../domain/model';
import { code, escapeText, section, user, when } from './format';
import { fitLines } from './limits';
import type { Message } from './messages';

/** Key delivery as users see it: tokens, instances' check-ins, and the recipes that connect instances. */

export function cloudInitRecipe(publicUrl: string, projectId: string): string {
  return [
    '#cloud-config',
    'runcmd:',
    `  - curl -fsS -H "Authorization: Bearer $KEYHOUSE_TOKEN" "${publicUrl}/v1/projects/${projectId}/authorized_keys?instance=$(hostname)" -o /root/.ssh/authorized_keys`,
  ].join('\n');
}

export function authorizedKeysCommandRecipe(publicUrl: string, projectId: string): string {
  return [
    '# /usr/local/bin/keyhouse-keys (root:root, 0755); the token in /etc/keyhouse/token (root:nobody, 0640)',
    '#!/bin/sh',
    `exec curl -fsS --max-time 5 -H "Authorization: Bearer $(cat /etc/keyhouse/token)" \\`,
    `  "${publicUrl}/v1/projects/${projectId}/authorized_keys?instance=$(hostname)"`,
    '# /etc/ssh/sshd_config',
    'AuthorizedKeysCommand /usr/local/bin/keyhouse-keys %u',
    'AuthorizedKeysCommandUser nobody',
  ].join('\n');
}

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
  const current = etagOf(authorizedKeysText(servedKeys(project, now)));
  const seen = (id: string) => checkIns[id]?.at ?? '';
  const lines = instances
    .sort((a, b) => seen(b.id).localeCompare(seen(a.id)))
    .map((r) => {
      const fresh = checkIns[r.id]?.etag === current;
      return `• *${escapeText(r.name)}*${r.zone ? ` · ${r.zone}` : ''} — seen ${when(seen(r.id))} · ${
        fresh ? ':white_check_mark: current keys' : ':warning: older key set, updates at its next fetch'
      } (${checkIns[r.id]?.count ?? 0})`;
    });
  return [section(`*Instances fetching keys* — ${instances.length}\n${fitLines(lines, 2900)}`)];
}

export function renderRecipes(publicUrl: string, projectId: string): KnownBlock[] {
  return [
    section(
      `*Connect instances* (token: \`/project token\`)\nAt boot, with cloud-init:\n\`\`\`${cloudInitRecipe(publicUrl, projectId)}\`\`\`\n` +
        `On every login, with OpenSSH:\n\`\`\`${authorizedKeysCommandRecipe(publicUrl, projectId)}\`\`\``,
    ),
  ];
}
