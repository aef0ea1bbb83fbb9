import { STORAGE_UNAVAILABLE, STORAGE_UNCONFIRMED } from '../../src/store/keyvStore';
import { OWNER_ID, type Harness } from './harness';
import type { KeyFactory } from './sshKeygen';
import { visibleText } from './slackUser';

/** The answers a user may get while storage fails over: a change made, or one clearly not (or not known). */
export type Outcome = 'added' | 'unavailable' | 'unconfirmed' | 'busy';

export function outcomeOf(text: string): Outcome {
  if (text.includes('Added key')) return 'added';
  if (text.includes(STORAGE_UNCONFIRMED.slice(0, 40))) return 'unconfirmed';
  if (text.includes(STORAGE_UNAVAILABLE.slice(0, 40))) return 'unavailable';
  if (text.includes('Someone else is changing this right now')) return 'busy';
  throw new Error(`an answer that is neither a change nor a storage failure: ${text}`);
}

export interface AddStream {
  /** Every `/sshkey add web` sent so far, with its answer. */
  answers: { line: string; outcome: Outcome }[];
  /** How many answers from index `since` on were changes made. */
  added(since?: number): number;
  /** Waits until `count` changes were made from index `since` on (or `timeoutMs` passed). */
  waitForAdded(count: number, since?: number, timeoutMs?: number): Promise<void>;
  /** Stops sending and waits for the commands under way. */
  stop(): Promise<void>;
}

/**
 * `workers` people adding new keys to project `web` without pause, taking turns between the two
 * replicas; `after` runs after each answer (for work alongside).
 */
export function streamOfAdds(
  harness: Harness,
  keys: KeyFactory,
  workers = 2,
  after?: (worker: number) => Promise<void>,
): AddStream {
  const answers: AddStream['answers'] = [];
  let stopped = false;
  const worker = async (w: number) => {
    for (let i = 0; !stopped; i += 1) {
      const line = keys.generate('ed25519').publicLine;
      const text = visibleText(
        (await harness.user(OWNER_ID, (w + i) % 2).command('/sshkey', `add web ${line}`)).body,
      );
      answers.push({ line, outcome: outcomeOf(text) });
      await after?.(w);
    }
  };
  const running = Array.from({ length: workers }, (_, w) => worker(w));
  const added = (since = 0) => answers.slice(since).filter((a) => a.outcome === 'added').length;
  return {
    answers,
    added,
    waitForAdded: async (count, since = 0, timeoutMs = Infinity) => {
      const until = Date.now() + timeoutMs;
      while (added(since) < count && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    },
    stop: async () => {
      stopped = true;
      await Promise.all(running);
    },
  };
}

/**
 * What the keys stored afterwards must say of the answers: every change acknowledged is there, none
 * refused as unavailable or busy is, and no key is stored twice.
 */
export function expectNoneLostOrDoubled(
  stored: { publicKey: string; fingerprint: string }[],
  answers: AddStream['answers'],
): void {
  const has = (line: string) =>
    stored.some((k) => line.startsWith(`${k.publicKey} `) || line === k.publicKey);
  for (const { line, outcome } of answers) {
    if (outcome === 'added') expect(has(line)).toBe(true); // never lost
    if (outcome === 'unavailable' || outcome === 'busy') expect(has(line)).toBe(false); // nothing changed
  }
  const fingerprints = stored.map((k) => k.fingerprint);
  expect(new Set(fingerprints).size).toBe(fingerprints.length); // nothing doubled
}
