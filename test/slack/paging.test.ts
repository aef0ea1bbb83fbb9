import type { Domain } from '../../src/domain';
import type { RecordedCall } from '../helpers/fakeSlack';
import { OWNER_ID, startHarness, type Harness } from '../helpers/harness';
import { seedProjects } from '../helpers/seed';
import { quickEd25519Line } from '../helpers/sshKeygen';
import { visibleText } from '../helpers/slackUser';

/** Every list reaches every item: `--page N` and Next/Previous buttons, with counts, through the real app. */

let harness: Harness;
let domain: Domain;
const owner = { teamId: 'T0001', userId: OWNER_ID };

beforeEach(async () => {
  harness = await startHarness();
  domain = harness.apps[0]!.keyhouse.domain;
});
afterEach(() => harness.stop());

type Element = { action_id?: string; value?: string };
type Block = { type: string; block_id?: string; elements?: Element[]; accessory?: Element };

const blocksOf = (body: Record<string, unknown>): Block[] =>
  (body.view as { blocks?: Block[] } | undefined)?.blocks ?? (body.blocks as Block[] | undefined) ?? [];

/** The paging button whose action ID ends with `_next` or `_previous`, if the page has one. */
function pageButton(body: Record<string, unknown>, direction: 'next' | 'previous'): Element | undefined {
  return blocksOf(body)
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements ?? [])
    .find((e) => e.action_id?.endsWith(`_page_${direction}`));
}

const fingerprints = (text: string): string[] => text.match(/SHA256:[A-Za-z0-9+/]{43}/g) ?? [];

/** Clicks a button of a message and returns the message that replaced it. */
async function clickInMessage(userId: string, button: Element): Promise<RecordedCall> {
  const responseUrl = harness.slack.newResponseUrl();
  await harness.client(userId).click(button.action_id!, button.value!, { responseUrl });
  return harness.slack.waitFor((c) => c.method === 'respond' && c.path === new URL(responseUrl).pathname);
}

/** Clicks a button in App Home and returns the view published next. */
async function clickInHome(userId: string, actionId: string, value: string): Promise<RecordedCall> {
  const from = harness.slack.calls.length;
  await harness.client(userId).click(actionId, value, { viewId: 'VHOME' });
  return harness.slack.waitFor((c) => c.method === 'views.publish' && harness.slack.calls.indexOf(c) >= from);
}

/** Counts how often each item was seen. */
function tally(seen: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of seen) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

const everyOnce = (seen: string[], expected: string[]): void => {
  const counts = tally(seen);
  expect([...counts.keys()].sort()).toEqual([...expected].sort());
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
};

/** A project of `count` keys with names as long as allowed and full of characters mrkdwn must escape. */
async function projectWithKeys(name: string, count: number, addedBy = OWNER_ID): Promise<string[]> {
  const project = await domain.projects.create(owner, name);
  const added: string[] = [];
  await domain.workspaces.mutate('T0001', async (tx) => {
    const loaded = await tx.project(project.id);
    for (let i = 0; i < count; i += 1) {
      const { parsed } = domain.keys.check({ publicKey: quickEd25519Line('x') });
      loaded.keys.push({
        ...parsed,
        id: `${name}-${i}`,
        name: `${'<&>'.repeat(19)}-${String(i).padStart(4, '0')}`,
        addedBy,
        createdAt: tx.at,
        disabled: false,
      });
      (await tx.userKeys(addedBy)).keys.push({ projectId: project.id, keyId: `${name}-${i}` });
      added.push(parsed.fingerprint);
    }
    tx.save(loaded);
  });
  return added;
}

test('/sshkey list of a 500-key project reaches every key, with --page N and with Next/Previous', async () => {
  const all = await projectWithKeys('big', 500);
  const owned = harness.user(OWNER_ID);

  const typed: string[] = [];
  for (let page = 1; page <= 25; page += 1) {
    const call = await owned.command('/sshkey', `list big --page ${page}`);
    const text = visibleText(call.body);
    expect(text).toContain(`Keys ${(page - 1) * 20 + 1}–${page * 20} of 500 · page ${page} of 25`);
    expect(text).not.toMatch(/more_/);
    expect(fingerprints(text)).toHaveLength(20);
    typed.push(...fingerprints(text));
  }
  everyOnce(typed, all);
  expect(visibleText((await owned.command('/sshkey', 'list big --page 26')).body)).toContain(
    'There are 25 pages: ask for a page from 1 to 25.',
  );

  let current = (await owned.command('/sshkey', 'list big')).body;
  expect(pageButton(current, 'previous')).toBeUndefined();
  const clicked = [...fingerprints(visibleText(current))];
  let pages = 1;
  for (let next = pageButton(current, 'next'); next; next = pageButton(current, 'next')) {
    expect(next.value!.length).toBeLessThanOrEqual(2000);
    expect(next.value).not.toContain('<&>'); // page state is IDs and numbers, never user text
    const update = await clickInMessage('UALICE', next);
    expect(update.body.replace_original).toBe(true);
    current = update.body;
    pages += 1;
    expect(visibleText(current)).toContain(`page ${pages} of 25`);
    clicked.push(...fingerprints(visibleText(current)));
  }
  expect(pages).toBe(25);
  expect(visibleText(current)).toContain('Keys 481–500 of 500 · page 25 of 25');
  everyOnce(clicked, all);

  const back = await clickInMessage('UALICE', pageButton(current, 'previous')!);
  expect(visibleText(back.body)).toContain('Keys 461–480 of 500 · page 24 of 25');
  expect(fingerprints(visibleText(back.body))).toEqual(typed.slice(460, 480));
});

test('/project list of 122 projects reaches every project, with --page N and with Next', async () => {
  await domain.projects.create(owner, 'web');
  await seedProjects(domain, owner, 120, 0);
  const ids = (await domain.projects.list(owner)).projects.map((p) => p.id);
  expect(ids).toHaveLength(122);
  const idsIn = (text: string) => [...text.matchAll(/`([0-9a-f-]{36})`/g)].map((m) => m[1]!);

  const typed: string[] = [];
  for (let page = 1; page <= 7; page += 1) {
    const text = visibleText((await harness.user('UALICE').command('/project', `list --page ${page}`)).body);
    expect(text).toContain(
      `Projects ${(page - 1) * 20 + 1}–${Math.min(122, page * 20)} of 122 · page ${page} of 7`,
    );
    typed.push(...idsIn(text));
  }
  everyOnce(typed, ids);

  let current = (await harness.user('UALICE').command('/project', 'list')).body;
  const clicked = idsIn(visibleText(current));
  for (let next = pageButton(current, 'next'); next; next = pageButton(current, 'next')) {
    current = (await clickInMessage('UALICE', next)).body;
    clicked.push(...idsIn(visibleText(current)));
  }
  everyOnce(clicked, ids);
});

test('/org audit of 1,000 records is paged by Older and Newer buttons, every record once', async () => {
  const web = await domain.projects.create(owner, 'web');
  await domain.workspaces.mutate('T0001', async (tx) => {
    const project = await tx.project(web.id);
    for (let i = 0; i < 1000; i += 1) {
      tx.record(
        { actor: OWNER_ID, action: 'role.granted', target: `t-${String(i).padStart(4, '0')}` },
        project,
      );
    }
  });
  const targets = (text: string): string[] => text.match(/t-\d{4}/g) ?? [];

  let current = (await harness.user(OWNER_ID).command('/org', 'audit')).body;
  const first = visibleText(current);
  const total = Number(/records 1–20 of (\d+)/.exec(first)![1]);
  const pages = Math.ceil(total / 20);
  expect(total).toBeGreaterThanOrEqual(1000);
  expect(first).toContain(`page 1 of ${pages}`);
  expect(pageButton(current, 'next')!.action_id).toBe('list_page_next');
  const seen = targets(first);
  let page = 1;
  for (let older = pageButton(current, 'next'); older; older = pageButton(current, 'next')) {
    current = (await clickInMessage(OWNER_ID, older)).body;
    page += 1;
    expect(visibleText(current)).toContain(`page ${page} of ${pages}`);
    seen.push(...targets(visibleText(current)));
  }
  expect(page).toBe(pages);
  everyOnce(
    seen,
    Array.from({ length: 1000 }, (_, i) => `t-${String(i).padStart(4, '0')}`),
  );
  const newer = await clickInMessage(OWNER_ID, pageButton(current, 'previous')!);
  expect(visibleText(newer.body)).toContain(`page ${pages - 1} of ${pages}`);

  // A project's trail pages the same way, and its buttons stay on that project.
  let inProject = (await harness.user(OWNER_ID).command('/org', 'audit web')).body;
  const projectSeen = targets(visibleText(inProject));
  for (let older = pageButton(inProject, 'next'); older; older = pageButton(inProject, 'next')) {
    inProject = (await clickInMessage(OWNER_ID, older)).body;
    expect(visibleText(inProject)).toContain('Changes in web');
    projectSeen.push(...targets(visibleText(inProject)));
  }
  expect(new Set(projectSeen).size).toBe(1000);
});

test('App Home My keys and Projects tabs page through every item', async () => {
  const mine = [...(await projectWithKeys('a', 30, 'UALICE')), ...(await projectWithKeys('b', 31, 'UALICE'))];
  await projectWithKeys('c', 5); // someone else's keys
  let home = await clickInHome('UALICE', 'home_tab_keys', 'keys');
  expect(visibleText(home.body)).toContain('Keys 1–20 of 61 · page 1 of 4');
  const seen = fingerprints(visibleText(home.body));
  for (let next = pageButton(home.body, 'next'); next; next = pageButton(home.body, 'next')) {
    home = await clickInHome('UALICE', next.action_id!, next.value!);
    expect(home.body.user_id).toBe('UALICE');
    seen.push(...fingerprints(visibleText(home.body)));
  }
  expect(visibleText(home.body)).toContain('Keys 61–61 of 61 · page 4 of 4');
  everyOnce(seen, mine);
  const back = await clickInHome('UALICE', 'home_page_previous', pageButton(home.body, 'previous')!.value!);
  expect(visibleText(back.body)).toContain('Keys 41–60 of 61 · page 3 of 4');

  await seedProjects(domain, owner, 120, 0);
  const ids = (await domain.projects.list(owner)).projects.map((p) => p.id);
  let projects = await clickInHome(OWNER_ID, 'home_tab_projects', 'projects');
  const opened = (view: RecordedCall) =>
    blocksOf(view.body).flatMap((b) =>
      b.accessory?.action_id === 'home_open_project' ? [b.accessory.value!] : [],
    );
  const listed = opened(projects);
  for (let next = pageButton(projects.body, 'next'); next; next = pageButton(projects.body, 'next')) {
    projects = await clickInHome(OWNER_ID, next.action_id!, next.value!);
    listed.push(...opened(projects));
  }
  expect(visibleText(projects.body)).toContain(`page 7 of 7`);
  everyOnce(listed, ids);
});

test('members are listed in full, and a Next click by someone who lost access is refused', async () => {
  await domain.organizations.updateSettings(owner, 'default-role', 'none');
  await projectWithKeys('secret', 45);
  await domain.workspaces.mutate('T0001', async (tx) => {
    const project = await tx.project('secret');
    for (let i = 0; i < 159; i += 1) project.members[`UMEMBER${String(i).padStart(3, '0')}`] = 'viewer';
    tx.save(project);
  });
  await domain.projects.grant(owner, 'secret', 'UALICE', 'member');

  const dashboard = visibleText((await harness.user('UALICE').command('/project', 'show secret')).body);
  // The dashboard summarizes, and says which commands list everything.
  expect(dashboard).toContain('*Members* — 161 members');
  expect(dashboard).toContain('`/sshkey list secret`');
  expect(dashboard).toContain('`/project members secret`');
  expect(dashboard).toContain('`/project members secret`');
  const members: string[] = [];
  let current = (await harness.user('UALICE').command('/project', 'members secret')).body;
  expect(visibleText(current)).toContain('Members 1–25 of 161 · page 1 of 7');
  members.push(...(visibleText(current).match(/<@U[A-Z0-9]+>/g) ?? []));
  for (let next = pageButton(current, 'next'); next; next = pageButton(current, 'next')) {
    current = (await clickInMessage('UALICE', next)).body;
    members.push(...(visibleText(current).match(/<@U[A-Z0-9]+>/g) ?? []));
  }
  everyOnce(
    members,
    Object.keys((await domain.projects.members(owner, 'secret')).project.members).map((id) => `<@${id}>`),
  );
  expect(
    visibleText((await harness.user('UALICE').command('/project', 'members secret --page 7')).body),
  ).toContain('Members 151–161 of 161 · page 7 of 7');

  const keys = await harness.user('UALICE').command('/sshkey', 'list secret');
  const next = pageButton(keys.body, 'next')!;
  const membersNext = pageButton(
    (await harness.user('UALICE').command('/project', 'members secret')).body,
    'next',
  )!;
  await domain.projects.revoke(owner, 'secret', 'UALICE');
  for (const button of [next, membersNext]) {
    const refusal = await clickInMessage('UALICE', button);
    expect(refusal.body.replace_original).toBe(false);
    expect(refusal.body.response_type).toBe('ephemeral');
    const text = visibleText(refusal.body);
    expect(text).toMatch(/:warning:/);
    expect(fingerprints(text)).toHaveLength(0);
    expect(text).not.toContain('UMEMBER');
  }
  // A forged page state is refused too, not trusted.
  const forged = await clickInMessage('UALICE', {
    action_id: 'list_page_next',
    value: '{"kind":"keys","page":2}',
  });
  expect(visibleText(forged.body)).toMatch(/run the command again/);
});

test("App Home's activity panel pages through the organization's audit log with Older and Newer", async () => {
  const web = await domain.projects.create(owner, 'web');
  await domain.workspaces.mutate('T0001', async (tx) => {
    const project = await tx.project(web.id);
    for (let i = 0; i < 90; i += 1) {
      tx.record(
        { actor: OWNER_ID, action: 'role.granted', target: `t-${String(i).padStart(4, '0')}` },
        project,
      );
    }
  });
  const from = harness.slack.calls.length;
  await harness
    .client(OWNER_ID)
    .event({ type: 'app_home_opened', user: OWNER_ID, channel: 'D1', tab: 'home', event_ts: '1.1' });
  let home = await harness.slack.waitFor(
    (c) => c.method === 'views.publish' && harness.slack.calls.indexOf(c) >= from,
  );
  const text = visibleText(home.body);
  const total = Number(/Records 1–20 of (\d+)/.exec(text)![1]);
  expect(total).toBeGreaterThanOrEqual(90);
  const seen: string[] = text.match(/t-\d{4}/g) ?? [];
  for (let older = pageButton(home.body, 'next'); older; older = pageButton(home.body, 'next')) {
    expect(older.action_id).toBe('home_page_next');
    home = await clickInHome(OWNER_ID, older.action_id!, older.value!);
    seen.push(...(visibleText(home.body).match(/t-\d{4}/g) ?? []));
  }
  expect(visibleText(home.body)).toContain(`page ${Math.ceil(total / 20)} of ${Math.ceil(total / 20)}`);
  everyOnce(
    seen,
    Array.from({ length: 90 }, (_, i) => `t-${String(i).padStart(4, '0')}`),
  );
  const newer = await clickInHome(OWNER_ID, 'home_page_previous', pageButton(home.body, 'previous')!.value!);
  expect(visibleText(newer.body)).toContain(`page ${Math.ceil(total / 20) - 1} of`);
});

test('App Home Pending approvals pages through every request waiting for a decision', async () => {
  await domain.projects.create(owner, 'web');
  for (let i = 0; i < 13; i += 1) {
    const requester = { teamId: 'T0001', userId: `UREQ${i}` };
    await domain.projects.grant(owner, 'web', requester.userId, 'member');
    await domain.keys.add(requester, 'web', { publicKey: quickEd25519Line(`r-${i}`) });
  }
  const waiting = (await domain.approvals.decidableBy(owner)).map((r) => r.id);
  expect(waiting).toHaveLength(13);
  const approveButtons = (call: RecordedCall) =>
    blocksOf(call.body)
      .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []))
      .filter((e) => e.action_id === 'request_approve')
      .map((e) => e.value!);
  let home = await clickInHome(OWNER_ID, 'home_tab_approvals', 'approvals');
  expect(visibleText(home.body)).toContain('Requests 1–10 of 13 · page 1 of 2');
  const seen = approveButtons(home);
  const next = pageButton(home.body, 'next')!;
  home = await clickInHome(OWNER_ID, next.action_id!, next.value!);
  expect(visibleText(home.body)).toContain('Requests 11–13 of 13 · page 2 of 2');
  expect(pageButton(home.body, 'next')).toBeUndefined();
  seen.push(...approveButtons(home));
  everyOnce(seen, waiting);
});
