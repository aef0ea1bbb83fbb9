/**
 * Keyv's stored text, written and read faster. Keyv keeps a string value that starts with ':' as '::…'
 * (and a Buffer as ':base64:…'), with a writer that walks every value in JavaScript and a reader that
 * passes every value through a JSON.parse reviver. Such strings are rare in documents (a description may
 * start with an emoji code), so a document holding none is written by JSON.stringify and read by
 * JSON.parse alone; any other takes Keyv's way. The text is Keyv's format either way, byte for byte, so
 * replicas of either kind read each other's writes. Documents are plain JSON values (no Buffers).
 */
export function serialize(data: unknown): string {
  const text = JSON.stringify(data);
  // A string value that starts with ':' follows ':' (in an object), '[' or ',' (in an array); inside a
  // string a quote is escaped, so this finds them all (and keys starting with ':' now and then).
  return /[:,[]":/.test(text) ? JSON.stringify(data, escapeColons) : text;
}

export function deserialize<T>(text: string): T {
  if (!text.includes('"::') && !text.includes('":base64:')) return JSON.parse(text) as T;
  return JSON.parse(text, revive) as T;
}

/** Keyv's escape (@keyv/serialize defaultSerialize): a string value starting with ':' gets one more. */
function escapeColons(_key: string, value: unknown): unknown {
  return typeof value === 'string' && value.startsWith(':') ? `:${value}` : value;
}

/** Keyv's own reviver (@keyv/serialize defaultDeserialize). */
function revive(_key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (value.startsWith(':base64:')) return Buffer.from(value.slice(8), 'base64');
  return value.startsWith(':') ? value.slice(1) : value;
}
