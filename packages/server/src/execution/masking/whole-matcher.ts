/*
 * Aho–Corasick over bytes: one pass over the output finds every occurrence of every whole pattern.
 * Kept in typed arrays (a few bytes per state instead of a Map per state) because a user with a few
 * hundred values has tens of thousands of states, built anew for every run.
 */
import { fold, WORD } from './bytes.js';

/** A word-only pattern ending in some state: its length and which of its sides need a word boundary. */
export interface WordEnd {
  readonly length: number;
  /** Its first byte continues a word, so the byte before it must not. */
  readonly boundaryBefore: boolean;
  /** Its last byte continues a word, so the byte after it must not. */
  readonly boundaryAfter: boolean;
}

/** States with at least this many children get a full row of 256 transitions: no search, no fail walk. */
const DENSE_FANOUT = 8;

export class WholeMatcher {
  constructor(
    readonly offsets: Int32Array,
    readonly labels: Uint8Array,
    readonly targets: Int32Array,
    readonly fail: Int32Array,
    /** Start of the state's full transition row in `rows`, or -1. The root always has one. */
    readonly rowOf: Int32Array,
    readonly rows: Int32Array,
    /** How many bytes lead from the root to each state: the length of the pattern prefix it stands for. */
    readonly depth: Int32Array,
    /** Length of the longest anywhere-pattern ending in each state (its own or a suffix's); 0 if none. */
    readonly anywhere: Int32Array,
    /** Word-only patterns ending in a state (its own or a suffix's), for the few states that have any. */
    readonly words: ReadonlyMap<number, readonly WordEnd[]>,
    /** 1 for the states in `words`: a flag per state is cheaper to test on every byte than the map. */
    readonly hasWords: Uint8Array,
    readonly maxLength: number,
    readonly minLength: number,
  ) {}

  /** The state after reading (folded) `byte` in `state`. */
  next(state: number, byte: number): number {
    for (;;) {
      const row = this.rowOf[state]!;
      if (row >= 0) return this.rows[row + byte]!;
      for (let e = this.offsets[state]!, end = this.offsets[state + 1]!; e < end; e++)
        if (this.labels[e] === byte) return this.targets[e]!;
      state = this.fail[state]!;
    }
  }

  get stateCount(): number {
    return this.depth.length;
  }
}

/** Builds the matcher for `anywhere` patterns and word-only `words` patterns (raw bytes; folded here). */
export function buildWholeMatcher(
  anywhere: readonly Uint8Array[],
  words: readonly Uint8Array[],
): WholeMatcher {
  const childOf = new Map<number, number>(); // state·256 + byte → child
  const parent = [0];
  const label = [0];
  const depth = [0];
  const longest = [0];
  const wordEnds = new Map<number, WordEnd[]>();
  let maxLength = 0;
  let minLength = Infinity;

  const insert = (raw: Uint8Array): number => {
    const bytes = fold(raw);
    let state = 0;
    for (const b of bytes) {
      let child = childOf.get(state * 256 + b);
      if (child === undefined) {
        child = parent.length;
        childOf.set(state * 256 + b, child);
        parent.push(state);
        label.push(b);
        depth.push(depth[state]! + 1);
        longest.push(0);
      }
      state = child;
    }
    maxLength = Math.max(maxLength, bytes.length);
    minLength = Math.min(minLength, bytes.length);
    return state;
  };
  for (const p of anywhere)
    if (p.length) {
      const s = insert(p);
      longest[s] = Math.max(longest[s]!, p.length);
    }
  for (const p of words)
    if (p.length) {
      const s = insert(p);
      const end = {
        length: p.length,
        boundaryBefore: WORD[p[0]!] === 1,
        boundaryAfter: WORD[p[p.length - 1]!] === 1,
      };
      wordEnds.set(s, [...(wordEnds.get(s) ?? []), end]);
    }

  const n = parent.length;
  const offsets = new Int32Array(n + 1);
  for (let s = 1; s < n; s++) offsets[parent[s]! + 1]!++;
  for (let s = 0; s < n; s++) offsets[s + 1]! += offsets[s]!;
  const labels = new Uint8Array(n - 1);
  const targets = new Int32Array(n - 1);
  const fill = offsets.slice(0, n);
  for (let s = 1; s < n; s++) {
    const e = fill[parent[s]!]!++;
    labels[e] = label[s]!;
    targets[e] = s;
  }
  const childCount = (s: number) => offsets[s + 1]! - offsets[s]!;
  const goto = (s: number, b: number) => childOf.get(s * 256 + b) ?? -1;

  const fail = new Int32Array(n);
  const rowOf = new Int32Array(n).fill(-1);
  let denseCount = 1;
  for (let s = 1; s < n; s++) if (childCount(s) >= DENSE_FANOUT) denseCount++;
  const rows = new Int32Array(denseCount * 256);
  const matcher = new WholeMatcher(
    offsets,
    labels,
    targets,
    fail,
    rowOf,
    rows,
    Int32Array.from(depth),
    Int32Array.from(longest),
    wordEnds,
    new Uint8Array(n),
    maxLength,
    minLength,
  );
  rowOf[0] = 0;
  for (let b = 0; b < 256; b++) rows[b] = Math.max(goto(0, b), 0);
  let nextRow = 256;

  // States in breadth-first order (by depth), so each one's failure state is complete before it.
  const byDepth = Array.from({ length: n - 1 }, (_, i) => i + 1).sort((a, b) => depth[a]! - depth[b]!);
  for (const s of byDepth) {
    const f = parent[s] === 0 ? 0 : matcher.next(fail[parent[s]!]!, label[s]!);
    fail[s] = f;
    matcher.anywhere[s] = Math.max(matcher.anywhere[s]!, matcher.anywhere[f]!);
    const inherited = wordEnds.get(f);
    if (inherited) wordEnds.set(s, [...(wordEnds.get(s) ?? []), ...inherited]);
    if (childCount(s) >= DENSE_FANOUT) {
      for (let b = 0; b < 256; b++) {
        const t = goto(s, b);
        rows[nextRow + b] = t >= 0 ? t : matcher.next(f, b);
      }
      rowOf[s] = nextRow;
      nextRow += 256;
    }
  }
  for (const s of wordEnds.keys()) matcher.hasWords[s] = 1;
  return matcher;
}
