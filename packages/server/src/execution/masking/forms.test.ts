import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  base64Runs,
  jsonAsciiBody,
  latexEscape,
  nodeInspect,
  patternsOf,
  percentEncode,
  piecesOf,
  pythonBytesRepr,
  pythonRepr,
  rString,
  ruleFor,
  textForms,
} from './forms.js';

// Outputs copied from the tools (Python 3.11, R 4.2, Node 20), for the value below.
const V = `a\\b "q" 'é' <t>/+%zz\x01\u2028🔑`;

describe('the forms of a value', () => {
  it('match what Python prints', () => {
    // repr(V) and ascii(V); repr(V.encode())
    expect(pythonRepr(V, "'")).toBe(`a\\\\b "q" \\'é\\' <t>/+%zz\\x01\\u2028🔑`);
    expect(pythonRepr(V, "'", true)).toBe(`a\\\\b "q" \\'\\xe9\\' <t>/+%zz\\x01\\u2028\\U0001f511`);
    expect(pythonBytesRepr(V, "'")).toBe(
      `a\\\\b "q" \\'\\xc3\\xa9\\' <t>/+%zz\\x01\\xe2\\x80\\xa8\\xf0\\x9f\\x94\\x91`,
    );
    // json.dumps(V)
    expect(jsonAsciiBody(V)).toBe(`a\\\\b \\"q\\" '\\u00e9' <t>/+%zz\\u0001\\u2028\\ud83d\\udd11`);
    // quote(V), quote_plus(V)
    expect(percentEncode('a b/é', { keep: '-_.~/' })).toBe('a%20b/%C3%A9');
    expect(percentEncode('a b/é', { keep: '-_.~', plus: true })).toBe('a+b%2F%C3%A9');
  });

  it('match what R prints', () => {
    // print(V); print(data.frame(v = V)) shows the quotes as they are
    expect(rString(V, '"')).toBe(`a\\\\b \\"q\\" 'é' <t>/+%zz\\001\\u2028🔑`);
    expect(rString(V, '')).toBe(`a\\\\b "q" 'é' <t>/+%zz\\001\\u2028🔑`);
    // IRkernel's text/html and text/latex of V (repr_html(V), repr_latex(V)), inside their quotes
    expect(textForms(V)).toContain(`a\\\\b "q" \\'é\\' &lt;t&gt;/+%zz\\001\\u2028🔑`);
    expect(textForms(V)).toContain(
      `a\\textbackslash{}\\textbackslash{}b "q" \\textbackslash{}'é\\textbackslash{}' <t>/+\\%zz\\textbackslash{}001\\textbackslash{}u2028🔑`,
    );
    // repr_latex(data.frame(v = ...)): a cell as it is
    expect(latexEscape('a\\b{c}$^_%#&~[]|')).toBe(
      'a\\textbackslash{}b\\{c\\}\\$\\textasciicircum{}\\_\\%\\#\\&\\textasciitilde{}{[}{]}\\textbar{}',
    );
  });

  it('match what Node prints', () => {
    expect(`'${nodeInspect('a\\b\x01\x7f\n', "'")}'`).toBe(inspect('a\\b\x01\x7f\n'));
    expect(`\`${nodeInspect(V, '`')}\``).toBe(inspect(V));
    expect(textForms(V)).toContain(encodeURIComponent(V));
    expect(textForms(V)).toContain(JSON.stringify(V).slice(1, -1));
    expect(textForms(V)).toContain(new URLSearchParams({ v: V }).toString().slice(2));
  });

  it('put the value itself first and hold no duplicates', () => {
    const forms = textForms('plain-value');
    expect(forms).toEqual(['plain-value']);
    expect(new Set(textForms(V)).size).toBe(textForms(V).length);
    expect(textForms(V)[0]).toBe(V);
  });

  it('base64 runs cover only characters made of the value, at each alignment', () => {
    const bytes = Buffer.from('hunter2-secret');
    for (const [align, run] of base64Runs(bytes).entries()) {
      const blob = Buffer.concat([Buffer.from('xyz'.slice(0, align)), bytes, Buffer.from('!!!')]).toString(
        'base64',
      );
      expect(blob).toContain(run);
    }
  });
});

describe('pieces and rules', () => {
  it('a multi-line value gives its lines and its trimmed copy', () => {
    expect(piecesOf('  line one\r\nline two  \n')).toEqual([
      '  line one\r\nline two  \n',
      'line one\r\nline two',
      'line one',
      'line two',
    ]);
  });

  it('by length: nothing, a whole word, anywhere, runs', () => {
    expect([3, 4, 7, 8, 31, 32].map((n) => ruleFor(n, 4))).toEqual([
      null,
      'word',
      'word',
      'anywhere',
      'anywhere',
      'runs',
    ]);
    expect(ruleFor(2, 1)).toBe('word');
  });

  it('a short value gives word patterns and its whole base64 only', () => {
    const p = patternsOf(['pass'], 4);
    expect(p.anywhere).toEqual([]);
    expect(p.runs).toEqual([]);
    expect(p.words.map(String)).toEqual(expect.arrayContaining(['pass', 'cGFzcw==', 'cGFzcw']));
  });

  it('a long value gives runs, itself first; lines with raw line breaks never become patterns', () => {
    const pem = `-----BEGIN KEY-----\n${'A'.repeat(64)}\n${'B'.repeat(64)}\nshort==\n-----END KEY-----\n`;
    const p = patternsOf([pem], 4);
    expect(p.runs[0]!.toString()).toBe('A'.repeat(64));
    for (const list of [p.words, p.anywhere, p.runs])
      for (const b of list) expect(b.toString()).not.toMatch(/[\r\n]/);
    expect(p.words.map(String)).toContain('short==');
    expect(p.anywhere.map(String)).toContain('-----BEGIN KEY-----');
  });
});
