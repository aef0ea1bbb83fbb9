import { gzipSync } from 'node:zlib';
import { DomainError } from '../../src/domain/errors';
import { containsPrivateKeyMaterial, refusePrivateKey } from '../../src/domain/keys/privateKey';
import { KeyFactory } from '../helpers/sshKeygen';

/**
 * Private keys cut, re-wrapped and re-encoded the ways an attacker (or a hurried person) would paste
 * them into a reason: a body missing its first lines still holds the key, and is still refused.
 */
const keys = new KeyFactory();
afterAll(() => keys.cleanup());

const ed25519 = keys.generate('ed25519');
const rsa = keys.generate('rsa', { bits: 2048 });
const rsaPem = keys.generate('rsa', { bits: 2048, format: 'PEM' });
const ecPem = keys.generate('ecdsa', { format: 'PEM' });
const encrypted = keys.generate('ed25519', { passphrase: 'correct horse battery' });

const lines = (text: string) => text.split('\n').filter((line) => line && !line.startsWith('-----'));
const body = (text: string) => lines(text).join('');
const wrap = (text: string, width: number) => text.match(new RegExp(`.{1,${width}}`, 'g'))!.join('\n');
const bytesOf = (text: string) => Buffer.from(body(text), 'base64');

const CUT = [
  ['an OpenSSH ed25519 body without its first line', lines(ed25519.privateText).slice(1).join('\n')],
  ['an OpenSSH ed25519 body without its first two lines', lines(ed25519.privateText).slice(2).join('\n')],
  ['an OpenSSH RSA body without its first line', lines(rsa.privateText).slice(1).join('\n')],
  ['an OpenSSH RSA body without its first five lines', lines(rsa.privateText).slice(5).join('\n')],
  ['a PKCS#1 RSA body without its first line', lines(rsaPem.privateText).slice(1).join('\n')],
  ['a SEC1 EC body without its BEGIN and END lines, on one line', lines(ecPem.privateText).join('')],
  ['an encrypted OpenSSH body without its first line', lines(encrypted.privateText).slice(1).join('\n')],
  [
    'base64 of the key file wrapped at 32 columns',
    wrap(Buffer.from(ed25519.privateText).toString('base64'), 32),
  ],
  ['a PEM body wrapped at 32 columns', wrap(body(rsaPem.privateText), 32)],
  ['a PEM body on one line, cut after its first 100 characters', body(rsaPem.privateText).slice(100)],
  ['a hex dump of the key file', wrap(Buffer.from(ed25519.privateText).toString('hex'), 60)],
  ['a hex dump of the key blob', wrap(bytesOf(ed25519.privateText).toString('hex'), 60)],
  [
    'a colon-separated hex dump of an RSA blob',
    bytesOf(rsaPem.privateText).toString('hex').replace(/(..)/g, '$1:'),
  ],
  ['gzip, then base64, of the key file', gzipSync(ed25519.privateText).toString('base64')],
] as const;

describe.each(CUT)('%s', (_form, text) => {
  test('is recognized as a private key, alone and inside a sentence', () => {
    expect(containsPrivateKeyMaterial(text)).toBe(true);
    expect(containsPrivateKeyMaterial(`Needed for the incident, here it is: ${text} thanks`)).toBe(true);
  });

  test('is refused as free text with the private-key warning', () => {
    expect(() => refusePrivateKey(`reason: ${text}`, 'reason')).toThrow(DomainError);
    try {
      refusePrivateKey(text, 'reason');
    } catch (error) {
      expect((error as DomainError).code).toBe('private_key');
      expect((error as DomainError).field).toBe('reason');
      expect((error as DomainError).message).not.toContain(text.slice(0, 20));
    }
  });
});

test('long encoded data in free text is refused even where no key structure is left to see', () => {
  const seedAndMore = Buffer.from(lines(ed25519.privateText).slice(3).join(''), 'base64').subarray(0, 80);
  expect(() => refusePrivateKey(`the blob ${seedAndMore.toString('base64')}`, 'reason')).toThrow(
    /encoded data/,
  );
  expect(() => refusePrivateKey(`hex ${seedAndMore.toString('hex')}`, 'reason')).toThrow(/encoded data/);
});

test('what people do write in a reason is not refused', () => {
  const fine = [
    'incident 4521: rotate the web fleet',
    'fingerprint SHA256:Vb4XjG0d6Y5k9yqz3N8rJt2LmQwPaS7uEhC1fDoKiBx of my laptop key',
    'commit 3f5a9c2e1b7d4a6f8e0c9b2a1d3e5f7a9c0b2d4e and https://example.com/runbook/web-fleet',
    `my public key is ${ed25519.publicLine.trim()}`,
    `and the RSA one ${rsa.publicLine.trim()}`,
    'SHA-256 digest e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 of the file',
  ];
  for (const reason of fine) expect(() => refusePrivateKey(reason, 'reason')).not.toThrow();
  for (const reason of fine) expect(containsPrivateKeyMaterial(reason)).toBe(false);
});
