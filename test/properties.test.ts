import fc from 'fast-check';
import { DomainError } from '../src/domain/errors';
import { containsPrivateKeyMaterial } from '../src/domain/keys/privateKey';
import { parsePublicKey } from '../src/domain/keys/parsePublicKey';
import { readFlags, tokenize } from '../src/slack/tokenize';
import { KeyFactory, keyPair, securityKeyLine } from './helpers/sshKeygen';

/**
 * Properties over thousands of generated inputs: the tokenizer, the key parser and the private-key
 * detector throw nothing but DomainError; the detector finds a real private key wherever it is put,
 * however it is encoded, and never calls public keys or plain text private.
 */
const keys = new KeyFactory();
afterAll(() => keys.cleanup());

const ed25519 = keys.generate('ed25519');
const rsa = keys.generate('rsa');
const ecdsa = keys.generate('ecdsa');
const ecdsaPem = keys.generate('ecdsa', { format: 'PEM' });
const rsaPkcs8 = keys.generate('rsa', { format: 'PKCS8' });
const encrypted = keys.generate('ed25519', { passphrase: 'pw-123456' });
const nodeEd25519 = keyPair('ed25519');
const nodeEc = keyPair('ec', 'P-384');

const body = (pem: string) =>
  pem
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('-----'))
    .join('\n');
const base64 = (text: string) => Buffer.from(text).toString('base64');

/** Real private keys in the shapes people paste them. */
const PRIVATE: string[] = [
  ed25519.privateText,
  rsa.privateText,
  encrypted.privateText,
  ecdsaPem.privateText,
  rsaPkcs8.privateText,
  base64(ed25519.privateText),
  base64(ecdsaPem.privateText),
  base64(rsaPkcs8.privateText),
  body(ed25519.privateText),
  body(rsaPkcs8.privateText),
  body(ecdsaPem.privateText).replace(/\n/g, ''),
  (nodeEd25519.privateKey.export({ type: 'pkcs8', format: 'der' }) as Buffer).toString('base64'),
  (nodeEc.privateKey.export({ type: 'sec1', format: 'der' }) as Buffer).toString('base64'),
  JSON.stringify(nodeEc.privateKey.export({ format: 'jwk' })),
  JSON.stringify(nodeEd25519.privateKey.export({ format: 'jwk' }), null, 2),
];

/** Public keys in every format Keyhouse accepts. */
const PUBLIC: string[] = [
  ed25519.publicLine.trim(),
  rsa.publicLine.trim(),
  ecdsa.publicLine.trim(),
  securityKeyLine('ed25519'),
  securityKeyLine('ecdsa'),
  keys.exportPublic(rsa, 'RFC4716'),
  keys.exportPublic(ed25519, 'RFC4716'),
  keys.exportPublic(rsa, 'PKCS8'),
  keys.exportPublic(ecdsa, 'PKCS8'),
  nodeEd25519.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  JSON.stringify(nodeEc.publicKey.export({ format: 'jwk' })),
];

/** How a text travels: as typed, in a JSON body, in a form body, in a form body holding JSON. */
const ENCODINGS: ((text: string) => string)[] = [
  (text) => text,
  (text) => JSON.stringify({ text }),
  (text) => JSON.stringify({ payload: JSON.stringify({ value: text }) }),
  (text) => new URLSearchParams({ text }).toString(),
  (text) => encodeURIComponent(text),
  (text) => new URLSearchParams({ payload: JSON.stringify({ view: { value: text } }) }).toString(),
];

const anyText = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.base64String({ maxLength: 400 }),
  fc.constantFrom(...PUBLIC, ...PRIVATE),
);

/** Characters that end a pasted value: whitespace, quotes, brackets, punctuation. */
const separator = fc.constantFrom(
  ' ',
  '\n',
  '\t',
  '"',
  '\u201c',
  "'",
  '(',
  ')',
  ',',
  ';',
  ':',
  '<',
  '>',
  '|',
);

const onlyDomainErrors = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
  }
};

/** A real key with some characters changed, removed or added. */
const mutated = (pool: string[]) =>
  fc
    .tuple(
      fc.constantFrom(...pool),
      fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.string({ maxLength: 4 })), { maxLength: 4 }),
    )
    .map(([key, edits]) => {
      let text = key;
      for (const [at, remove, insert] of edits) {
        const i = at % (text.length + 1);
        text = text.slice(0, i) + insert + text.slice(i + remove);
      }
      return text;
    });

describe('the tokenizer', () => {
  test('throws only DomainError, and its tokens are ordered, disjoint and inside the text', () => {
    const slackish = fc
      .array(
        fc.oneof(
          fc.string({ maxLength: 12 }),
          fc.constantFrom(
            '"',
            '\u201c',
            '\u201d',
            '<',
            '>',
            '<@U123|alice>',
            '<#C9|ops>',
            '<!here>',
            '--',
            '=',
          ),
          fc.constantFrom('--reason', '--name=x', '&lt;', '&amp;', ' ', '\n'),
        ),
        { maxLength: 20 },
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.oneof(anyText, slackish), (raw) => {
        let tokens: ReturnType<typeof tokenize>;
        try {
          tokens = tokenize(raw);
        } catch (error) {
          expect(error).toBeInstanceOf(DomainError);
          return;
        }
        let last = 0;
        for (const token of tokens) {
          expect(token.start).toBeGreaterThanOrEqual(last);
          expect(token.end).toBeGreaterThan(token.start);
          expect(token.end).toBeLessThanOrEqual(raw.length);
          last = token.end;
        }
        onlyDomainErrors(() => readFlags(tokens, 0, ['reason', 'name'], '/sshkey add'));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('the key parser', () => {
  test('throws only DomainError on any input, mutated real keys included', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, mutated(PUBLIC), mutated(PRIVATE)), (input) => {
        onlyDomainErrors(() => parsePublicKey(input));
      }),
      { numRuns: 2000 },
    );
  });

  test('refuses every private key shape as private', () => {
    for (const secret of PRIVATE) {
      try {
        parsePublicKey(secret);
        throw new Error('accepted a private key');
      } catch (error) {
        expect(error).toBeInstanceOf(DomainError);
        expect((error as DomainError).code).toBe('private_key');
      }
    }
  });
});

describe('the private-key detector', () => {
  test('never throws', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, mutated(PRIVATE), mutated(PUBLIC)), (input) => {
        expect(typeof containsPrivateKeyMaterial(input)).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });

  test('finds a real private key put anywhere in any text, however the text is encoded', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        separator,
        fc.constantFrom(...PRIVATE),
        separator,
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        fc.constantFrom(...ENCODINGS),
        (before, open, secret, close, after, encode) => {
          expect(containsPrivateKeyMaterial(encode(before + open + secret + close + after))).toBe(true);
        },
      ),
      { numRuns: 1500 },
    );
  });

  test('finds nothing in text holding only public keys, however it is encoded', () => {
    const prose = fc
      .array(
        fc.oneof(
          fc.constantFrom(
            'incident',
            'on call',
            'please',
            'rotate',
            'private',
            'key',
            'kty',
            'd',
            'PRIVATE',
            'KEY',
          ),
          fc.string({ unit: 'grapheme', maxLength: 20 }),
          fc.constantFrom(...PUBLIC),
        ),
        { maxLength: 12 },
      )
      .chain((parts) => fc.constantFrom(' ', '\n', ': ').map((glue) => parts.join(glue)));
    fc.assert(
      fc.property(prose, fc.constantFrom(...ENCODINGS), (text, encode) => {
        expect(containsPrivateKeyMaterial(encode(text))).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});
