import { execFileSync } from 'node:child_process';
import { randomBytes, type KeyObject } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { LogLevel } from '@slack/logger';
import { DomainError } from '../../src/domain/errors';
import {
  containsPrivateKeyMaterial,
  PRIVATE_KEY_MESSAGE,
  refusePrivateKey,
} from '../../src/domain/keys/privateKey';
import { parsePublicKey } from '../../src/domain/keys/parsePublicKey';
import { createLogger, WITHHELD } from '../../src/observability/logger';
import {
  KeyFactory,
  keyPair,
  quickEd25519Line,
  securityKeyLine,
  type GeneratedKey,
} from '../helpers/sshKeygen';

/**
 * The one private-key detector, against keys made for real by ssh-keygen and node:crypto, in every
 * shape a person might paste them: the file, the file base64-encoded again, the body without its
 * BEGIN/END lines, on one line, as a JWK. Public keys and prose must pass.
 */
const keys = new KeyFactory();
afterAll(() => keys.cleanup());

/** `ssh-keygen -p -m <format>`: rewrites an existing key file in another format, as users do. */
function convert(key: GeneratedKey, format: 'PEM' | 'PKCS8', passphrase = ''): string {
  const path = `${key.path}-${format}`;
  copyFileSync(key.path, path);
  execFileSync('ssh-keygen', ['-q', '-p', '-m', format, '-P', passphrase, '-N', passphrase, '-f', path], {
    stdio: 'ignore',
  });
  return readFileSync(path, 'utf8');
}

const bodyLines = (pem: string) =>
  pem.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('-----'));

/** The shapes of one private key file. */
function shapesOf(file: string): [string, string][] {
  const base64 = Buffer.from(file).toString('base64');
  const body = bodyLines(file);
  const shapes: [string, string][] = [
    ['the file', file],
    ['the file base64-encoded', base64],
    ['the file base64-encoded, wrapped at 76 like base64(1)', base64.replace(/(.{76})/g, '$1\n')],
    ['the file base64-encoded twice', Buffer.from(base64).toString('base64')],
    ['the body without BEGIN/END', body.join('\n')],
    ['the body on one line', body.join('')],
    ['the body in a sentence', `here it is: ${body.join('')} thanks`],
    ['the body with CRLF line ends', body.join('\r\n')],
  ];
  return shapes;
}

const sshKeygenFiles: [string, () => string][] = [
  ['ed25519, OpenSSH', () => keys.generate('ed25519').privateText],
  ['ed25519, OpenSSH, encrypted', () => keys.generate('ed25519', { passphrase: 'pw-123456' }).privateText],
  ['rsa, OpenSSH', () => keys.generate('rsa').privateText],
  ['rsa, OpenSSH, encrypted', () => keys.generate('rsa', { passphrase: 'pw-123456' }).privateText],
  ['ecdsa, OpenSSH', () => keys.generate('ecdsa').privateText],
  ['rsa, -m PEM (PKCS#1)', () => keys.generate('rsa', { format: 'PEM' }).privateText],
  ['rsa, -p -m PEM (PKCS#1)', () => convert(keys.generate('rsa'), 'PEM')],
  ['ecdsa, -m PEM (SEC1)', () => keys.generate('ecdsa', { format: 'PEM' }).privateText],
  ['ecdsa 384, -p -m PEM (SEC1)', () => convert(keys.generate('ecdsa', { bits: 384 }), 'PEM')],
  ['ecdsa 521, -m PKCS8', () => keys.generate('ecdsa', { bits: 521, format: 'PKCS8' }).privateText],
  ['rsa, -m PKCS8', () => keys.generate('rsa', { format: 'PKCS8' }).privateText],
  ['rsa, -p -m PKCS8', () => convert(keys.generate('rsa'), 'PKCS8')],
  ['ecdsa, -p -m PKCS8', () => convert(keys.generate('ecdsa'), 'PKCS8')],
  [
    'rsa, -m PKCS8, encrypted (EncryptedPrivateKeyInfo)',
    () => keys.generate('rsa', { format: 'PKCS8', passphrase: 'pw-123456' }).privateText,
  ],
  [
    'ecdsa, -p -m PKCS8, encrypted (EncryptedPrivateKeyInfo)',
    () => convert(keys.generate('ecdsa', { passphrase: 'pw-123456' }), 'PKCS8', 'pw-123456'),
  ],
];

describe('private keys made by ssh-keygen are detected in every shape', () => {
  describe.each(sshKeygenFiles)('%s', (_name, make) => {
    const file = make();
    test.each(shapesOf(file))('%s', (_shape, text) => {
      expect(containsPrivateKeyMaterial(text)).toBe(true);
    });
  });

  test('an encrypted PEM (-m PEM -N) without its BEGIN/END lines is caught by its Proc-Type header', () => {
    const file = keys.generate('rsa', { format: 'PEM', passphrase: 'pw-123456' }).privateText;
    expect(file).toMatch(/Proc-Type: 4,ENCRYPTED/);
    for (const [, text] of shapesOf(file)) expect(containsPrivateKeyMaterial(text)).toBe(true);
  });
});

/** node:crypto key pairs: every export of the private half. */
function nodePair(kind: 'rsa' | 'ec' | 'ed25519' | 'ed448' | 'x25519'): {
  privateKey: KeyObject;
  publicKey: KeyObject;
} {
  return keyPair(kind);
}

const nodeKinds = ['rsa', 'ec', 'ed25519', 'ed448', 'x25519'] as const;

describe.each(nodeKinds)('private keys made by node:crypto (%s) are detected', (kind) => {
  const { privateKey } = nodePair(kind);
  const der = (type: 'pkcs8' | 'pkcs1' | 'sec1') =>
    privateKey.export({ type, format: 'der' } as never) as unknown as Buffer;
  const jwk = privateKey.export({ format: 'jwk' });
  const shapes: [string, string][] = [
    ['PKCS#8 PEM', privateKey.export({ type: 'pkcs8', format: 'pem' }) as string],
    ['PKCS#8 DER, base64 on one line', der('pkcs8').toString('base64')],
    ['PKCS#8 DER, base64url', der('pkcs8').toString('base64url')],
    [
      'encrypted PKCS#8 PEM',
      privateKey.export({
        type: 'pkcs8',
        format: 'pem',
        cipher: 'aes-256-cbc',
        passphrase: 'pw-123456',
      }) as string,
    ],
    ['JWK', JSON.stringify(jwk)],
    ['JWK, pretty-printed', JSON.stringify(jwk, null, 2)],
    ['JWK inside a JSON payload', JSON.stringify({ type: 'view_submission', value: JSON.stringify(jwk) })],
    ['JWK base64-encoded', Buffer.from(JSON.stringify(jwk)).toString('base64')],
  ];
  if (kind === 'rsa') shapes.push(['PKCS#1 DER, base64', der('pkcs1').toString('base64')]);
  if (kind === 'ec') shapes.push(['SEC1 DER, base64', der('sec1').toString('base64')]);
  test.each(shapes)('%s', (_shape, text) => {
    expect(containsPrivateKeyMaterial(text)).toBe(true);
    for (const [, shape] of shapesOf(text).slice(0, 4)) expect(containsPrivateKeyMaterial(shape)).toBe(true);
  });
});

describe('public keys and ordinary text are not private keys', () => {
  const publicInputs: [string, () => string][] = [
    ['ssh-ed25519 line', () => keys.generate('ed25519').publicLine],
    ['ssh-rsa line', () => keys.generate('rsa').publicLine],
    ['ecdsa-sha2-nistp256 line', () => keys.generate('ecdsa').publicLine],
    ['ecdsa-sha2-nistp521 line', () => keys.generate('ecdsa', { bits: 521 }).publicLine],
    ['sk-ssh-ed25519 line', () => securityKeyLine('ed25519')],
    ['sk-ecdsa line', () => securityKeyLine('ecdsa')],
    ['certificate line', () => keys.certificate(keys.generate('ed25519'))],
    ['RFC 4716 block (rsa)', () => keys.exportPublic(keys.generate('rsa'), 'RFC4716')],
    ['RFC 4716 block (ed25519)', () => keys.exportPublic(keys.generate('ed25519'), 'RFC4716')],
    ['-----BEGIN PUBLIC KEY----- (SPKI, rsa)', () => keys.exportPublic(keys.generate('rsa'), 'PKCS8')],
    ['-----BEGIN RSA PUBLIC KEY----- (PKCS#1)', () => keys.exportPublic(keys.generate('rsa'), 'PEM')],
    ['SPKI (ecdsa)', () => keys.exportPublic(keys.generate('ecdsa'), 'PKCS8')],
    ...nodeKinds.flatMap((kind): [string, () => string][] => [
      [`${kind} SPKI PEM`, () => nodePair(kind).publicKey.export({ type: 'spki', format: 'pem' }) as string],
      [
        `${kind} SPKI DER base64`,
        () => (nodePair(kind).publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64'),
      ],
      [`${kind} public JWK`, () => JSON.stringify(nodePair(kind).publicKey.export({ format: 'jwk' }))],
    ]),
    [
      'a Slack form submission holding a public key',
      () =>
        JSON.stringify({
          type: 'view_submission',
          team: { id: 'T0001', domain: 'acme' },
          user: { id: 'U1' },
          trigger_id: '1234567890.123456789.0123456789abcdef0123456789abcdef',
          view: {
            id: 'V1',
            hash: '1700000000.AbCdEf12',
            state: {
              values: {
                public_key: {
                  public_key: { type: 'plain_text_input', value: keys.generate('rsa').publicLine },
                },
                reason: { reason: { type: 'plain_text_input', value: 'on call, see INC-42' } },
              },
            },
          },
        }),
    ],
    [
      'a slash command body holding a public key',
      () =>
        new URLSearchParams({ command: '/sshkey', text: `add web ${quickEd25519Line('a@b')}` }).toString(),
    ],
    ['prose', () => 'My laptop was stolen, so I rotated my private key and need access to web again today.'],
    [
      'prose about keys',
      () => 'Never paste a private key here: use the .pub file (ssh-keygen -y prints it).',
    ],
    ['a commit hash and a UUID', () => 'fixed in 4ffaa13e0b9c2d1f8a7e6b5c4d3e2f1a0b9c8d7e, ticket 3f2a…'],
    ['a URL', () => 'https://hooks.slack.com/commands/T0001/1234567890/AbCdEfGhIjKlMnOpQrStUvWx'],
    ['unicode', () => 'Zugang für 東京 チーム — ключ 🔑 ‘quoted’ “twice”'],
    [
      'shouting PRIVATE KEY next to a public key block',
      () => `lost my PRIVATE KEY ${keys.exportPublic(keys.generate('ed25519'), 'RFC4716')}`,
    ],
    [
      'a public JWK next to a word d: and a long word',
      () =>
        `${JSON.stringify(nodePair('ec').publicKey.export({ format: 'jwk' }))} d: sk-ecdsa-sha2-nistp256@openssh.com`,
    ],
  ];

  test.each(publicInputs)('%s', (_name, make) => {
    const text = make();
    expect(containsPrivateKeyMaterial(text)).toBe(false);
    expect(containsPrivateKeyMaterial(encodeURIComponent(text))).toBe(false);
    expect(containsPrivateKeyMaterial(JSON.stringify({ text }))).toBe(false);
  });

  test('public keys in every format still parse', () => {
    const key = keys.generate('rsa');
    for (const input of [key.publicLine, keys.exportPublic(key, 'RFC4716'), keys.exportPublic(key, 'PKCS8')])
      expect(parsePublicKey(input).fingerprint).toBe(keys.fingerprint(key.publicLine).fingerprint);
  });

  test('random base64 blobs are not private keys', () => {
    for (let i = 0; i < 2000; i += 1) {
      const blob = randomBytes(24 + (i % 1200)).toString(i % 2 ? 'base64' : 'base64url');
      expect(containsPrivateKeyMaterial(blob)).toBe(false);
    }
  });
});

describe('refusePrivateKey', () => {
  test('throws the private-key warning on the field named, without the input', () => {
    const secret = keys.generate('ed25519').privateText;
    let caught: unknown;
    try {
      refusePrivateKey(Buffer.from(secret).toString('base64'), 'reason');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DomainError);
    const error = caught as DomainError;
    expect(error.code).toBe('private_key');
    expect(error.field).toBe('reason');
    expect(error.message).toBe(PRIVATE_KEY_MESSAGE);
    expect(error.message).toMatch(/never be shared/);
    expect(error.message).toMatch(/exposed/);
    expect(error.message).toMatch(/create a new key/);
    for (const line of bodyLines(secret)) expect(error.message).not.toContain(line.slice(0, 20));
  });

  test('lets ordinary text through', () => {
    expect(() => refusePrivateKey('incident 42, on call tonight', 'reason')).not.toThrow();
  });
});

describe('the logger withholds every shape, however Slack and Bolt encode it', () => {
  const encodings: [string, (s: string) => string][] = [
    ['as is', (s) => s],
    ['JSON-escaped', (s) => JSON.stringify({ text: s })],
    ['JSON-escaped with \\/ like Slack', (s) => JSON.stringify({ text: s }).replace(/\//g, '\\/')],
    ['a JSON payload inside a JSON body', (s) => JSON.stringify({ payload: JSON.stringify({ value: s }) })],
    ['URL-encoded with +', (s) => new URLSearchParams({ text: `add web --reason ${s}` }).toString()],
    ['URL-encoded with %20', (s) => encodeURIComponent(s)],
    [
      'a URL-encoded JSON payload (an interaction body)',
      (s) => new URLSearchParams({ payload: JSON.stringify({ view: { value: s } }) }).toString(),
    ],
  ];
  const secrets: [string, () => string][] = [
    ['OpenSSH file', () => keys.generate('ed25519').privateText],
    [
      'PEM file base64-encoded',
      () => Buffer.from(keys.generate('ecdsa', { format: 'PEM' }).privateText).toString('base64'),
    ],
    [
      'OpenSSH file base64-encoded',
      () => Buffer.from(keys.generate('ed25519').privateText).toString('base64'),
    ],
    [
      'PKCS#8 body without BEGIN/END',
      () => bodyLines(keys.generate('rsa', { format: 'PKCS8' }).privateText).join('\n'),
    ],
    [
      'one-line PKCS#8 DER',
      () =>
        (keyPair('ed25519').privateKey.export({ type: 'pkcs8', format: 'der' }) as Buffer).toString('base64'),
    ],
    ['private JWK', () => JSON.stringify(keyPair('ec').privateKey.export({ format: 'jwk' }))],
  ];

  describe.each(secrets)('%s', (_name, make) => {
    const secret = make();
    test.each(encodings)('%s', (_how, encode) => {
      const lines: string[] = [];
      createLogger({ level: LogLevel.DEBUG, write: (line) => lines.push(line) }).debug(
        'Received a request:',
        encode(secret),
      );
      expect(lines.map((line) => JSON.parse(line) as { level: string; msg: string })).toEqual([
        { level: 'debug', time: expect.any(String), msg: WITHHELD },
      ]);
    });
  });
});

describe('cost', () => {
  test('a megabyte of input of any kind is scanned in well under a second', () => {
    const MB = 1 << 20;
    const inputs = [
      randomBytes((MB * 3) / 4).toString('base64'),
      randomBytes((MB * 3) / 4)
        .toString('base64')
        .replace(/(.{64})/g, '$1\n'),
      Array.from({ length: MB / 41 }, () => randomBytes(30).toString('base64')).join(' '),
      'the quick brown fox jumps over the lazy dog '.repeat(MB / 44),
      '\\'.repeat(MB),
      '%25'.repeat(MB / 3),
      'BEGIN '.repeat(MB / 6),
      'd: '.repeat(MB / 3) + '"kty":',
      Buffer.from('hello world '.repeat(MB / 16)).toString('base64'),
    ];
    for (const input of inputs) {
      const started = performance.now();
      expect(containsPrivateKeyMaterial(input)).toBe(false);
      expect(performance.now() - started).toBeLessThan(1000);
    }
  });
});
