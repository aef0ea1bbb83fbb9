import type { View } from '@slack/types';
import type { Domain } from '../../domain';
import type { Actor, ProjectSummary } from '../../domain/model';
import { renderHelp, renderUnknownSubcommand, USAGE } from '../render/help';
import { renderKeyAdded, renderKeyChanged, renderKeyList } from '../render/messages';
import { decodeSlackText, tokenize } from '../tokenize';
import { takePage } from '../paging';
import { renderAddKeyModal, renderNoProjectModal } from '../render/modals';
import { type CommandHandler, modal, reply } from './types';
import { missing, UsageError, withUsage } from './usage';
import { parseAddArguments } from './keyArguments';
import { nothingAfter, projectWords } from './projectWords';

/**
 * The add-key form with `chosen` as its project, or, for one who can see no project, a modal that says
 * so and who can give them one.
 */
export async function addKeyForm(
  domain: Domain,
  actor: Actor,
  chosen: (project: ProjectSummary) => boolean,
  channelId?: string,
): Promise<View> {
  const { projects, organization } = await domain.projects.list(actor);
  // An on-call member also gets the projects with break-glass on, for a break-glass key only.
  const breakGlassOnly = await domain.breakGlass.breakGlassOnlyProjects(actor, projects);
  if (projects.length === 0 && breakGlassOnly.length === 0) {
    const { owners } = await domain.organizations.overview(actor);
    return renderNoProjectModal(owners, organization.settings.projectCreators === 'everyone');
  }
  const all = [...projects, ...breakGlassOnly];
  return renderAddKeyModal(
    all,
    all.find(chosen),
    channelId,
    !!organization.settings.oncallGroup,
    new Set(breakGlassOnly.map((p) => p.id)),
  );
}

export const sshkeyCommand: CommandHandler = async (domain, { actor, text, channelId }) => {
  const tokens = tokenize(text);
  const sub = tokens[0]?.value.toLowerCase();
  switch (sub) {
    case 'help':
      return reply(renderHelp('sshkey'));
    case 'add':
      return withUsage(USAGE.sshkey.add, async () => {
        const usage = USAGE.sshkey.add;
        if (!tokens[1]) return modal(await addKeyForm(domain, actor, (p) => p.isDefault, channelId));
        const { projectTokens, publicKey: pasted, flags: values } = parseAddArguments(text, tokens, 1);
        if (projectTokens.length === 0) {
          if (pasted !== undefined) throw new UsageError('Name the project before the key.', usage);
          missing('The project', usage);
        }
        // The project may be several words; without a recognisable key, what follows the project is the key.
        const { reference, next } = await projectWords(domain, actor, projectTokens, 0, {
          command: '/sshkey add',
          usage,
          fits: pasted !== undefined ? nothingAfter : (rest) => rest.length > 0,
          restIsText: true,
        });
        const publicKey =
          pasted ??
          projectTokens
            .slice(next)
            .map((t) => decodeSlackText(text.slice(t.start, t.end)))
            .join(' ');
        if (!publicKey.trim()) missing('The public key', usage);
        const input = {
          publicKey,
          ...(values.name !== undefined ? { name: values.name } : {}),
          ...(values.expires !== undefined ? { expires: values.expires } : {}),
          ...(values.reason !== undefined ? { reason: values.reason } : {}),
        };
        if (values.breakglass !== undefined) {
          return { kind: 'breakglass', added: await domain.breakGlass.add(actor, reference, input) };
        }
        const outcome = await domain.keys.add(actor, reference, input);
        return outcome.kind === 'added'
          ? reply(renderKeyAdded(outcome.key, outcome.project))
          : { kind: 'requested', request: outcome.request, joined: outcome.joined };
      });
    case 'list':
      return withUsage(USAGE.sshkey.list, async () => {
        const { page, rest } = takePage(tokens.slice(1), USAGE.sshkey.list);
        const { reference } = await projectWords(domain, actor, rest, 0, {
          command: '/sshkey list',
          usage: USAGE.sshkey.list,
          fits: nothingAfter,
        });
        const { project, keys, now } = await domain.keys.list(actor, reference);
        return reply(renderKeyList(project, keys, now, page));
      });
    case 'remove':
    case 'disable':
    case 'enable': {
      const usage = USAGE.sshkey[sub];
      return withUsage(usage, async () => {
        const { reference, next } = await projectWords(domain, actor, tokens, 1, {
          command: `/sshkey ${sub}`,
          usage,
          fits: (rest) => rest.length > 0,
          restIsText: true,
        });
        const keyToken = tokens[next] ?? missing('The key (its name, fingerprint or ID)', usage);
        const keyReference =
          tokens.length === next + 1 ? keyToken.value : decodeSlackText(text.slice(keyToken.start)).trim();
        return reply(renderKeyChanged(await domain.keys.change(actor, reference, keyReference, sub), sub));
      });
    }
    default:
      return reply(renderUnknownSubcommand('sshkey', tokens[0]?.value ?? ''));
  }
};
