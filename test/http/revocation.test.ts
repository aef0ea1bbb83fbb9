import type { Domain } from '../../src/domain';
import { startHarness, OWNER_ID, type Harness } from '../helpers/harness';
import { visibleText } from '../helpers/slackUser';
import { quickEd25519Line } from '../helpers/sshKeygen';

/**
 * Revocation you can see: after a key is disabled or removed, the answer and the dashboard tell which
 * instances have fetched the new set and which still hold an older one, since their last fetch. Instances
 * fetch over real HTTP with a token made by the real command; keys change by the real commands.
 */
let harness: Harness;
let domain: Domain;
const owner = { teamId: 'T0001', userId: OWNER_ID };

beforeEach(async () => {
  harness = await startHarness();
  domain = harness.apps[0]!.keyhouse.domain;
});
afterEach(() => harness.stop());

const say = async (command: string, text: string) =>
  visibleText((await harness.user(OWNER_ID).command(command, text)).body);

/** `<!date^SECONDS^…|…>` as `when()` renders an instant, to the second. */
const dateOf = (iso: string) => `<!date^${Math.floor(Date.parse(iso) / 1000)}^`;

test('a disabled or removed key shows which instances fetched the new set and which still hold an older serial, since when', async () => {
  await say('/project', 'create web');
  const token = /```(khk_[^`]+)```/.exec(await say('/project', 'token web'))![1]!;
  await say('/sshkey', `add web ${quickEd25519Line('alice')} --name alice`);
  await say('/sshkey', `add web ${quickEd25519Line('bob')} --name bob`);
  const { project } = await domain.projects.show(owner, 'web');
  const fetchAs = async (instance: string) => {
    const answer = await fetch(
      `${harness.apps[0]!.url}/v1/projects/${project.id}/authorized_keys?instance=${instance}&zone=fr-par-1`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(answer.status).toBe(200);
    const body = await answer.text();
    return { serial: Number(/^# keyhouse .* serial=(\d+) /.exec(body)![1]), body };
  };

  const first = await fetchAs('web-1');
  expect((await fetchAs('web-2')).serial).toBe(first.serial);
  const old = first.serial;
  expect(first.body).toContain(' bob\n');
  const checkInOf = async (name: string) => {
    const view = await domain.projects.show(owner, 'web');
    const resource = view.project.resources.find((r) => r.name === name)!;
    return view.checkIns[resource.id]!;
  };
  const web2FetchedAt = (await checkInOf('web-2')).at;
  expect((await checkInOf('web-2')).serial).toBe(old);

  // Disabling a served key: nobody has the new set yet, and both still hold the old serial.
  const disabled = await say('/sshkey', 'disable web bob');
  expect(disabled).toContain(
    `Disabled key *bob* (\`${project.keys.find((k) => k.name === 'bob')!.fingerprint}\`) in *web*.`,
  );
  expect(disabled).toContain(
    `0 of 2 instances have fetched the new set (serial ${old + 1}) yet; 2 still hold serial ${old}: `,
  );
  expect(disabled).toMatch(/\*web-[12]\* \(last fetch <!date\^.*\*web-[12]\* \(last fetch <!date\^/);
  expect(disabled).toContain('Instances pick it up at their next SSH login or fetch.');

  // One instance fetches again and gets the new set; the other still holds the old one.
  const again = await fetchAs('web-1');
  expect(again.serial).toBe(old + 1);
  expect(again.body).not.toContain(' bob\n');

  const dashboard = await say('/project', 'show web');
  expect(dashboard).toContain(
    `:warning: 1 of 2 instances have the current keys (serial ${old + 1}); 1 still holds serial ${old}: *web-2* (last fetch ${dateOf(web2FetchedAt)}`,
  );
  expect(dashboard).toMatch(
    new RegExp(
      `\\*web-1\\* · fr-par-1 — seen .* :white_check_mark: current keys \\(1\\) · serial ${old + 1}`,
    ),
  );
  expect(dashboard).toMatch(
    new RegExp(`\\*web-2\\* · fr-par-1 — seen .* :warning: older key set \\(2\\) · serial ${old}, updates`),
  );

  // Removing the disabled key changes nothing served: the answer says so, with the same count.
  const removed = await say('/sshkey', 'remove web bob');
  expect(removed).toContain('Removed key *bob*');
  expect(removed).toContain(
    `The served keys did not change. 1 of 2 instances have the current keys (serial ${old + 1}); 1 still holds serial ${old}: *web-2* (last fetch ${dateOf(web2FetchedAt)}`,
  );

  // Removing a served key: each instance is named under the serial it still holds.
  const alice = await say('/sshkey', 'remove web alice');
  expect(alice).toContain(
    `0 of 2 instances have fetched the new set (serial ${old + 2}) yet; 2 still hold older sets — ` +
      `serial ${old + 1} (1): *web-1* (last fetch`,
  );
  expect(alice).toContain(`; serial ${old} (1): *web-2* (last fetch ${dateOf(web2FetchedAt)}`);

  // Both fetch: everyone is current, and the dashboard says so.
  await fetchAs('web-1');
  await fetchAs('web-2');
  expect(await say('/project', 'show web')).toContain(
    `:white_check_mark: 2 of 2 instances have the current keys (serial ${old + 2}).`,
  );
});

test('a key change in a project whose instances never fetched answers without a count', async () => {
  await say('/project', 'create quiet');
  await say('/sshkey', `add quiet ${quickEd25519Line('carol')} --name carol`);
  const answer = await say('/sshkey', 'disable quiet carol');
  expect(answer).toMatch(/^Disabled key \*carol\* \(`SHA256:[^`]+`\) in \*quiet\*\.$/m);
  expect(answer).not.toMatch(/instances?/);
});
