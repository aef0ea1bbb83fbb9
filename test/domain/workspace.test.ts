import type { Domain } from '../../src/domain';
import type { KeyvDocumentStore } from '../../src/store/keyvStore';
import { UUID } from '../../src/domain/workspaces';
import { actor, embeddedDomain, OWNER, refusal, TEAM } from '../helpers/domain';
import { KeyFactory } from '../helpers/sshKeygen';

const keys = new KeyFactory();
afterAll(() => keys.cleanup());

let domain: Domain;
let store: KeyvDocumentStore;
const owner = actor(OWNER);
const alice = actor('UALICE');
const bob = actor('UBOB');

beforeEach(() => ({ domain, store } = embeddedDomain()));
afterEach(() => store.close());

/** Adds a key that must go in directly (the actor is an admin). */
async function addKey(...args: Parameters<Domain['keys']['add']>) {
  const outcome = await domain.keys.add(...args);
  if (outcome.kind !== 'added') throw new Error(`expected a direct addition, got ${outcome.kind}`);
  return outcome;
}

describe('organization', () => {
  test('is created at first use with a UUID and a default project whose ID is the Organization ID', async () => {
    const overview = await domain.organizations.overview(alice);
    expect(overview.organization.id).toMatch(UUID);
    expect(overview.organization.projects).toEqual([
      expect.objectContaining({ name: 'default', isDefault: true, id: overview.organization.id }),
    ]);
    expect(overview.owners).toEqual([OWNER]);
    const again = await domain.organizations.overview(bob);
    expect(again.organization.id).toBe(overview.organization.id);
    const other = await domain.organizations.overview(actor('U1', 'T9999'));
    expect(other.organization.id).not.toBe(overview.organization.id);
  });

  test('concurrent first uses create one organization', async () => {
    const ids = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        domain.organizations.overview(actor(`U${i}`)).then((o) => o.organization.id),
      ),
    );
    expect(new Set(ids).size).toBe(1);
  });

  test('owners add owners; the last one and configured ones stay', async () => {
    expect((await refusal(domain.organizations.addOwner(alice, 'UBOB'))).message).toMatch(
      /for organization owners.*<@UOWNER1>/,
    );
    await domain.organizations.addOwner(owner, 'UALICE');
    expect((await domain.organizations.overview(bob)).owners).toEqual([OWNER, 'UALICE']);
    expect((await refusal(domain.organizations.removeOwner(alice, OWNER))).message).toMatch(/ORG_OWNERS/);
    await domain.organizations.removeOwner(owner, 'UALICE');
    expect((await domain.organizations.overview(bob)).owners).toEqual([OWNER]);
  });

  test('the last owner cannot be removed', async () => {
    ({ domain, store } = embeddedDomain({ owners: [] }));
    // With no configured owners nobody can manage, and the refusal says how owners are set.
    expect((await refusal(domain.organizations.addOwner(alice, 'UALICE'))).message).toMatch(/ORG_OWNERS/);
  });
});

describe('projects', () => {
  test('owners create projects; others are told who can', async () => {
    const error = await refusal(domain.projects.create(alice, 'web'));
    expect(error.code).toBe('forbidden');
    expect(error.message).toMatch(/Creating a project is for organization owners.*<@UOWNER1>/);
    const project = await domain.projects.create(owner, '  web team ', 'Front end');
    expect(project).toMatchObject({
      name: 'web team',
      description: 'Front end',
      isDefault: false,
      members: { [OWNER]: 'admin' },
    });
    expect(project.id).toMatch(UUID);
    const { projects } = await domain.projects.list(alice);
    expect(projects.map((p) => p.name)).toEqual(['default', 'web team']);
  });

  test.each([
    ['', /needs a name/],
    ['x'.repeat(65), /at most 64/],
    ['web/team', /only letters, digits/],
  ])('name %j is refused', async (name, message) => {
    expect((await refusal(domain.projects.create(owner, name))).message).toMatch(message);
    expect((await domain.projects.list(owner)).projects).toHaveLength(1);
  });

  test('a description over 200 characters is refused', async () => {
    expect((await refusal(domain.projects.create(owner, 'web', 'x'.repeat(201)))).message).toMatch(
      /at most 200/,
    );
  });

  test('names are unique case-insensitively', async () => {
    await domain.projects.create(owner, 'Web');
    expect((await refusal(domain.projects.create(owner, 'wEB'))).message).toMatch(
      /named \*Web\* already exists/,
    );
    expect((await refusal(domain.projects.create(owner, 'DEFAULT'))).code).toBe('conflict');
  });

  test('concurrent creates of one name leave one project', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => domain.projects.create(owner, 'race')),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await domain.projects.list(owner)).projects.filter((p) => p.name === 'race')).toHaveLength(1);
  });

  test('the default project can be renamed, keeps its ID and cannot be deleted', async () => {
    const { organization } = await domain.organizations.overview(owner);
    const { project } = await domain.projects.rename(owner, 'default', 'main');
    expect(project).toMatchObject({ id: organization.id, name: 'main', isDefault: true });
    expect((await domain.projects.show(alice, organization.id)).project.name).toBe('main');
    const error = await refusal(domain.projects.delete(owner, 'main', 'main'));
    expect(error.message).toMatch(/default project.*cannot be deleted/);
  });

  test('rename refuses a taken name but allows a change of case', async () => {
    await domain.projects.create(owner, 'web');
    await domain.projects.create(owner, 'api');
    expect((await refusal(domain.projects.rename(owner, 'web', 'API'))).code).toBe('conflict');
    expect((await domain.projects.rename(owner, 'web', 'WEB')).project.name).toBe('WEB');
  });

  test('only an admin renames; the refusal names the role and who has it', async () => {
    await domain.projects.create(owner, 'web');
    await domain.projects.grant(owner, 'web', 'UALICE', 'admin');
    const error = await refusal(domain.projects.rename(bob, 'web', 'www'));
    expect(error.message).toMatch(/needs the \*admin\* role on project \*web\*.*<@UOWNER1>, <@UALICE>/);
    expect((await domain.projects.rename(alice, 'web', 'www')).project.name).toBe('www');
  });

  test('deletion needs an empty project and its name typed', async () => {
    await domain.projects.create(owner, 'web');
    await domain.keys.add(owner, 'web', { publicKey: keys.generate('ed25519').publicLine });
    await domain.resources.add(owner, 'web', 'instance', 'web-1', 'fr-par-1');
    expect((await refusal(domain.projects.delete(owner, 'web', 'web'))).message).toMatch(
      /still holds 1 SSH key and 1 resource/,
    );
    const { project } = await domain.projects.show(owner, 'web');
    await domain.keys.change(owner, 'web', project.keys[0]?.name ?? '', 'remove');
    await domain.resources.remove(owner, 'web', 'instance', 'web-1');
    expect((await refusal(domain.projects.delete(owner, 'web', 'wep'))).field).toBe('confirmation');
    await domain.projects.delete(owner, 'web', 'WEB');
    expect((await domain.projects.list(owner)).projects.map((p) => p.name)).toEqual(['default']);
    expect((await refusal(domain.projects.show(owner, project.id))).code).toBe('not_found');
  });

  test('an unknown project gets the closest name suggested', async () => {
    await domain.projects.create(owner, 'payments');
    expect((await refusal(domain.projects.show(owner, 'paymnets'))).message).toMatch(
      /no project `paymnets`. Did you mean `payments`\?/,
    );
    expect((await refusal(domain.projects.show(owner, 'zzzzzzzz'))).message).not.toMatch(/Did you mean/);
  });

  test('defaultRole none hides projects from people without a role', async () => {
    await domain.projects.create(owner, 'web');
    await domain.projects.grant(owner, 'web', 'UALICE', 'viewer');
    await domain.workspaces.mutate(TEAM, async (tx) => {
      tx.organization.settings.defaultRole = 'none';
      tx.touchOrganization();
    });
    expect((await domain.projects.list(alice)).projects.map((p) => p.name)).toEqual(['web']);
    expect((await domain.projects.list(bob)).projects).toEqual([]);
    expect((await refusal(domain.projects.show(bob, 'web'))).code).toBe('forbidden');
  });
});

describe('ssh keys', () => {
  beforeEach(async () => {
    await domain.projects.create(owner, 'web');
    await domain.projects.grant(owner, 'web', 'UALICE', 'admin');
  });

  test('an admin adds a key; its name defaults to the comment', async () => {
    const key = keys.generate('ed25519', { comment: 'alice@laptop' });
    const { key: added } = await addKey(alice, 'web', { publicKey: key.publicLine });
    expect(added).toMatchObject({
      name: 'alice@laptop',
      type: 'ssh-ed25519',
      bits: 256,
      addedBy: 'UALICE',
      disabled: false,
    });
    expect(added.fingerprint).toBe(keys.fingerprint(key.publicLine).fingerprint);
    expect((await domain.keys.list(bob, 'web')).keys).toHaveLength(1);
    expect((await domain.organizations.overview(bob)).keyCount).toBe(1);
  });

  test('without a comment the name is <type>-<8 chars of fingerprint>; a taken default name gets a suffix', async () => {
    const line = keys.generate('ed25519').publicLine.split(' ').slice(0, 2).join(' ');
    const { key } = await addKey(alice, 'web', { publicKey: line });
    expect(key.name).toBe(`ssh-ed25519-${key.fingerprint.slice(7, 15)}`);
    await domain.keys.add(alice, 'web', {
      publicKey: keys.generate('ed25519', { comment: 'ci' }).publicLine,
    });
    const { key: second } = await addKey(alice, 'web', {
      publicKey: keys.generate('ed25519', { comment: 'ci' }).publicLine,
    });
    expect(second.name).toBe('ci-2');
  });

  test('an explicit name that is taken is refused', async () => {
    await domain.keys.add(alice, 'web', { publicKey: keys.generate('ed25519').publicLine, name: 'deploy' });
    const error = await refusal(
      domain.keys.add(alice, 'web', { publicKey: keys.generate('ed25519').publicLine, name: 'DEPLOY' }),
    );
    expect(error.message).toMatch(/already has a key named \*DEPLOY\*/);
  });

  test('one fingerprint once per project, named in the refusal; the same key fits another project', async () => {
    const key = keys.generate('ed25519', { comment: 'shared' });
    await domain.keys.add(alice, 'web', { publicKey: key.publicLine });
    const error = await refusal(domain.keys.add(owner, 'web', { publicKey: key.publicLine, name: 'again' }));
    expect(error.message).toMatch(/already in project \*web\* as \*shared\*/);
    await domain.keys.add(owner, 'default', { publicKey: key.publicLine });
    expect((await domain.keys.list(owner, 'web')).keys).toHaveLength(1);
    expect((await domain.keys.list(owner, 'default')).keys).toHaveLength(1);
  });

  test('concurrent adds: distinct keys all land, one key lands once', async () => {
    const distinct = Array.from({ length: 6 }, () => keys.generate('ed25519').publicLine);
    await Promise.all(distinct.map((publicKey) => domain.keys.add(alice, 'web', { publicKey })));
    const same = keys.generate('ed25519').publicLine;
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => domain.keys.add(alice, 'web', { publicKey: same })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await domain.keys.list(alice, 'web')).keys).toHaveLength(7);
  });

  test('viewers and strangers can neither add nor request keys', async () => {
    const error = await refusal(
      domain.keys.add(bob, 'web', { publicKey: keys.generate('ed25519').publicLine }),
    );
    expect(error.message).toMatch(/Requesting a key needs the \*member\* role on project \*web\*/);
    expect((await domain.keys.list(owner, 'web')).keys).toHaveLength(0);
  });

  test('a private key is refused and nothing of it is stored', async () => {
    const secret = keys.generate('ed25519');
    const error = await refusal(domain.keys.add(alice, 'web', { publicKey: secret.privateText }));
    expect(error.code).toBe('private_key');
    const { project } = await domain.projects.show(owner, 'web');
    expect(project.keys).toHaveLength(0);
    const body = secret.privateText.split('\n')[1] as string;
    const audit = await domain.organizations.audit(owner);
    expect(JSON.stringify([project, audit])).not.toContain(body.slice(0, 16));
  });

  test('keys are found by name, fingerprint or ID to disable, enable and remove', async () => {
    const { key } = await addKey(alice, 'web', {
      publicKey: keys.generate('ed25519').publicLine,
      name: 'deploy',
    });
    expect((await domain.keys.change(alice, 'web', 'DEPLOY', 'disable')).key.disabled).toBe(true);
    expect((await refusal(domain.keys.change(alice, 'web', 'deploy', 'disable'))).message).toMatch(
      /already disabled/,
    );
    expect((await domain.keys.change(alice, 'web', key.fingerprint, 'enable')).key.disabled).toBe(false);
    expect((await domain.keys.change(alice, 'web', key.fingerprint.slice(7), 'disable')).key.disabled).toBe(
      true,
    );
    await domain.keys.change(alice, 'web', key.id, 'remove');
    expect((await domain.keys.list(alice, 'web')).keys).toHaveLength(0);
    expect((await refusal(domain.keys.change(alice, 'web', 'deploi', 'remove'))).message).toMatch(
      /no key `deploi`\..*\/sshkey list web/,
    );
  });

  test('an expiry is stored; a past one is refused', async () => {
    const { key } = await addKey(alice, 'web', {
      publicKey: keys.generate('ed25519').publicLine,
      expires: '8h',
    });
    expect(Date.parse(key.expiresAt ?? '') - Date.now()).toBeGreaterThan(7.9 * 3600_000);
    expect(
      (
        await refusal(
          domain.keys.add(alice, 'web', {
            publicKey: keys.generate('ed25519').publicLine,
            expires: '2020-01-01',
          }),
        )
      ).message,
    ).toMatch(/already past/);
  });
});

describe('resources and audit', () => {
  test('resources are typed, zoned and unique per type and name', async () => {
    await domain.projects.create(owner, 'web');
    await domain.resources.add(owner, 'web', 'instance', 'web-1', 'fr-par-1');
    await domain.resources.add(owner, 'web', 'database', 'web-1', 'nl-ams');
    expect((await refusal(domain.resources.add(owner, 'web', 'instance', 'WEB-1'))).code).toBe('conflict');
    expect((await refusal(domain.resources.add(owner, 'web', 'vm', 'x'))).message).toMatch(
      /not a resource type.*instance/,
    );
    expect((await refusal(domain.resources.add(owner, 'web', 'instance', 'x', 'paris'))).message).toMatch(
      /not a zone/,
    );
    expect(
      (await domain.projects.show(owner, 'web')).project.resources.map((r) => [r.type, r.name, r.zone]),
    ).toEqual([
      ['instance', 'web-1', 'fr-par-1'],
      ['database', 'web-1', 'nl-ams'],
    ]);
  });

  test('every change is in the audit log, newest first, with who and which project', async () => {
    await domain.projects.create(owner, 'web');
    await domain.keys.add(owner, 'web', {
      publicKey: keys.generate('ed25519').publicLine,
      name: 'k',
      reason: 'on-call',
    });
    await domain.projects.rename(owner, 'web', 'www');
    const { entries } = await domain.organizations.audit(owner);
    expect(entries.map((e) => e.action)).toEqual([
      'project.renamed',
      'key.added',
      'project.created',
      'organization.created',
    ]);
    expect(entries[1]).toMatchObject({
      actor: OWNER,
      projectName: 'web',
      detail: 'on-call',
      outcome: 'done',
    });
    const project = await domain.organizations.audit(owner, 'www');
    expect(project.entries.map((e) => e.action)).toEqual(['project.renamed', 'key.added', 'project.created']);
    // Not an owner: the records of the projects alice may see, without the organization's own.
    expect((await domain.organizations.audit(alice)).entries.map((e) => e.action)).toEqual([
      'project.renamed',
      'key.added',
      'project.created',
    ]);
  });
});

describe('organization settings', () => {
  test('project-creators everyone lets any member create a project, as its admin', async () => {
    expect(
      (await refusal(domain.organizations.updateSettings(alice, 'project-creators', 'everyone'))).code,
    ).toBe('forbidden');
    expect(
      (await refusal(domain.organizations.updateSettings(owner, 'project-creators', 'anyone'))).message,
    ).toMatch(/takes `owners` or `everyone`/);
    expect((await refusal(domain.organizations.updateSettings(owner, 'colour', 'blue'))).message).toMatch(
      /not a setting/,
    );
    await domain.organizations.updateSettings(owner, 'project-creators', 'everyone');
    const project = await domain.projects.create(alice, 'alices');
    expect(project.members).toEqual({ UALICE: 'admin' });
  });

  test('default-role none hides projects from people without a role', async () => {
    await domain.projects.create(owner, 'secret');
    await domain.organizations.updateSettings(owner, 'default-role', 'none');
    expect((await domain.projects.list(bob)).projects).toEqual([]);
    expect((await refusal(domain.projects.show(bob, 'secret'))).message).toBe(
      'You cannot see any project yet. Organization owners can give you a role: <@UOWNER1>.',
    );
  });
});
