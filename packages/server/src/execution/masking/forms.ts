/*
 * The forms in which a secret value shows up in what code prints by accident: as itself, escaped the way
 * languages, serialisers, tracebacks and HTTP libraries escape it, and inside base64. Each form is text
 * the matcher looks for; this module knows nothing of streams or automata.
 *
 * How a form is matched depends on the length of the value it comes from (see `ruleFor`):
 * - short values are masked only where they stand as a whole word: masking "pass" inside "password"
 *   would shred ordinary words and, by where the stars fall, still give the value away;
 * - values of ordinary length are masked wherever a form appears whole;
 * - long values are also masked wherever RUN_LENGTH consecutive bytes of a form appear, because
 *   displays cut long text (pandas, R's str(), an error message that truncates its argument).
 */

/** Values (or lines of a value) shorter than this many characters are masked only as whole words. */
export const WORD_ONLY_BELOW = 8;
/** Values of at least this many characters are also masked by any run of RUN_LENGTH bytes of a form. */
export const RUNS_FROM = 32;
/** The shortest run of a long value's form that is masked on its own. */
export const RUN_LENGTH = 20;

export type MatchRule = 'word' | 'anywhere' | 'runs';

/** The byte patterns of one set of values, grouped by how each is matched. */
export interface Patterns {
  /** Masked only where nothing that could continue a word touches them. */
  words: Buffer[];
  /** Masked wherever they appear whole. */
  anywhere: Buffer[];
  /** Masked wherever RUN_LENGTH or more of their consecutive bytes appear. */
  runs: Buffer[];
}

/** How a piece of a value of `chars` characters is matched, or null when it is too short to mask. */
export function ruleFor(chars: number, minLength: number): MatchRule | null {
  if (chars < minLength) return null;
  if (chars < WORD_ONLY_BELOW) return 'word';
  return chars < RUNS_FROM ? 'anywhere' : 'runs';
}

/** All patterns for `values`, deduplicated. */
export function patternsOf(values: readonly string[], minLength: number): Patterns {
  // Runs: every value's pieces first, then their other forms (see buildRunMatcher).
  const runs = new Set<string>();
  const found = { word: new Set<string>(), anywhere: new Set<string>(), runs: new Set<string>() };
  for (const value of values) {
    for (const piece of piecesOf(value)) {
      const rule = ruleFor([...piece].length, minLength);
      if (!rule) continue;
      if (rule === 'runs' && !/[\r\n]/.test(piece)) runs.add(piece);
      for (const form of textForms(piece)) if (!/[\r\n]/.test(form)) found[rule].add(form);
      // Base64 only of the value itself and of its trimmed copy: code encodes a value, not its lines.
      if (piece !== value && piece !== value.trim()) continue;
      const bytes = Buffer.from(piece, 'utf8');
      if (rule === 'word') {
        const whole = bytes.toString('base64');
        found.word.add(whole).add(whole.replace(/=+$/, ''));
      } else {
        // The runs, and the value's own encoding whole: its last character mixes in a few bits of it.
        for (const run of base64Runs(bytes)) found[rule].add(run);
        found[rule].add(bytes.toString('base64').replace(/=+$/, ''));
      }
    }
  }
  const utf8 = (set: Set<string>) => [...set].map((s) => Buffer.from(s, 'utf8'));
  for (const form of found.runs) runs.add(form);
  return { words: utf8(found.word), anywhere: utf8(found.anywhere), runs: utf8(runs) };
}

/**
 * The value, its trimmed copy and each of its lines, trimmed: a multi-line value (a PEM key) is printed
 * line by line, indented, with other line ends, and a value pasted with a trailing newline is printed
 * after code strips it. Each piece is matched by the rule of its own length.
 */
export function piecesOf(value: string): string[] {
  const pieces = new Set([value, value.trim()]);
  for (const line of value.split(/\r\n|\r|\n/)) pieces.add(line.trim());
  pieces.delete('');
  return [...pieces];
}

/**
 * The base64 characters that encode only bytes of the value, whatever surrounds it: one run per position
 * of the value in a 3-byte group. (The URL-safe alphabet is matched through the matcher's folding.)
 */
export function base64Runs(bytes: Buffer): string[] {
  const runs: string[] = [];
  for (let align = 0; align < 3; align++) {
    const encoded = Buffer.concat([Buffer.alloc(align), bytes]).toString('base64');
    // Character i covers bits [6i, 6i+6); the value covers bits [8·align, 8·(align+n)).
    const run = encoded.slice(Math.ceil((8 * align) / 6), Math.floor((8 * (align + bytes.length)) / 6));
    if (run) runs.push(run);
  }
  return runs;
}

/** Every textual form of `v` that the masker covers, deduplicated; the first is `v` itself. */
export function textForms(v: string): string[] {
  // No escaper and no URL encoder touches these characters: most tokens are made of them alone.
  if (/^[A-Za-z0-9_.-]*$/.test(v)) return [v];
  const forms = new Set<string>([v]);
  const json = jsonBody(v);
  const jsonAscii = jsonAsciiBody(v);
  forms.add(json).add(jsonAscii);
  // JSON inside JSON (a serialised body inside a log record), and inside a Python or Node repr.
  forms.add(jsonBody(json)).add(jsonAsciiBody(jsonAscii));
  forms.add(pythonRepr(jsonAscii, "'"));
  for (const quote of [`'`, `"`] as const)
    forms
      .add(pythonRepr(v, quote))
      .add(pythonRepr(v, quote, true))
      .add(pythonBytesRepr(v, quote));
  for (const quote of [`'`, `"`, '`'] as const)
    forms.add(nodeInspect(v, quote)).add(nodeInspect(json, quote));
  forms.add(rString(v, '"')).add(rString(v, ''));
  // IRkernel shows an R value in four formats at once (R's repr package): a string quoted as
  // encodeString(v, quote = "'") does, HTML-escaped (text/html, text/markdown) and LaTeX-escaped
  // (text/latex); a data frame's cells as they are, LaTeX-escaped.
  const rSingle = rString(v, "'");
  forms.add(rSingle).add(htmlBody(rSingle)).add(latexEscape(rSingle)).add(latexEscape(v));
  for (const form of htmlForms(v)) forms.add(form);
  forms.add(v.replace(/"/g, '""')); // CSV, R's write.csv
  for (const style of URL_STYLES) forms.add(percentEncode(v, style));
  return [...forms];
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/** JSON.stringify, Python's json.dumps(ensure_ascii=False) and R's jsonlite, without the quotes. */
export function jsonBody(v: string): string {
  return JSON.stringify(v).slice(1, -1);
}

/** Python's json.dumps (ensure_ascii): everything outside printable ASCII as \uXXXX, lower-case. */
export function jsonAsciiBody(v: string): string {
  return jsonBody(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${hex(c.charCodeAt(0), 4)}`);
}

// Python's str.isprintable() is false for these categories (and true for a plain space).
const PYTHON_UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/**
 * Python's repr() of a str inside `quote` (the quote it picks depends on the whole string), or its
 * ascii() (`%a`), which escapes every non-ASCII character.
 */
export function pythonRepr(v: string, quote: `'` | `"`, asciiOnly = false): string {
  let out = '';
  for (const c of v) {
    const cp = c.codePointAt(0)!;
    if (c === '\\' || c === quote) out += `\\${c}`;
    else if (c === '\t') out += '\\t';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (cp >= 0x20 && cp < 0x7f) out += c;
    else if (!asciiOnly && !PYTHON_UNPRINTABLE.test(c)) out += c;
    else if (cp < 0x100) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x10000) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return out;
}

/** Python's repr() of v.encode(): bytes outside printable ASCII as \xNN. */
export function pythonBytesRepr(v: string, quote: `'` | `"`): string {
  let out = '';
  for (const b of Buffer.from(v, 'utf8')) {
    const c = String.fromCharCode(b);
    if (c === '\\' || c === quote) out += `\\${c}`;
    else if (c === '\t') out += '\\t';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (b < 0x20 || b >= 0x7f) out += `\\x${hex(b, 2)}`;
    else out += c;
  }
  return out;
}

const NODE_NAMED: Record<string, string> = {
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\f': '\\f',
  '\r': '\\r',
};

/** Node's util.inspect (console.log of an object or array) of a string inside `quote`. */
export function nodeInspect(v: string, quote: `'` | `"` | '`'): string {
  let out = '';
  for (const c of v) {
    const cp = c.codePointAt(0)!;
    if (c === '\\' || c === quote) out += `\\${c}`;
    else if (NODE_NAMED[c]) out += NODE_NAMED[c];
    else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) out += `\\x${hex(cp, 2).toUpperCase()}`;
    else out += c;
  }
  return out;
}

const R_NAMED: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
};

/**
 * R's encodeString() of a string inside `quote`: print() and str() quote with `"`, IRkernel's displays
 * with `'`, print() of a data frame not at all (quotes left alone).
 */
export function rString(v: string, quote: '"' | "'" | ''): string {
  let out = '';
  for (const c of v) {
    const cp = c.codePointAt(0)!;
    if (c === '\\' || (quote !== '' && c === quote)) out += `\\${c}`;
    else if (R_NAMED[c]) out += R_NAMED[c];
    else if (cp < 0x20 || cp === 0x7f) out += `\\${cp.toString(8).padStart(3, '0')}`;
    else if ((cp >= 0x80 && cp <= 0x9f) || cp === 0x2028 || cp === 0x2029) out += `\\u${hex(cp, 4)}`;
    else out += c;
  }
  return out;
}

// How HTML escapers write the two quotes: Python's html.escape, markupsafe (Jinja), lodash and R's
// htmltools, html.escape(quote=False), XML, and escapers that leave the single quote alone.
const HTML_QUOTES: [string, string][] = [
  ['&quot;', '&#x27;'],
  ['&#34;', '&#39;'],
  ['&quot;', '&#39;'],
  ['"', "'"],
  ['&quot;', '&apos;'],
  ['&quot;', "'"],
];

/** `&`, `<` and `>` as HTML entities, quotes left alone. */
const htmlBody = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function htmlForms(v: string): string[] {
  const base = htmlBody(v);
  return HTML_QUOTES.map(([dq, sq]) => base.replace(/"/g, dq).replace(/'/g, sq));
}

// How R's repr package (IRkernel's text/latex) escapes LaTeX's special characters.
const LATEX_SPECIALS: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '{': '\\{',
  '}': '\\}',
  $: '\\$',
  '^': '\\textasciicircum{}',
  _: '\\_',
  '%': '\\%',
  '#': '\\#',
  '&': '\\&',
  '~': '\\textasciitilde{}',
  '[': '{[}',
  ']': '{]}',
  '|': '\\textbar{}',
};

/** LaTeX-escaped as R's repr package does it (each special character on its own). */
export function latexEscape(v: string): string {
  return v.replace(/[\\{}$^_%#&~[\]|]/g, (c) => LATEX_SPECIALS[c]!);
}

interface UrlStyle {
  /** ASCII punctuation left as is (letters and digits always are). */
  keep: string;
  /** A space becomes "+" (form encoding). */
  plus?: boolean;
  /** "%" is left as is when every "%" already starts an escape (requests, urllib3). */
  keepEscapes?: boolean;
}

// Each encoder leaves a different set of characters unencoded; these are the ones values pass through.
const URL_STYLES: UrlStyle[] = [
  { keep: "-_.!~*'()" }, // encodeURIComponent
  { keep: "-_.!~*'();/?:@&=+$,#" }, // encodeURI
  { keep: '-_.~/' }, // Python's quote()
  { keep: '-_.~' }, // quote(safe=''), R's URLencode(reserved = TRUE)
  { keep: '-_.~', plus: true }, // quote_plus, urlencode
  { keep: '*-._', plus: true }, // URLSearchParams, Java's URLEncoder
  { keep: "-_.~!#$&'()*+,/:;=?@[]", keepEscapes: true }, // requests (requote_uri), in its errors
  { keep: "-_.~!$&'()*+,;=:@/?", keepEscapes: true }, // urllib3, in its errors
  { keep: '-_.~@:,&' }, // quote(v, safe='@:,&')
  { keep: "-_.~][!$&'()*+,;=:/?@#" }, // R's URLencode()
];

const ALPHANUMERIC = /[A-Za-z0-9]/;
const PERCENT_ESCAPES = Array.from({ length: 256 }, (_, b) => `%${hex(b, 2).toUpperCase()}`);

/** Percent-encodes v's UTF-8 bytes the way one encoder does (upper-case hex, as they all write it). */
export function percentEncode(v: string, style: UrlStyle): string {
  const keepPercent = style.keepEscapes === true && /%/.test(v) && !/%(?![0-9A-Fa-f]{2})/.test(v);
  let out = '';
  for (const b of Buffer.from(v, 'utf8')) {
    const c = String.fromCharCode(b);
    if (b < 0x80 && (ALPHANUMERIC.test(c) || style.keep.includes(c))) out += c;
    else if (c === ' ' && style.plus) out += '+';
    else if (c === '%' && keepPercent) out += c;
    else out += PERCENT_ESCAPES[b];
  }
  return out;
}
