import type { Token } from '../tokenize';
import { decodeSlackText, expectChannel, expectUser, tokenize } from '../tokenize';
import { escapeText } from '../render/format';
import { renderHelp, renderUnknownSubcommand, USAGE } from '../render/help';
import { renderDashboard } from '../render/dashboard';
import { renderTokenCreated, renderTokenLines } from '../render/delivery';
import { plain, renderMembers, renderProjectList } from '../render/messages';
import { takePage } from '../paging';
import { renderCreateProjectModal, renderDeleteProjectModal, renderSettingsModal } from '../render/modals';
import { broadcast, type CommandHandler, modal, reply } from './types';
import { missing, withUsage } from './usage';

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
        const { project } = await domain.projects.members(
          actor,
          rest[0]?.value ?? missing('The project', USAGE.project.members),
        );
        return reply(renderMembers(project, page));
      });
    case 'create':
      return withUsage(USAGE.project.create, async () => {
        if (!tokens[1]) return modal(renderCreateProjectModal(channelId));
        const project = await domain.projects.create(actor, tokens[1].value, restOfLine(text, tokens, 2));
        return reply(
          plain(
            `:white_check_mark: Created project *${escapeText(project.name)}* (\`${project.id}\`). You are its admin.\n` +
              `Add keys with \`/sshkey add ${tokens[1].quoted ? `"${project.name}"` : project.name} <public key>\`.`,
          ),
        );
      });
    case 'show':
    case 'dashboard': {
      const usage = USAGE.project[sub];
      return withUsage(usage, async () => {
        const view = await domain.projects.show(actor, arg(1, 'The project', usage));
        const dashboard = renderDashboard(view, domain.workspaces.now(), publicUrl);
        return sub === 'show' ? reply(dashboard) : broadcast(dashboard);
      });
    }
    case 'settings':
      return withUsage(USAGE.project.settings, async () => {
        const project = await domain.projects.prepareSettings(
          actor,
          arg(1, 'The project', USAGE.project.settings),
        );
        return modal(renderSettingsModal(project, channelId));
      });
    case 'rename':
      return withUsage(USAGE.project.rename, async () => {
        const reference = arg(1, 'The project', USAGE.project.rename);
        if (!tokens[2]) missing('The new name', USAGE.project.rename);
        const { project, previousName } = await domain.projects.rename(
          actor,
          reference,
          restOfLine(text, tokens, 2),
        );
        return reply(
          plain(
            `Renamed *${escapeText(previousName)}* to *${escapeText(project.name)}*. Its ID stays \`${project.id}\`.`,
          ),
        );
      });
    case 'delete':
      return withUsage(USAGE.project.delete, async () => {
        const project = await domain.projects.prepareDelete(
          actor,
          arg(1, 'The project', USAGE.project.delete),
        );
        return modal(renderDeleteProjectModal(project, channelId));
      });
    case 'channel':
      return withUsage(USAGE.project.channel, async () => {
        const reference = arg(1, 'The project', USAGE.project.channel);
        const channel = expectChannel(tokens[2], USAGE.project.channel);
        const project = await domain.projects.updateSettings(actor, reference, { approvalsChannel: channel });
        return reply(
          plain(
            `Key requests for *${escapeText(project.name)}* now go to <#${channel}>. Invite Keyhouse there with \`/invite @Keyhouse\`.`,
          ),
        );
      });
    case 'token':
      return withUsage(USAGE.project.token, async () => {
        const reference = arg(1, 'The project', USAGE.project.token);
        const verb = tokens[2]?.value.toLowerCase();
        if (verb === 'list') {
          const { project, tokens: list } = await domain.delivery.listTokens(actor, reference);
          return reply(plain(`*${escapeText(project.name)}*\n${renderTokenLines(list)}`));
        }
        if (verb === 'revoke') {
          const { project, revoked } = await domain.delivery.revokeTokens(actor, reference, tokens[3]?.value);
          return reply(
            plain(
              `Revoked ${revoked.map((t) => `*${escapeText(t.label)}*`).join(', ')} of *${escapeText(project.name)}*: instances using ${revoked.length === 1 ? 'it' : 'them'} get 401 from now on.`,
            ),
          );
        }
        const { project, token, record } = await domain.delivery.createToken(
          actor,
          reference,
          tokens[2]?.value,
        );
        return reply(
          renderTokenCreated(project, await domain.delivery.withLastUse(project), token, record, publicUrl),
        );
      });
    case 'grant':
      return withUsage(USAGE.project.grant, async () => {
        const reference = arg(1, 'The project', USAGE.project.grant);
        const userId = expectUser(tokens[2], USAGE.project.grant);
        const role = arg(3, 'The role', USAGE.project.grant).toLowerCase();
        const project = await domain.projects.grant(actor, reference, userId, role);
        return reply(plain(`<@${userId}> is now *${role}* of *${escapeText(project.name)}*.`));
      });
    case 'revoke':
      return withUsage(USAGE.project.revoke, async () => {
        const reference = arg(1, 'The project', USAGE.project.revoke);
        const userId = expectUser(tokens[2], USAGE.project.revoke);
        const project = await domain.projects.revoke(actor, reference, userId);
        return reply(plain(`<@${userId}> no longer has a role on *${escapeText(project.name)}*.`));
      });
    case 'resource': {
      const verb = tokens[1]?.value.toLowerCase();
      if (verb === 'add') {
        return withUsage(USAGE.project.resourceAdd, async () => {
          const usage = USAGE.project.resourceAdd;
          const { resource, project } = await domain.resources.add(
            actor,
            arg(2, 'The project', usage),
            arg(3, 'The resource type', usage),
            arg(4, 'The resource name', usage),
            tokens[5]?.value,
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
          const { resource, project } = await domain.resources.remove(
            actor,
            arg(2, 'The project', usage),
            arg(3, 'The resource type', usage),
            arg(4, 'The resource name', usage),
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
