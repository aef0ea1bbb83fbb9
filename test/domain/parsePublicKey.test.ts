import { DomainError } from '../../src/domain/errors';
import { parsePublicKey } from '../../src/domain/keys/parsePublicKey';
import { KeyFactory, keyPair, securityKeyLine, sshString } from '../helpers/sshKeygen';

const keys = new KeyFactory();
afterAll(() => keys.cleanup());

function refusal(input: string): DomainError {
  try {
    parsePublicKey(input);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('the key was accepted');
}

describe('accepted keys match ssh-keygen', () => {
  const cases: [string, () => string][] = [
    ['ed25519', () => keys.generate('ed25519').publicLine],
    ['ecdsa 256', () => keys.generate('ecdsa', { bits: 256 }).publicLine],
    ['ecdsa 384', () => keys.generate('ecdsa', { bits: 384 }).publicLine],
    ['ecdsa 521', () => keys.generate('ecdsa', { bits: 521 }).publicLine],
    ['rsa 2048', () => keys.generate('rsa', { bits: 2048 }).publicLine],
    ['rsa 3072', () => keys.generate('rsa', { bits: 3072 }).publicLine],
    ['sk-ssh-ed25519', () => securityKeyLine('ed25519')],
    ['sk-ecdsa-sha2-nistp256', () => securityKeyLine('ecdsa')],
  ];

  test.each(cases)('%s', (_name, make) => {
    const line = make();
    const parsed = parsePublicKey(line);
    const oracle = keys.fingerprint(line);
    expect(parsed.fingerprint).toBe(oracle.fingerprint);
    expect(parsed.bits).toBe(oracle.bits);
    const [type, data, ...comment] = line.trim().split(' ');
    expect(parsed.type).toBe(type);
    expect(parsed.publicKey).toBe(`${type} ${data}`);
    expect(parsed.comment).toBe(comment.join(' '));
    // The stored form is itself a valid key for ssh-keygen, with the same fingerprint.
    expect(keys.fingerprint(parsed.publicKey).fingerprint).toBe(oracle.fingerprint);
  });

  test('surrounding whitespace, CRLF and a byte-order mark are tolerated', () => {
    const key = keys.generate('ed25519', { comment: 'alice@laptop' });
    const parsed = parsePublicKey(`\uFEFF  \r\n${key.publicLine.trim()}\r\n\r\n  `);
    expect(parsed.fingerprint).toBe(keys.fingerprint(key.publicLine).fingerprint);
    expect(parsed.comment).toBe('alice@laptop');
  });

  test('a comment with spaces is kept whole', () => {
    const key = keys.generate('ed25519', { comment: 'Alice work laptop' });
    expect(parsePublicKey(key.publicLine).comment).toBe('Alice work laptop');
  });

  test.each(['ed25519', 'ecdsa', 'rsa'] as const)(
    'RFC 4716 block of %s is stored in OpenSSH form',
    (type) => {
      const key = keys.generate(type, { comment: 'bob@desk' });
      const block = keys.exportPublic(key, 'RFC4716');
      expect(block).toContain('---- BEGIN SSH2 PUBLIC KEY ----');
      const parsed = parsePublicKey(block.replace(/\n/g, '\r\n'));
      const [openSshType, data] = key.publicLine.split(' ');
      expect(parsed.publicKey).toBe(`${openSshType} ${data}`);
      expect(parsed.fingerprint).toBe(keys.fingerprint(key.publicLine).fingerprint);
    },
  );

  test('RFC 4716 comment header, continued over lines, becomes the comment', () => {
    const key = keys.generate('ed25519');
    const data = key.publicLine.split(' ')[1] as string;
    const block = [
      '---- BEGIN SSH2 PUBLIC KEY ----',
      'Comment: "carol laptop \\',
      'home"',
      ...(data.match(/.{1,70}/g) ?? []),
      '---- END SSH2 PUBLIC KEY ----',
    ].join('\n');
    const parsed = parsePublicKey(block);
    expect(parsed.comment).toBe('carol laptop home');
    expect(parsed.fingerprint).toBe(keys.fingerprint(key.publicLine).fingerprint);
  });

  test.each([
    ['rsa', 'PKCS8'],
    ['rsa', 'PEM'],
    ['ecdsa', 'PKCS8'],
  ] as const)('PEM public key (%s, %s) is converted to OpenSSH', (type, format) => {
    const key = keys.generate(type);
    const pem = keys.exportPublic(key, format);
    expect(pem).toMatch(/-----BEGIN (RSA )?PUBLIC KEY-----/);
    const parsed = parsePublicKey(pem);
    expect(parsed.fingerprint).toBe(keys.fingerprint(key.publicLine).fingerprint);
    expect(parsed.publicKey).toBe(key.publicLine.split(' ').slice(0, 2).join(' '));
  });

  test('PKCS#8 ed25519 public key is converted to OpenSSH', () => {
    const { publicKey } = keyPair('ed25519');
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const parsed = parsePublicKey(pem);
    expect(parsed.type).toBe('ssh-ed25519');
    expect(keys.fingerprint(parsed.publicKey).fingerprint).toBe(parsed.fingerprint);
  });
});

describe('private keys are refused and never echoed', () => {
  const cases: [string, () => string][] = [
    ['OpenSSH', () => keys.generate('ed25519').privateText],
    ['OpenSSH encrypted', () => keys.generate('ed25519', { passphrase: 'correct horse' }).privateText],
    ['PEM RSA', () => keys.generate('rsa', { format: 'PEM' }).privateText],
    ['PEM EC', () => keys.generate('ecdsa', { format: 'PEM' }).privateText],
    ['PKCS#8', () => keys.generate('rsa', { format: 'PKCS8' }).privateText],
    [
      'PKCS#8 encrypted',
      () => keys.generate('rsa', { format: 'PKCS8', passphrase: 'pw-123456' }).privateText,
    ],
    [
      'OpenSSH body without its header lines',
      () => keys.generate('ed25519').privateText.split('\n').slice(1, -2).join('\n'),
    ],
    [
      'OpenSSH private key pasted on one line',
      () => keys.generate('ed25519').privateText.replace(/\n/g, ' '),
    ],
    [
      'PuTTY',
      () =>
        [
          'PuTTY-User-Key-File-3: ssh-ed25519',
          'Encryption: none',
          'Comment: eddsa-key-20260101',
          'Public-Lines: 2',
          'AAAAC3NzaC1lZDI1NTE5AAAAIDq4p2H4d9gN2d3L1m8Xl6a9eL0uY7kYB8d5T4hQe0xy',
          'Private-Lines: 1',
          'AAAAIGv2Q7bqH3zLrW1Vx0nU5cJ8eKp4sT6yD9fA2gB1hC3i',
          'Private-MAC: 5b1e2f',
        ].join('\n'),
    ],
  ];

  test.each(cases)('%s', (_name, make) => {
    const secret = make();
    const error = refusal(secret);
    expect(error.code).toBe('private_key');
    expect(error.message).toMatch(/private/i);
    expect(error.message).toMatch(/never be shared/);
    expect(error.message).toMatch(/exposed/);
    // Nothing of the secret's body appears in the answer.
    const bodyLines = secret.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----'));
    for (const line of bodyLines) expect(error.message).not.toContain(line.slice(0, 20));
  });
});

describe('refusals say what is wrong', () => {
  test('DSA is weak', () => {
    const error = refusal(keys.generate('dsa').publicLine);
    expect(error.code).toBe('invalid_key');
    expect(error.message).toMatch(/DSA keys are weak/);
  });

  test('RSA under 2048 bits is weak and the size is named', () => {
    const error = refusal(keys.generate('rsa', { bits: 1024 }).publicLine);
    expect(error.message).toMatch(/only 1024 bits; at least 2048/);
  });

  test('a certificate is refused', () => {
    const cert = keys.certificate(keys.generate('ed25519'));
    expect(cert).toMatch(/^ssh-ed25519-cert-v01@openssh.com /);
    expect(refusal(cert).message).toMatch(/certificate/);
  });

  test.each(['from="10.0.0.1"', 'command="/bin/true"', 'no-pty', 'restrict,no-agent-forwarding'])(
    'authorized_keys option %s is refused',
    (option) => {
      const key = keys.generate('ed25519');
      expect(refusal(`${option} ${key.publicLine}`).message).toMatch(/options/);
    },
  );

  test('two keys at once are refused', () => {
    const text = `${keys.generate('ed25519').publicLine}\n${keys.generate('ed25519').publicLine}`;
    expect(refusal(text).message).toMatch(/one key at a time/);
  });

  test('two RFC 4716 blocks at once are refused', () => {
    const a = keys.exportPublic(keys.generate('ed25519'), 'RFC4716');
    const b = keys.exportPublic(keys.generate('ed25519'), 'RFC4716');
    expect(refusal(a + b).message).toMatch(/one key at a time/);
  });

  test.each(['', '   ', '\r\n'])('empty input %j is refused', (input) => {
    expect(refusal(input).message).toMatch(/No key was given/);
  });

  test('truncated key data is refused', () => {
    const line = keys.generate('ed25519').publicLine;
    const [type, data] = line.split(' ') as [string, string];
    expect(refusal(`${type} ${data.slice(0, 40)}`).message).toMatch(/truncated or damaged/);
    expect(refusal(`${type} ${data.slice(0, -4)}`).message).toMatch(/truncated or damaged/);
    expect(refusal(type).message).toMatch(/truncated or damaged/);
  });

  test('key data with extra bytes is refused', () => {
    const [type, data] = keys.generate('rsa').publicLine.split(' ') as [string, string];
    const padded = Buffer.concat([Buffer.from(data, 'base64'), Buffer.from('AAAA')]).toString('base64');
    expect(refusal(`${type} ${padded}`).message).toMatch(/truncated or damaged/);
  });

  test('a type label that does not match the key data is refused', () => {
    const data = keys.generate('ed25519').publicLine.split(' ')[1];
    expect(refusal(`ssh-rsa ${data} me`).message).toMatch(
      /labelled `ssh-rsa` but its data is a `ssh-ed25519` key/,
    );
  });

  test('a damaged security key is refused', () => {
    const blob = Buffer.concat([
      sshString('sk-ssh-ed25519@openssh.com'),
      sshString(Buffer.alloc(31)),
      sshString('ssh:'),
    ]);
    expect(refusal(`sk-ssh-ed25519@openssh.com ${blob.toString('base64')}`).message).toMatch(
      /truncated or damaged/,
    );
    const point = Buffer.alloc(65, 7);
    point[0] = 4;
    const ecdsa = Buffer.concat([
      sshString('sk-ecdsa-sha2-nistp256@openssh.com'),
      sshString('nistp256'),
      sshString(point),
      sshString('ssh:'),
    ]);
    expect(refusal(`sk-ecdsa-sha2-nistp256@openssh.com ${ecdsa.toString('base64')}`).message).toMatch(
      /truncated or damaged/,
    );
  });

  test('an unknown type is refused with the accepted list', () => {
    const blob = Buffer.concat([sshString('ssh-xmss@openssh.com'), sshString('x')]).toString('base64');
    expect(refusal(`ssh-xmss@openssh.com ${blob}`).message).toMatch(/not accepted.*ssh-ed25519/);
  });

  test('text that is no key is refused with how to find one', () => {
    expect(refusal('hello there').message).toMatch(/does not look like an SSH public key.*\.pub/);
  });

  test('a key split over lines is refused', () => {
    const line = keys.generate('ed25519').publicLine;
    expect(refusal(`${line.slice(0, 40)}\n${line.slice(40)}`).message).toMatch(/split over several lines/);
  });

  test('input over 16 KiB is refused', () => {
    const line = keys.generate('ed25519').publicLine.trim();
    expect(refusal(`${line} ${'x'.repeat(17 * 1024)}`).message).toMatch(/more than 16 KiB/);
  });
});
