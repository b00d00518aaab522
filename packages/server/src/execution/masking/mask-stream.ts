/*
 * One output stream being masked. Every byte is read once, by automata whose state carries over from
 * chunk to chunk, so a match may straddle any chunk boundary (inside a multi-byte character too).
 * Output is emitted as soon as it can no longer be part of a match: only a tail that could still
 * become one is held back, and that tail is bounded by the longest whole pattern or RUN_LENGTH bytes
 * (plus the line breaks of a base64 block), whatever the output.
 */
import { BACKSLASH, BASE64, CR, FOLD, isContinuation, LF, MAY_BREAK_BASE64, WORD } from './bytes.js';
import { RUN_LENGTH } from './forms.js';
import { Ranges } from './ranges.js';
import { type GramFilter, gramSlot } from './gram-filter.js';
import { buildRunMatcher, type RunCursor, type RunMatcher } from './run-matcher.js';
import type { WholeMatcher } from './whole-matcher.js';
import { WRAPPED_LINE_MIN, WrappedBase64View } from './wrapped-base64.js';

const EMPTY = Buffer.alloc(0);
/** Stands in when no value is long enough for runs, so the hot loop's locals always have a type. */
const NO_RUNS = buildRunMatcher([], RUN_LENGTH);
/** A run of RUN_LENGTH bytes is this many 4-grams in a row. */
const GRAMS_PER_RUN = RUN_LENGTH - 3;
/** The bytes MAY_BREAK_BASE64 holds. */
const BREAKS = [LF, CR, BACKSLASH];

/** Finds, ahead, the next byte of a chunk that may break a wrapped base64 line. */
class BreakFinder {
  private readonly next = [-1, -1, -1];
  constructor(private readonly chunk: Buffer) {}

  /** The index of the first such byte after `i`, or the chunk's length. */
  after(i: number): number {
    let first = this.chunk.length;
    for (let k = 0; k < BREAKS.length; k++) {
      if (this.next[k]! <= i && this.next[k] !== this.chunk.length) {
        const at = this.chunk.indexOf(BREAKS[k]!, i + 1);
        this.next[k] = at < 0 ? this.chunk.length : at;
      }
      first = Math.min(first, this.next[k]!);
    }
    return first;
  }
}

export class MaskStream {
  /** Bytes read but not emitted: stream offsets [heldFrom, read). */
  private held: Buffer = EMPTY;
  private heldFrom = 0;
  private read = 0;
  /** The last byte emitted (-1 before any): what precedes a word match that starts the held bytes. */
  private lastEmitted = -1;
  /** The output emitted so far ends inside a mask: more masked bytes add no second mask. */
  private inMask = false;
  private readonly ranges = new Ranges();
  private readonly wrapped: WrappedBase64View;

  /** The last four bytes read (folded), and how many grams in a row the filter has had. */
  private gram = 0;
  private gramRun = 0;
  /** The whole-pattern automaton's state: kept only while the grams say a match may be under way. */
  private acOn = false;
  private ac = 0;
  /** Word matches that wait for the byte after them: their starts (they all end where it is). */
  private waiting: number[] = [];
  /** The run automaton's reading: kept only while the grams say a run may be under way. */
  private runOn = false;
  private readonly cursor: RunCursor = { state: 0, length: 0 };
  /** Base64 characters in a row at the end of what was read: MIME wrapping breaks long such lines. */
  private base64Tail = 0;
  /** Patterns shorter than a gram exist (a low COFFER_JOB_MASK_MIN_LENGTH): the filter cannot vouch. */
  private readonly acAlways: boolean;

  constructor(
    private readonly whole: WholeMatcher,
    private readonly runs: RunMatcher | null,
    private readonly grams: GramFilter,
    private readonly mask: Buffer,
  ) {
    const reach = Math.max(whole.maxLength, runs?.maxLength ?? 0);
    this.wrapped = new WrappedBase64View(whole, runs, this.ranges, reach);
    this.acAlways = whole.minLength < 4;
    this.acOn = this.acAlways;
  }

  /** How many bytes were read but not emitted yet. */
  get pending(): number {
    return this.held.length;
  }

  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return EMPTY;
    this.scan(chunk);
    const window = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
    return this.emit(window, this.holdFrom(window));
  }

  end(): Buffer {
    // The end of the output is a word boundary.
    for (const start of this.waiting) this.ranges.add(start, this.read);
    this.waiting = [];
    this.wrapped.sleep();
    return this.emit(this.held, this.read);
  }

  // The hot loop: every byte of the output passes here once. Most bytes only update the gram and test
  // its bit; the automata's arrays are read directly; the rare cases (a word match, a possible run)
  // leave the loop through one test each. Line breaks (which may end a wrapped base64 line) are
  // found ahead by indexOf, so the loop runs from one to the next without looking for them.
  private scan(chunk: Buffer): void {
    const base = this.read;
    const n = chunk.length;
    const { whole, wrapped, cursor, acAlways } = this;
    const runs = this.runs ?? NO_RUNS;
    const hasRuns = this.runs !== null;
    const { anywhere, hasWords, rowOf, rows, offsets, labels, targets, fail } = whole;
    const { bits, shift } = this.grams;
    // Imported bindings are live and checked on every read; locals are not.
    const [fold, mayBreak, slotOf, runLength] = [FOLD, MAY_BREAK_BASE64, gramSlot, RUN_LENGTH];
    const nextBreak = new BreakFinder(chunk);
    let { ac, acOn, gram, gramRun, runOn } = this;
    let waiting = this.waiting.length > 0;
    let inBlock = wrapped.active;
    for (let i = 0; i < n;) {
      if (inBlock || mayBreak[chunk[i]!] === 1) {
        this.ac = ac;
        this.acOn = acOn;
        this.gramRun = gramRun;
        this.runOn = runOn;
        inBlock = this.base64Edge(chunk[i]!, fold[chunk[i]!]!, base + i, chunk, base);
      }
      const stop = inBlock ? i + 1 : nextBreak.after(i);
      for (; i < stop; i++) {
        const raw = chunk[i]!;
        const b = fold[raw]!;
        const pos = base + i;
        if (waiting) waiting = this.settleWords(pos, raw);

        gram = (gram << 8) | b;
        const slot = slotOf(gram, shift);
        if ((bits[slot >>> 5]! & (1 << (slot & 31))) !== 0) gramRun++;
        else {
          gramRun = 0;
          runOn = false;
          if (!acAlways) {
            acOn = false;
            continue;
          }
        }

        if (!acOn) {
          // A match may have begun with this gram: read its first three bytes.
          ac = this.acOver(Math.max(pos - 3, this.heldFrom), pos, chunk, base);
          acOn = true;
        }
        for (;;) {
          const row = rowOf[ac]!;
          if (row >= 0) {
            ac = rows[row + b]!;
            break;
          }
          let e = offsets[ac]!;
          const end = offsets[ac + 1]!;
          while (e < end && labels[e] !== b) e++;
          if (e < end) {
            ac = targets[e]!;
            break;
          }
          ac = fail[ac]!;
        }
        const longest = anywhere[ac]!;
        if (longest) this.ranges.add(pos + 1 - longest, pos + 1);
        if (hasWords[ac]) waiting = this.wordsEndingAt(ac, pos, chunk);

        if (!hasRuns || gramRun < GRAMS_PER_RUN) runOn = false;
        else {
          if (runOn) runs.step(cursor, b);
          else {
            // Read the stretch the grams vouch for (a match cannot begin before the held bytes).
            this.readRun(cursor, Math.max(pos - gramRun - 2, this.heldFrom), pos + 1, chunk, base);
            runOn = true;
          }
          if (cursor.length >= runLength) this.ranges.add(pos + 1 - cursor.length, pos + 1);
        }
      }
    }
    this.ac = ac;
    this.acOn = acOn;
    this.gram = gram;
    this.gramRun = gramRun;
    this.runOn = runOn;
    this.read = base + n;
    this.base64Tail = this.base64RunBefore(this.read, chunk, base);
  }

  /** Feeds a base64 block to the wrapped view, or wakes it at a line break; answers whether it is awake. */
  private base64Edge(raw: number, b: number, pos: number, chunk: Buffer, base: number): boolean {
    const wrapped = this.wrapped;
    if (BASE64[raw] === 1) wrapped.read(b, raw, pos);
    else {
      const before = this.base64RunBefore(pos, chunk, base);
      const wakes = before >= WRAPPED_LINE_MIN && !wrapped.active;
      const ac = wakes ? this.acAt(pos, chunk, base) : 0;
      const run = wakes ? this.runAt(pos, chunk, base) : this.cursor;
      if (!wrapped.takesBreak(raw, pos, before, ac, run.state, run.length)) wrapped.sleep();
    }
    return wrapped.active;
  }

  /**
   * How many base64 characters in a row end just before `pos` (up to WRAPPED_LINE_MIN), looking back in
   * `bytes` (stream offsets from `bytesBase`) and then at what ended the bytes read before them.
   */
  private base64RunBefore(pos: number, bytes: Buffer, bytesBase: number): number {
    let n = 0;
    for (let p = pos - 1; p >= bytesBase && n < WRAPPED_LINE_MIN && BASE64[bytes[p - bytesBase]!] === 1; p--)
      n++;
    return pos - n === bytesBase ? Math.min(WRAPPED_LINE_MIN, n + this.base64Tail) : n;
  }

  /** The whole-pattern state after the output up to `pos` (exclusive), as if it had been kept all along. */
  private acAt(pos: number, bytes: Buffer, bytesBase: number): number {
    if (this.acOn) return this.ac;
    // Without a gram in the filter, a match under way has at most 3 bytes.
    return this.acOver(Math.max(pos - 3, this.heldFrom), pos, bytes, bytesBase);
  }

  /** The whole-pattern state after reading, from the root, the output's bytes [from, to). */
  private acOver(from: number, to: number, bytes: Buffer, bytesBase: number): number {
    let state = 0;
    for (let p = from; p < to; p++) state = this.whole.next(state, FOLD[this.byteAt(p, bytes, bytesBase)]!);
    return state;
  }

  /** The run reading of the output up to `pos` (exclusive), as if it had been kept all along. */
  private runAt(pos: number, bytes: Buffer, bytesBase: number): RunCursor {
    if (this.runOn || !this.runs) return { ...this.cursor };
    const at: RunCursor = { state: 0, length: 0 };
    // Without a run under way, the longest stretch is within the last grams in a row and 3 bytes.
    const from = Math.max(pos - Math.min(this.gramRun + 3, RUN_LENGTH - 1), this.heldFrom);
    this.readRun(at, from, pos, bytes, bytesBase);
    return at;
  }

  /** Moves `cursor`, from the root, over the output's bytes [from, to). */
  private readRun(cursor: RunCursor, from: number, to: number, bytes: Buffer, bytesBase: number): void {
    cursor.state = 0;
    cursor.length = 0;
    for (let p = from; p < to; p++) this.runs!.step(cursor, FOLD[this.byteAt(p, bytes, bytesBase)]!);
  }

  /** The output's byte at `offset`: in `bytes` from `bytesBase` on, else among the held bytes. */
  private byteAt(offset: number, bytes: Buffer, bytesBase: number): number {
    return offset >= bytesBase ? bytes[offset - bytesBase]! : this.held[offset - this.heldFrom]!;
  }

  /** Records the word matches ending at `pos`; answers whether some wait for the byte after them. */
  private wordsEndingAt(state: number, pos: number, chunk: Buffer): boolean {
    for (const w of this.whole.words.get(state)!) {
      const start = pos + 1 - w.length;
      if (w.boundaryBefore && this.continuesWord(start - 1, chunk)) continue;
      if (w.boundaryAfter) this.waiting.push(start);
      else this.ranges.add(start, pos + 1);
    }
    return this.waiting.length > 0;
  }

  /** Word matches that waited for the byte at `pos`: kept unless that byte continues the word. */
  private settleWords(pos: number, raw: number): false {
    if (WORD[raw] !== 1) for (const start of this.waiting) this.ranges.add(start, pos);
    this.waiting = [];
    return false;
  }

  private continuesWord(offset: number, chunk: Buffer): boolean {
    if (offset < 0) return false;
    const base = this.read; // scan() has not moved it yet: the chunk starts here
    let byte: number;
    if (offset >= base) byte = chunk[offset - base]!;
    else if (offset >= this.heldFrom) byte = this.held[offset - this.heldFrom]!;
    else byte = this.lastEmitted; // a word match never starts before the held bytes
    return byte >= 0 && WORD[byte] === 1;
  }

  /** The first offset that a match may still cover: everything before it can be emitted. */
  private holdFrom(window: Buffer): number {
    let from = this.read - this.whole.depth[this.acAt(this.read, window, this.heldFrom)]!;
    if (this.runs) {
      const run = this.runAt(this.read, window, this.heldFrom);
      if (run.length < RUN_LENGTH) from = Math.min(from, this.read - run.length);
    }
    for (const start of this.waiting) from = Math.min(from, start);
    return Math.min(from, this.wrapped.holdFrom(this.read));
  }

  /** Emits `window` (stream offsets [heldFrom, read)) up to `cut`, masked, and holds the rest. */
  private emit(window: Buffer, cut: number): Buffer {
    const out: Buffer[] = [];
    const start = this.heldFrom;
    let at = start;
    for (let range = this.ranges.first(); range && range[0] < cut; range = this.ranges.first()) {
      // A range that reaches back into what was emitted is a run going on: its start was masked then.
      const from = Math.max(range[0], at);
      const to = Math.min(range[1], cut);
      if (from > at) this.plain(out, window, at - start, from - start);
      this.masked(out, window, from - start, to - start, range[0] === from);
      at = to;
      this.ranges.consumeFirst(cut);
    }
    if (at < cut) this.plain(out, window, at - start, cut - start);
    if (cut > start) this.lastEmitted = window[cut - start - 1]!;
    this.held = cut - start < window.length ? Buffer.from(window.subarray(cut - start)) : EMPTY;
    this.heldFrom = cut;
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  private plain(out: Buffer[], window: Buffer, from: number, to: number): void {
    // The rest of a character whose first bytes were masked goes with them.
    if (this.inMask) while (from < to && isContinuation(window[from]!)) from++;
    if (from === to) return;
    out.push(window.subarray(from, to));
    this.inMask = false;
  }

  /** One mask per line of the masked bytes: line breaks inside a match (a base64 block's) are kept. */
  private masked(out: Buffer[], window: Buffer, from: number, to: number, startsMatch: boolean): void {
    // A run may begin inside a character: its first bytes stay with the part already emitted.
    if (startsMatch && !this.inMask) {
      const first = from;
      while (from < to && isContinuation(window[from]!)) from++;
      if (from > first) out.push(window.subarray(first, from));
    }
    for (let i = from; i < to; i++) {
      const byte = window[i]!;
      if (byte === LF || byte === CR) {
        out.push(window.subarray(i, i + 1));
        this.inMask = false;
      } else if (!this.inMask) {
        out.push(this.mask);
        this.inMask = true;
      }
    }
  }
}
