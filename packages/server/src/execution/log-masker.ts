/*
 * Masks a user's secret values in what their code prints (a job's log, a notebook kernel's messages)
 * before it is stored or shown. A value shows up in many forms — as itself, escaped by a repr, a
 * serialiser or a URL encoder, inside base64, line by line, cut short — and output arrives in chunks
 * that may split any of them anywhere (even inside a multi-byte character). masking/forms.ts lists the
 * forms and the rules by length; masking/mask-stream.ts finds them in a stream.
 *
 * This catches accidents (a value printed while debugging, a traceback, a library's error message).
 * It is not a barrier: code that runs as the user already holds the value and can always transform it
 * beyond recognition (reversed, hex-encoded, upper-cased, split).
 *
 * The values live only in what `compileMasking` returns (its automata): nothing keeps or logs them,
 * and they go when the run drops it.
 */
import { patternsOf, RUN_LENGTH } from './masking/forms.js';
import { buildGramFilter } from './masking/gram-filter.js';
import { MaskStream } from './masking/mask-stream.js';
import { buildRunMatcher } from './masking/run-matcher.js';
import { buildWholeMatcher } from './masking/whole-matcher.js';

/** Values shorter than this many characters are not masked at all (COFFER_JOB_MASK_MIN_LENGTH). */
export const DEFAULT_MASK_MIN_LENGTH = 4;

export interface MaskOptions {
  /** Values shorter than this (in characters) are left alone. Default DEFAULT_MASK_MIN_LENGTH. */
  minLength?: number;
  /** What a masked value becomes. Default `*****`. */
  mask?: string;
}

export interface LogMasker {
  /** Masks a chunk; returns what is safe to emit now (a short tail may be held back for the next). */
  push(chunk: Buffer): Buffer;
  /** Returns the held-back tail, masked. */
  end(): Buffer;
  /** How many bytes are held back (bounded by the longest pattern, whatever the output). */
  readonly pending: number;
}

/** One run's values, compiled once: each output stream of the run gets its own masker from it. */
export interface Masking {
  stream(): LogMasker;
  /** Masks one whole text, as a stream of its own (its start and its end are word boundaries). */
  text(s: string): string;
}

const PASS_THROUGH: LogMasker = { push: (chunk) => chunk, end: () => Buffer.alloc(0), pending: 0 };

/** Compiles the patterns of `values` (the run's owner's secret values). */
export function compileMasking(values: readonly string[], opts: MaskOptions = {}): Masking {
  const patterns = patternsOf(values, opts.minLength ?? DEFAULT_MASK_MIN_LENGTH);
  if (!patterns.words.length && !patterns.anywhere.length && !patterns.runs.length)
    return { stream: () => PASS_THROUGH, text: (s) => s };
  const whole = buildWholeMatcher(patterns.anywhere, patterns.words);
  const runs = patterns.runs.length ? buildRunMatcher(patterns.runs, RUN_LENGTH) : null;
  const grams = buildGramFilter([...patterns.anywhere, ...patterns.words, ...patterns.runs]);
  const mask = Buffer.from(opts.mask ?? '*****', 'utf8');
  const stream = () => new MaskStream(whole, runs, grams, mask);
  // A text shorter than every pattern holds none: most strings of a kernel's messages (ids, dates,
  // names) are, and they need no automaton.
  const shortest = Math.min(whole.minLength, runs ? RUN_LENGTH : Infinity);
  return {
    stream,
    text: (s) => {
      if (Buffer.byteLength(s, 'utf8') < shortest) return s;
      const m = stream();
      return Buffer.concat([m.push(Buffer.from(s, 'utf8')), m.end()]).toString('utf8');
    },
  };
}

/** A streaming masker for one output stream (compile once with `compileMasking` for several). */
export function createLogMasker(values: readonly string[], opts: MaskOptions = {}): LogMasker {
  return compileMasking(values, opts).stream();
}

/** Masks a whole text at once. */
export function maskText(text: string, values: readonly string[], opts: MaskOptions = {}): string {
  return compileMasking(values, opts).text(text);
}
