import { describe, expect, it } from 'vitest';
import { createLogMasker, formsOf, maskText } from './log-masker.js';

const SECRET = 'hunter2-Ünïcødé-🔑-s3cr3t';

/** Feeds `text` to a masker in pieces cut at `cuts` (byte offsets) and returns the whole output. */
function streamed(text: string, values: string[], cuts: number[]): string {
  const bytes = Buffer.from(text, 'utf8');
  const m = createLogMasker(values);
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(m.push(bytes.subarray(at, c)));
    at = c;
  }
  out.push(m.end());
  return Buffer.concat(out).toString('utf8');
}

/** A small deterministic PRNG, so failures reproduce. */
function prng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

describe('log masking', () => {
  it('masks the raw value', () => {
    expect(maskText(`token=${SECRET}; done`, [SECRET])).toBe('token=*****; done');
  });

  it.each([0, 1, 2])(
    'masks the value inside base64 when it starts at offset %i of a 3-byte group',
    (offset) => {
      const blob = Buffer.from(`${'p'.repeat(offset)}${SECRET}tail`).toString('base64');
      const out = maskText(blob, [SECRET]);
      expect(out).toContain('*****');
      for (const form of formsOf(SECRET)) expect(out).not.toContain(form.toString('latin1'));
    },
  );

  it('masks URL-safe base64', () => {
    const value = '\u00fb\u00ff\u00fe-more-bytes-????>>>';
    const blob = Buffer.from(`x${value}`).toString('base64url');
    expect(maskText(blob, [value])).toContain('*****');
  });

  it('masks URL-encoded forms (percent, plus-for-space, Python keeping /)', () => {
    const value = 'a b&c=d/é';
    for (const encoded of [
      encodeURIComponent(value),
      new URLSearchParams({ v: value }).toString().slice(2),
      encodeURIComponent(value).replace(/%2F/g, '/'),
    ])
      expect(maskText(`?q=${encoded}&x=1`, [value])).toBe('?q=*****&x=1');
  });

  it('masks JSON-escaped forms, including \\u escapes of non-ASCII', () => {
    const value = 'quote" back\\ newline\n é';
    expect(maskText(JSON.stringify({ k: value }), [value])).toBe('{"k":"*****"}');
    const ascii = JSON.stringify(value).replace(
      /[\u007f-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
    expect(maskText(ascii, [value])).toBe('"*****"');
  });

  it('leaves values shorter than the minimum alone, and the minimum is configurable', () => {
    expect(maskText('pin is 123', ['123'])).toBe('pin is 123');
    expect(maskText('pin is 123', ['123'], { minLength: 3 })).toBe('pin is *****');
  });

  it('gives the same output whatever the chunk boundaries, byte by byte included', () => {
    const text = `a ${SECRET} b ${Buffer.from(SECRET).toString('base64')} c ${encodeURIComponent(SECRET)} d`;
    const whole = maskText(text, [SECRET]);
    expect(whole).not.toContain(SECRET);
    const n = Buffer.byteLength(text);
    for (let cut = 0; cut <= n; cut++) expect(streamed(text, [SECRET], [cut])).toBe(whole);
    expect(
      streamed(
        text,
        [SECRET],
        Array.from({ length: n }, (_, i) => i),
      ),
    ).toBe(whole);
  });

  it('masks overlapping values and a value inside another', () => {
    expect(maskText('xx abcdefgh yy', ['abcdef', 'defgh'])).toBe('xx ***** yy');
    expect(maskText('long-secret-value', ['secret', 'long-secret-value'])).toBe('*****');
    expect(maskText('aaaaaaaaaa', ['aaaa'])).toBe('*****');
  });

  it('emits a chunk at once unless its tail could begin a value: a live log never lags a line', () => {
    const m = createLogMasker(['s3cr3t-value']);
    expect(m.push(Buffer.from('waiting for the API\n')).toString()).toBe('waiting for the API\n');
    // "s3c" could be the start of the value: held until the next chunk settles it...
    expect(m.push(Buffer.from('token: s3c')).toString()).toBe('token: ');
    expect(m.push(Buffer.from('r3t-value!\n')).toString()).toBe('*****!\n');
    // ...and released as soon as it cannot be.
    expect(m.push(Buffer.from('s3c')).toString()).toBe('');
    expect(m.push(Buffer.from('ond\n')).toString()).toBe('s3cond\n');
  });

  it('passes text through unchanged when there is nothing to mask', () => {
    expect(maskText('', [SECRET])).toBe('');
    expect(maskText('plain output\n', [])).toBe('plain output\n');
    expect(maskText('plain output\n', [SECRET])).toBe('plain output\n');
  });

  it('masks a run of back-to-back occurrences as one, across any number of chunks', () => {
    const m = createLogMasker(['abab']);
    const out: Buffer[] = [];
    for (let i = 0; i < 10_000; i++) out.push(m.push(Buffer.from('ab')));
    out.push(m.push(Buffer.from('zz')), m.end());
    expect(Buffer.concat(out).toString()).toBe('*****zz');
  });

  it('handles megabytes of output', () => {
    const chunk = Buffer.from(`${'lorem ipsum '.repeat(5000)}${SECRET}\n`);
    const m = createLogMasker([SECRET, 'another-value', 'third-value-xyz']);
    let masks = 0;
    for (let i = 0; i < 80; i++) masks += m.push(chunk).toString('utf8').split('*****').length - 1;
    masks += m.end().toString('utf8').split('*****').length - 1;
    expect(masks).toBe(80);
  });

  it('never lets a form of a value through, over random values, texts and chunkings', () => {
    const rand = prng(42);
    const alphabet = 'abcXYZ019 &=/+"\\\né🔑';
    const pick = (n: number) =>
      Array.from({ length: n }, () => [...alphabet][Math.floor(rand() * 16)]).join('');
    for (let round = 0; round < 200; round++) {
      const values = [pick(4 + Math.floor(rand() * 12)), pick(4 + Math.floor(rand() * 12))];
      const pieces = Array.from({ length: 6 }, () => {
        const v = values[Math.floor(rand() * 2)]!;
        const forms = formsOf(v);
        return `${pick(Math.floor(rand() * 5))}${forms[Math.floor(rand() * forms.length)]!.toString('utf8')}`;
      });
      const text = pieces.join('');
      const n = Buffer.byteLength(text);
      const cuts = [...new Set(Array.from({ length: 4 }, () => Math.floor(rand() * n)))].sort(
        (a, b) => a - b,
      );
      const out = streamed(text, values, cuts);
      for (const v of values)
        for (const f of formsOf(v))
          expect(out, JSON.stringify({ text, v })).not.toContain(f.toString('utf8'));
    }
  });
});
