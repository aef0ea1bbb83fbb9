import type { KnownBlock } from '@slack/types';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEntry, CheckIn, KeyRequest, Organization, Project, SshKey } from '../../src/domain/model';
import { activityLine } from '../../src/slack/render/activity';
import { renderDashboard } from '../../src/slack/render/dashboard';
import { renderHome } from '../../src/slack/render/home';
import { renderRequestCard } from '../../src/slack/render/approvals';
import { renderRecipes } from '../../src/slack/render/delivery';
import { cloudInitConfig, installScript } from '../../src/domain/recipes';
import { MAX_PUBLIC_URL_LENGTH } from '../../src/config';
import { lintCall } from '../helpers/slackLint';
import { clipMrkdwn, fitLines, packLines } from '../../src/slack/render/limits';
import {
  renderAudit,
  renderKeyList,
  renderMembers,
  renderProjectList,
} from '../../src/slack/render/messages';

/** Renderers are pure: these check Slack's limits at sizes far beyond any real organization. */

const now = new Date('2026-11-26T12:00:00Z');
const at = now.toISOString();
const long = (prefix: string, i: number) => `${prefix}-${i}-`.padEnd(64, 'x');

function hugeProject(): Project {
  const keys: SshKey[] = Array.from({ length: 5000 }, (_, i) => ({
    id: `k${i}`,
    name: long('key', i),
    publicKey: 'ssh-ed25519 AAAA',
    type: 'sk-ecdsa-sha2-nistp256@openssh.com',
    bits: 256,
    fingerprint: `SHA256:${'A'.repeat(43)}`,
    comment: '',
    addedBy: 'U0123456789',
    createdAt: at,
    disabled: i % 3 === 0,
    ...(i % 2 ? { expiresAt: '2026-12-01T00:00:00.000Z' } : {}),
  }));
  const activity: AuditEntry[] = Array.from({ length: 50 }, (_, i) => ({
    at,
    actor: 'U0123456789',
    action: 'key.added',
    target: `${long('key', i)} (SHA256:${'A'.repeat(43)})`,
    detail: 'r'.repeat(300),
    outcome: 'done',
  }));
  return {
    id: '00000000-0000-4000-8000-000000000000',
    orgId: '00000000-0000-4000-8000-000000000001',
    teamId: 'T1',
    name: 'n'.repeat(64),
    description: '<d>&'.repeat(50),
    isDefault: true,
    createdAt: at,
    updatedAt: at,
    keys,
    resources: Array.from({ length: 5000 }, (_, i) => ({
      id: `r${i}`,
      type: ['instance', 'database', 'load-balancer'][i % 3]!,
      name: long('res', i).slice(0, 63),
      zone: `fr-p${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + ((i >> 5) % 26))}-${(i % 9) + 1}`,
      addedBy: 'U1',
      createdAt: at,
    })),
    members: Object.fromEntries(
      Array.from({ length: 1000 }, (_, i) => [`U${String(i).padStart(10, '0')}`, 'member' as const]),
    ),
    settings: { approvalsRequired: 1 },
    activity,
  };
}

const organization: Organization = {
  id: '00000000-0000-4000-8000-000000000001',
  teamId: 'T1',
  owners: Array.from({ length: 200 }, (_, i) => `U${String(i).padStart(10, '0')}`),
  settings: { defaultRole: 'viewer', projectCreators: 'owners' },
  projects: Array.from({ length: 1000 }, (_, i) => ({
    id: `p${i}`,
    name: long('project', i),
    isDefault: i === 0,
    keyCount: 5000,
    resourceCount: 5000,
    updatedAt: at,
  })),
  createdAt: at,
  updatedAt: at,
};

function hugeRequest(i: number): KeyRequest {
  return {
    id: `req-${i}`,
    orgId: organization.id,
    teamId: 'T1',
    projectId: 'p1',
    projectName: 'n'.repeat(64),
    requesters: Array.from({ length: 30 }, (_, j) => `U${String(j).padStart(10, '0')}`),
    key: {
      name: long('key', i),
      publicKey: 'ssh-ed25519 AAAA',
      type: 'ssh-ed25519',
      bits: 256,
      fingerprint: `SHA256:${'B'.repeat(43)}`,
      comment: '',
    },
    reason: 'why '.repeat(200),
    createdAt: at,
    expiresAt: at,
    required: 5,
    approvals: [{ userId: 'U1', at }],
    status: 'pending',
    cards: [],
  };
}

/** Every instance of the project has fetched an older key set. */
const checkInsOf = (project: Project): Record<string, CheckIn> =>
  Object.fromEntries(
    project.resources
      .filter((r) => r.type === 'instance')
      .map((r) => [r.id, { at, etag: '"old"', count: 3 }]),
  );

function expectWithin(blocks: KnownBlock[], maxBlocks: number): void {
  expect(blocks.length).toBeLessThanOrEqual(maxBlocks);
  for (const block of blocks) {
    if (block.type === 'header') expect(block.text.text.length).toBeLessThanOrEqual(150);
    if (block.type === 'section' && block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000);
    if (block.type === 'context')
      for (const e of block.elements) if ('text' in e) expect(e.text.length).toBeLessThanOrEqual(3000);
    if (block.type === 'actions') expect(block.elements.length).toBeLessThanOrEqual(25);
    if (block.type === 'section' && block.fields) {
      expect(block.fields.length).toBeLessThanOrEqual(10);
      for (const field of block.fields) expect(field.text.length).toBeLessThanOrEqual(2000);
    }
  }
}

test('a dashboard of 5,000 keys, 5,000 resources and 1,000 members fits one message and keeps its buttons', () => {
  const project = hugeProject();
  const message = renderDashboard(
    { organization, project, role: 'admin', owners: organization.owners, checkIns: checkInsOf(project) },
    now,
    'https://keyhouse.example.com',
  );
  expectWithin(message.blocks!, 50);
  const text = JSON.stringify(message.blocks);
  expect(text).toContain('5000 keys, 3333 active'); // a third are disabled
  expect(text).toContain('5000 resources');
  // A fleet larger than one read takes is counted from its newest instances, and the dashboard says so.
  expect(text).toContain('Instances fetching keys* — 1000');
  expect(text).toContain('Counted from the 1000 most recently registered of 1667 instances');
  expect(text).toMatch(/…and \d+ more/);
  expect(message.blocks!.at(-1)!.type).toBe('actions');
  // User text is escaped: a description cannot forge mentions or links.
  expect(text).toContain('&lt;d&gt;&amp;');
});

test('with the longest PUBLIC_URL allowed, the recipes are shown whole, never clipped', () => {
  const publicUrl = `https://${'k'.repeat(MAX_PUBLIC_URL_LENGTH - 'https://.example.com'.length)}.example.com`;
  expect(publicUrl).toHaveLength(MAX_PUBLIC_URL_LENGTH);
  const blocks = renderRecipes(publicUrl, '096e166a-6775-43ba-8cd5-efefaf14b94e');
  expectWithin(blocks, 4);
  expect(lintCall('chat.postMessage', { channel: 'C1', text: 'recipes', blocks })).toEqual([]);
  const scripts = blocks.flatMap((block) =>
    block.type === 'section' && block.text
      ? [...block.text.text.matchAll(/```([\s\S]*?)```/g)].map((m) =>
          m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'),
        )
      : [],
  );
  expect(scripts).toEqual([
    installScript(publicUrl, '096e166a-6775-43ba-8cd5-efefaf14b94e').trimEnd(),
    cloudInitConfig(publicUrl, '096e166a-6775-43ba-8cd5-efefaf14b94e').trimEnd(),
  ]);
});

test('App Home tabs stay within 100 blocks for 1,000 projects and 5,000 keys', () => {
  const overview = {
    organization,
    owners: organization.owners,
    configuredOwners: [],
    projectCount: 1000,
    keyCount: 5e6,
    resourceCount: 5e6,
  };
  const project = hugeProject();
  const views = [
    renderHome({ tab: 'overview', overview, activity: project.activity }),
    renderHome({ tab: 'projects', projects: organization.projects }),
    renderHome({
      tab: 'keys',
      keys: project.keys.map((key) => ({ key, projectId: 'p', projectName: project.name })),
      now,
    }),
    renderHome({ tab: 'settings', overview }),
    renderHome({ tab: 'approvals', requests: Array.from({ length: 50 }, (_, i) => hugeRequest(i)) }),
    renderHome({
      tab: 'project',
      view: { organization, project, role: 'viewer', owners: [], checkIns: checkInsOf(project) },
      now,
      publicUrl: 'https://k.example.com',
    }),
  ];
  for (const view of views) expectWithin(view.blocks as KnownBlock[], 100);
});

test('lists and the audit log show a page with its count, in full, and a button to the next', () => {
  const project = hugeProject();
  for (const message of [
    renderKeyList(project, project.keys, now),
    renderKeyList(project, project.keys, now, 250),
    renderMembers(project, 3),
    renderProjectList(organization.projects),
  ]) {
    expectWithin(message.blocks!, 50);
    expect(JSON.stringify(message.blocks)).not.toMatch(/…and \d+ more/);
    expect(JSON.stringify(message.blocks)).toMatch(/ of \d+ · page \d+ of \d+/);
    expect(message.blocks!.at(-1)!.type).toBe('actions');
  }
  // The audit log pages instead: one page of its longest records, and where the others are.
  const page = renderAudit({
    entries: [...project.activity, ...project.activity].slice(0, 20),
    page: 2,
    pages: 250,
    total: 5000,
    stream: 'security',
    projectName: project.name,
  });
  expectWithin(page.blocks!, 50);
  expect(JSON.stringify(page.blocks)).toMatch(/page 2 of 250.*records 21–40 of 5000/);
});

test('fitLines and packLines never exceed their budget and count what they leave out', () => {
  const lines = Array.from({ length: 1000 }, (_, i) => `line ${i} ${'y'.repeat(i % 200)}`);
  const fitted = fitLines(lines, 3000);
  expect(fitted.length).toBeLessThanOrEqual(3000);
  const shown = fitted.split('\n').length - 1;
  expect(fitted).toContain(`_…and ${1000 - shown} more_`);
  const packed = packLines(lines, 3);
  expect(packed).toHaveLength(3);
  for (const text of packed) expect(text.length).toBeLessThanOrEqual(3000);
  expect(packLines(['a', 'b'], 3)).toEqual(['a\nb']);
  expect(fitLines(['only'], 3000)).toBe('only');
});

describe('activity lines', () => {
  const entry = (action: string, target?: string, detail?: string): AuditEntry => ({
    at,
    actor: 'UACTOR1',
    action,
    ...(target ? { target } : {}),
    ...(detail ? { detail } : {}),
    outcome: 'done',
  });

  test('every action the domain records reads as words, not as its code', () => {
    const root = join(__dirname, '../../src/domain');
    const sources = readdirSync(root, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .map((file) => readFileSync(join(root, file), 'utf8'))
      .join('\n');
    // `action: 'key.added'`, and the `{ remove: 'key.removed', … }` table of key changes.
    const actions = new Set([...sources.matchAll(/\b\w+: '([a-z]+\.[a-z_]+)'/g)].map((m) => m[1]!));
    expect(actions.size).toBeGreaterThanOrEqual(28);
    for (const action of actions) {
      const line = activityLine(entry(action, 'web (SHA256:abc)', 'x'));
      expect([action, line]).toEqual([action, expect.not.stringContaining(action)]);
    }
  });

  test('mentions come only from the user IDs Keyhouse wrote; text typed by people is escaped once', () => {
    const approved = activityLine(
      entry(
        'key.request_approved',
        '<@UEVIL> & co (SHA256:abc) for <@UALICE>',
        'approved by <@UBOB>, <@UCAROL>',
      ),
    );
    expect(approved).toContain(
      'approved a key request: &lt;@UEVIL&gt; &amp; co (SHA256:abc) for <@UALICE> _(approved by <@UBOB>, <@UCAROL>)_',
    );
    // A key named like a mention stays a name; a deny reason is the denier's words.
    expect(activityLine(entry('key.added', '<@UEVIL> (SHA256:abc)'))).toContain(
      'added the key &lt;@UEVIL&gt; (SHA256:abc)',
    );
    expect(
      activityLine(entry('key.request_denied', 'k (SHA256:abc) for <@UALICE>', 'ask <@UEVIL>')),
    ).toContain('denied a key request: k (SHA256:abc) for <@UALICE> _(ask &lt;@UEVIL&gt;)_');
    expect(activityLine(entry('owner.added', '<@UBOB>'))).toContain('<@UACTOR1> made <@UBOB> an owner');
    expect(activityLine(entry('organization.channel_set', '<#C0APPROVE>'))).toContain(
      'set the approvals channel to <#C0APPROVE>',
    );
    expect(activityLine(entry('project.created', '{detail}', 'd'))).toContain('created the project {detail}');
    expect(
      activityLine({ ...entry('instance.moved', 'web-1 (fr-par-2)', 'was fr-par-1'), actor: 'keyhouse' }),
    ).toContain('Keyhouse moved the instance web-1 (fr-par-2) _(was fr-par-1)_');
  });
});

describe('clipping escaped text', () => {
  /** Any `&` that does not start a whole entity: what a cut through `&amp;` leaves. */
  const BROKEN_ENTITY = /&(?!amp;|lt;|gt;)/;

  test('the approval card never cuts a key name or a reason in the middle of an entity', () => {
    for (let length = 40; length <= 64; length += 1) {
      const request = {
        ...hugeRequest(1),
        key: { ...hugeRequest(1).key, name: '&'.repeat(length) },
        reason: `${'x'.repeat(length)}${'<&>'.repeat(1200)}`,
      };
      const blocks = renderRequestCard(request).blocks as {
        fields?: { text: string }[];
        text?: { text: string };
      }[];
      const name = blocks.flatMap((b) => b.fields ?? []).find((f) => f.text.startsWith('*Key name*'))!;
      expect(name.text).not.toMatch(BROKEN_ENTITY);
      expect(name.text).toMatch(/^\*Key name\*\n(&amp;)+…?$/);
      const reason = blocks.find((b) => b.text?.text.startsWith('*Reason*'))!.text!.text;
      expect(reason).not.toMatch(BROKEN_ENTITY);
      expect(reason).not.toMatch(/&(a|am|amp|l|lt|g|gt)?…$/);
      expect(reason.length).toBeLessThanOrEqual(3000);
    }
  });

  test('clipMrkdwn keeps entities and tokens whole, and is the cut every section and list uses', () => {
    const mention = `${'x'.repeat(95)}<@U0123456789> and more`;
    expect(clipMrkdwn(mention, 100)).toBe(`${'x'.repeat(95)}…`);
    expect(clipMrkdwn(`${'x'.repeat(97)}&amp;x`, 100)).toBe(`${'x'.repeat(97)}…`);
    expect(clipMrkdwn(`${'x'.repeat(98)}🔑🔑`, 100)).toBe(`${'x'.repeat(98)}…`);
    expect(clipMrkdwn('short &amp; whole', 100)).toBe('short &amp; whole');
    const text = fitLines([`${'&amp;'.repeat(1000)}`], 3000);
    expect(text).not.toMatch(BROKEN_ENTITY);
    const blocks = renderAudit({
      stream: 'security',
      page: 1,
      pages: 1,
      total: 1,
      entries: [
        {
          at,
          actor: 'U1',
          action: 'key.added',
          target: `${'&'.repeat(64)} (SHA256:abc)`,
          detail: '&'.repeat(2990),
          outcome: 'done',
        },
      ],
    }).blocks as { text?: { text: string } }[];
    for (const block of blocks) expect(block.text?.text ?? '').not.toMatch(BROKEN_ENTITY);
  });
});
