import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newId, newTag, newToken, parseToken, safeEqual, tokenMatches, type TokenPrefix } from './tokens.js';

const PREFIXES: TokenPrefix[] = ['cofk', 'cofs', 'coft'];
const SHAPE = /^(cofk|cofs|coft)_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/;

/** A syntactically valid token with a fixed id and secret, for the parser tests. */
const ID = '0123456789abcdef';
const SECRET = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd'.padEnd(43, 'Z');
const VALID = `cofk_${ID}.${SECRET}`;

describe('newToken', () => {
  it.each(PREFIXES)(
    'a %s token has the form <prefix>_<16 lowercase hex>.<43 base64url> and parses back to its parts',
    (prefix) => {
      const t = newToken(prefix);
      expect(t.token).toMatch(SHAPE);
      expect(t.token.startsWith(`${prefix}_${t.id}.`)).toBe(true);
      expect(t.id).toMatch(/^[0-9a-f]{16}$/);
      const parsed = parseToken(t.token);
      expect(parsed).toEqual({ prefix, id: t.id, secret: t.token.slice(prefix.length + 1 + 16 + 1) });
    },
  );

  it('the secret part decodes to 32 bytes', () => {
    const { secret } = parseToken(newToken('cofs').token)!;
    expect(Buffer.from(secret, 'base64url').length).toBe(32);
  });

  it('last4 is the last four characters of the token', () => {
    const t = newToken('cofk');
    expect(t.last4).toBe(t.token.slice(-4));
    expect(t.last4).toHaveLength(4);
  });

  it('the stored hash is the base64url SHA-256 of the secret part, and never equals the secret or the token', () => {
    for (let i = 0; i < 50; i++) {
      const t = newToken('cofk');
      const { secret } = parseToken(t.token)!;
      expect(t.secretHash).not.toBe(secret);
      expect(t.token).not.toContain(t.secretHash);
      expect(t.secretHash).not.toContain(secret);
      expect(t.secretHash).toBe(createHash('sha256').update(secret, 'utf8').digest('base64url'));
      expect(t.secretHash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
  });

  it('two hundred tokens have distinct ids, secrets and hashes', () => {
    const tokens = Array.from({ length: 200 }, () => newToken('coft'));
    expect(new Set(tokens.map((t) => t.id)).size).toBe(200);
    expect(new Set(tokens.map((t) => parseToken(t.token)!.secret)).size).toBe(200);
    expect(new Set(tokens.map((t) => t.secretHash)).size).toBe(200);
  });
});

describe('parseToken', () => {
  it('accepts a well-formed token for each prefix and splits it into prefix, id and secret', () => {
    for (const prefix of PREFIXES) {
      expect(parseToken(`${prefix}_${ID}.${SECRET}`)).toEqual({ prefix, id: ID, secret: SECRET });
    }
  });

  it.each([
    ['an unknown prefix', `cofx_${ID}.${SECRET}`],
    ['an upper-case prefix', `COFK_${ID}.${SECRET}`],
    ['a prefix with an extra letter', `cofkk_${ID}.${SECRET}`],
    ['no prefix', `${ID}.${SECRET}`],
    ['a dash instead of the underscore', `cofk-${ID}.${SECRET}`],
    ['a character prepended', `xcofk_${ID}.${SECRET}`],
    ['a character appended', `${VALID}A`],
    ['a secret of 44 characters', `cofk_${ID}.${SECRET}A`],
    ['a secret of 42 characters (too short)', `cofk_${ID}.${SECRET.slice(1)}`],
    ['an empty secret', `cofk_${ID}.`],
    ['an id of 15 hex digits', `cofk_${ID.slice(1)}.${SECRET}`],
    ['an id of 17 hex digits', `cofk_${ID}0.${SECRET}`],
    ['an id with upper-case hex', `cofk_${ID.toUpperCase()}.${SECRET}`],
    ['an id with a non-hex letter', `cofk_${ID.slice(1)}g.${SECRET}`],
    ['no dot', `cofk_${ID}${SECRET}`],
    ['a colon instead of the dot', `cofk_${ID}:${SECRET}`],
    ['two dots', `cofk_${ID}..${SECRET.slice(1)}`],
    ['a space inside the secret', `cofk_${ID}.${SECRET.slice(0, 20)} ${SECRET.slice(21)}`],
    ['a tab inside the secret', `cofk_${ID}.${SECRET.slice(0, 20)}\t${SECRET.slice(21)}`],
    ['a space inside the id', `cofk_${ID.slice(0, 8)} ${ID.slice(9)}.${SECRET}`],
    ['a leading space', ` ${VALID}`],
    ['a trailing space', `${VALID} `],
    ['a trailing newline', `${VALID}\n`],
    ['a trailing CRLF', `${VALID}\r\n`],
    ['a leading newline', `\n${VALID}`],
    ['standard-base64 "+" in the secret', `cofk_${ID}.${SECRET.slice(0, -1)}+`],
    ['standard-base64 "/" in the secret', `cofk_${ID}.${SECRET.slice(0, -1)}/`],
    ['"=" padding in place of the last character', `cofk_${ID}.${SECRET.slice(0, -1)}=`],
    ['a non-ASCII letter in the secret', `cofk_${ID}.${SECRET.slice(0, -1)}é`],
    ['a "Bearer " scheme still attached', `Bearer ${VALID}`],
    ['two tokens joined by a newline', `${VALID}\n${VALID}`],
    ['the empty string', ''],
    ['a much too short string', 'cofk_'],
  ])('rejects a token with %s', (_label, token) => {
    expect(parseToken(token)).toBeUndefined();
  });

  it('the test token used above is itself well-formed (so the rejections are meaningful)', () => {
    expect(SECRET).toHaveLength(43);
    expect(VALID).toMatch(SHAPE);
  });
});

describe('tokenMatches', () => {
  it('is true for the secret the token was made with', () => {
    const t = newToken('cofk');
    expect(tokenMatches(parseToken(t.token)!.secret, t.secretHash)).toBe(true);
  });

  it("is false for another token's secret, a secret differing in its last character, and the empty string", () => {
    const t = newToken('cofk');
    const { secret } = parseToken(t.token)!;
    const other = parseToken(newToken('cofk').token)!.secret;
    const last = secret.slice(-1) === 'A' ? 'B' : 'A';
    expect(tokenMatches(other, t.secretHash)).toBe(false);
    expect(tokenMatches(secret.slice(0, -1) + last, t.secretHash)).toBe(false);
    expect(tokenMatches('', t.secretHash)).toBe(false);
  });

  it('is false when the whole token is presented instead of its secret part', () => {
    const t = newToken('cofk');
    expect(tokenMatches(t.token, t.secretHash)).toBe(false);
  });

  it('is false when the stored hash itself is presented as the secret (a leaked hash is not a credential)', () => {
    const t = newToken('cofk');
    expect(tokenMatches(t.secretHash, t.secretHash)).toBe(false);
  });

  it('is false against a stored hash that is empty, truncated, extended or of another token', () => {
    const t = newToken('cofk');
    const { secret } = parseToken(t.token)!;
    expect(tokenMatches(secret, '')).toBe(false);
    expect(tokenMatches(secret, t.secretHash.slice(0, -1))).toBe(false);
    expect(tokenMatches(secret, t.secretHash + 'A')).toBe(false);
    expect(tokenMatches(secret, newToken('cofk').secretHash)).toBe(false);
  });
});

describe('safeEqual', () => {
  it('is true for identical strings, including the empty string and non-ASCII text', () => {
    expect(safeEqual('', '')).toBe(true);
    expect(safeEqual('csrf-token-123', 'csrf-token-123')).toBe(true);
    expect(safeEqual('grüße 世界 🔐', 'grüße 世界 🔐')).toBe(true);
  });

  it('is false for strings of equal length that differ in one character', () => {
    expect(safeEqual('abcdef', 'abcdeg')).toBe(false);
    expect(safeEqual('Abcdef', 'abcdef')).toBe(false);
  });

  it('is false for strings of different lengths, including a prefix of the other and the empty string', () => {
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('abcd', 'abc')).toBe(false);
    expect(safeEqual('', 'a')).toBe(false);
    expect(safeEqual('a', '')).toBe(false);
  });

  it('is false for canonically equivalent but differently encoded strings (NFC vs NFD)', () => {
    expect(safeEqual('é'.normalize('NFC'), 'é'.normalize('NFD'))).toBe(false);
  });

  it('is false for two different strings that both contain unpaired surrogates', () => {
    // BUG: Buffer.from(string) encodes every lone surrogate as U+FFFD (EF BF BD), so these two different
    // strings compare equal. See the report: compare UTF-16 code units (e.g. Buffer.from(x, 'utf16le')).
    const [lone1, lone2]: string[] = ['\uD800', '\uDFFF'];
    expect(lone1 === lone2).toBe(false);
    expect(safeEqual(lone1!, lone2!)).toBe(false);
    expect(safeEqual('tok\uD800en', 'tok\uFFFDen')).toBe(false);
  });
});

describe('newId and newTag', () => {
  it('newId returns 32 lowercase hex characters (128 bits), different each time', () => {
    const ids = Array.from({ length: 200 }, () => newId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(200);
  });

  it('newTag returns 16 base64url characters (96 bits), different each time', () => {
    const tags = Array.from({ length: 200 }, () => newTag());
    for (const tag of tags) expect(tag).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(new Set(tags).size).toBe(200);
  });
});
