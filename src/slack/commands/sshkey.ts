import { renderHelp, renderUnknownSubcommand, USAGE } from '../render/help';
import { renderKeyAdded, renderKeyChanged, renderKeyList } from '../render/messages';
import { decodeSlackText, readFlags, tokenize } from '../tokenize';
import { takePage } from '../paging';
import { renderAddKeyModal } from '../render/modals';
import { type CommandHandler, modal, reply } from './types';
import { missing, UsageError, withUsage } from './usage';

const ADD_FLAGS = ['name', 'expires', 'reason'] as const;
const LOOKS_LIKE_KEY = /^(ssh-|ecdsa-|sk-|-----BEGIN|----)/;

export const sshkeyCommand: CommandHandler = async (domain, { actor, text, channelId }) => {
  const tokens = tokenize(text);
  const sub = tokens[0]?.value.toLowerCase();
  switch (sub) {
    case 'help':
      return reply(renderHelp('sshkey'));
    case 'add':
      return withUsage(USAGE.sshkey.add, async () => {
        const usage = USAGE.sshkey.add;
        const project = tokens[1];
        if (!project) {
          const { projects } = await domain.projects.list(actor);
          return modal(
            renderAddKeyModal(
              projects,
              projects.find((p) => p.isDefault),
              channelId,
            ),
          );
        }
        if (LOOKS_LIKE_KEY.test(project.value)) {
          throw new UsageError('Name the project before the key.', usage);
        }
        const { values, rest } = readFlags(tokens, 2, ADD_FLAGS, usage);
        const keyToken = tokens[rest];
        if (!keyToken) missing('The public key', usage);
        // The key is the rest of the line verbatim: it holds spaces (its comment) and maybe line breaks.
        const publicKey = decodeSlackText(text.slice(keyToken.start));
        const outcome = await domain.keys.add(actor, project.value, {
          publicKey,
          ...(values.name !== undefined ? { name: values.name } : {}),
          ...(values.expires !== undefined ? { expires: values.expires } : {}),
          ...(values.reason !== undefined ? { reason: values.reason } : {}),
        });
        return outcome.kind === 'added'
          ? reply(renderKeyAdded(outcome.key, outcome.project))
          : { kind: 'requested', request: outcome.request, joined: outcome.joined };
      });
    case 'list':
      return withUsage(USAGE.sshkey.list, async () => {
        const { page, rest } = takePage(tokens.slice(1), USAGE.sshkey.list);
        const { project, keys, now } = await domain.keys.list(
          actor,
          rest[0]?.value ?? missing('The project', USAGE.sshkey.list),
        );
        return reply(renderKeyList(project, keys, now, page));
      });
    case 'remove':
    case 'disable':
    case 'enable': {
      const usage = USAGE.sshkey[sub];
      return withUsage(usage, async () => {
        const project = tokens[1]?.value ?? missing('The project', usage);
        if (!tokens[2]) missing('The key (its name, fingerprint or ID)', usage);
        const keyReference =
          tokens.length === 3 ? tokens[2].value : decodeSlackText(text.slice(tokens[2].start)).trim();
        const { key, project: updated } = await domain.keys.change(actor, project, keyReference, sub);
        return reply(renderKeyChanged(key, updated, sub));
      });
    }
    default:
      return reply(renderUnknownSubcommand('sshkey', tokens[0]?.value ?? ''));
  }
};
