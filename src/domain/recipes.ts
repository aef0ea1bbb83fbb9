/**
 * How an instance is connected to Keyhouse: one install sequence, shown on the dashboard (with the
 * deployment's public URL and the project's ID) and in the README (with the placeholders below).
 * It installs the keyhouse-keys agent (GET /v1/agent) as sshd's AuthorizedKeysCommand, with the
 * deployment's signing key (GET /v1/signing-key), its config, the token and the agent's cache. The
 * token comes from `KEYHOUSE_TOKEN` and is written by a shell builtin: it is on no command line. The
 * agent runs as `keyhouse`, a system user the install creates, so no other daemon reads the token or
 * writes the cache.
 */

export const RECIPE_PLACEHOLDERS = { publicUrl: 'https://keyhouse.example.com', projectId: '<project-id>' };

/** The absolute paths the install writes to; a test relocates exactly these to a sandbox. */
export const RECIPE_PATHS = {
  configDir: '/etc/keyhouse',
  binDir: '/usr/local/bin',
  cacheDir: '/var/cache/keyhouse',
  sshdConfig: '/etc/ssh/sshd_config',
} as const;

/** The last step, which reloads the system's sshd (a sandbox replaces this line). */
export const RELOAD_SSHD =
  'sshd -t && { systemctl try-reload-or-restart ssh.service 2>/dev/null || systemctl try-reload-or-restart sshd.service; }';

const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

/** The steps, one shell line each (no `#!`, no `set`): the script's body and cloud-init's runcmd. */
function installSteps(publicUrl: string, projectId: string): string[] {
  const { configDir: etc, binDir: bin, cacheDir: cache, sshdConfig } = RECIPE_PATHS;
  const command = `AuthorizedKeysCommand ${bin}/keyhouse-keys -c ${etc}/agent.conf %u`;
  return [
    `KEYHOUSE_URL=${shellQuote(publicUrl)}`,
    `PROJECT_ID=${shellQuote(projectId)}`,
    "case ${KEYHOUSE_TOKEN:-} in khk_?*) ;; *) echo 'KEYHOUSE_TOKEN: set it to the project token (khk_..., from your secret store)' >&2; exit 1 ;; esac",
    'umask 022',
    '# The agent runs as keyhouse, a system user with no other role (as sshd_config(5) advises).',
    'id -u keyhouse >/dev/null 2>&1 || useradd -r -U -M -d /nonexistent -s /usr/sbin/nologin keyhouse',
    `install -d -o root -g root -m 0755 ${etc}`,
    '# The agent (root, 0755) and the signing key it checks every key set against (root, 0644).',
    `curl -fsS "$KEYHOUSE_URL/v1/agent" -o ${bin}/keyhouse-keys.new`,
    `chown root:root ${bin}/keyhouse-keys.new && chmod 0755 ${bin}/keyhouse-keys.new`,
    `mv -f ${bin}/keyhouse-keys.new ${bin}/keyhouse-keys`,
    `curl -fsS "$KEYHOUSE_URL/v1/signing-key" -o ${etc}/allowed_signers.new`,
    `chown root:root ${etc}/allowed_signers.new && chmod 0644 ${etc}/allowed_signers.new`,
    `mv -f ${etc}/allowed_signers.new ${etc}/allowed_signers`,
    `printf '%s\\n' "KEYHOUSE_URL=$KEYHOUSE_URL" "PROJECT_ID=$PROJECT_ID" 'TOKEN_FILE=${etc}/token' 'ALLOWED_SIGNERS=${etc}/allowed_signers' 'CACHE_DIR=${cache}' > ${etc}/agent.conf`,
    `chown root:root ${etc}/agent.conf && chmod 0644 ${etc}/agent.conf`,
    '# The token: readable by root and the keyhouse group only; printf is a shell builtin.',
    `(umask 077 && printf '%s\\n' "$KEYHOUSE_TOKEN" > ${etc}/token.new)`,
    `chown root:keyhouse ${etc}/token.new && chmod 0640 ${etc}/token.new`,
    `mv -f ${etc}/token.new ${etc}/token`,
    `install -d -o keyhouse -g keyhouse -m 0700 ${cache} && chown -R keyhouse:keyhouse ${cache}`,
    '# sshd keeps the first value of each keyword: the two lines go first, replacing earlier ones.',
    `{ printf '%s\\n' '${command}' 'AuthorizedKeysCommandUser keyhouse'; awk -v k='AuthorizedKeysCommand ${bin}/keyhouse-keys ' 'index($0,k)==1{m=1;next} m&&$1=="AuthorizedKeysCommandUser"{m=0;next} {m=0;print}' ${sshdConfig}; } > ${sshdConfig}.keyhouse && cat ${sshdConfig}.keyhouse > ${sshdConfig} && rm -f ${sshdConfig}.keyhouse`,
    RELOAD_SSHD,
  ];
}

/** A script to run as root on the instance, with `KEYHOUSE_TOKEN` set. */
export function installScript(publicUrl: string, projectId: string): string {
  return [
    '#!/bin/sh',
    '# Connects this machine to Keyhouse: run as root, with KEYHOUSE_TOKEN set.',
    'set -eu',
    ...installSteps(publicUrl, projectId),
    '',
  ].join('\n');
}

/** The same steps at first boot. The token line is filled in from the secret store by whatever writes the user-data. */
export function cloudInitConfig(publicUrl: string, projectId: string): string {
  return [
    '#cloud-config',
    '# Fill in KEYHOUSE_TOKEN from your secret store when you render this user-data.',
    'runcmd:',
    '  - |',
    ...['set -eu', "KEYHOUSE_TOKEN='<token>'", ...installSteps(publicUrl, projectId)].map(
      (line) => `    ${line}`,
    ),
    '',
  ].join('\n');
}
