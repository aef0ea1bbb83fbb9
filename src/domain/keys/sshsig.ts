import { createHash, createPublicKey, type KeyObject, sign } from 'node:crypto';

/**
 * OpenSSH signatures (PROTOCOL.sshsig) made with node:crypto: what `ssh-keygen -Y sign` writes and
 * `ssh-keygen -Y verify` checks, for an Ed25519 key.
 */

const MAGIC = Buffer.from('SSHSIG', 'latin1');
const VERSION = 1;
const HASH = 'sha512';

const u32 = (n: number): Buffer => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(n);
  return bytes;
};
const sshString = (data: Buffer | string): Buffer => {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return Buffer.concat([u32(bytes.length), bytes]);
};

/** The 32 bytes of an Ed25519 public key. */
function ed25519Point(key: KeyObject): Buffer {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error('SSH signatures here need an Ed25519 key');
  const { x } = publicKey.export({ format: 'jwk' });
  return Buffer.from(x ?? '', 'base64url');
}

/** The OpenSSH wire form of an Ed25519 public key (what follows `ssh-ed25519` in a .pub file). */
export function sshPublicKeyBlob(key: KeyObject): Buffer {
  return Buffer.concat([sshString('ssh-ed25519'), sshString(ed25519Point(key))]);
}

/** `ssh-ed25519 AAAA…`: the public key as a .pub file or an allowed_signers line shows it. */
export const sshPublicKeyLine = (key: KeyObject): string =>
  `ssh-ed25519 ${sshPublicKeyBlob(key).toString('base64')}`;

/** SHA256 fingerprint of the public key, exactly as `ssh-keygen -lf` prints it. */
export const sshFingerprint = (key: KeyObject): string =>
  `SHA256:${createHash('sha256').update(sshPublicKeyBlob(key)).digest('base64').replace(/=+$/, '')}`;

/** An `allowed_signers` line that trusts `key` as `principal` for `namespace` only. */
export const allowedSignersLine = (principal: string, namespace: string, key: KeyObject): string =>
  `${principal} namespaces="${namespace}" ${sshPublicKeyLine(key)}`;

/**
 * The SSHSIG blob of `message` signed with the Ed25519 `privateKey` for `namespace`, base64 without
 * line breaks: the text between the armor lines of `ssh-keygen -Y sign`.
 */
export function signSshsig(privateKey: KeyObject, namespace: string, message: Buffer | string): string {
  const digest = createHash(HASH).update(message).digest();
  const signed = Buffer.concat([
    MAGIC,
    sshString(namespace),
    sshString(''),
    sshString(HASH),
    sshString(digest),
  ]);
  const signature = sign(null, signed, privateKey);
  return Buffer.concat([
    MAGIC,
    u32(VERSION),
    sshString(sshPublicKeyBlob(privateKey)),
    sshString(namespace),
    sshString(''),
    sshString(HASH),
    sshString(Buffer.concat([sshString('ssh-ed25519'), sshString(signature)])),
  ]).toString('base64');
}

/** The armored form `ssh-keygen -Y verify -s FILE` reads: 70 columns between the armor lines. */
export function armorSshsig(base64: string): string {
  const lines = base64.match(/.{1,70}/g) ?? [];
  return `-----BEGIN SSH SIGNATURE-----\n${lines.join('\n')}\n-----END SSH SIGNATURE-----\n`;
}
