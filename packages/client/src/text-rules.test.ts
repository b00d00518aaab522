import { describe, expect, it } from 'vitest';
import { secretNameProblem, secretValueProblem } from './secret-rules.js';
import { isWellFormedText, textProblem } from './text-rules.js';

const LONE_HIGH = '\ud800';
const LONE_LOW = '\udfff';

describe('well-formed text', () => {
  it.each([
    ['plain', 'abc', true],
    ['a pair (an emoji)', '🔑', true],
    ['a lone high surrogate', `a${LONE_HIGH}b`, false],
    ['a lone low surrogate', `a${LONE_LOW}b`, false],
    ['a high surrogate at the end', `a${LONE_HIGH}`, false],
    ['a pair in the wrong order', `${LONE_LOW}${LONE_HIGH}`, false],
  ])('%s: %j', (_label, value, ok) => expect(isWellFormedText(value)).toBe(ok));
});

describe('single-line text', () => {
  it.each([['Alice Dupont'], ['Ünïcødé 🔑 名前'], ['with  inner spaces'], ['']])('accepts %j', (value) =>
    expect(textProblem('displayName', value)).toBeNull(),
  );

  it.each([
    ['NUL', 'a\u0000b', 'U+0000'],
    ['SOH', 'a\u0001b', 'U+0001'],
    ['tab', 'a\tb', 'U+0009'],
    ['line feed', 'a\nb', 'U+000A'],
    ['carriage return', 'a\rb', 'U+000D'],
    ['escape', 'a\u001b[31mb', 'U+001B'],
    ['DEL', 'a\u007fb', 'U+007F'],
    ['NEL (C1)', 'a\u0085b', 'U+0085'],
    ['CSI (C1)', 'a\u009bb', 'U+009B'],
    ['line separator', 'a\u2028b', 'U+2028'],
    ['paragraph separator', 'a\u2029b', 'U+2029'],
  ])('refuses %s, naming the field and the character', (_label, value, which) => {
    expect(textProblem('displayName', value)).toBe(
      `displayName must not contain control characters (found ${which})`,
    );
  });

  it.each([
    ['high', LONE_HIGH],
    ['low', LONE_LOW],
  ])('refuses a lone %s surrogate, naming the field', (_label, s) => {
    expect(textProblem('label', `x${s}y`)).toMatch(
      /^label must be valid Unicode text: .*lone UTF-16 surrogate/,
    );
  });

  it('counts characters, not UTF-16 units, for the limit', () => {
    expect(textProblem('label', '🔑'.repeat(3), { max: 3 })).toBeNull();
    expect(textProblem('label', '🔑'.repeat(4), { max: 3 })).toBe(
      'label must be at most 3 characters long (got 4)',
    );
  });

  it('refuses empty text only when it is required', () => {
    expect(textProblem('project name', '', { required: true })).toBe('project name must not be empty');
    expect(textProblem('email', '')).toBeNull();
  });
});

describe('multi-line text', () => {
  const rule = { multiline: true };

  it('accepts tabs and every kind of line break', () => {
    expect(textProblem('recipe code', 'def f():\n\treturn 1\r\n# end\u2028', rule)).toBeNull();
  });

  it.each([
    ['NUL', 'x\u0000', 'U+0000'],
    ['vertical tab', 'x\u000b', 'U+000B'],
    ['form feed', 'x\u000c', 'U+000C'],
    ['escape', 'x\u001b', 'U+001B'],
    ['DEL', 'x\u007f', 'U+007F'],
    ['NEL (C1)', 'x\u0085', 'U+0085'],
  ])('refuses %s, naming the field, the character and its line', (_label, bad, which) => {
    expect(textProblem('recipe code', `print(1)\nprint(2)\n${bad}`, rule)).toBe(
      `recipe code must not contain control characters other than tab and line breaks (found ${which} on line 3)`,
    );
  });

  it('refuses lone surrogates', () => {
    expect(textProblem('recipe code', `print("${LONE_HIGH}")`, rule)).toMatch(
      /^recipe code must be valid Unicode/,
    );
  });
});

describe('secret names and values follow the same rules', () => {
  it.each([
    ['a\u0000', /^secret name must not contain control characters \(found U\+0000\)$/],
    ['a\tb', /control characters/],
    [LONE_LOW, /^secret name must be valid Unicode text/],
  ])('name %j', (name, message) => expect(secretNameProblem(name)).toMatch(message));

  it('values keep tabs, line breaks and other control characters: a credential is opaque', () => {
    const pem = '-----BEGIN KEY-----\r\nMIIB\tAA\n-----END KEY-----\n';
    expect(secretValueProblem('pem', pem)).toBeNull();
    expect(secretValueProblem('fix', 'user\u0001pass\u001b')).toBeNull();
  });

  it.each([
    ['NUL', 'xyz\u0000zy', /^value of secret "n" must not contain NUL \(U\+0000\)/],
    ['a lone high surrogate', `xyz${LONE_HIGH}zy`, /^value of secret "n" must be valid Unicode text/],
    ['a lone low surrogate', `xyz${LONE_LOW}zy`, /^value of secret "n" must be valid Unicode text/],
  ])('values refuse %s without repeating the value', (_label, value, message) => {
    const problem = secretValueProblem('n', value);
    expect(problem).toMatch(message);
    expect(problem).not.toMatch(/xyz|zy/);
  });
});
