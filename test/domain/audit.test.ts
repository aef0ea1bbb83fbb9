import type { Domain } from '../../src/domain';
import type { AuditEntry, AuditLog } from '../../src/domain/model';
import { AUDIT_PAGE_SHOWN } from '../../src/domain/organizations';
import {
  ACTIVITY_RECORDS_KEPT,
  AUDIT_PAGE_SIZE,
  documentKeys,
  LARGE_AUDIT_PAGE_SIZE,
  type AuditStream,
} from '../../src/domain/workspaces';
import type { KeyvDocumentStore } from '../../src/store/keyvStore';
import { actor, embeddedDomain, OWNER, refusal } from '../helpers/domain';

let domain: Domain;
let store: KeyvDocumentStore;
const owner = actor(OWNER);

beforeEach(async () => {
  ({ domain, store } = embeddedDomain());
  await domain.projects.create(owner, 'web');
});
afterEach(() => store.close());

/** Records `count` entries of `action` in `batch`-sized changes, the way delivery records check-ins. */
async function recordMany(count: number, action: string, batch = 150): Promise<void> {
  for (let done = 0; done < count; done += batch) {
    await domain.workspaces.mutate(owner.teamId, async (tx) => {
      const web = await tx.project('web');
      for (let i = done; i < Math.min(count, done + batch); i += 1) {
        tx.record({ actor: 'keyhouse', action, target: `vm-${i}` }, web);
      }
    });
  }
}

/** Every record of a stream, by paging through it as `/org audit` does. */
async function everything(stream: AuditStream, project?: string): Promise<AuditEntry[]> {
  const all: AuditEntry[] = [];
  const first = await domain.organizations.audit(owner, project, { stream });
  for (let page = 1; page <= first.pages; page += 1) {
    const view = await domain.organizations.audit(owner, project, { stream, page });
    expect(view.entries.length).toBeLessThanOrEqual(AUDIT_PAGE_SHOWN);
    all.push(...view.entries);
  }
  expect(all).toHaveLength(first.total);
  return all;
}

test('600 instance registrations do not push a role grant out of the audit trail', async () => {
  await domain.projects.grant(owner, 'web', 'UBOB', 'admin');
  const { token, project } = await domain.delivery.createToken(owner, 'web');
  for (let i = 0; i < 10; i += 1) {
    await domain.delivery.authorizedKeys(project.id, token, { instance: `real-${i}`, zone: 'fr-par-1' });
  }
  await recordMany(590, 'instance.registered');
  const first = await domain.organizations.audit(owner);
  expect(first.stream).toBe('security');
  expect(first.entries.map((e) => e.action)).toEqual([
    'token.created',
    'role.granted',
    'project.created',
    'organization.created',
  ]);
  expect(first.entries[1]).toMatchObject({ target: '<@UBOB>', detail: 'admin', projectName: 'web' });
  // The noise is all there too, in its own stream.
  const noise = await everything('activity');
  expect(noise).toHaveLength(600);
  expect(noise.every((e) => e.action === 'instance.registered')).toBe(true);
  expect(noise[0]?.target).toBe('vm-589');
  expect(noise.at(-1)?.target).toBe('real-0 (fr-par-1)');
});

test('security records are never lost: 1000 of them page back in order, each once', async () => {
  await recordMany(1000, 'role.granted', 450); // a change larger than a page writes several pages at once
  await domain.projects.grant(owner, 'web', 'UBOB', 'viewer');
  const all = await everything('security');
  expect(all).toHaveLength(1003); // with the organization and the project created
  expect(all[0]).toMatchObject({ action: 'role.granted', target: '<@UBOB>' });
  expect(all.slice(1, 1001).map((e) => e.target)).toEqual(
    Array.from({ length: 1000 }, (_, i) => `vm-${999 - i}`),
  );
  expect(all.at(-1)?.action).toBe('organization.created');
  const log = (await store.get<AuditLog>(
    documentKeys.audit((await domain.workspaces.organization(owner.teamId)).id),
  ))!;
  expect(log.entries.length).toBeLessThanOrEqual(AUDIT_PAGE_SIZE);
  expect(log.pages?.security).toBe(Math.ceil(1003 / AUDIT_PAGE_SIZE) - 1);
});

test("a project's audit pages through its own records only", async () => {
  await domain.projects.create(owner, 'api');
  await recordMany(450, 'key.added');
  await domain.projects.grant(owner, 'api', 'UCAROL', 'member');
  const web = await everything('security', 'web');
  expect(web).toHaveLength(451);
  expect(web.every((e) => e.projectName === 'web')).toBe(true);
  const api = await domain.organizations.audit(owner, 'api');
  expect(api.entries.map((e) => e.action)).toEqual(['role.granted', 'project.created']);
  expect(api.pages).toBe(1);
});

test('asking for a page past the last says how many there are', async () => {
  expect((await refusal(domain.organizations.audit(owner, undefined, { page: 3 }))).message).toMatch(
    /There is 1 page of records: ask for a page from 1 to 1/,
  );
});

test('the activity stream keeps its latest pages; security records stay whatever the noise', async () => {
  await domain.projects.grant(owner, 'web', 'UBOB', 'admin');
  const count = ACTIVITY_RECORDS_KEPT + 2 * AUDIT_PAGE_SIZE + 10;
  await recordMany(count, 'instance.registered', 2000);
  const activity = await domain.organizations.audit(owner, undefined, { stream: 'activity' });
  expect(activity.total).toBeLessThanOrEqual(ACTIVITY_RECORDS_KEPT + AUDIT_PAGE_SIZE);
  expect(activity.total).toBeGreaterThanOrEqual(ACTIVITY_RECORDS_KEPT);
  expect(activity.entries[0]?.target).toBe(`vm-${count - 1}`);
  const organization = await domain.workspaces.organization(owner.teamId);
  expect(await store.get(documentKeys.auditPage(organization.id, 'activity', 1))).toBeUndefined();
  expect((await domain.organizations.audit(owner)).entries[0]).toMatchObject({ action: 'role.granted' });
});

test('a log written before streams existed is split by kind on its next change, nothing lost', async () => {
  const organization = await domain.workspaces.organization(owner.teamId);
  const legacy: AuditEntry[] = Array.from({ length: 500 }, (_, i) => ({
    at: new Date(Date.UTC(2025, 0, 1, 0, 0, 500 - i)).toISOString(),
    actor: i % 2 ? 'keyhouse' : OWNER,
    action: i % 2 ? 'instance.registered' : 'role.granted',
    target: `old-${i}`,
    outcome: 'done',
  }));
  await store.write({ set: [{ key: documentKeys.audit(organization.id), value: { entries: legacy } }] });
  expect((await domain.organizations.audit(owner)).total).toBe(250);
  await domain.projects.grant(owner, 'web', 'UBOB', 'admin');
  const security = await everything('security');
  expect(security.map((e) => e.target)).toEqual([
    '<@UBOB>',
    ...legacy.filter((e) => e.action === 'role.granted').map((e) => e.target),
  ]);
  expect((await everything('activity')).map((e) => e.target)).toEqual(
    legacy.filter((e) => e.action === 'instance.registered').map((e) => e.target),
  );
});

test('a log whose pages hold 200 records each (written before pages got smaller) reads on, in order, as it grows', async () => {
  const organization = await domain.workspaces.organization(owner.teamId);
  const at = (n: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString();
  const record = (n: number, action = 'role.granted'): AuditEntry => ({
    at: at(n),
    actor: OWNER,
    action,
    target: `old-${n}`,
    outcome: 'done',
  });
  // Two full pages of 200 (records 0–399) and a head of 150 (400–549), newest first, and the organization,
  // as the earlier version wrote them.
  const { largeAuditPages, ...earlier } = organization;
  expect(largeAuditPages).toEqual({ security: 0, activity: 0 }); // a new organization's pages are all small
  const newestFirst = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => record(to - 1 - i));
  await store.write({
    set: [
      { key: documentKeys.organization(owner.teamId), value: earlier },
      {
        key: documentKeys.auditPage(organization.id, 'security', 1),
        value: { entries: newestFirst(0, 200) },
      },
      {
        key: documentKeys.auditPage(organization.id, 'security', 2),
        value: { entries: newestFirst(200, 400) },
      },
      {
        key: documentKeys.audit(organization.id),
        value: {
          entries: newestFirst(400, 550),
          activity: [],
          pages: { security: 2, activity: 0 },
          version: 2,
        },
      },
    ],
  });
  const before = await everything('security');
  expect(before.map((e) => e.target)).toEqual(newestFirst(0, 550).map((e) => e.target));
  await domain.projects.grant(owner, 'web', 'UBOB', 'admin');
  const log = (await store.get<AuditLog>(documentKeys.audit(organization.id)))!;
  // The old head went into small pages in that change; the large pages stay as they were, and the
  // organization says how many there are.
  expect(log.entries.length).toBeLessThanOrEqual(AUDIT_PAGE_SIZE);
  expect(log.version).toBe(2);
  expect((await domain.workspaces.organization(owner.teamId)).largeAuditPages?.security).toBe(2);
  expect(LARGE_AUDIT_PAGE_SIZE).toBeGreaterThan(AUDIT_PAGE_SIZE);
  await recordMany(300, 'role.granted');
  // A replica of the earlier version, during a rolling upgrade, records a change as it did: the head
  // rewritten with its own fields only, the organization written back as read.
  const current = (await store.get<AuditLog>(documentKeys.audit(organization.id)))!;
  await store.write({
    set: [
      {
        key: documentKeys.audit(organization.id),
        value: {
          entries: [record(999), ...current.entries],
          activity: current.activity,
          pages: current.pages,
          version: 2,
        },
      },
    ],
  });
  const after = await everything('security');
  expect(after.map((e) => e.target)).toEqual([
    'old-999',
    ...Array.from({ length: 300 }, (_, i) => `vm-${299 - i}`),
    '<@UBOB>',
    ...newestFirst(0, 550).map((e) => e.target),
  ]);
  // A project's own view reads across both sizes of page.
  expect((await everything('security', 'web')).length).toBe(301);
});

test('a log of a later version (written by a newer Keyhouse before a rollback) is refused, not rewritten', async () => {
  const organization = await domain.workspaces.organization(owner.teamId);
  const later = { entries: [], activity: [], pages: { security: 7, activity: 0 }, version: 3 };
  await store.write({ set: [{ key: documentKeys.audit(organization.id), value: later }] });
  const refused = await refusal(domain.projects.grant(owner, 'web', 'UBOB', 'admin'));
  expect(refused.message).toMatch(/written by a newer version of Keyhouse, so nothing was read or changed/);
  expect((await refusal(domain.organizations.audit(owner))).code).toBe('conflict');
  expect(await store.get(documentKeys.audit(organization.id))).toEqual(later);
  expect((await domain.projects.members(owner, 'web')).project.members.UBOB).toBeUndefined();
});
