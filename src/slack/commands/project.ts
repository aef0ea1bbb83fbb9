import type { Token } from '../tokenize';
import { decodeSlackText, expectChannel, expectUser, tokenize } from '../tokenize';
import { code, escapeText } from '../render/format';
import { renderHelp, renderUnknownSubcommand, USAGE } from '../render/help';
import { renderDashboard } from '../render/dashboard';
import {
  renderRevokeAllConfirmation,
  renderTokenCreated,
  renderTokenLines,
  renderTokenRevokeChoice,
  renderTokensRevoked,
} from '../render/delivery';
import { plain, renderMembers, renderProjectList, renderProjectSettings } from '../render/messages';
import { offlineLoginsOf } from '../../domain/deliveryKeySet';
import { breakGlassMaxOf, breakGlassOf, maxKeyLifetimeOf } from '../../domain/keyPolicy';
import { quoteName, type SettingsChange } from '../../domain/projects';
import { takePage } from '../paging';
import { renderCreateProjectModal, renderDeleteProjectModal, renderSettingsModal } from '../render/modals';
import { broadcast, type CommandHandler, modal, reply } from './types';
import { missing, UsageError, withUsage } from './usage';
import { nothingAfter, projectPhrases, projectWords } from './projectWords';
import type { Domain } from '../../domain';
import type { Actor, Project } from '../../domain/model';
import { RESOURCE_TYPES } from '../../domain/catalog';
import { invalid } from '../../domain/errors';

const isResourceType = (token: Token | undefined): boolean =>
  !!token && (RESOURCE_TYPES as readonly string[]).includes(token.value.toLowerCase());

/**
 * `create web team Front-end servers`, unquoted, where words from the first name an existing project:
 * the name probably has several words, so say how to quote rather than create something else.
 */
async function refuseUnquotedExistingName(domain: Domain, actor: Actor, tokens: Token[]): Promise<void> {
  const [taken] = await domain.projects.named(actor, projectPhrases(tokens, 1));
  if (!taken) return;
  const words = tokens.slice(1).map((t) => t.value);
  const example = `/project create "${words.slice(0, 2).join(' ')}"${words.length > 2 ? ` ${words.slice(2).join(' ')}` : ''}`;
  throw new UsageError(
    `A project named *${escapeText(taken.name)}* already exists, so nothing was created. ` +
      `If the new project's name has several words, quote it, like ${code(example)}; what follows the name is its description.`,
    USAGE.project.create,
  );
}

/** The one user mention of a command, wherever it is, and the other tokens in their order. */
function takeUser(tokens: Token[], usage: string): { userId: string; others: Token[] } {
  const mention = tokens.find((t) => t.kind === 'user');
  const userId = expectUser(mention, usage);
  return { userId, others: tokens.filter((t) => t !== mention) };
}

/** What `/project set <project> <setting> <value>` may change. */
const PROJECT_SETTINGS = ['offline-logins', 'break-glass', 'break-glass-max', 'max-key-lifetime'];

function settingChange(setting: string, value: string): SettingsChange {
  switch (setting) {
    case 'break-glass':
      return { breakGlass: value };
    case 'break-glass-max':
      return { breakGlassMax: value };
    case 'max-key-lifetime':
      return { maxKeyLifetime: value };
    default:
      return { offlineLogins: value };
  }
}

/** The answer to a setting changed: its value now, and what it means. */
function settingChanged(project: Project, setting: string): string {
  const name = `*${escapeText(project.name)}*`;
  switch (setting) {
    case 'break-glass':
      return breakGlassOf(project) === 'on'
        ? `Break-glass of ${name}: ${code('on')}. Members of the on-call group may add a key at once with ${code(`/sshkey add ${quoteName(project.name)} --breakglass --reason "<why>" <public key>`)}, for at most ${breakGlassMaxOf(project)}; an approver reviews it afterwards.`
        : `Break-glass of ${name}: ${code('off')}. Keys go through approval as usual.`;
    case 'break-glass-max':
      return `Break-glass keys of ${name} now last at most ${code(breakGlassMaxOf(project))}. Keys already added keep their expiry.`;
    case 'max-key-lifetime': {
      const limit = maxKeyLifetimeOf(project);
      return limit === 'none'
        ? `Max key lifetime of ${name}: ${code('none')}. Keys expire only when asked to.`
        : `Max key lifetime of ${name}: ${code(limit)}. Keys added by people who are not admins now expire within ${limit} (without \`--expires\`, after ${limit}); keys already added keep their expiry.`;
    }
    default:
      return (
        `Offline logins of ${name}: ${code(offlineLoginsOf(project))}. ` +
        'Instances get it with their next key fetch.'
      );
  }
}

/** Free text after a token: a single quoted token as is, else the raw rest of the line, decoded. */
export function restOfLine(text: string, tokens: Token[], from: number): string {
  const first = tokens[from];
  if (!first) return '';
  if (from === tokens.length - 1 && first.quoted) return first.value;
  return decodeSlackText(text.slice(first.start)).trim();
}

export const projectCommand: CommandHandler = async (domain, { actor, text, channelId, publicUrl }) => {
  const tokens = tokenize(text);
  const sub = tokens[0]?.value.toLowerCase();
  const arg = (index: number, what: string, usage: string): string =>
    tokens[index]?.value ?? missing(what, usage);
  /** The project from `from` on (names with spaces need no quotes); `fits` says what may follow it. */
  const projectAt = (
    from: number,
    usage: string,
    fits: (rest: Token[]) => boolean = nothingAfter,
    options: {
      restIsText?: boolean;
      among?: Token[];
      command?: string;
      prefer?: (rest: Token[]) => boolean;
    } = {},
  ) =>
    projectWords(domain, actor, options.among ?? tokens, from, {
      command: options.command ?? `/project ${sub ?? ''}`,
      usage,
      fits,
      ...(options.restIsText ? { restIsText: true } : {}),
      ...(options.prefer ? { prefer: options.prefer } : {}),
    });

  switch (sub) {
    case 'help':
      return reply(renderHelp('project'));
    case 'list':
      return withUsage(USAGE.project.list, async () => {
        const { page } = takePage(tokens.slice(1), USAGE.project.list);
        const { projects } = await domain.projects.list(actor);
        return reply(renderProjectList(projects, page));
      });
    case 'members':
      return withUsage(USAGE.project.members, async () => {
        const { page, rest } = takePage(tokens.slice(1), USAGE.project.members);
        const { reference } = await projectAt(0, USAGE.project.members, nothingAfter, { among: rest });
        const { project } = await domain.projects.members(actor, reference);
        return reply(renderMembers(project, page));
      });
    case 'create':
      return withUsage(USAGE.project.create, async () => {
        if (!tokens[1]) return modal(renderCreateProjectModal(channelId));
        if (!tokens[1].quoted && tokens.length > 2) await refuseUnquotedExistingName(domain, actor, tokens);
        const project = await domain.projects.create(actor, tokens[1].value, restOfLine(text, tokens, 2));
        return reply(
          plain(
            `:white_check_mark: Created project *${escapeText(project.name)}* (\`${project.id}\`). You are its admin.\n` +
              `Add keys with ${code(`/sshkey add ${tokens[1].quoted ? `"${project.name}"` : project.name} <public key>`)}.`,
          ),
        );
      });
    case 'show':
    case 'dashboard': {
      const usage = USAGE.project[sub];
      return withUsage(usage, async () => {
        const view = await domain.projects.show(actor, (await projectAt(1, usage)).reference);
        const dashboard = renderDashboard(view, domain.workspaces.now(), publicUrl);
        return sub === 'show' ? reply(dashboard) : broadcast(dashboard);
      });
    }
    case 'settings':
      return withUsage(USAGE.project.settings, async () => {
        const { reference } = await projectAt(1, USAGE.project.settings);
        const project = await domain.projects.prepareSettings(actor, reference);
        return modal(renderSettingsModal(project, channelId));
      });
    case 'set':
      return withUsage(USAGE.project.set, async () => {
        const isSetting = (rest: Token[]) =>
          rest.length === 0 ||
          (rest.length === 2 && PROJECT_SETTINGS.includes(rest[0]?.value.toLowerCase() ?? ''));
        const { reference, next } = await projectAt(1, USAGE.project.set, isSetting);
        const setting = tokens[next]?.value.toLowerCase();
        if (!setting) {
          const { project } = await domain.projects.show(actor, reference);
          return reply(renderProjectSettings(project));
        }
        const value = tokens[next + 1]?.value ?? missing(`The ${setting} value`, USAGE.project.set);
        const project = await domain.projects.updateSettings(actor, reference, settingChange(setting, value));
        return reply(plain(settingChanged(project, setting)));
      });
    case 'rename':
      return withUsage(USAGE.project.rename, async () => {
        const { reference, next } = await projectAt(1, USAGE.project.rename, (rest) => rest.length > 0, {
          restIsText: true,
        });
        if (!tokens[next]) missing('The new name', USAGE.project.rename);
        const { project, previousName } = await domain.projects.rename(
          actor,
          reference,
          restOfLine(text, tokens, next),
        );
        return reply(
          plain(
            `Renamed *${escapeText(previousName)}* to *${escapeText(project.name)}*. Its ID stays \`${project.id}\`.`,
          ),
        );
      });
    case 'delete':
      return withUsage(USAGE.project.delete, async () => {
        const { reference } = await projectAt(1, USAGE.project.delete);
        const project = await domain.projects.prepareDelete(actor, reference);
        return modal(renderDeleteProjectModal(project, channelId));
      });
    case 'channel':
      return withUsage(USAGE.project.channel, async () => {
        // The channel and the project, in either order.
        const channelToken = tokens.find((t) => t.kind === 'channel');
        const channel = expectChannel(channelToken ?? tokens[2], USAGE.project.channel);
        const { reference } = await projectAt(1, USAGE.project.channel, nothingAfter, {
          among: tokens.filter((t) => t !== channelToken),
        });
        const project = await domain.projects.updateSettings(actor, reference, { approvalsChannel: channel });
        return reply(
          plain(
            `Key requests for *${escapeText(project.name)}* now go to <#${channel}>. Invite Keyhouse there with \`/invite @Keyhouse\`.`,
          ),
        );
      });
    case 'token':
      return withUsage(USAGE.project.token, async () => {
        // `[label]`, `list`, `revoke [label|--all]` after the project.
        const { reference, next } = await projectAt(
          1,
          USAGE.project.token,
          (rest) => rest.length <= 1 || (rest.length === 2 && rest[0]?.value.toLowerCase() === 'revoke'),
        );
        const verb = tokens[next]?.value.toLowerCase();
        if (verb === 'list') {
          const { project, tokens: list } = await domain.delivery.listTokens(actor, reference);
          return reply(plain(`*${escapeText(project.name)}*\n${renderTokenLines(list)}`));
        }
        if (verb === 'revoke') {
          const which = tokens[next + 1];
          if (!which) {
            // Revoking is never the default: show the labels and how to revoke one or all.
            const { project, tokens: list } = await domain.delivery.listTokens(actor, reference);
            return reply(renderTokenRevokeChoice(project, list));
          }
          if (!which.quoted && which.value.toLowerCase() === '--all') {
            const { project, tokens: list } = await domain.delivery.listTokens(actor, reference);
            return reply(renderRevokeAllConfirmation(project, list, domain.workspaces.now().toISOString()));
          }
          if (!which.quoted && which.value.startsWith('--')) {
            throw invalid(
              `Unknown option ${code(which.value.slice(0, 30))}: revoke one token by its label, or all with \`--all\`.`,
            );
          }
          const { project, revoked } = await domain.delivery.revokeTokens(actor, reference, which.value);
          return reply(renderTokensRevoked(project, revoked));
        }
        const { project, token, record } = await domain.delivery.createToken(
          actor,
          reference,
          tokens[next]?.value,
        );
        return reply(
          renderTokenCreated(project, await domain.delivery.withLastUse(project), token, record, publicUrl),
        );
      });
    case 'grant':
      return withUsage(USAGE.project.grant, async () => {
        // The person and the project, in either order: `grant web @alice admin`, `grant @alice web admin`.
        const { userId, others } = takeUser(tokens, USAGE.project.grant);
        const { reference, next } = await projectAt(1, USAGE.project.grant, (rest) => rest.length === 1, {
          among: others,
        });
        const role = (others[next]?.value ?? missing('The role', USAGE.project.grant)).toLowerCase();
        const project = await domain.projects.grant(actor, reference, userId, role);
        return reply(plain(`<@${userId}> is now *${role}* of *${escapeText(project.name)}*.`));
      });
    case 'revoke':
      return withUsage(USAGE.project.revoke, async () => {
        const { userId, others } = takeUser(tokens, USAGE.project.revoke);
        const { reference } = await projectAt(1, USAGE.project.revoke, nothingAfter, { among: others });
        const project = await domain.projects.revoke(actor, reference, userId);
        return reply(plain(`<@${userId}> no longer has a role on *${escapeText(project.name)}*.`));
      });
    case 'resource': {
      const verb = tokens[1]?.value.toLowerCase();
      if (verb === 'add') {
        return withUsage(USAGE.project.resourceAdd, async () => {
          const usage = USAGE.project.resourceAdd;
          const { reference, next } = await projectAt(
            2,
            usage,
            (rest) => rest.length >= 2 && rest.length <= 3,
            { command: '/project resource add', prefer: (rest) => isResourceType(rest[0]) },
          );
          const { resource, project } = await domain.resources.add(
            actor,
            reference,
            arg(next, 'The resource type', usage),
            arg(next + 1, 'The resource name', usage),
            tokens[next + 2]?.value,
          );
          return reply(
            plain(
              `Added ${resource.type} *${escapeText(resource.name)}*${resource.zone ? ` in ${resource.zone}` : ''} to *${escapeText(project.name)}*.`,
            ),
          );
        });
      }
      if (verb === 'remove') {
        return withUsage(USAGE.project.resourceRemove, async () => {
          const usage = USAGE.project.resourceRemove;
          const { reference, next } = await projectAt(2, usage, (rest) => rest.length === 2, {
            command: '/project resource remove',
            prefer: (rest) => isResourceType(rest[0]),
          });
          const { resource, project } = await domain.resources.remove(
            actor,
            reference,
            arg(next, 'The resource type', usage),
            arg(next + 1, 'The resource name', usage),
          );
          return reply(
            plain(
              `Removed ${resource.type} *${escapeText(resource.name)}* from *${escapeText(project.name)}*.`,
            ),
          );
        });
      }
      return reply(
        plain(
          `\`/project resource\` takes \`add\` or \`remove\`:\n\`${USAGE.project.resourceAdd}\`\n\`${USAGE.project.resourceRemove}\``,
        ),
      );
    }
    default:
      return reply(renderUnknownSubcommand('project', tokens[0]?.value ?? ''));
  }
};
