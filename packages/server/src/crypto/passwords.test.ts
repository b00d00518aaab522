import { randomBytes, scryptSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './passwords.js';

/*
 * Each full-cost scrypt call (N=2^15) takes tens of milliseconds, so the real-cost hashes are made once
 * and shared; tests of the parsing and comparison logic use hand-made hashes with cheap parameters,
 * which verifyPassword honours because parameters are read from the stored string.
 */

const PASSWORD = 'correct horse battery café'.normalize('NFC');
const FORMAT = /^scrypt\$32768\$8\$1\$([A-Za-z0-9_-]{22})\$([A-Za-z0-9_-]{43})$/;

/** A stored hash with cheap parameters, built independently of passwords.ts. */
function cheapHash(password: string, opts: { N?: number; keylen?: number; salt?: Buffer } = {}): string {
  const N = opts.N ?? 1024;
  const salt = opts.salt ?? randomBytes(16);
  const key = scryptSync(password.normalize('NFC'), salt, opts.keylen ?? 32, { N, r: 8, p: 1 });
  return `scrypt$${N}$8$1$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

describe('hashPassword and verifyPassword at full cost', () => {
  let first = '';
  let second = '';
  beforeAll(async () => {
    [first, second] = await Promise.all([hashPassword(PASSWORD), hashPassword(PASSWORD)]);
  });

  it('a hash has the form scrypt$32768$8$1$<16-byte salt, base64url>$<32-byte key, base64url>', () => {
    const m = FORMAT.exec(first);
    expect(m).not.toBeNull();
    expect(Buffer.from(m![1]!, 'base64url').length).toBe(16);
    expect(Buffer.from(m![2]!, 'base64url').length).toBe(32);
  });

  it('the key in the hash is scrypt(NFC(password), salt, 32 bytes, N=32768, r=8, p=1)', () => {
    const [, salt, key] = FORMAT.exec(first)!;
    const expected = scryptSync(PASSWORD, Buffer.from(salt!, 'base64url'), 32, {
      N: 32768,
      r: 8,
      p: 1,
      maxmem: 64 * 1024 * 1024,
    });
    expect(key).toBe(expected.toString('base64url'));
  });

  it('two hashes of the same password differ, in salt and in key', () => {
    expect(second).not.toBe(first);
    expect(FORMAT.exec(second)![1]).not.toBe(FORMAT.exec(first)![1]);
    expect(FORMAT.exec(second)![2]).not.toBe(FORMAT.exec(first)![2]);
  });

  it('the hash does not contain the password', () => {
    expect(first).not.toContain(PASSWORD);
    expect(first).not.toContain(Buffer.from(PASSWORD).toString('base64url'));
  });

  it('verifyPassword is true for the password that was hashed', async () => {
    expect(await verifyPassword(PASSWORD, first)).toBe(true);
  });

  it('verifyPassword is true for the NFD spelling of a password hashed in NFC (passwords are normalized)', async () => {
    const nfd = PASSWORD.normalize('NFD');
    expect(nfd).not.toBe(PASSWORD);
    expect(await verifyPassword(nfd, second)).toBe(true);
  });

  it('verifyPassword is false for a wrong password', async () => {
    expect(await verifyPassword('correct horse battery cafe', first)).toBe(false);
  });

  it('verifyPassword is false, after doing the work of a real check, when there is no stored hash (null or undefined)', async () => {
    // The dummy path: a user that does not exist must not log in, whatever the password.
    expect(await verifyPassword(PASSWORD, null)).toBe(false);
    expect(await verifyPassword('', undefined)).toBe(false);
  });
});

describe('verifyPassword parsing and comparison (cheap parameters)', () => {
  it('honours the parameters stored in the hash, so hashes made with other costs keep verifying', async () => {
    expect(await verifyPassword('pw', cheapHash('pw', { N: 1024 }))).toBe(true);
    expect(await verifyPassword('pw', cheapHash('pw', { N: 2048 }))).toBe(true);
  });

  it('is false for a wrong password against a cheap hash, including the empty password and a case change', async () => {
    const stored = cheapHash('Secret');
    expect(await verifyPassword('secret', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
    expect(await verifyPassword('Secret ', stored)).toBe(false);
  });

  it('verifies the empty password against a hash of the empty password', async () => {
    expect(await verifyPassword('', cheapHash(''))).toBe(true);
  });

  it('is false when the stored key has another length than 32 bytes, even if it is a prefix of the right key', async () => {
    const salt = randomBytes(16);
    const short = cheapHash('pw', { salt, keylen: 16 }); // scrypt output is a prefix of the 32-byte output
    const long = cheapHash('pw', { salt, keylen: 64 });
    expect(await verifyPassword('pw', short)).toBe(false);
    expect(await verifyPassword('pw', long)).toBe(false);
  });

  it('is false when the salt in the stored hash is changed', async () => {
    const stored = cheapHash('pw');
    const parts = stored.split('$');
    parts[4] = randomBytes(16).toString('base64url');
    expect(await verifyPassword('pw', parts.join('$'))).toBe(false);
  });

  it.each([
    ['the empty string', ''],
    ['another algorithm', '$2b$10$abcdefghijklmnopqrstuuAbCdEfGhIjKlMnOpQrStUvWxYz01234'],
    ['a scrypt hash with a field missing', 'scrypt$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA'],
    ['a scrypt hash with an extra field', 'scrypt$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAA$AAAA'],
    [
      'an upper-case algorithm name',
      'SCRYPT$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ],
  ])('is false for a stored value that is %s', async (_label, stored) => {
    expect(await verifyPassword('pw', stored)).toBe(false);
  });
});
