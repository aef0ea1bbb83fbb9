import fc from 'fast-check';
import Keyv from 'keyv';
import { deserialize, serialize } from '../../src/store/serialization';

/** The store reads Keyv's format its own faster way: for anything Keyv writes, it reads what Keyv reads. */
const keyv = new Keyv();
const text = fc.oneof(
  fc.string(),
  fc.constantFrom(':rocket: web team', '::', ':base64:', ':', 'a "::" b', '":base64:"', '\\"::'),
  fc.string().map((s) => `:${s}`),
);
const value = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small' },
    text,
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.dictionary(text, tie('tree'), { maxKeys: 4 }),
  ),
})).tree;

test('reads every document Keyv writes as Keyv reads it, strings starting with a colon included', async () => {
  await fc.assert(
    fc.asyncProperty(value, fc.option(fc.integer({ min: 0 })), async (data, expires) => {
      const stored = await keyv.serializeData({ value: data, ...(expires !== null ? { expires } : {}) });
      expect(deserialize(String(stored))).toEqual(await keyv.deserializeData(String(stored)));
    }),
    { numRuns: 2000 },
  );
});

test('writes every document as Keyv writes it, byte for byte', async () => {
  await fc.assert(
    fc.asyncProperty(value, fc.option(fc.integer({ min: 0 })), async (data, expires) => {
      const entry = { value: data, ...(expires !== null ? { expires } : {}) };
      expect(serialize(entry)).toBe(String(await keyv.serializeData(entry)));
    }),
    { numRuns: 2000 },
  );
});

test('a description starting with an emoji code keeps its colon', async () => {
  const stored = await keyv.serializeData({ value: { description: ':rocket: web' } });
  expect(deserialize(String(stored))).toEqual({ value: { description: ':rocket: web' } });
});
