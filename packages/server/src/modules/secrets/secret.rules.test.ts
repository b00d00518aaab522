import { describe, expect, it } from 'vitest';
import { Invalid } from '../../errors.js';
import { checkSecretName, checkSecretValue } from './secret.rules.js';

describe('secret names', () => {
  it.each([
    ['credential-for-my-api'],
    ['a'],
    ['with inner space'],
    ['Ünïcødé 🔑'],
    ['x'.repeat(256)],
    ['slash/and%percent'],
  ])('accepts %j', (name) => expect(checkSecretName(name)).toBe(name));

  it.each([
    ['', /must not be empty/],
    ['x'.repeat(257), /at most 256 characters/],
    [' lead', /white space/],
    ['trail ', /white space/],
    ['tab\tinside', /control characters/],
    ['nul\u0000', /control characters/],
    ['del\u007f', /control characters/],
    ['line\u2028sep', /control characters/],
    ['\ud800', /valid Unicode/],
  ])('refuses %j with a message naming the rule', (name, message) => {
    expect(() => checkSecretName(name)).toThrow(Invalid);
    expect(() => checkSecretName(name)).toThrow(message);
  });

  it('counts characters, not UTF-16 units, for the length limit', () => {
    expect(checkSecretName('🔑'.repeat(256))).toHaveLength(512);
  });

  it('refuses a name that is not a string', () => {
    expect(() => checkSecretName(12)).toThrow(/must be a string/);
  });
});

describe('secret values', () => {
  it('accepts UTF-8 text up to 64 KiB', () => {
    expect(checkSecretValue('n', 'é'.repeat(32 * 1024))).toHaveLength(32 * 1024);
  });

  it('refuses a value over 64 KiB, saying the limit but not the value', () => {
    const value = 'q'.repeat(64 * 1024 + 1);
    expect(() => checkSecretValue('n', value)).toThrow(/65537 bytes; the limit is 65536 bytes/);
    try {
      checkSecretValue('n', value);
    } catch (err) {
      expect((err as Error).message).not.toContain('qqqq');
    }
  });

  it.each([[''], [42], [null], ['\udfff']])('refuses %j', (value) => {
    expect(() => checkSecretValue('n', value)).toThrow(Invalid);
  });
});
