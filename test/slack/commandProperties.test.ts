import fc from 'fast-check';
import type { Domain } from '../../src/domain';
import { isDomainError } from '../../src/domain/errors';
import { orgCommand } from '../../src/slack/commands/org';
import { projectCommand } from '../../src/slack/commands/project';
import { sshkeyCommand } from '../../src/slack/commands/sshkey';
import type { CommandHandler, CommandOutcome } from '../../src/slack/commands/types';
import { actor, embeddedDomain, OWNER } from '../helpers/domain';
import { KeyFactory } from '../helpers/sshKeygen';

/**
 * Command dispatch over thousands of generated command lines, typed by owners, admins, members and
 * strangers: every line gets an outcome or a refusal the user can read, never a crash.
 */
const keys = new KeyFactory();
const publicKey = keys.generate('ed25519', { comment: 'alice@laptop' }).publicLine.trim();
afterAll(() => keys.cleanup());

const HANDLERS: [string, CommandHandler][] = [
  ['/org', orgCommand],
  ['/project', projectCommand],
  ['/sshkey', sshkeyCommand],
];

const WORDS = [
  'help',
  'list',
  'create',
  'show',
  'dashboard',
  'rename',
  'delete',
  'grant',
  'revoke',
  'channel',
  'settings',
  'token',
  'set',
  'resource',
  'add',
  'remove',
  'disable',
  'enable',
  'audit',
  'owner',
  '--all',
  '--page',
  '2',
  '--name',
  '--expires',
  '8h',
  '30m',
  '2030-01-01',
  '--reason',
  '--breakglass',
  'admin',
  'member',
  'viewer',
  'default-role',
  'none',
  'project-creators',
  'everyone',
  'instance',
  'database',
  'fr-par-1',
  'nl-ams-9',
  'web',
  'api',
  'default',
  '"web team"',
  'web team',
  '"',
  '“',
  '”',
  '```',
  '`',
  '<@UMEMBER1>',
  '<@UOWNER1|owner>',
  '<#C0APPROVE|approvals>',
  '<!subteam^S1|@oncall>',
  '<mailto:a@b.c|a@b.c>',
  '&lt;web&gt;',
  '*',
  '_',
  '~',
  '\n',
  '\t',
  publicKey,
  publicKey.split(' ')[1]!,
];

const commandText = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...WORDS) },
      { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
    ),
    { maxLength: 9 },
  )
  .map((words) => words.join(' '));

/** Mostly a real sub-command first, so the generated lines reach deep into each one. */
const commandLine = fc
  .tuple(fc.option(fc.constantFrom(...WORDS.slice(0, 20)), { freq: 4 }), commandText)
  .map(([sub, rest]) => (sub ? `${sub} ${rest}` : rest));

const USERS = [OWNER, 'UADMIN1', 'UMEMBER1', 'USTRANGER'];

let domain: Domain;

beforeAll(async () => {
  ({ domain } = embeddedDomain());
  const owner = actor(OWNER);
  await domain.projects.create(owner, 'web');
  await domain.projects.create(owner, 'web team');
  await domain.projects.grant(owner, 'web', 'UADMIN1', 'admin');
  await domain.projects.grant(owner, 'web', 'UMEMBER1', 'member');
  await domain.keys.add(owner, 'web', { publicKey, name: 'alice' });
});

const KINDS: CommandOutcome['kind'][] = ['reply', 'broadcast', 'modal', 'requested'];

test('every generated command line is answered or refused with a readable message, never a crash', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...HANDLERS),
      commandLine,
      fc.constantFrom(...USERS),
      async ([, handler], text, userId) => {
        try {
          const outcome = await handler(domain, {
            actor: actor(userId),
            text,
            channelId: 'C0GENERAL',
            teamName: 'acme',
            publicUrl: 'https://keyhouse.example.com',
          });
          expect(KINDS).toContain(outcome.kind);
        } catch (error) {
          // Refusals are domain errors with a message for the user; anything else would be "something went wrong".
          if (!isDomainError(error)) throw error;
          expect(error.message.length).toBeGreaterThan(0);
        }
      },
    ),
    { numRuns: 3000 },
  );
}, 120_000);
