import type { Domain } from '../../src/domain';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import type { RecordedCall } from '../helpers/fakeSlack';
import { KeyFactory, quickEd25519Line } from '../helpers/sshKeygen';
import { visibleText } from '../helpers/slackUser';

const keys = new KeyFactory();
let harness: Harness;
let domain: Domain;
const owner = { teamId: 'T0001', userId: OWNER_ID };

beforeEach(async () => {
  harness = await startHarness();
  domain = harness.apps[0]!.keyhouse.domain;
  await domain.projects.create(owner, 'web');
});
afterEach(() => harness.stop());
afterAll(() => keys.cleanup());

type Block = {
  type: string;
  text?: { text: string };
  elements?: { action_id?: string; value?: string }[];
  fields?: unknown[];
};

/** Every limit Slack enforces on a message, checked on what the app actually sent. */
function expectWithinMessageLimits(body: Record<string, unknown>, maxBlocks = 50): Block[] {
  const blocks = body.blocks as Block[];
  expect(blocks.length).toBeLessThanOrEqual(maxBlocks);
  for (const block of blocks) {
    if (block.type === 'header') expect(block.text!.text.length).toBeLessThanOrEqual(150);
    if (block.type === 'section' && block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000);
    if (block.fields) expect(block.fields.length).toBeLessThanOrEqual(10);
  }
  expect(JSON.stringify(body).length).toBeLessThan(40_000);
  return blocks;
}

const buttons = (blocks: Block[]) => blocks.flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []));

describe('project dashboard', () => {
  test('posted for everyone, it stays within Slack limits with 500 keys and 200 resources and shows the totals', async () => {
    // Seeded in one change (keys still go through the key parser), so the test spends its time on the dashboard.
    await domain.workspaces.mutate('T0001', async (tx) => {
      const project = await tx.project('web');
      for (let i = 0; i < 500; i += 1) {
        const { parsed } = domain.keys.check({ publicKey: quickEd25519Line('x') });
        const name = `engineer-${String(i).padStart(3, '0')}@laptop-with-a-long-host-name.example.com`;
        project.keys.push({
          ...parsed,
          id: `k${i}`,
          name,
          addedBy: OWNER_ID,
          createdAt: tx.at,
          disabled: false,
        });
      }
      const zones = ['fr-par-1', 'fr-par-2', 'nl-ams-1', 'pl-waw-1'];
      const types = ['instance', 'database', 'load-balancer', 'object-bucket', 'flexible-ip'];
      for (let i = 0; i < 200; i += 1) {
        project.resources.push({
          id: `r${i}`,
          type: types[i % types.length]!,
          name: `res-${i}`,
          zone: zones[i % zones.length]!,
          addedBy: OWNER_ID,
          createdAt: tx.at,
        });
      }
      tx.save(project);
    });
    const call = await harness.user('UALICE').command('/project', 'dashboard web');
    expect(call.body.response_type).toBe('in_channel');
    const blocks = expectWithinMessageLimits(call.body);
    const text = visibleText(call.body);
    expect(text).toContain('*SSH keys* — 500 keys, 500 active');
    expect(text).toContain('*Resources* — 200 resources');
    expect(text).toMatch(/_…and \d+ more_/);
    expect(text).toMatch(/\*instance\* · fr-par-1 \(10\)/);
    expect(buttons(blocks).map((b) => b.action_id)).toEqual(['dashboard_add_key', 'dashboard_refresh']);
  });

  test('shows the default badge, both IDs, keys, members and activity', async () => {
    await domain.projects.grant(owner, 'web', 'UALICE', 'member');
    const key = keys.generate('ed25519', { comment: 'alice@laptop' });
    await domain.keys.add(owner, 'web', { publicKey: key.publicLine, expires: '3d' });
    const { organization } = await domain.organizations.overview(owner);
    const web = visibleText((await harness.user('UALICE').command('/project', 'show web')).body);
    expect(web).toContain(organization.id);
    expect(web).toContain(keys.fingerprint(key.publicLine).fingerprint);
    expect(web).toMatch(/alice@laptop\* — ssh-ed25519 256 .* added by <@UOWNER1> · expires <!date/);
    expect(web).toContain('<@UALICE> — member');
    expect(web).toMatch(/added the key alice@laptop/);
    const main = await harness.user('UALICE').command('/project', 'show default');
    expect(main.body.response_type).toBe('ephemeral');
    expect(visibleText(main.body)).toMatch(/^\*default\* project/m);
  });

  test('Refresh updates the message in place with what changed', async () => {
    const posted = await harness.user(OWNER_ID).command('/project', 'dashboard web');
    expect(visibleText(posted.body)).toContain('0 keys');
    await domain.keys.add(owner, 'web', { publicKey: keys.generate('ed25519').publicLine, name: 'late' });
    const responseUrl = harness.slack.newResponseUrl();
    await harness
      .client('UALICE')
      .click('dashboard_refresh', buttons(posted.body.blocks as Block[])[1]!.value!, { responseUrl });
    const update = await harness.slack.waitFor(
      (c) => c.method === 'respond' && c.path === new URL(responseUrl).pathname,
    );
    expect(update.body.replace_original).toBe(true);
    expect(visibleText(update.body)).toContain('*late*');
    expect(visibleText(update.body)).toContain('1 key');
  });

  test('Add key opens the form with the project already chosen', async () => {
    const posted = await harness.user(OWNER_ID).command('/project', 'dashboard web');
    const projectId = buttons(posted.body.blocks as Block[])[0]!.value!;
    await harness
      .client(OWNER_ID)
      .click('dashboard_add_key', projectId, { responseUrl: harness.slack.newResponseUrl() });
    const opened = await harness.slack.waitFor((c) => c.method === 'views.open');
    const view = opened.body.view as {
      callback_id: string;
      blocks: { block_id: string; element: { initial_option?: { value: string } } }[];
    };
    expect(view.callback_id).toBe('sshkey_add');
    expect(view.blocks.find((b) => b.block_id === 'project')!.element.initial_option!.value).toBe(projectId);
  });
});

describe('add-key form', () => {
  async function openForm(): Promise<Record<string, unknown>> {
    const opened = await harness.user(OWNER_ID).command('/sshkey', 'add');
    expect(opened.method).toBe('views.open');
    return opened.body.view as Record<string, unknown>;
  }
  const webId = async () => (await domain.projects.show(owner, 'web')).project.id;

  test('a bad key gets a field error and nothing is stored', async () => {
    const view = await openForm();
    const weak = keys.generate('rsa', { bits: 1024 }).publicLine;
    const answer = await harness.client(OWNER_ID).submitForm(view, {
      project: { selected: await webId() },
      public_key: weak,
      name: '',
      expires: '',
      reason: '',
    });
    expect(answer).toEqual({
      response_action: 'errors',
      errors: { public_key: expect.stringMatching(/only 1024 bits; at least 2048/) },
    });
    expect((await domain.keys.list(owner, 'web')).keys).toHaveLength(0);
  });

  test('a private key gets the private-key warning on the key field and is not stored', async () => {
    const view = await openForm();
    const secret = keys.generate('ed25519').privateText;
    const answer = await harness
      .client(OWNER_ID)
      .submitForm(view, { project: { selected: await webId() }, public_key: secret });
    expect(answer).toEqual({
      response_action: 'errors',
      errors: { public_key: expect.stringMatching(/^That is a private key/) }, // plain text in a form
    });
    expect(JSON.stringify(answer)).not.toContain(secret.split('\n')[1]!.slice(0, 20));
    expect((await domain.keys.list(owner, 'web')).keys).toHaveLength(0);
  });

  test('a bad expiry is an error on the expiry field', async () => {
    const view = await openForm();
    const answer = await harness.client(OWNER_ID).submitForm(view, {
      project: { selected: await webId() },
      public_key: keys.generate('ed25519').publicLine,
      expires: 'tomorrow',
    });
    expect(answer).toEqual({
      response_action: 'errors',
      errors: { expires: expect.stringMatching(/not an expiry.*8h/) },
    });
  });

  test('a good key is added and the confirmation shows its fingerprint', async () => {
    const view = await openForm();
    const key = keys.generate('ecdsa', { comment: 'bob@desk' });
    const answer = await harness.client(OWNER_ID).submitForm(view, {
      project: { selected: await webId() },
      public_key: key.publicLine,
      name: 'bob desk',
      expires: '2d',
      reason: 'new laptop',
    });
    expect(answer.response_action).toBe('update');
    expect(visibleText({ view: answer.view })).toContain(keys.fingerprint(key.publicLine).fingerprint);
    expect((await domain.keys.list(owner, 'web')).keys.map((k) => k.name)).toEqual(['bob desk']);
  });

  test('with more than 100 projects the picker loads options as the user types', async () => {
    for (let i = 0; i < 101; i += 1) await domain.projects.create(owner, `svc-${String(i).padStart(3, '0')}`);
    const view = (await openForm()) as { blocks: { block_id: string; element: { type: string } }[] };
    expect(view.blocks.find((b) => b.block_id === 'project')!.element.type).toBe('external_select');
    const answer = (await harness.client(OWNER_ID).options('project', 'svc-05')) as {
      options: { text: { text: string } }[];
    };
    expect(answer.options.map((o) => o.text.text)).toEqual([
      'svc-050',
      'svc-051',
      'svc-052',
      'svc-053',
      'svc-054',
      'svc-055',
      'svc-056',
      'svc-057',
      'svc-058',
      'svc-059',
    ]);
  });
});

describe('App Home', () => {
  const published = (from: number) =>
    harness.slack.calls.slice(from).filter((c) => c.method === 'views.publish');
  async function nextPublish(from: number): Promise<RecordedCall> {
    await harness.slack.waitFor(
      (c) => c.method === 'views.publish' && harness.slack.calls.indexOf(c) >= from,
    );
    return published(from)[0]!;
  }

  test('is published when opened, and the Settings tab shows the Organization ID and owners', async () => {
    const from = harness.slack.calls.length;
    await harness
      .client('UALICE')
      .event({ type: 'app_home_opened', user: 'UALICE', channel: 'D1', tab: 'home', event_ts: '1.1' });
    const home = await nextPublish(from);
    expect(home.body.user_id).toBe('UALICE');
    expect(visibleText(home.body)).toMatch(/Projects:\* 2/);
    expect(visibleText(home.body)).toContain('audit log is for its owners'); // alice is no owner
    expect(visibleText(home.body)).not.toContain('created the project');
    const view = home.body.view as { blocks: unknown[] };
    expect(view.blocks.length).toBeLessThanOrEqual(100);

    const next = harness.slack.calls.length;
    await harness.client('UALICE').click('home_tab_settings', 'settings', { viewId: 'VHOME' });
    const settings = await nextPublish(next);
    const { organization } = await domain.organizations.overview(owner);
    expect(visibleText(settings.body)).toContain(`*Organization ID:* \`${organization.id}\``);
    expect(visibleText(settings.body)).toContain('<@UOWNER1>');
    expect(visibleText(settings.body)).toContain('*Default role:* viewer');
  });

  test("an owner's Overview shows the organization's recent activity", async () => {
    const from = harness.slack.calls.length;
    await harness
      .client(OWNER_ID)
      .event({ type: 'app_home_opened', user: OWNER_ID, channel: 'D2', tab: 'home', event_ts: '1.2' });
    expect(visibleText((await nextPublish(from)).body)).toMatch(/<@UOWNER1> created the project web/);
  });

  test('My keys lists the keys the viewer added, across projects', async () => {
    await domain.projects.grant(owner, 'web', 'UALICE', 'admin');
    await domain.keys.add({ teamId: 'T0001', userId: 'UALICE' }, 'web', {
      publicKey: keys.generate('ed25519').publicLine,
      name: 'mine',
      expires: '8h',
    });
    await domain.keys.add(owner, 'web', { publicKey: keys.generate('ed25519').publicLine, name: 'theirs' });
    const from = harness.slack.calls.length;
    await harness.client('UALICE').click('home_tab_keys', 'keys', { viewId: 'VHOME' });
    const text = visibleText((await nextPublish(from)).body);
    expect(text).toMatch(/\*mine\* in \*web\* — ssh-ed25519 .* expires <!date/);
    expect(text).not.toContain('theirs');
  });

  test('the Projects tab stays within 100 blocks with many projects and opens a dashboard', async () => {
    for (let i = 0; i < 120; i += 1) await domain.projects.create(owner, `p-${i}`);
    const from = harness.slack.calls.length;
    await harness.client(OWNER_ID).click('home_tab_projects', 'projects', { viewId: 'VHOME' });
    const projects = await nextPublish(from);
    const view = projects.body.view as { blocks: { accessory?: { value: string } }[] };
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    expect(visibleText(projects.body)).toContain('Projects 1–20 of 122 · page 1 of 7');
    const webId = (await domain.projects.show(owner, 'web')).project.id;
    const again = harness.slack.calls.length;
    await harness.client(OWNER_ID).click('home_open_project', webId, { viewId: 'VHOME' });
    expect(visibleText((await nextPublish(again)).body)).toContain(`*Project ID:* \`${webId}\``);
  });
});

describe('project settings form', () => {
  test('an admin changes description, channel and approvals required', async () => {
    const opened = await harness.user(OWNER_ID).command('/project', 'settings web');
    expect(opened.method).toBe('views.open');
    const view = opened.body.view as Record<string, unknown>;
    expect(
      await harness.client(OWNER_ID).submitForm(view, {
        description: 'Web tier',
        approvals_channel: { conversation: 'C0APPROVE' },
        approvals_required: { selected: '2' },
      }),
    ).toEqual({});
    const { project } = await domain.projects.show(owner, 'web');
    expect(project).toMatchObject({
      description: 'Web tier',
      settings: { approvalsChannel: 'C0APPROVE', approvalsRequired: 2 },
    });
  });

  test('a viewer is refused before any form opens', async () => {
    const call = await harness.user('UALICE').command('/project', 'settings web');
    expect(call.method).toBe('respond');
    expect(visibleText(call.body)).toMatch(/needs the \*admin\* role on project \*web\*/);
  });
});

test('Refresh of a dashboard whose response URL has expired updates it by its timestamp', async () => {
  const posted = await harness.user(OWNER_ID).command('/project', 'dashboard web');
  const projectId = buttons(posted.body.blocks as Block[])[1]!.value!;
  harness.slack.failures.set('respond', 'expired_url');
  await harness.client(OWNER_ID).click('dashboard_refresh', projectId, {
    responseUrl: harness.slack.newResponseUrl(),
    channelId: 'C0GENERAL',
  });
  const update = await harness.slack.waitFor((c) => c.method === 'chat.update');
  expect(update.body).toMatchObject({ channel: 'C0GENERAL', ts: '1700000000.000100' });
  expect(visibleText(update.body)).toContain('*SSH keys* — 0 keys');
});
