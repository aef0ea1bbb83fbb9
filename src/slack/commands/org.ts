import { code } from '../render/format';
import { renderHelp, renderUnknownSubcommand, USAGE } from '../render/help';
import { plain, renderAudit, renderOrganization } from '../render/messages';
import { invalid } from '../../domain/errors';
import type { AuditStream } from '../../domain/workspaces';
import { expectChannel, expectUser, type Token, tokenize } from '../tokenize';
import { type CommandHandler, reply } from './types';
import { missing, UsageError, withUsage } from './usage';
import type { Domain } from '../../domain';
import type { Actor } from '../../domain/model';
import type { Message } from '../render/messages';
import { renderOnCallGroupSet } from '../render/breakGlass';
import { nothingAfter, projectWords } from './projectWords';

export const orgCommand: CommandHandler = async (domain, { actor, text, teamName }) => {
  const tokens = tokenize(text, { userGroups: true });
  const sub = tokens[0]?.value.toLowerCase();
  switch (sub) {
    case undefined:
      return reply(renderOrganization(await domain.organizations.overview(actor), teamName));
    case 'help':
      return reply(renderHelp('org'));
    case 'owner':
      return withUsage(USAGE.org.owner, async () => {
        const verb = tokens[1]?.value.toLowerCase();
        if (verb !== 'add' && verb !== 'remove') missing('`add` or `remove`', USAGE.org.owner);
        const userId = expectUser(tokens[2], USAGE.org.owner);
        if (verb === 'add') {
          await domain.organizations.addOwner(actor, userId);
          return reply(plain(`<@${userId}> is now an organization owner.`));
        }
        await domain.organizations.removeOwner(actor, userId);
        return reply(plain(`<@${userId}> is no longer an organization owner.`));
      });
    case 'channel':
      return withUsage(USAGE.org.channel, async () => {
        const channelId = expectChannel(tokens[1], USAGE.org.channel);
        await domain.organizations.setApprovalsChannel(actor, channelId);
        return reply(
          plain(
            `Approval requests of projects without their own channel now go to <#${channelId}>. Invite Keyhouse there with \`/invite @Keyhouse\`.`,
          ),
        );
      });
    case 'set':
      return withUsage(USAGE.org.set, async () => {
        const setting = tokens[1]?.value.toLowerCase() ?? missing('The setting', USAGE.org.set);
        if (setting === 'oncall-group') return reply(await setOnCallGroup(domain, actor, tokens[2]));
        const value = tokens[2]?.value.toLowerCase() ?? missing('The value', USAGE.org.set);
        await domain.organizations.updateSettings(actor, setting, value);
        return reply(plain(`Organization setting \`${setting}\` is now \`${value}\`.`));
      });
    case 'audit':
      return withUsage(USAGE.org.audit, async () => {
        const { words, page, stream } = auditArguments(tokens.slice(1));
        // A project name may be several words; without one, whatever the caller may see.
        const project = words.length
          ? (
              await projectWords(domain, actor, words, 0, {
                command: '/org audit',
                usage: USAGE.org.audit,
                fits: nothingAfter,
              })
            ).reference
          : undefined;
        return reply(renderAudit(await domain.organizations.audit(actor, project, { page, stream })));
      });
    default:
      return reply(renderUnknownSubcommand('org', tokens[0]?.value ?? ''));
  }
};

/** `/org set oncall-group @group|none`: who may add break-glass keys. */
async function setOnCallGroup(domain: Domain, actor: Actor, token: Token | undefined): Promise<Message> {
  const usage = USAGE.org.oncallGroup;
  const clear = token?.kind === 'word' && ['none', 'clear'].includes(token.value.toLowerCase());
  if (!token || (!clear && token.kind !== 'usergroup')) {
    throw new UsageError(
      'Mention the user group with `@`, like `@oncall`, so Slack turns it into a group mention; or `none` to clear it.',
      usage,
    );
  }
  const group = clear ? null : { id: token.value, ...(token.label ? { handle: token.label } : {}) };
  const organization = await domain.breakGlass.setOnCallGroup(actor, group);
  return renderOnCallGroupSet(organization);
}

/** `[<project>] [--page N] [--activity]`, flags anywhere; `words` are the project's. */
function auditArguments(tokens: Token[]): { words: Token[]; page: number; stream: AuditStream } {
  const words: Token[] = [];
  let page = 1;
  let stream: AuditStream = 'security';
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i] as Token;
    const flag = token.quoted ? null : /^--([a-z-]+)(?:=(.*))?$/.exec(token.value);
    if (!flag) {
      words.push(token);
    } else if (flag[1] === 'activity') {
      stream = 'activity';
    } else if (flag[1] === 'page') {
      const value = flag[2] ?? tokens[(i += 1)]?.value;
      page = Number(value);
      if (!value || !Number.isInteger(page) || page < 1) {
        throw invalid('`--page` takes a page number, like `--page 2`.');
      }
    } else {
      throw invalid(`Unknown option ${code(`--${flag[1] ?? ''}`)}. Options: \`--page\`, \`--activity\`.`);
    }
  }
  return { words, page, stream };
}
