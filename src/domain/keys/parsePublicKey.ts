import { createHash, createPublicKey } from 'node:crypto';
import sshpk from 'sshpk';
import { DomainError } from '../errors';
import { containsPrivateKeyMaterial, PRIVATE_KEY_MESSAGE } from './privateKey';

/** The one key parser: every SSH public key that enters Keyhouse goes through here. */

export const MAX_KEY_INPUT_BYTES = 16 * 1024;
export const MIN_RSA_BITS = 2048;

export const ACCEPTED_KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;
export type KeyType = (typeof ACCEPTED_KEY_TYPES)[number];

export interface ParsedPublicKey {
  type: KeyType;
  bits: number;
  /** `SHA256:` + unpadded base64, exactly as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** Canonical OpenSSH form without comment: `type base64`. */
  publicKey: string;
  /** The comment of the input (OpenSSH trailing text or RFC 4716 `Comment:` header), or ''. */
  comment: string;
}

const HOW_TO_FIND =
  'Paste the contents of your `.pub` file (for example `~/.ssh/id_ed25519.pub`): one line that starts with ' +
  '`ssh-ed25519`, `ecdsa-sha2-…`, `ssh-rsa` or `sk-…`.';

const reject = (message: string): DomainError => new DomainError('invalid_key', message, 'public_key');

/** Kept for importers of this module; the detector lives in ./privateKey. */
export { containsPrivateKeyMaterial, PRIVATE_KEY_MESSAGE };

function looksLikePrivateKey(text: string): boolean {
  if (containsPrivateKeyMaterial(text)) return true;
  if (!text.includes('-----BEGIN')) return false;
  // sshpk.parseKey would silently return the public half of a private key: ask the private parser first.
  try {
    sshpk.parsePrivateKey(text, 'auto');
    return true;
  } catch {
    return false;
  }
}

/** Reads the SSH wire format (RFC 4251 strings) strictly: any short read means the key is damaged. */
class WireReader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}

  string(): Buffer {
    if (this.offset + 4 > this.buffer.length) throw new Error('short read');
    const length = this.buffer.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (length > this.buffer.length - start) throw new Error('short read');
    this.offset = start + length;
    return this.buffer.subarray(start, this.offset);
  }

  get done(): boolean {
    return this.offset === this.buffer.length;
  }
}

const TRUNCATED =
  'That key is truncated or damaged: its data does not decode to a complete key. Copy the whole line again ' +
  'from the `.pub` file, without line breaks.';

function readType(blob: Buffer): string {
  try {
    return new WireReader(blob).string().toString('latin1');
  } catch {
    throw reject(TRUNCATED);
  }
}

function refuseUnsupportedType(type: string): never {
  if (type.endsWith('-cert-v01@openssh.com')) {
    throw reject(
      'That is an SSH *certificate*, not a plain public key. Upload the plain public key instead ' +
        '(for `id_ed25519-cert.pub`, that is `id_ed25519.pub`).',
    );
  }
  if (type === 'ssh-dss') {
    throw reject(
      'DSA keys are weak and refused (OpenSSH itself disabled them). Create a new key with ' +
        '`ssh-keygen -t ed25519` and add its `.pub` file.',
    );
  }
  throw reject(
    `Keys of type \`${type.slice(0, 64)}\` are not accepted. Accepted types: ${ACCEPTED_KEY_TYPES.map((t) => `\`${t}\``).join(', ')}.`,
  );
}

const isAccepted = (type: string): type is KeyType =>
  (ACCEPTED_KEY_TYPES as readonly string[]).includes(type);

/** Validates a FIDO (security key) blob, which sshpk does not know. Returns its size in bits. */
function checkSecurityKeyBlob(type: KeyType, blob: Buffer): number {
  const reader = new WireReader(blob);
  reader.string(); // type, already checked
  if (type === 'sk-ssh-ed25519@openssh.com') {
    const point = reader.string();
    reader.string(); // application, e.g. "ssh:"
    if (point.length !== 32 || !reader.done) throw new Error('bad ed25519-sk key');
    return 256;
  }
  const curve = reader.string().toString('latin1');
  const point = reader.string();
  reader.string(); // application
  if (curve !== 'nistp256' || point.length !== 65 || point[0] !== 4 || !reader.done) {
    throw new Error('bad ecdsa-sk key');
  }
  // Node refuses a point that is not on the curve.
  createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33).toString('base64url'),
    },
    format: 'jwk',
  });
  return 256;
}

/** Validates a classic key blob with sshpk; the blob must re-encode to itself exactly. */
function checkClassicBlob(type: KeyType, blob: Buffer): number {
  const key = sshpk.parseKey(blob, 'rfc4253');
  if (!key.toBuffer('rfc4253', {}).equals(blob)) throw new Error('non-canonical key data');
  if (type === 'ssh-rsa' && key.size < MIN_RSA_BITS) {
    throw reject(
      `This RSA key has only ${key.size} bits; at least ${MIN_RSA_BITS} are required. Create a new key with ` +
        '`ssh-keygen -t ed25519` (or `ssh-keygen -t rsa -b 4096`) and add its `.pub` file.',
    );
  }
  return key.size;
}

/** Checks a decoded key blob and describes it. `declaredType` is the label written before the data. */
function describeBlob(blob: Buffer, declaredType: string | undefined, comment: string): ParsedPublicKey {
  const type = readType(blob);
  if (declaredType !== undefined && declaredType !== type) {
    if (!isAccepted(declaredType)) refuseUnsupportedType(declaredType);
    throw reject(
      `The key is labelled \`${declaredType}\` but its data is a \`${type.slice(0, 64)}\` key. ` +
        'Copy the line again exactly as it is in the `.pub` file.',
    );
  }
  if (!isAccepted(type)) refuseUnsupportedType(type);
  let bits: number;
  try {
    bits = type.startsWith('sk-') ? checkSecurityKeyBlob(type, blob) : checkClassicBlob(type, blob);
  } catch (error) {
    if (error instanceof DomainError) throw error;
    throw reject(TRUNCATED);
  }
  return {
    type,
    bits,
    fingerprint: `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`,
    publicKey: `${type} ${blob.toString('base64')}`,
    comment: comment.trim(),
  };
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decodeBase64(text: string): Buffer {
  if (!BASE64.test(text) || text.length % 4 !== 0) throw reject(TRUNCATED);
  return Buffer.from(text, 'base64');
}

const KEY_TYPE_TOKEN =
  /^(ssh-[a-z0-9-]+(@[a-z0-9.-]+)?|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9-]+@openssh\.com|[a-z0-9-]+-cert-v01@openssh\.com)$/i;

function isKeyLine(line: string): boolean {
  return line.split(/\s+/).some((token) => KEY_TYPE_TOKEN.test(token));
}

function parseOpenSshLine(line: string): ParsedPublicKey {
  const tokens = line.split(/\s+/);
  const typeIndex = tokens.findIndex((token) => KEY_TYPE_TOKEN.test(token));
  if (typeIndex < 0) {
    throw reject(`That does not look like an SSH public key. ${HOW_TO_FIND}`);
  }
  if (typeIndex > 0) {
    throw reject(
      'That line starts with `authorized_keys` options (such as `from=`, `command=` or `no-pty`). Options are ' +
        'not accepted: paste the plain public key, starting with its type (for example `ssh-ed25519 AAAA…`).',
    );
  }
  const [label, data, ...rest] = tokens as [string, ...string[]];
  if (data === undefined) throw reject(TRUNCATED);
  return describeBlob(decodeBase64(data), label, rest.join(' '));
}

/**
 * The Comment header `ssh-keygen -e` writes ("4096-bit RSA, converted by root@vm from OpenSSH"): a note
 * about the export, not the key's own comment, so it names nothing.
 */
const SSH_KEYGEN_EXPORT_NOTE = /^\d+-bit \S+, converted by .+ from OpenSSH$/;

/** RFC 4716 ("SSH2") public key block: headers, then base64 lines. */
function parseRfc4716(text: string): ParsedPublicKey {
  const lines = text.split('\n').map((line) => line.trim());
  const begin = lines.findIndex((line) => line === '---- BEGIN SSH2 PUBLIC KEY ----');
  const end = lines.findIndex((line) => line === '---- END SSH2 PUBLIC KEY ----');
  if (begin < 0 || end < begin) throw reject(TRUNCATED);
  if (lines.slice(0, begin).some(Boolean) || lines.slice(end + 1).some(Boolean)) {
    throw reject('Paste one key block and nothing else around it.');
  }
  const body = lines.slice(begin + 1, end);
  let comment = '';
  let i = 0;
  while (i < body.length && /^[\x21-\x39\x3b-\x7e]{1,64}:/.test(body[i] ?? '')) {
    // A header; a trailing backslash continues it on the next line.
    let header = body[i] ?? '';
    while (header.endsWith('\\') && i + 1 < body.length) {
      i += 1;
      header = header.slice(0, -1) + (body[i] ?? '');
    }
    const match = /^([^:]+):\s?(.*)$/.exec(header);
    if (match && match[1]?.toLowerCase() === 'comment') {
      comment = (match[2] ?? '').replace(/^"(.*)"$/, '$1');
    }
    i += 1;
  }
  if (SSH_KEYGEN_EXPORT_NOTE.test(comment.trim())) comment = '';
  return describeBlob(decodeBase64(body.slice(i).join('')), undefined, comment);
}

function parsePem(text: string): ParsedPublicKey {
  let key: sshpk.Key;
  try {
    key = sshpk.parseKey(text, 'pem');
  } catch {
    throw reject(TRUNCATED);
  }
  return describeBlob(key.toBuffer('rfc4253', {}), undefined, '');
}

function countMatches(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

/**
 * Parses one SSH public key given as an OpenSSH line, an RFC 4716 block or a PEM/PKCS#8 public key,
 * and enforces the acceptance policy. Throws a DomainError whose message never repeats the input.
 */
export function parsePublicKey(input: string): ParsedPublicKey {
  if (Buffer.byteLength(input, 'utf8') > MAX_KEY_INPUT_BYTES) {
    throw reject(
      `That is more than ${MAX_KEY_INPUT_BYTES / 1024} KiB, far larger than any SSH public key. ${HOW_TO_FIND}`,
    );
  }
  // Tolerate a byte-order mark, CRLF line ends and surrounding whitespace.
  const text = input
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .trim();
  if (text === '') throw reject(`No key was given. ${HOW_TO_FIND}`);
  if (looksLikePrivateKey(text)) throw new DomainError('private_key', PRIVATE_KEY_MESSAGE, 'public_key');

  const severalKeys = 'Add one key at a time: the input holds more than one key.';
  if (text.includes('---- BEGIN SSH2 PUBLIC KEY ----')) {
    if (countMatches(text, /---- BEGIN SSH2 PUBLIC KEY ----/g) > 1) throw reject(severalKeys);
    return parseRfc4716(text);
  }
  if (/-----BEGIN [A-Z ]*PUBLIC KEY-----/.test(text)) {
    if (countMatches(text, /-----BEGIN [A-Z ]*PUBLIC KEY-----/g) > 1) throw reject(severalKeys);
    return parsePem(text);
  }
  if (text.includes('-----BEGIN') || text.includes('---- BEGIN')) {
    throw reject(`That block is not an SSH public key. ${HOW_TO_FIND}`);
  }
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const keyLines = lines.filter(isKeyLine);
  if (keyLines.length > 1) throw reject(severalKeys);
  if (lines.length > 1) {
    throw reject(
      'The key is split over several lines. An OpenSSH public key is a single line: copy it again without line breaks.',
    );
  }
  return parseOpenSshLine(lines[0] ?? '');
}
