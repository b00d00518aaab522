/* Byte classes the masker looks bytes up in, one table each, so the per-byte loop does no comparisons. */

function table(match: (b: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = match(b) ? 1 : 0;
  return t;
}

const code = (c: string) => c.charCodeAt(0);

/**
 * What the matcher compares instead of bytes. A few bytes that encoders swap for one another match
 * alike: "+", "-" and " " (form encoding writes a space as "+"; URL-safe base64 writes "-" for "+"),
 * and "/" with "_" (URL-safe base64). Text that differs from a value only there is masked too, which
 * costs nothing and saves a pattern per variant.
 */
export const FOLD: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = b;
  t[code('-')] = code('+');
  t[code(' ')] = code('+');
  t[code('_')] = code('/');
  return t;
})();

export function fold(bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = FOLD[bytes[i]!]!;
  return out;
}

/**
 * Bytes that can continue a word: ASCII letters, digits, "_", and every byte of a non-ASCII character
 * (so "passé" is one word). A short value is masked only where no such byte touches it.
 */
export const WORD: Uint8Array = table(
  (b) =>
    (b >= 0x30 && b <= 0x39) ||
    (b >= 0x41 && b <= 0x5a) ||
    (b >= 0x61 && b <= 0x7a) ||
    b === 0x5f ||
    b >= 0x80,
);

/** Base64 characters, both alphabets, and the padding. */
export const BASE64: Uint8Array = table(
  (b) =>
    (b >= 0x30 && b <= 0x39) ||
    (b >= 0x41 && b <= 0x5a) ||
    (b >= 0x61 && b <= 0x7a) ||
    [code('+'), code('/'), code('-'), code('_'), code('=')].includes(b),
);

/** Bytes that may break a base64 line that MIME wrapping cut: a line end, or "\\" of an escaped "\\n". */
export const MAY_BREAK_BASE64: Uint8Array = table((b) => b === 0x0a || b === 0x0d || b === 0x5c);

/** A byte that continues a UTF-8 character (never the first byte of one). */
export const isContinuation = (b: number) => (b & 0xc0) === 0x80;

export const LF = 0x0a;
export const CR = 0x0d;
export const BACKSLASH = 0x5c;
