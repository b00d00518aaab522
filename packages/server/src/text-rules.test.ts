import { describe, expect, it } from 'vitest';
import { Invalid } from './errors.js';
import { checkCode, checkProjectName } from './modules/projects/project.rules.js';
import { checkSecretName, checkSecretValue } from './modules/secrets/secret.rules.js';
import { checkPassword, checkStringMap } from './modules/users/user.rules.js';
import { checkJsonText, checkText, line, multiline } from './text-rules.js';

/** The sentence a check throws as a 400, or null when it passes. */
function refusal(check: () => unknown): string | null {
  try {
    check();
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(Invalid);
    return (err as Error).message;
  }
}

const BAD = {
  NUL: '\u0000',
  SOH: '\u0001',
  DEL: '\u007f',
  NEL: '\u0085',
  'lone high surrogate': '\ud800',
  'lone low surrogate': '\udc00',
};
const bad = Object.entries(BAD);

describe('checkText throws Invalid (400) naming the field', () => {
  it('passes good text through', () => {
    expect(checkText('label', 'ok', line(10))).toBe('ok');
    expect(checkText('description', 'a\n\tb', multiline(10))).toBe('a\n\tb');
  });

  it.each(bad)('single-line: %s', (_label, ch) => {
    expect(refusal(() => checkText('label', `a${ch}b`, line(200)))).toMatch(
      /^label must (not contain control characters|be valid Unicode text)/,
    );
  });

  it.each(bad)('multi-line: %s', (_label, ch) => {
    expect(refusal(() => checkText('description', `a\n${ch}`, multiline(200)))).toMatch(
      /^description must (not contain control characters other than tab and line breaks|be valid Unicode text)/,
    );
  });
});

describe('each kind of field', () => {
  it.each(bad)('project name: %s', (_label, ch) => {
    expect(refusal(() => checkProjectName(`Project ${ch}`))).toMatch(/^project name must/);
  });

  it('project name: a tab at the edge is refused, not trimmed away', () => {
    expect(refusal(() => checkProjectName('Name\t'))).toMatch(/control characters \(found U\+0009\)/);
    expect(checkProjectName('  Name  ')).toBe('Name');
  });

  it.each(bad)('recipe code: %s', (_label, ch) => {
    expect(refusal(() => checkCode(`print(1)\n${ch}`))).toMatch(/^recipe code must/);
  });

  it('recipe code keeps tabs and CRLF line breaks', () => {
    expect(checkCode('if x:\r\n\tprint(1)\r\n')).toBe('if x:\r\n\tprint(1)\r\n');
  });

  it.each(bad)('user properties, key and value: %s', (_label, ch) => {
    expect(refusal(() => checkStringMap('userProperties', { [`k${ch}`]: 'v' }))).toMatch(
      /^a key in userProperties must/,
    );
    expect(refusal(() => checkStringMap('userProperties', { k: `v${ch}` }))).toMatch(
      /^userProperties\.k must/,
    );
  });

  it.each(bad)('preferences, anywhere in the JSON: %s', (_label, ch) => {
    expect(refusal(() => checkJsonText('preferences', { ui: { [`t${ch}`]: 1 } }, { keyMax: 200 }))).toMatch(
      /^a key in preferences\.ui must/,
    );
    expect(refusal(() => checkJsonText('preferences', { ui: ['ok', `x${ch}`] }, { keyMax: 200 }))).toMatch(
      /^preferences\.ui\[1\] must/,
    );
  });

  it('preferences: strings may span lines; numbers, booleans and null pass', () => {
    expect(
      refusal(() => checkJsonText('preferences', { note: 'a\nb', n: 1, b: true, z: null }, { keyMax: 200 })),
    ).toBeNull();
  });

  it.each(bad)('secret name: %s', (_label, ch) => {
    expect(refusal(() => checkSecretName(`n${ch}`))).toMatch(/^secret name must/);
  });

  it('secret value: NUL and lone surrogates refused, other controls kept', () => {
    expect(refusal(() => checkSecretValue('n', 'a\u0000'))).toMatch(/must not contain NUL/);
    expect(refusal(() => checkSecretValue('n', 'a\ud800'))).toMatch(/valid Unicode/);
    expect(checkSecretValue('n', 'a\u0001\u007f\u0085\r\n\t')).toBe('a\u0001\u007f\u0085\r\n\t');
  });

  it('password: lone surrogates refused (they would hash alike), controls kept', () => {
    expect(refusal(() => checkPassword('long enough \ud800'))).toMatch(/^password must be valid Unicode/);
    expect(checkPassword('long enough \u0001\t')).toBe('long enough \u0001\t');
  });
});
