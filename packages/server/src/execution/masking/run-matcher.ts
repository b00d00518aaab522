/*
 * A suffix automaton of the long values' forms: read byte by byte, it knows the longest stretch of
 * output just read that occurs anywhere in one of them. A stretch of RUN_LENGTH bytes or more is a
 * run of a value, masked even though the value is not there whole (a display cut it).
 *
 * One automaton for all the texts (a "generalised" suffix automaton): at most 2 states and 3
 * transitions per byte of text, whereas a trie of every run would need RUN_LENGTH states per byte.
 */
import { fold } from './bytes.js';

/** States with at least this many transitions get a full row of 256: no search on the hot path. */
const DENSE_FANOUT = 8;

/** Where a reading stands: the state of the longest stretch just read that occurs in a text, and its length. */
export interface RunCursor {
  state: number;
  length: number;
}

export class RunMatcher {
  constructor(
    readonly offsets: Int32Array,
    readonly labels: Uint8Array,
    readonly targets: Int32Array,
    /** Start of the state's full transition row in `rows` (-1 where there is none), or -1. */
    readonly rowOf: Int32Array,
    readonly rows: Int32Array,
    /** Length of the longest stretch each state stands for. */
    readonly len: Int32Array,
    /** The state of the longest shorter suffix that belongs elsewhere (-1 for the root). */
    readonly link: Int32Array,
    readonly maxLength: number,
  ) {}

  /** Moves `cursor` over (folded) `byte`. */
  step(cursor: RunCursor, byte: number): void {
    let s = cursor.state;
    for (;;) {
      const t = this.next(s, byte);
      if (t >= 0) {
        cursor.state = t;
        cursor.length++;
        return;
      }
      if (s === 0) {
        cursor.state = 0;
        cursor.length = 0;
        return;
      }
      s = this.link[s]!;
      cursor.length = this.len[s]!;
    }
  }

  /** The state after (folded) `byte` from `state`, or -1 when the stretch cannot be extended by it. */
  next(state: number, byte: number): number {
    const row = this.rowOf[state]!;
    if (row >= 0) return this.rows[row + byte]!;
    for (let e = this.offsets[state]!, end = this.offsets[state + 1]!; e < end; e++)
      if (this.labels[e] === byte) return this.targets[e]!;
    return -1;
  }

  get stateCount(): number {
    return this.len.length;
  }
}

/** A growable Int32Array: the automaton's size is known only once it is built. */
class Ints {
  data: Int32Array;
  size = 0;
  constructor(capacity: number) {
    this.data = new Int32Array(Math.max(16, capacity));
  }
  push(v: number): number {
    if (this.size === this.data.length) {
      const bigger = new Int32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.size] = v;
    return this.size++;
  }
}

/**
 * Transitions while the automaton is built: a short list per state, and a full row of 256 once a state
 * has DENSE_FANOUT of them (the states near the root, which every fallback of the build reaches).
 */
class BuildingTransitions {
  private readonly head = new Ints(1024);
  private readonly count = new Ints(1024);
  private readonly rowIndex = new Ints(1024);
  private readonly rows: Int32Array[] = [];
  private readonly label = new Ints(1024);
  private readonly target = new Ints(1024);
  private readonly next = new Ints(1024);

  addState(): void {
    this.head.push(-1);
    this.count.push(0);
    this.rowIndex.push(-1);
  }

  get(s: number, c: number): number {
    const r = this.rowIndex.data[s]!;
    if (r >= 0) return this.rows[r]![c]!;
    for (let e = this.head.data[s]!; e >= 0; e = this.next.data[e]!)
      if (this.label.data[e] === c) return this.target.data[e]!;
    return -1;
  }

  set(s: number, c: number, t: number): void {
    const r = this.rowIndex.data[s]!;
    if (r >= 0) {
      const row = this.rows[r]!;
      if (row[c]! < 0) this.count.data[s]!++;
      row[c] = t;
      return;
    }
    for (let e = this.head.data[s]!; e >= 0; e = this.next.data[e]!)
      if (this.label.data[e] === c) {
        this.target.data[e] = t;
        return;
      }
    this.label.push(c);
    this.target.push(t);
    this.head.data[s] = this.next.push(this.head.data[s]!);
    if (++this.count.data[s]! < DENSE_FANOUT) return;
    const row = new Int32Array(256).fill(-1);
    for (let e = this.head.data[s]!; e >= 0; e = this.next.data[e]!)
      row[this.label.data[e]!] = this.target.data[e]!;
    this.rowIndex.data[s] = this.rows.push(row) - 1;
    this.head.data[s] = -1;
  }

  countOf(s: number): number {
    return this.count.data[s]!;
  }

  /** Calls `each` for every transition of `s`. */
  forEach(s: number, each: (c: number, t: number) => void): void {
    const r = this.rowIndex.data[s]!;
    if (r >= 0) {
      const row = this.rows[r]!;
      for (let c = 0; c < 256; c++) if (row[c]! >= 0) each(c, row[c]!);
    } else
      for (let e = this.head.data[s]!; e >= 0; e = this.next.data[e]!)
        each(this.label.data[e]!, this.target.data[e]!);
  }
}

/**
 * Builds the automaton of `texts` (raw bytes; folded here) for runs of `runLength` bytes or more: of a
 * text that adds no new run, only what is needed to recognise its runs is kept. Put the values before
 * their forms.
 */
export function buildRunMatcher(texts: readonly Uint8Array[], runLength: number): RunMatcher {
  const total = texts.reduce((n, t) => n + t.length, 0);
  const len = new Ints(Math.min(2 * total + 1, 1 << 20));
  const link = new Ints(Math.min(2 * total + 1, 1 << 20));
  const edges = new BuildingTransitions();

  const addState = (length: number, suffix: number) => {
    len.push(length);
    edges.addState();
    return link.push(suffix);
  };
  const get = (s: number, c: number) => edges.get(s, c);
  const set = (s: number, c: number, t: number) => edges.set(s, c, t);
  const cloneOf = (q: number, length: number) => {
    const c = addState(length, link.data[q]!);
    edges.forEach(q, (label, t) => set(c, label, t));
    return c;
  };
  /** Redirects the transitions on `c` that lead to `q`, from `p` up its suffix links, to `to`. */
  const redirect = (p: number, c: number, q: number, to: number) => {
    for (; p >= 0 && get(p, c) === q; p = link.data[p]!) set(p, c, to);
  };

  /** The standard online extension, for many texts: `last` may already have a transition on `c`. */
  const extend = (last: number, c: number): number => {
    const existing = get(last, c);
    if (existing >= 0) {
      if (len.data[existing] === len.data[last]! + 1) return existing;
      const clone = cloneOf(existing, len.data[last]! + 1);
      link.data[existing] = clone;
      redirect(last, c, existing, clone);
      return clone;
    }
    const cur = addState(len.data[last]! + 1, 0);
    let p = last;
    for (; p >= 0 && get(p, c) < 0; p = link.data[p]!) set(p, c, cur);
    if (p >= 0) {
      const q = get(p, c);
      if (len.data[p]! + 1 === len.data[q]) link.data[cur] = q;
      else {
        const clone = cloneOf(q, len.data[p]! + 1);
        redirect(p, c, q, clone);
        link.data[q] = clone;
        link.data[cur] = clone;
      }
    }
    return cur;
  };

  /**
   * The parts of `text` that hold a RUN_LENGTH-byte stretch the automaton does not know yet. The forms
   * of a value differ from each other only around the characters they escape, so most of each form
   * is known once the value itself is in: adding only the new stretches keeps the automaton a few
   * times the size of the values instead of one copy per form, and recognises the same runs.
   */
  const newParts = (text: Buffer): Buffer[] => {
    const parts: Buffer[] = [];
    let s = 0;
    let length = 0;
    let from = -1; // start of the part being collected
    let to = -1;
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      for (;;) {
        const t = get(s, c);
        if (t >= 0) {
          s = t;
          length++;
          break;
        }
        if (s === 0) {
          length = 0;
          break;
        }
        s = link.data[s]!;
        length = len.data[s]!;
      }
      if (i + 1 < runLength || length >= runLength) continue;
      const start = i + 1 - runLength;
      if (start > to) {
        if (to > from) parts.push(text.subarray(from, to));
        from = start;
      }
      to = i + 1;
    }
    if (to > from) parts.push(text.subarray(from, to));
    return parts;
  };

  addState(0, -1);
  let maxLength = 0;
  for (const text of texts) {
    maxLength = Math.max(maxLength, text.length);
    for (const part of newParts(fold(text))) {
      let last = 0;
      for (const b of part) last = extend(last, b);
    }
  }

  const n = len.size;
  const offsets = new Int32Array(n + 1);
  for (let st = 0; st < n; st++) offsets[st + 1] = offsets[st]! + edges.countOf(st);
  const labels = new Uint8Array(offsets[n]!);
  const targets = new Int32Array(offsets[n]!);
  const rowOf = new Int32Array(n).fill(-1);
  let denseCount = 0;
  for (let st = 0; st < n; st++) if (st === 0 || edges.countOf(st) >= DENSE_FANOUT) denseCount++;
  const rows = new Int32Array(denseCount * 256).fill(-1);
  let nextRow = 0;
  for (let st = 0; st < n; st++) {
    let at = offsets[st]!;
    const dense = st === 0 || edges.countOf(st) >= DENSE_FANOUT;
    if (dense) rowOf[st] = nextRow;
    edges.forEach(st, (label, t) => {
      labels[at] = label;
      targets[at++] = t;
      if (dense) rows[nextRow + label] = t;
    });
    if (dense) nextRow += 256;
  }
  return new RunMatcher(
    offsets,
    labels,
    targets,
    rowOf,
    rows,
    len.data.slice(0, n),
    link.data.slice(0, n),
    maxLength,
  );
}
