import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { GeneratedKey } from './sshKeygen';

/** A real OpenSSH server on a loopback port, whose keys come from an AuthorizedKeysCommand only. */
export const SSHD = '/usr/sbin/sshd';

export const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

export interface Sshd {
  port: number;
  /** Tries `ssh root@127.0.0.1 echo in` with one key only; true when sshd let it in. */
  login(key: GeneratedKey): Promise<boolean>;
  stop(): void;
}

/**
 * Starts sshd with `AuthorizedKeysCommand <command>` run as `user`. sshd insists that the command and
 * every directory above it belong to root and are not writable by others: `dir` must be such a place.
 */
export async function startSshd(dir: string, command: string, user = 'nobody'): Promise<Sshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install openssh-server (.ci/run does)`);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKey = join(dir, 'host_ed25519');
  await new Promise((resolve, reject) =>
    execFile('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey], (e) =>
      e ? reject(e) : resolve(null),
    ),
  );
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'AuthorizedKeysFile none',
      `AuthorizedKeysCommand ${command}`,
      `AuthorizedKeysCommandUser ${user}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      '',
    ].join('\n'),
  );
  const sshd: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  sshd.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  for (let i = 0; i < 100 && !/Server listening/.test(log); i += 1)
    await new Promise((r) => setTimeout(r, 50));
  if (!/Server listening/.test(log)) throw new Error(`sshd did not start: ${log}`);
  return {
    port,
    stop: () => sshd.kill(),
    login: (key) =>
      new Promise((resolve) => {
        execFile(
          'ssh',
          [
            '-i',
            key.path,
            '-p',
            String(port),
            '-o',
            'BatchMode=yes',
            '-o',
            'IdentitiesOnly=yes',
            '-o',
            'IdentityAgent=none',
            '-o',
            'StrictHostKeyChecking=no',
            '-o',
            'UserKnownHostsFile=/dev/null',
            '-o',
            'LogLevel=ERROR',
            '-o',
            'ConnectTimeout=10',
            'root@127.0.0.1',
            'echo in',
          ],
          { timeout: 20_000 },
          (error, stdout) => resolve(!error && stdout.trim() === 'in'),
        );
      }),
  };
}
