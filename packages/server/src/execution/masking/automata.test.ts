import { describe, expect, it } from 'vitest';
import { fold } from './bytes.js';
import { buildGramFilter, gramSlot } from './gram-filter.js';
import { buildRunMatcher, type RunCursor } from './run-matcher.js';
import { buildWholeMatcher } from './whole-matcher.js';

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = prng(1);
/** Random bytes over a small alphabet, so that patterns and texts overlap a lot. */
const randomBytes = (n: number, alphabet = 'abcab-+ _/') =>
  Buffer.from(Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]).join(''));

describe('the whole-pattern automaton', () => {
  it('finds the longest pattern ending at every byte, as a brute-force search does', () => {
    for (let round = 0; round < 50; round++) {
      const patterns = Array.from({ length: 1 + Math.floor(rand() * 12) }, () =>
        randomBytes(1 + Math.floor(rand() * 8)),
      );
      const text = randomBytes(300);
      const m = buildWholeMatcher(patterns, []);
      const folded = patterns.map((p) => fold(p));
      let state = 0;
      for (let i = 0; i < text.length; i++) {
        state = m.next(state, fold(text.subarray(i, i + 1))[0]!);
        const upTo = fold(text.subarray(0, i + 1));
        const longest = Math.max(
          0,
          ...folded.filter((p) => upTo.subarray(upTo.length - p.length).equals(p)).map((p) => p.length),
        );
        expect(m.anywhere[state], `${patterns.join('|')} in ${upTo}`).toBe(longest);
        // The state stands for the longest suffix that begins a pattern.
        const depth = m.depth[state]!;
        expect(folded.some((p) => p.subarray(0, depth).equals(upTo.subarray(upTo.length - depth)))).toBe(
          true,
        );
        const longer = folded.some((p) => {
          for (let d = depth + 1; d <= Math.min(p.length, upTo.length); d++)
            if (p.subarray(0, d).equals(upTo.subarray(upTo.length - d))) return true;
          return false;
        });
        expect(longer).toBe(false);
      }
    }
  });

  it('reports word-only patterns with the sides that need a boundary', () => {
    const m = buildWholeMatcher([Buffer.from('anywhere')], [Buffer.from('pass'), Buffer.from('#pin')]);
    let state = 0;
    for (const b of Buffer.from('xpass')) state = m.next(state, b);
    expect(m.hasWords[state]).toBe(1);
    expect(m.words.get(state)).toEqual([{ length: 4, boundaryBefore: true, boundaryAfter: true }]);
    state = 0;
    for (const b of Buffer.from('#pin')) state = m.next(state, b);
    expect(m.words.get(state)).toEqual([{ length: 4, boundaryBefore: false, boundaryAfter: true }]);
    expect(m.minLength).toBe(4);
    expect(m.maxLength).toBe(8);
  });
});

describe('the run automaton', () => {
  const longestSuffixIn = (texts: Buffer[], upTo: Buffer) => {
    for (let n = upTo.length; n > 0; n--) {
      const suffix = upTo.subarray(upTo.length - n);
      if (texts.some((t) => t.includes(suffix))) return n;
    }
    return 0;
  };

  it('knows the longest stretch just read that occurs in its text, as a brute-force search does', () => {
    for (let round = 0; round < 40; round++) {
      const texts = [randomBytes(5 + Math.floor(rand() * 60))];
      const m = buildRunMatcher(texts, 1);
      const folded = texts.map((t) => fold(t));
      const text = randomBytes(200);
      const cursor: RunCursor = { state: 0, length: 0 };
      for (let i = 0; i < text.length; i++) {
        m.step(cursor, fold(text.subarray(i, i + 1))[0]!);
        expect(cursor.length).toBe(longestSuffixIn(folded, fold(text.subarray(0, i + 1))));
      }
      expect(m.stateCount).toBeLessThanOrEqual(2 * folded[0]!.length + 1);
    }
  });

  it('of many texts, recognises every run of each at its full length, and every shorter stretch', () => {
    for (let round = 0; round < 30; round++) {
      const runLength = 2 + Math.floor(rand() * 8);
      const texts = Array.from({ length: 2 + Math.floor(rand() * 4) }, () =>
        randomBytes(runLength + Math.floor(rand() * 40)),
      );
      const m = buildRunMatcher(texts, runLength);
      for (const t of texts.map((x) => fold(x)))
        for (let from = 0; from < t.length; from++) {
          const cursor: RunCursor = { state: 0, length: 0 };
          for (let to = from; to < t.length; to++) {
            m.step(cursor, t[to]!);
            // A stretch shorter than a run must be held back; a run, and all of it, must be masked.
            expect(cursor.length).toBeGreaterThanOrEqual(Math.min(to + 1 - from, runLength));
          }
        }
    }
  });

  it('keeps of a later text only the stretches that hold a run it does not know yet', () => {
    const value = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
    const form = Buffer.from('0123456789abcdefgh%25ijklmnopqrstuvwxyz'); // "%25" escapes one character
    const both = buildRunMatcher([value, form], 8);
    const alone = buildRunMatcher([value], 8);
    expect(both.stateCount - alone.stateCount).toBeLessThan(2 * (8 + 3 + 8));
    // Every run of 8 bytes of either text is still recognised.
    for (const t of [value, form])
      for (let i = 0; i + 8 <= t.length; i++) {
        const cursor: RunCursor = { state: 0, length: 0 };
        for (const b of t.subarray(i, i + 8)) both.step(cursor, b);
        expect(cursor.length).toBe(8);
      }
  });
});

describe('the gram filter', () => {
  it('has every 4-gram of the patterns, and few others', () => {
    const patterns = Array.from({ length: 200 }, () =>
      randomBytes(30, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'),
    );
    const f = buildGramFilter(patterns);
    const has = (gram: Buffer) => {
      const slot = gramSlot(gram.readInt32BE(0), f.shift);
      return (f.bits[slot >>> 5]! & (1 << (slot & 31))) !== 0;
    };
    for (const p of patterns)
      for (let i = 0; i + 4 <= p.length; i++) expect(has(fold(p.subarray(i, i + 4)))).toBe(true);
    let hits = 0;
    for (let i = 0; i < 10_000; i++) if (has(randomBytes(4, 'abcdefghijklmnopqrstuvwxyz .,'))) hits++;
    expect(hits).toBeLessThan(1500);
  });
});
