/*
 * A bitset of the 4-byte grams of every pattern. Any match of 4 bytes or more is made of grams that
 * are all in it, and ordinary output rarely has one: the masker tests one bit per byte and steps its
 * automata (whose states are scattered over megabytes) only where the output could be a match.
 */
import { fold } from './bytes.js';

export interface GramFilter {
  readonly bits: Int32Array;
  /** A gram's slot is its hash shifted right by this much. */
  readonly shift: number;
}

/** The slot of a gram: its 4 (folded) bytes packed big-endian into a 32-bit integer, hashed. */
export const gramSlot = (gram: number, shift: number): number => Math.imul(gram, 0x9e3779b1) >>> shift;

/** The filter of `patterns` (raw bytes; folded here), at about 8 bits per gram. */
export function buildGramFilter(patterns: readonly Uint8Array[]): GramFilter {
  const total = patterns.reduce((n, p) => n + p.length, 0);
  let size = 1 << 16;
  while (size < 8 * total && size < 1 << 26) size *= 2;
  const shift = 32 - Math.log2(size);
  const bits = new Int32Array(size / 32);
  for (const pattern of patterns) {
    const bytes = fold(pattern);
    let gram = 0;
    for (let i = 0; i < bytes.length; i++) {
      gram = (gram << 8) | bytes[i]!;
      if (i < 3) continue;
      const slot = gramSlot(gram, shift);
      bits[slot >>> 5]! |= 1 << (slot & 31);
    }
  }
  return { bits, shift };
}
