import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/*
 * Bearer credentials (API keys, sessions, tickets) have the form `<prefix>_<id>.<secret>`: the id finds
 * the row, the 32-byte random secret proves possession. Only SHA-256 of the secret is stored; a salt or
 * slow hash adds nothing for 256 bits of entropy.
 */

export type TokenPrefix = 'cofk' | 'cofs' | 'coft';
const ID_HEX = 16;
const TOKEN_RE = /^(cofk|cofs|coft)_([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;

export interface NewToken {
  readonly id: string;
  readonly token: string;
  readonly secretHash: string;
  readonly last4: string;
}

export function newToken(prefix: TokenPrefix): NewToken {
  const id = randomBytes(ID_HEX / 2).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const token = `${prefix}_${id}.${secret}`;
  return { id, token, secretHash: hashSecret(secret), last4: token.slice(-4) };
}

export interface ParsedToken {
  readonly prefix: TokenPrefix;
  readonly id: string;
  readonly secret: string;
}

export function parseToken(token: string): ParsedToken | undefined {
  const m = TOKEN_RE.exec(token);
  if (!m) return undefined;
  return { prefix: m[1] as TokenPrefix, id: m[2]!, secret: m[3]! };
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url');
}

/** Constant-time check of a presented secret against the stored hash. */
export function tokenMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret));
  const b = Buffer.from(storedHash);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Random identifiers for rows; 128 bits, hex. */
export function newId(): string {
  return randomBytes(16).toString('hex');
}

/** Random opaque tag, used to mark a stored secret version without revealing anything about it. */
export function newTag(): string {
  return randomBytes(12).toString('base64url');
}

/** Constant-time string equality (CSRF tokens and the like). */
export function safeEqual(a: string, b: string): boolean {
  // UTF-16 code units, so lone surrogates are compared as themselves rather than folded to U+FFFD.
  const x = Buffer.from(a, 'utf16le');
  const y = Buffer.from(b, 'utf16le');
  return x.length === y.length && timingSafeEqual(x, y);
}
