import { gunzipSync } from 'node:zlib';
import { DomainError } from '../errors';

/**
 * The one private-key detector. Every free-text input and every log line asks it; nothing else
 * re-implements it. It recognizes private keys by their structure, not by one more pattern:
 * PEM/OpenSSH/PuTTY markers, then every long base64 run is decoded and checked for the
 * openssh-key-v1 container, an ASN.1 private-key sequence (PKCS#1, SEC1, PKCS#8, encrypted PKCS#8,
 * PKCS#12), or text that itself holds a private key (a whole key file base64-encoded again).
 * Private JWKs (`"d"` next to `"kty"`) are recognized as JSON.
 */

export const PRIVATE_KEY_MESSAGE =
  'That is a *private* key, so it was not stored. A private key must never be shared: anyone who has seen it ' +
  'can log in as you. Consider it exposed: remove its public half wherever it is installed, create a new key ' +
  'pair (`ssh-keygen -t ed25519`) and add the new *public* key (the `.pub` file) instead.';

/** A base64 run shorter than this cannot hold a private key (the smallest, ed25519 PKCS#8, is 64). */
const MIN_RUN = 40;
/** Lines of a wrapped body are joined when each is at least this long (`base64 -w 16` and wider). */
const MIN_LINE = 16;
/** Characters of a run searched for fragments of a key body (a 4096-bit RSA key file is about 3,300). */
const FRAGMENT_CHARS = 16_384;
/** Bytes a gzip member may inflate to before it is given up on. */
const MAX_INFLATED = 1 << 20;
/** Runs decoded per scanned text: bounds the work on a huge log line. */
const MAX_RUNS = 1024;
/** Characters of a run decoded to classify it (1026 bytes: every private-key header fits). */
const HEAD_CHARS = 1368;
/** A run decoded in full (to look inside base64-encoded text) is at most this long. */
const MAX_RUN_CHARS = 1 << 20;
/** base64 of a file holding base64 of a file…: deeper nesting is not followed. */
const MAX_DEPTH = 3;

const MARKERS: RegExp[] = [
  // PEM, PKCS#8, OpenSSH, SSH2 (ssh.com) and PGP private blocks, even with one of their lines cut off.
  /(?:BEGIN|END)[A-Z0-9 +]{0,40}PRIVATE[ +]KEY/,
  /PRIVATE[ +]KEY(?:-----|[ +]BLOCK-)/,
  /PuTTY-User-Key-File-\d/i,
  /Private-(?:Lines|MAC):/i,
  /Proc-Type:[ +]*4,ENCRYPTED/i,
  /openssh-key-v1/,
  /b3BlbnNzaC1rZXktdjE/, // "openssh-key-v1" in base64, the OpenSSH private key container without its lines
];

// A JWK is private when it has `d` (EC, OKP, RSA private exponent) next to `kty`.
const JWK_KTY = /["']?\bkty["']?\s*:/;
// `d` holds a base64url number of 32+ characters (a 256-bit scalar is 43), quoted as JSON or JS writes it.
const JWK_D = /(?:["']d["']|\bd)\s*:\s*["'][A-Za-z0-9_-]{32,}["']/;

const OPENSSH_MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');

/** A run of base64 (standard or URL-safe) characters, with its padding. */
const TOKEN = /[A-Za-z0-9+/_-]+={0,2}/;

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

/** One DER tag-length header at `offset`; the value may run past the bytes we have (a truncated head). */
function readTlv(bytes: Buffer, offset: number): Tlv | undefined {
  const tag = bytes[offset];
  const first = bytes[offset + 1];
  if (tag === undefined || first === undefined) return undefined;
  let length = first;
  let start = offset + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4 || start + count > bytes.length) return undefined;
    length = 0;
    for (let i = 0; i < count; i += 1) length = length * 256 + (bytes[start + i] as number);
    start += count;
  }
  return { tag, start, end: start + length };
}

const startsWith = (bytes: Buffer, at: number, prefix: number[]): boolean =>
  prefix.every((byte, i) => bytes[at + i] === byte);

// OID arcs 1.2.840.113549.1.5 (PKCS#5 PBES) and .1.12 (PKCS#12 PBE), and 1.2.840.113549.1.7.1 (PKCS#7 data).
const PKCS5 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05];
const PKCS12_PBE = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c];
const PKCS7_DATA = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];

/** True when bytes start with an ASN.1 DER private-key structure. */
function isPrivateKeyDer(bytes: Buffer): boolean {
  const outer = readTlv(bytes, 0);
  if (!outer || outer.tag !== 0x30) return false;
  const first = readTlv(bytes, outer.start);
  if (!first) return false;
  const next = readTlv(bytes, first.end);
  if (!next) return false;
  if (first.tag === 0x30) {
    // EncryptedPrivateKeyInfo: SEQUENCE { AlgorithmIdentifier (a password-based scheme), OCTET STRING }.
    // A public key (SPKI) has the same shape with a BIT STRING, and another algorithm.
    const oid = readTlv(bytes, first.start);
    return (
      oid?.tag === 0x06 &&
      (startsWith(bytes, oid.start, PKCS5) || startsWith(bytes, oid.start, PKCS12_PBE)) &&
      next.tag === 0x04
    );
  }
  if (first.tag !== 0x02 || first.end - first.start !== 1) return false;
  const version = bytes[first.start];
  // PKCS#1 RSAPrivateKey (and OpenSSL's DSA key): SEQUENCE { INTEGER 0, INTEGER modulus, … }.
  if (version === 0 && next.tag === 0x02 && next.end - next.start >= 32) return true;
  // SEC1 ECPrivateKey: SEQUENCE { INTEGER 1, OCTET STRING privateKey, … }.
  if (version === 1 && next.tag === 0x04) return true;
  if (next.tag !== 0x30) return false;
  const oid = readTlv(bytes, next.start);
  if (oid?.tag !== 0x06) return false;
  // PKCS#8 PrivateKeyInfo / OneAsymmetricKey: SEQUENCE { INTEGER 0|1, AlgorithmIdentifier, OCTET STRING }.
  if (version === 0 || version === 1) return readTlv(bytes, next.end)?.tag === 0x04;
  // PKCS#12 (.p12/.pfx): SEQUENCE { INTEGER 3, ContentInfo { data … } }: a key store.
  return version === 3 && startsWith(bytes, oid.start, PKCS7_DATA);
}

/** Mostly printable: worth scanning as text (a key file base64-encoded again). */
function looksLikeText(bytes: Buffer): boolean {
  const sample = bytes.subarray(0, 256);
  let printable = 0;
  for (const byte of sample)
    if ((byte >= 0x20 && byte < 0x7f) || byte === 0x0a || byte === 0x0d || byte === 0x09) printable += 1;
  return sample.length > 0 && printable >= sample.length * 0.9;
}

const u32 = (n: number): Buffer => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(n);
  return bytes;
};
const sshString = (text: string): Buffer => Buffer.concat([u32(text.length), Buffer.from(text, 'latin1')]);

const SSH_KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ssh-dss',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
].map(sshString);

/**
 * Byte sequences found only inside private keys, wherever a fragment of the body starts: the
 * OpenSSH container's kdf and cipher fields, RSA's public exponent followed by the private one
 * (a public key ends after the exponent), and SEC1's curve parameters under their context tag.
 */
const FRAGMENTS: Buffer[] = [
  sshString('bcrypt'),
  Buffer.concat([sshString('none'), sshString('none')]),
  ...[0x81, 0x82].map((lengthOfLength) => Buffer.from([0x02, 0x03, 0x01, 0x00, 0x01, 0x02, lengthOfLength])),
  Buffer.from('a00a06082a8648ce3d030107', 'hex'), // P-256
  Buffer.from('a00706052b81040022', 'hex'), // P-384
  Buffer.from('a00706052b81040023', 'hex'), // P-521
  Buffer.from('a00706052b8104000a', 'hex'), // secp256k1
];

/**
 * The OpenSSH private section: two equal random check integers, then a key type. A public key
 * blob starts with its type and never has the repeated pair in front of it.
 */
function hasCheckInts(bytes: Buffer): boolean {
  for (const type of SSH_KEY_TYPES) {
    for (let at = bytes.indexOf(type, 8); at >= 8; at = bytes.indexOf(type, at + 1)) {
      if (bytes.subarray(at - 8, at - 4).equals(bytes.subarray(at - 4, at))) return true;
    }
  }
  return false;
}

const ED25519_PUBLIC = u32(32);
const ED25519_PRIVATE = u32(64);

/** OpenSSH's ed25519 private part: the public key, then seed ‖ public key: the same 32 bytes twice. */
function hasEd25519Private(bytes: Buffer): boolean {
  for (let at = bytes.indexOf(ED25519_PUBLIC); at >= 0; at = bytes.indexOf(ED25519_PUBLIC, at + 1)) {
    const pub = bytes.subarray(at + 4, at + 36);
    if (pub.length < 32 || !bytes.subarray(at + 36, at + 40).equals(ED25519_PRIVATE)) continue;
    if (bytes.subarray(at + 72, at + 104).equals(pub)) return true;
  }
  return false;
}

const BCRYPT_OPTIONS = Buffer.from([0, 0, 0, 0x18, 0, 0, 0, 0x10]);

/**
 * An encrypted OpenSSH key's bcrypt options (a 16-byte salt and the rounds), then one key and its
 * public blob: what is left when the line naming the cipher is cut off.
 */
function hasBcryptOptions(bytes: Buffer): boolean {
  for (let at = bytes.indexOf(BCRYPT_OPTIONS); at >= 0; at = bytes.indexOf(BCRYPT_OPTIONS, at + 1)) {
    const keys = at + 8 + 16 + 4;
    if (!bytes.subarray(keys, keys + 4).equals(u32(1))) continue;
    const blob = keys + 8;
    if (SSH_KEY_TYPES.some((type) => startsWith(bytes, blob, [...type]))) return true;
  }
  return false;
}

/**
 * The OpenSSH container after its header: one key, its public blob, then the private section (a
 * multiple of the cipher's block size). A public key alone never has the count before it nor the
 * private section after it. Found even when the lines naming cipher and kdf are cut off.
 */
function hasKeyContainer(bytes: Buffer): boolean {
  const one = u32(1);
  for (let at = bytes.indexOf(one); at >= 0; at = bytes.indexOf(one, at + 1)) {
    const length = bytes.readUInt32BE(Math.min(at + 4, Math.max(0, bytes.length - 4)));
    if (at + 8 > bytes.length || length < 32 || length > 2048) continue;
    if (!SSH_KEY_TYPES.some((type) => startsWith(bytes, at + 8, [...type]))) continue;
    const section = at + 8 + length;
    if (section + 4 > bytes.length) continue;
    const size = bytes.readUInt32BE(section);
    if (size >= 64 && size % 8 === 0) return true;
  }
  return false;
}

function holdsKeyBytes(bytes: Buffer): boolean {
  return (
    bytes.includes(OPENSSH_MAGIC) ||
    isPrivateKeyDer(bytes) ||
    FRAGMENTS.some((fragment) => bytes.includes(fragment)) ||
    hasCheckInts(bytes) ||
    hasEd25519Private(bytes) ||
    hasBcryptOptions(bytes) ||
    hasKeyContainer(bytes)
  );
}

/** A fragment of a key body, decoded at each of base64's four alignments (a body may start anywhere). */
function holdsKeyFragment(run: string): boolean {
  const body = run.slice(0, FRAGMENT_CHARS);
  for (let shift = 0; shift < 4; shift += 1) {
    if (holdsKeyBytes(Buffer.from(body.slice(shift), 'base64'))) return true;
  }
  return false;
}

function inflated(bytes: Buffer): Buffer | undefined {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return undefined;
  try {
    return gunzipSync(bytes, { maxOutputLength: MAX_INFLATED });
  } catch {
    return undefined;
  }
}

/** Decoded bytes of a run: key structure, or text (or gzip) that itself holds a key. */
function isPrivateBytes(bytes: Buffer, depth: number): boolean {
  if (holdsKeyBytes(bytes)) return true;
  if (depth >= MAX_DEPTH) return false;
  const unzipped = inflated(bytes);
  if (unzipped) return isPrivateBytes(unzipped, depth + 1);
  return looksLikeText(bytes) && detect(bytes.toString('latin1'), depth + 1);
}

function isPrivateRun(run: string, depth: number): boolean {
  const head = Buffer.from(run.slice(0, HEAD_CHARS), 'base64');
  if (startsWith(head, 0, [...OPENSSH_MAGIC])) return true;
  if (isPrivateKeyDer(head)) return true;
  if (holdsKeyFragment(run)) return true;
  if (depth >= MAX_DEPTH) return false;
  const whole = Buffer.from(run.slice(0, MAX_RUN_CHARS), 'base64');
  const unzipped = inflated(whole);
  if (unzipped) return isPrivateBytes(unzipped, depth + 1);
  if (!looksLikeText(head)) return false;
  return detect(whole.toString('latin1'), depth + 1);
}

/**
 * Long base64 runs of `text`, one per key-sized blob: a run of at least MIN_RUN characters, joined
 * with the lines that follow it when they are separated by whitespace only (a PEM body, `base64`
 * output), the way a decoder would read them. Runs do not overlap, so the work stays linear.
 */
function* base64Runs(text: string): Generator<string> {
  let parts: string[] | undefined;
  let lastEnd = 0;
  let lastLength = 0;
  let lastPadded = false;
  // A regex of its own: scanning decoded text recurses into this generator.
  const tokens = new RegExp(TOKEN.source, 'g');
  for (let match = tokens.exec(text); match; match = tokens.exec(text)) {
    const token = match[0];
    const gap = text.slice(lastEnd, match.index);
    // Short pieces join only across line breaks (a wrapped body), never across spaces (prose).
    const continues =
      parts !== undefined &&
      !lastPadded &&
      lastLength >= MIN_LINE &&
      /^\s+$/.test(gap) &&
      (gap.includes('\n') || token.length >= MIN_RUN);
    if (continues) {
      parts?.push(token);
    } else {
      if (parts) {
        const run = parts.join('');
        if (run.length >= MIN_RUN) yield run;
      }
      parts = token.length >= MIN_LINE ? [token] : undefined;
    }
    lastEnd = match.index + token.length;
    lastLength = token.length;
    lastPadded = token.endsWith('=');
  }
  if (parts) {
    const run = parts.join('');
    if (run.length >= MIN_RUN) yield run;
  }
}

/** Hex runs (a hex dump: `xxd -p`, `od`-style pairs, colon-separated) of at least MIN_HEX digits. */
const MIN_HEX = 64;
function* hexRuns(text: string): Generator<string> {
  const runs = /(?:[0-9A-Fa-f]{2}[\s:]?){32,}/g;
  for (let match = runs.exec(text); match; match = runs.exec(text)) {
    const digits = match[0].replace(/[\s:]/g, '');
    if (digits.length >= MIN_HEX) yield digits.slice(0, digits.length - (digits.length % 2));
  }
}

/** Undoes JSON string escapes, however many times applied (`\n`, `\\n`, `\/`, `\"`, `\u002B`). */
function unescapeJson(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(/\\+(u[0-9a-fA-F]{4}|[nrtbf"'/\\])/g, (_match, escape: string) => {
    if (escape.length === 5) return String.fromCharCode(parseInt(escape.slice(1), 16));
    return { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' }[escape] ?? escape;
  });
}

/** Undoes form encoding (`+` for space, `%XX`), at most twice (a URL-encoded value inside a URL-encoded body). */
function formDecode(text: string): string {
  let decoded = text.replace(/\+/g, ' ');
  // `unescape` (not decodeURIComponent): it never throws on a malformed escape, and runs natively.
  for (let round = 0; round < 2 && /%[0-9A-Fa-f]{2}/.test(decoded); round += 1) decoded = unescape(decoded);
  return decoded;
}

function scan(text: string, depth: number): boolean {
  if (MARKERS.some((marker) => marker.test(text))) return true;
  if (JWK_KTY.test(text) && JWK_D.test(text)) return true;
  let runs = 0;
  for (const run of base64Runs(text)) {
    if (isPrivateRun(run, depth)) return true;
    runs += 1;
    if (runs >= MAX_RUNS) return false;
  }
  for (const run of hexRuns(text)) {
    if (isPrivateBytes(Buffer.from(run.slice(0, MAX_RUN_CHARS), 'hex'), depth)) return true;
    runs += 1;
    if (runs >= MAX_RUNS) return false;
  }
  return false;
}

/**
 * True when text holds private key material in any form we know, also when it arrives the way
 * Slack and Bolt carry it: URL-encoded (`+`, `%2B`, `%0A`), JSON-escaped (`\n`, `\/`), with Slack's
 * curly quotes. Work is linear in the length of the text; logs run it on every line.
 */
export function containsPrivateKeyMaterial(text: string): boolean {
  return detect(text, 0);
}

function detect(text: string, depth: number): boolean {
  const plain = unescapeJson(text)
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/[\u2018\u2019]/g, "'");
  if (scan(plain, depth)) return true;
  const decoded = unescapeJson(formDecode(plain));
  return decoded !== plain && scan(decoded, depth);
}

export const ENCODED_DATA_MESSAGE =
  'That text holds a long run of encoded data (base64 or hex), which may be key material, so it was not ' +
  'stored. Describe it in words instead. If it was a private key, consider it exposed: create a new key ' +
  'pair (`ssh-keygen -t ed25519`) and remove the old public key wherever it is installed.';

/**
 * Free text may hold a fingerprint (43 characters) or a digest in hex (SHA-512: 128); this much encoded
 * data is never a description.
 */
const MAX_FREE_BASE64 = 64;
const MAX_FREE_HEX = 160;

/** A public key's blob (OpenSSH wire format) or a PEM public key's DER (SubjectPublicKeyInfo). */
function isPublicKeyRun(run: string): boolean {
  const bytes = Buffer.from(run.slice(0, 64), 'base64');
  if (SSH_KEY_TYPES.some((type) => startsWith(bytes, 0, [...type]))) return true;
  if (/^[0-9]{0,2}(?:[a-z0-9-]+@openssh\.com|ssh-|ecdsa-)/.test(bytes.subarray(4, 40).toString('latin1'))) {
    return true; // certificates and other OpenSSH types: refused later with their own message
  }
  const outer = readTlv(bytes, 0);
  const algorithm = outer?.tag === 0x30 ? readTlv(bytes, outer.start) : undefined;
  return algorithm?.tag === 0x30 && readTlv(bytes, algorithm.end)?.tag === 0x03;
}

/** Encoded data too long for a name, a description or a reason, other than a public key. */
function holdsEncodedData(text: string): boolean {
  let runs = 0;
  for (const run of base64Runs(text)) {
    const hex = /^[0-9A-Fa-f]+$/.test(run); // judged as hex below
    if (
      run.length >= MAX_FREE_BASE64 &&
      !hex &&
      /[0-9]/.test(run) &&
      /[A-Za-z]/.test(run) &&
      !isPublicKeyRun(run)
    ) {
      return true;
    }
    if ((runs += 1) >= MAX_RUNS) return false;
  }
  for (const run of hexRuns(text)) if (run.length >= MAX_FREE_HEX) return true;
  return false;
}

/**
 * Refuses free text (a name, a description, a reason, a label) holding private key material, with
 * the warning and never the input; and any long run of encoded data, since a key body cut where no
 * detector can recognize it still gives the key away.
 */
export function refusePrivateKey(text: string, field?: string): void {
  if (containsPrivateKeyMaterial(text)) throw new DomainError('private_key', PRIVATE_KEY_MESSAGE, field);
  if (holdsEncodedData(text)) throw new DomainError('private_key', ENCODED_DATA_MESSAGE, field);
}
