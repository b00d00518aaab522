/*
 * MIME base64 (Python's base64.encodebytes, PEM bodies, `base64` on the command line) breaks the
 * encoding every 64 or 76 characters, so a value's base64 run is cut by line breaks that no pattern
 * holds. This view reads the output as if the breaks inside a block of long base64 lines were not
 * there, and reports matches in stream offsets (the breaks inside a match are masked over).
 *
 * It wakes up only at a line break that ends at least WRAPPED_LINE_MIN base64 characters, starting
 * from the plain reading's state (which has read the same bytes), and sleeps again at the first byte
 * that is neither base64 nor such a break. Ordinary output never wakes it, and the lines that do are
 * base64, which no one reads live: only they may be held back across their line break.
 */
import { BACKSLASH, CR, LF } from './bytes.js';
import { RUN_LENGTH } from './forms.js';
import type { Ranges } from './ranges.js';
import type { RunMatcher } from './run-matcher.js';
import type { WholeMatcher } from './whole-matcher.js';

/** The shortest base64 line whose line break is read through (PEM wraps at 64, MIME at 76). */
export const WRAPPED_LINE_MIN = 60;

const LETTER_N = 0x6e;

export class WrappedBase64View {
  active = false;
  private ac = 0;
  private run = 0;
  private runLen = 0;
  /** Stream offsets and sizes of the breaks read through, newest last. */
  private gapAt: number[] = [];
  private gapSize: number[] = [];
  /** The last byte of the break being read through, or 0 when the last byte read was base64. */
  private inBreak = 0;

  constructor(
    private readonly whole: WholeMatcher,
    private readonly runs: RunMatcher | null,
    private readonly ranges: Ranges,
    /** How far back a match can reach, in bytes of base64: older breaks are forgotten. */
    private readonly reach: number,
  ) {}

  /**
   * Whether `raw` at `pos` is (part of) a break to read through, given the length of the base64 run
   * it ends; if it starts one, the view wakes with the plain reading's state before `raw`.
   */
  takesBreak(raw: number, pos: number, base64Run: number, ac: number, run: number, runLen: number): boolean {
    const starts = base64Run >= WRAPPED_LINE_MIN && (raw === LF || raw === CR || raw === BACKSLASH);
    const continues = this.active && this.inBreak === CR && raw === LF;
    if (!starts && !continues) return false;
    if (!this.active) {
      this.active = true;
      this.ac = ac;
      this.run = run;
      this.runLen = runLen;
    }
    if (this.inBreak) this.gapSize[this.gapSize.length - 1]!++;
    else {
      this.gapAt.push(pos);
      this.gapSize.push(1);
    }
    this.inBreak = raw;
    return true;
  }

  /**
   * Reads a base64 byte (folded `b`, raw `raw`) at `pos`. Returns false when it ends the view instead:
   * after a backslash only "n" continues a break ("\n" inside a repr of encodebytes()).
   */
  read(b: number, raw: number, pos: number): boolean {
    if (this.inBreak === BACKSLASH) {
      if (raw !== LETTER_N) {
        this.sleep();
        return false;
      }
      this.gapSize[this.gapSize.length - 1]!++;
      this.inBreak = LETTER_N;
      return true;
    }
    this.inBreak = 0;
    const end = pos + 1;
    this.ac = this.whole.next(this.ac, b);
    const longest = this.whole.anywhere[this.ac]!;
    if (longest) this.ranges.add(this.startOf(end, longest), end);
    if (this.runs) {
      let s = this.run;
      let len = this.runLen;
      for (;;) {
        const t = this.runs.next(s, b);
        if (t >= 0) {
          s = t;
          len++;
          break;
        }
        if (s === 0) {
          len = 0;
          break;
        }
        s = this.runs.link[s]!;
        len = this.runs.len[s]!;
      }
      this.run = s;
      this.runLen = len;
      if (len >= RUN_LENGTH) this.ranges.add(this.startOf(end, len), end);
    }
    if (this.gapAt.length > 64) this.forgetBefore(end - 2 * this.reach - 64);
    return true;
  }

  sleep(): void {
    this.active = false;
    this.inBreak = 0;
    this.gapAt.length = 0;
    this.gapSize.length = 0;
  }

  /** Where the bytes this view may still match from start, given `end` bytes read (all if asleep). */
  holdFrom(end: number): number {
    if (!this.active) return end;
    let from = this.startOf(end, this.whole.depth[this.ac]!);
    if (this.runs && this.runLen < RUN_LENGTH) from = Math.min(from, this.startOf(end, this.runLen));
    return from;
  }

  /** The stream offset where the last `units` bytes this view read begin, counting back over breaks. */
  private startOf(end: number, units: number): number {
    let start = end - units;
    for (let g = this.gapAt.length - 1; g >= 0 && this.gapAt[g]! >= start; g--) start -= this.gapSize[g]!;
    return start;
  }

  private forgetBefore(offset: number): void {
    let drop = 0;
    while (drop < this.gapAt.length - 1 && this.gapAt[drop]! < offset) drop++;
    this.gapAt.splice(0, drop);
    this.gapSize.splice(0, drop);
  }
}
