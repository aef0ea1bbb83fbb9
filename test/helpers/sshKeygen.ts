import { execFileSync } from 'node:child_process';
import {
  createPrivateKey,
  createPublicKey,
  // eslint-disable-next-line no-restricted-imports -- keyPair below makes keys already encoded
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** ssh-keygen is the oracle for key types and fingerprints: keys are made by it and checked against it. */

export interface GeneratedKey {
  publicLine: string;
  privateText: string;
  path: string;
}

export class KeyFactory {
  readonly dir = mkdtempSync(join(tmpdir(), 'keyhouse-keys-'));
  private counter = 0;

  generate(
    type: 'ed25519' | 'ecdsa' | 'rsa' | 'dsa',
    options: { bits?: number; comment?: string; format?: string; passphrase?: string } = {},
  ): GeneratedKey {
    const path = join(this.dir, `key${this.counter++}`);
    const args = [
      '-q',
      '-t',
      type,
      '-N',
      options.passphrase ?? '',
      '-C',
      options.comment ?? 'test@keyhouse',
      '-f',
      path,
    ];
    if (options.bits) args.push('-b', String(options.bits));
    if (options.format) args.push('-m', options.format);
    execFileSync('ssh-keygen', args);
    return { path, publicLine: readFileSync(`${path}.pub`, 'utf8'), privateText: readFileSync(path, 'utf8') };
  }

  /** Writes a public key line to a file and asks ssh-keygen for `bits fingerprint` and its type label. */
  fingerprint(publicText: string): { bits: number; fingerprint: string; type: string } {
    const path = join(this.dir, `fp${this.counter++}.pub`);
    writeFileSync(path, publicText);
    const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', path], { encoding: 'utf8' }).trim();
    const match = /^(\d+) (SHA256:\S+) .* \(([^)]+)\)$/.exec(out);
    if (!match) throw new Error(`unexpected ssh-keygen output: ${out}`);
    return { bits: Number(match[1]), fingerprint: match[2] as string, type: match[3] as string };
  }

  /** Converts an OpenSSH public key file with `ssh-keygen -e` (RFC4716, PKCS8 or PEM). */
  exportPublic(key: GeneratedKey, format: 'RFC4716' | 'PKCS8' | 'PEM'): string {
    return execFileSync('ssh-keygen', ['-e', '-m', format, '-f', `${key.path}.pub`], { encoding: 'utf8' });
  }

  /** Signs the key into an OpenSSH certificate and returns the certificate line. */
  certificate(key: GeneratedKey): string {
    const ca = this.generate('ed25519', { comment: 'ca' });
    execFileSync('ssh-keygen', ['-q', '-s', ca.path, '-I', 'id', '-n', 'root', `${key.path}.pub`]);
    return readFileSync(`${key.path}-cert.pub`, 'utf8');
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const sshString = (data: Buffer | string): Buffer => {
  const body = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
};

/** A FIDO security-key public key line (no hardware here, so it is built from its wire format). */
export function securityKeyLine(kind: 'ed25519' | 'ecdsa', comment = 'yubikey'): string {
  if (kind === 'ed25519') {
    const blob = Buffer.concat([
      sshString('sk-ssh-ed25519@openssh.com'),
      sshString(randomBytes(32)),
      sshString('ssh:'),
    ]);
    return `sk-ssh-ed25519@openssh.com ${blob.toString('base64')} ${comment}`;
  }
  const { publicKey } = keyPair('ec');
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x as string, 'base64url'),
    Buffer.from(jwk.y as string, 'base64url'),
  ]);
  const blob = Buffer.concat([
    sshString('sk-ecdsa-sha2-nistp256@openssh.com'),
    sshString('nistp256'),
    sshString(point),
    sshString('ssh:'),
  ]);
  return `sk-ecdsa-sha2-nistp256@openssh.com ${blob.toString('base64')} ${comment}`;
}

export { sshString };

/**
 * A key pair made in-process, as KeyObjects no generation job holds. Node 20 can deadlock when a key fresh
 * from generateKeyPairSync is exported while the garbage collector finalizes the job that made it (the
 * export holds the key's lock while it allocates; the finalizer waits for that lock), which hung a test
 * worker: so the pair is made encoded, and read back.
 */
export function keyPair(
  kind: 'rsa' | 'ec' | 'ed25519' | 'ed448' | 'x25519',
  namedCurve = 'P-256',
): {
  privateKey: KeyObject;
  publicKey: KeyObject;
} {
  const made = (): { privateKey: Buffer } => {
    switch (kind) {
      case 'rsa':
        return generateKeyPairSync('rsa', {
          modulusLength: 2048,
          privateKeyEncoding: { type: 'pkcs8', format: 'der' },
          publicKeyEncoding: { type: 'spki', format: 'der' },
        });
      case 'ec':
        return generateKeyPairSync('ec', {
          namedCurve,
          privateKeyEncoding: { type: 'pkcs8', format: 'der' },
          publicKeyEncoding: { type: 'spki', format: 'der' },
        });
      case 'ed448':
        return generateKeyPairSync('ed448', {
          privateKeyEncoding: { type: 'pkcs8', format: 'der' },
          publicKeyEncoding: { type: 'spki', format: 'der' },
        });
      case 'x25519':
        return generateKeyPairSync('x25519', {
          privateKeyEncoding: { type: 'pkcs8', format: 'der' },
          publicKeyEncoding: { type: 'spki', format: 'der' },
        });
      default:
        return generateKeyPairSync('ed25519', {
          privateKeyEncoding: { type: 'pkcs8', format: 'der' },
          publicKeyEncoding: { type: 'spki', format: 'der' },
        });
    }
  };
  const { privateKey } = made();
  const key = createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' });
  return { privateKey: key, publicKey: createPublicKey(key) };
}

/** An ed25519 public key line made in-process, for tests that need hundreds of keys quickly. */
export function quickEd25519Line(comment: string): string {
  const { publicKey } = keyPair('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(raw)]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}
