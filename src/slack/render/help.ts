import type { KnownBlock } from '@slack/types';
import { code, context, escapeText, header, section } from './format';

/** The grammar of every command, with examples: shown by `help` and next to errors. */
export const USAGE = {
  org: {
    overview: '/org',
    owner: '/org owner add|remove @user',
    channel: '/org channel #channel',
    audit: '/org audit [project] [--page N] [--activity]',
    set: '/org set default-role viewer|none | /org set project-creators owners|everyone',
    oncallGroup: '/org set oncall-group @group|none',
  },
  project: {
    list: '/project list [--page N]',
    create: '/project create [name [description…]]',
    show: '/project show <project>',
    members: '/project members <project> [--page N]',
    dashboard: '/project dashboard <project>',
    settings: '/project settings <project>',
    set: '/project set <project> [offline-logins strict|1h|24h|7d | break-glass on|off | break-glass-max 1h|4h|8h | max-key-lifetime 8h|3d|30d|none]',
    rename: '/project rename <project> <new name>',
    delete: '/project delete <project>',
    grant: '/project grant <project> @user admin|member|viewer (or @user first)',
    revoke: '/project revoke <project> @user',
    channel: '/project channel <project> #channel',
    token: '/project token <project> [label] | list | revoke <label> | revoke --all',
    resourceAdd: '/project resource add <project> <type> <name> [zone]',
    resourceRemove: '/project resource remove <project> <type> <name>',
  },
  sshkey: {
    form: '/sshkey add',
    add: '/sshkey add <project> [--name <name>] [--expires <30m|8h|3d|YYYY-MM-DD>] [--reason "<text>"] [--breakglass] <public key> (options also after the key)',
    list: '/sshkey list <project> [--page N]',
    remove: '/sshkey remove <project> <key name, fingerprint or ID>',
    disable: '/sshkey disable <project> <key name, fingerprint or ID>',
    enable: '/sshkey enable <project> <key name, fingerprint or ID>',
  },
} as const;

export type CommandName = keyof typeof USAGE;

const EXAMPLES: Record<CommandName, string[]> = {
  org: [
    '/org',
    '/org owner add @alice',
    '/org channel #infra-approvals',
    '/org audit web',
    '/org set default-role none',
    '/org set oncall-group @oncall',
  ],
  project: [
    '/project create web "Front-end servers"',
    '/project create "data team"',
    '/project show web',
    '/project dashboard web',
    '/project members web --page 2',
    '/project rename web www',
    '/project grant web @alice admin',
    '/project channel web #web-approvals',
    '/project set web offline-logins 1h',
    '/project set web break-glass on',
    '/project set web max-key-lifetime 3d',
    '/project token web fleet',
    '/project token web revoke fleet',
    '/project resource add web instance web-1 fr-par-1',
  ],
  sshkey: [
    '/sshkey add',
    '/sshkey add web ssh-ed25519 AAAAC3Nza… alice@laptop',
    '/sshkey add web --name oncall --expires 8h --reason "incident 42" ssh-ed25519 AAAA…',
    '/sshkey add web team ssh-ed25519 AAAA… me@laptop --expires 30m',
    '/sshkey add web --breakglass --reason "incident 42: db down" ssh-ed25519 AAAA…',
    '/sshkey list web --page 2',
    '/sshkey disable web alice@laptop',
    '/sshkey remove web SHA256:Vb4X…',
  ],
};

const TITLES: Record<CommandName, string> = {
  org: 'The organization: this workspace, its owners and its audit log.',
  project: 'Projects group resources and the SSH keys that reach them.',
  sshkey: 'SSH public keys of a project. Paste the `.pub` file, never the private key.',
};

const NOTES: Record<CommandName, string> = {
  org:
    'Only organization owners change organization settings. `default-role`: what people without a role on a project may do ' +
    '(`viewer`: see it; `none`: nothing). `project-creators`: who may create projects. ' +
    '`oncall-group`: the Slack user group whose members may add break-glass keys.',
  project:
    'A `<project>` is a name (any case) or an ID. A name with spaces needs quotes (`"web team"`) only where the words could be read two ways: Keyhouse then asks. ' +
    'Resource types: `instance`, `private-network`, `kubernetes-cluster`, `flexible-ip`, `load-balancer`, `database`, `object-bucket`.',
  sshkey:
    'Accepted: `ssh-ed25519`, `ecdsa-sha2-nistp256/384/521`, `ssh-rsa` (2048 bits or more) and security keys (`sk-…`), ' +
    'as an OpenSSH line, an RFC 4716 block or a PEM public key, bare or pasted as code (in backticks or a ``` block). ' +
    "`--breakglass` (on-call group members, projects with break-glass on): the key is added at once for at most the project's break-glass-max, with a required reason, and an approver keeps or revokes it afterwards. " +
    "Under a project's max-key-lifetime, keys of non-admins expire within it (no `--expires`: the maximum). " +
    "You hear by direct message when your request is filed (with Cancel request), reminded and decided; a temporary key's messages have I'm done (remove it now) and Extend (ask for more time).",
};

export function renderHelp(command: CommandName): { text: string; blocks: KnownBlock[] } {
  const usage = Object.values(USAGE[command]).map((line) => code(line));
  return {
    text: `/${command} help`,
    blocks: [
      header(`/${command}`),
      section(TITLES[command]),
      section(`*Usage*\n${usage.join('\n')}`),
      section(`*Examples*\n${EXAMPLES[command].map((line) => code(line)).join('\n')}`),
      context(escapeText(NOTES[command])),
    ],
  };
}

/** A short answer for an unknown or missing sub-command. */
export function renderUnknownSubcommand(
  command: CommandName,
  given: string,
): { text: string; blocks: KnownBlock[] } {
  const usage = Object.values(USAGE[command]).map((line) => code(line));
  const lead = given
    ? `\`/${command}\` has no sub-command ${code(given.slice(0, 30))}.`
    : `What should \`/${command}\` do?`;
  const text = `${lead}\n${usage.join('\n')}\n\`/${command} help\` shows examples.`;
  return { text, blocks: [section(text)] };
}
