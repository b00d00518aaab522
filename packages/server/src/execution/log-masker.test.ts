import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { compileMasking, createLogMasker, maskText, type MaskOptions } from './log-masker.js';
import { RUN_LENGTH, textForms } from './masking/forms.js';

// The values of issue 13's probe. Printed texts below are what the tools print, copied from their output.
const BACKSLASH = 'DOMAIN\\svc-r3port';
const SPECIALS = `p@ss:w0rd,&x=1 "q" 'é' <t>/+%zz`;
const LONG = 'lk_9fQ2xL7vR1mZ8kP3sT6wY0bN4cH5jD2gF8aE1uI7oK3qW9zX6rV0tB5nM4lC2yU8iO1pA7sD3fG6hJ9kL0zQ';
const PEM = [
  '-----BEGIN TEST PRIVATE KEY-----',
  'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj',
  'MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu',
  'p2PKSQnSJP3AJLQNFNe7br1Xb5GXwZ2cdqIBhHa==',
  '-----END TEST PRIVATE KEY-----',
  '',
].join('\n');
const EMOJI = 'clé-🔑-s3cr3t-värde';

/** Feeds `text` to a masker in pieces cut at `cuts` (byte offsets) and returns the whole output. */
function streamed(
  text: string | Buffer,
  values: readonly string[],
  cuts: number[],
  opts?: MaskOptions,
): Buffer {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const m = createLogMasker(values, opts);
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(m.push(bytes.subarray(at, c)));
    at = c;
  }
  out.push(m.end());
  return Buffer.concat(out);
}

/** Every way of cutting `text` in two, and byte by byte: each must give the whole-text result. */
function expectSameWhateverTheChunks(text: string, values: readonly string[]): void {
  const whole = maskText(text, values);
  const n = Buffer.byteLength(text);
  for (let cut = 0; cut <= n; cut++)
    expect(streamed(text, values, [cut]).toString(), `cut at ${cut}`).toBe(whole);
  const everyByte = Array.from({ length: n }, (_, i) => i);
  expect(streamed(text, values, everyByte).toString()).toBe(whole);
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

// [form, value, as printed, as masked]
const FORMS: [string, string, string, string][] = [
  ['plain', SPECIALS, `token: ${SPECIALS}!`, 'token: *****!'],
  ['Python repr', BACKSLASH, `'DOMAIN\\\\svc-r3port'`, `'*****'`],
  ['Python %r, KeyError', BACKSLASH, `KeyError: 'DOMAIN\\\\svc-r3port'`, `KeyError: '*****'`],
  ['Python repr, both quotes', SPECIALS, `['p@ss:w0rd,&x=1 "q" \\'é\\' <t>/+%zz']`, `['*****']`],
  ['Python ascii()', SPECIALS, `'p@ss:w0rd,&x=1 "q" \\'\\xe9\\' <t>/+%zz'`, `'*****'`],
  [
    'Python exception',
    SPECIALS,
    `ValueError: bad token 'p@ss:w0rd,&x=1 "q" \\'é\\' <t>/+%zz'`,
    `ValueError: bad token '*****'`,
  ],
  ['Python bytes', SPECIALS, `b'p@ss:w0rd,&x=1 "q" \\'\\xc3\\xa9\\' <t>/+%zz'`, `b'*****'`],
  ['Python bytes, backslash', BACKSLASH, `b'DOMAIN\\\\svc-r3port'`, `b'*****'`],
  ['Node util.inspect', BACKSLASH, inspect({ token: BACKSLASH }), `{ token: '*****' }`],
  ['Node util.inspect, both quotes', SPECIALS, inspect([SPECIALS]), '[ `*****` ]'],
  ['R print()', SPECIALS, `[1] "p@ss:w0rd,&x=1 \\"q\\" 'é' <t>/+%zz"`, `[1] "*****"`],
  [
    'R print(data.frame)',
    BACKSLASH,
    `            token n\n1 DOMAIN\\\\svc-r3port 1`,
    `            token n\n1 ***** 1`,
  ],
  ['R str()', SPECIALS, ` chr "p@ss:w0rd,&x=1 \\"q\\" 'é' <t>/+%zz"`, ` chr "*****"`],
  ['JSON', SPECIALS, JSON.stringify({ k: SPECIALS }), '{"k":"*****"}'],
  [
    'JSON, Python ensure_ascii',
    SPECIALS,
    `{"k": "p@ss:w0rd,&x=1 \\"q\\" '\\u00e9' <t>/+%zz"}`,
    '{"k": "*****"}',
  ],
  [
    'JSON inside JSON',
    SPECIALS,
    JSON.stringify({ b: JSON.stringify({ k: SPECIALS }) }),
    '{"b":"{\\"k\\":\\"*****\\"}"}',
  ],
  [
    'JSON inside JSON, Python',
    SPECIALS,
    `{"body": "{\\"k\\": \\"p@ss:w0rd,&x=1 \\\\\\"q\\\\\\" '\\\\u00e9' <t>/+%zz\\"}"}`,
    '{"body": "{\\"k\\": \\"*****\\"}"}',
  ],
  [
    'JSON inside a Python repr',
    SPECIALS,
    `{'body': '{"k": "p@ss:w0rd,&x=1 \\\\"q\\\\" \\'\\\\u00e9\\' <t>/+%zz"}'}`,
    `{'body': '{"k": "*****"}'}`,
  ],
  [
    'HTML, Python html.escape',
    SPECIALS,
    `<td>p@ss:w0rd,&amp;x=1 &quot;q&quot; &#x27;é&#x27; &lt;t&gt;/+%zz</td>`,
    '<td>*****</td>',
  ],
  ['HTML, markupsafe', SPECIALS, `p@ss:w0rd,&amp;x=1 &#34;q&#34; &#39;é&#39; &lt;t&gt;/+%zz`, '*****'],
  ['HTML, quotes left', SPECIALS, `p@ss:w0rd,&amp;x=1 "q" 'é' &lt;t&gt;/+%zz`, '*****'],
  ['CSV', SPECIALS, `token,"p@ss:w0rd,&x=1 ""q"" 'é' <t>/+%zz"`, 'token,"*****"'],
  [
    'URL, quote()',
    SPECIALS,
    '?t=p%40ss%3Aw0rd%2C%26x%3D1%20%22q%22%20%27%C3%A9%27%20%3Ct%3E/%2B%25zz&n=1',
    '?t=*****&n=1',
  ],
  [
    'URL, quote_plus()',
    SPECIALS,
    '?t=p%40ss%3Aw0rd%2C%26x%3D1+%22q%22+%27%C3%A9%27+%3Ct%3E%2F%2B%25zz&n=1',
    '?t=*****&n=1',
  ],
  ['URL, encodeURIComponent', SPECIALS, `?t=${encodeURIComponent(SPECIALS)}&n=1`, '?t=*****&n=1'],
  ['URL, URLSearchParams', SPECIALS, new URLSearchParams({ t: SPECIALS, n: '1' }).toString(), 't=*****&n=1'],
  [
    'URL, requests error',
    SPECIALS,
    "Max retries exceeded with url: /api?token=p@ss:w0rd,&x=1%20%22q%22%20'%C3%A9'%20%3Ct%3E/+%25zz (Caused by",
    'Max retries exceeded with url: /api?token=***** (Caused by',
  ],
  [
    'URL, quote(safe="@:,&")',
    SPECIALS,
    'p@ss:w0rd,&x%3D1%20%22q%22%20%27%C3%A9%27%20%3Ct%3E%2F%2B%25zz',
    '*****',
  ],
  ['base64', SPECIALS, `${b64(SPECIALS)} ${b64(SPECIALS).replace(/=/g, '')}`, '*****= *****'],
];

describe('masking the forms a value is printed in', () => {
  it.each(FORMS)('%s', (_form, value, printed, masked) => {
    expect(maskText(printed, [value])).toBe(masked);
  });

  it.each([0, 1, 2])('base64 at offset %i of a 3-byte group, standard and URL-safe', (offset) => {
    for (const encoding of ['base64', 'base64url'] as const) {
      const blob = Buffer.from(`${'p'.repeat(offset)}${SPECIALS}tail`).toString(encoding);
      const out = maskText(blob, [SPECIALS]);
      expect(out).toContain('*****');
      // What is left is at most the two edges, each with at most one character that mixes value bits.
      expect(out.replace('*****', '').length).toBeLessThanOrEqual(blob.length - b64(SPECIALS).length + 4);
    }
  });

  it('HTTP basic auth: the password inside base64("user:password")', () => {
    expect(maskText(`Authorization: Basic ${b64(`user:${SPECIALS}`)}`, [SPECIALS])).toMatch(
      /^Authorization: Basic dXNlcj\w?\*\*\*\*\*/,
    );
  });

  it('MIME base64, wrapped at 76 columns, keeps its line breaks around the masks', () => {
    const mime = b64(`${'x'.repeat(50)}${SPECIALS}${'y'.repeat(40)}`).replace(/.{76}/g, '$&\n');
    const out = maskText(mime, [SPECIALS]);
    expect(out.split('\n')).toHaveLength(mime.split('\n').length);
    expect(out).toMatch(/^eHh4[\w+/]*\*\*\*\*\*\n\*\*\*\*\*[\w+/]*/);
    // ... and inside a Python bytes repr, with "\n" escapes.
    const repr = `b'${b64(`${'x'.repeat(52)}${SPECIALS}`).replace(/.{76}/g, '$&\\n')}\\n'`;
    expect(maskText(repr, [SPECIALS])).toMatch(/^b'eHh4[\w+/]*\*\*\*\*\*[\w+/=]*\\n'$/);
  });

  it('a multi-line value: line by line, indented, with CRLF, in pprint and inspect, and as base64', () => {
    const lines = PEM.trim().split('\n');
    const expected = lines.map(() => '*****');
    expect(maskText(PEM, [PEM])).toBe(`${expected.join('\n')}\n`);
    expect(maskText(lines.map((l) => `    ${l}`).join('\r\n'), [PEM])).toBe(
      expected.map((l) => `    ${l}`).join('\r\n'),
    );
    // The "\n" inside pprint's pieces belongs to the value's repr: it goes with the mask.
    const pprint = lines.map((l, i) => `${i ? '        ' : "{'key': "}'${l}\\n'`).join('\n');
    expect(maskText(pprint, [PEM])).toBe(
      lines.map((_, i) => `${i ? '        ' : "{'key': "}'*****'`).join('\n'),
    );
    expect(maskText(inspect({ key: PEM }), [PEM])).not.toMatch(/[A-Za-z0-9]{12}/);
    expect(maskText(JSON.stringify({ key: PEM }), [PEM])).toBe('{"key":"*****"}');
    const mime = b64(PEM).replace(/.{76}/g, '$&\n');
    expect(maskText(mime, [PEM]).replace(/\n/g, '')).toMatch(/^(\*\*\*\*\*)+=*$/);
  });

  it('a value pasted with its line end is masked once code strips it', () => {
    expect(maskText("'pasted-value-4f9c' pasted-value-4f9c", ['pasted-value-4f9c\n'])).toBe("'*****' *****");
  });

  it('a long value: any run of RUN_LENGTH bytes of it, as printed or in any form, is masked', () => {
    expect(RUN_LENGTH).toBe(20);
    expect(maskText(`${LONG.slice(0, 40)}...`, [LONG])).toBe('*****...');
    expect(maskText(`...${LONG.slice(30, 50)}|`, [LONG])).toBe('...*****|');
    expect(maskText(`...${LONG.slice(30, 49)}|`, [LONG])).toBe(`...${LONG.slice(30, 49)}|`);
    expect(maskText(`'${LONG.slice(0, 27)}...'`, [`${LONG}\\"`])).toBe(`'*****...'`);
    expect(maskText(encodeURIComponent(`${LONG}/+=`).slice(70), [`${LONG}/+=`])).toBe('*****');
    // Values under 32 characters are masked whole only: a cut one is shown.
    const medium = LONG.slice(0, 31);
    expect(maskText(medium.slice(0, 25), [medium])).toBe(medium.slice(0, 25));
  });

  it('a run starting inside a multi-byte character leaves it whole, in valid UTF-8', () => {
    const value = `ééé${LONG.slice(0, 30)}ééé`;
    const out = Buffer.from(maskText(`x${value.slice(1, 25)}y`, [value]), 'utf8');
    expect(out.toString()).toBe('x*****y');
    const inner = streamed(`<${LONG.slice(2, 30)}é>`, [`${LONG.slice(0, 30)}è`], [10, 31]);
    expect(inner.toString()).not.toContain('\ufffd');
  });
});

describe('short values: masked only as whole words', () => {
  it('masks "pass" standing alone but leaves the words that contain it', () => {
    const text = 'the pass is pass. password passage compass bypass pass_word passé (pass) "pass"';
    expect(maskText(text, ['pass'])).toBe(
      'the ***** is *****. password passage compass bypass pass_word passé (*****) "*****"',
    );
    expect(maskText('pass', ['pass'])).toBe('*****');
    expectSameWhateverTheChunks(text, ['pass']);
  });

  it('a word boundary is needed only where the value itself begins or ends a word', () => {
    expect(maskText('x#pin!x', ['#pin'])).toBe('x*****!x');
    expect(maskText('ab#pinx', ['#pin'])).toBe('ab#pinx');
  });

  it('its forms are words too: repr, JSON, URL, and its whole base64 but no base64 run', () => {
    expect(maskText(`['pa\\\\s'] {"k":"pa\\\\s"} ?k=pa%5Cs&`, ['pa\\s'])).toBe(
      `['*****'] {"k":"*****"} ?k=*****&`,
    );
    expect(maskText(`Basic ${b64('pass')} ${b64('pass').replace(/=/g, '')}.`, ['pass'])).toBe(
      'Basic ***** *****.',
    );
    const blob = b64(`xy:pass:zz-more`);
    expect(maskText(blob, ['pass'])).toBe(blob);
  });

  it('values under the minimum are not masked at all; the minimum can be set', () => {
    expect(maskText('pin is 123', ['123'])).toBe('pin is 123');
    expect(maskText('pin is 123', ['123'], { minLength: 3 })).toBe('pin is *****');
    expect(maskText('a 1 b 12 c', ['1'], { minLength: 1 })).toBe('a ***** b 12 c');
  });

  it('values of 8 characters or more are masked inside words too', () => {
    expect(maskText('hunter22abc', ['hunter22'])).toBe('*****abc');
  });
});

describe('streaming', () => {
  const values = [SPECIALS, BACKSLASH, PEM, LONG, 'pass', EMOJI];

  it('gives the same output whatever the chunk boundaries, byte by byte included', () => {
    for (const text of [
      `a ${SPECIALS} b '${BACKSLASH.replace('\\', '\\\\')}' c`,
      `x ${EMOJI} ${JSON.stringify(EMOJI)} ${b64(`q${EMOJI}`)} ${encodeURIComponent(EMOJI)}`,
      b64(`${'x'.repeat(50)}${SPECIALS}`).replace(/.{76}/g, '$&\n'),
      `${LONG.slice(3, 45)}... ${LONG.slice(50)}`,
      `the pass, password, pass\n${PEM.replace(/\n/g, '\r\n')}`,
    ])
      expectSameWhateverTheChunks(text, values);
  });

  it('keeps a character split across chunks whole, masked or not', () => {
    const text = `é ${EMOJI} é🔑é`;
    const n = Buffer.byteLength(text);
    for (let cut = 0; cut <= n; cut++) {
      const out = streamed(text, [EMOJI], [cut]);
      expect(out.toString(), `cut at ${cut}`).toBe('é ***** é🔑é');
    }
  });

  it('emits a chunk at once unless its tail could begin a value: a live log never lags a line', () => {
    const m = compileMasking(values).stream();
    expect(m.push(Buffer.from('waiting for the API\n')).toString()).toBe('waiting for the API\n');
    // "p@s" could be the start of a value: held until the next chunk settles it...
    expect(m.push(Buffer.from('token: p@s')).toString()).toBe('token: ');
    expect(m.push(Buffer.from(`${SPECIALS.slice(3)}!\n`)).toString()).toBe('*****!\n');
    // ...and released as soon as it cannot be.
    expect(m.push(Buffer.from('p@s')).toString()).toBe('');
    expect(m.push(Buffer.from('ta\n')).toString()).toBe('p@sta\n');
    // A possible word is held for the byte after it.
    expect(m.push(Buffer.from('a pass')).toString()).toBe('a ');
    expect(m.push(Buffer.from('word\n')).toString()).toBe('password\n');
    // Only a long line of base64 may wait across its line break, for the line that may continue it.
    const line = `${b64('a fairly long line of base64 text, but not a value at all!')}\n`;
    const out = m.push(Buffer.from(line)).toString();
    expect(line.startsWith(out) && line.length - out.length).toBeLessThanOrEqual(RUN_LENGTH);
    expect(out + m.push(Buffer.from('done\n')).toString()).toBe(`${line}done\n`);
    expect(m.pending).toBe(0);
    expect(m.push(Buffer.from('a pass')).toString()).toBe('a ');
    expect(m.end().toString()).toBe('*****');
  });

  it('holds back a bounded tail, however long the output', () => {
    const m = compileMasking(values).stream();
    const rand = prng(7);
    const pieces = [
      LONG.slice(0, 19),
      SPECIALS.slice(0, 30),
      PEM.slice(0, 90),
      b64(LONG).slice(0, 60),
      'pass',
      ' ',
      '\n',
    ];
    let most = 0;
    for (let i = 0; i < 5000; i++) {
      const piece = pieces[Math.floor(rand() * pieces.length)]!;
      m.push(Buffer.from(piece.slice(0, 1 + Math.floor(rand() * piece.length))));
      most = Math.max(most, m.pending);
    }
    // The longest whole pattern here is a form of SPECIALS, percent-encoded: about 100 bytes.
    expect(most).toBeLessThanOrEqual(120);
  });

  it('masks a run of back-to-back occurrences as one, across any number of chunks', () => {
    const m = createLogMasker(['abababab']);
    const out: Buffer[] = [];
    for (let i = 0; i < 10_000; i++) out.push(m.push(Buffer.from('ab')));
    out.push(m.push(Buffer.from('zz')), m.end());
    expect(Buffer.concat(out).toString()).toBe('*****zz');
  });

  it('masks a long run going on across many chunks as one', () => {
    const value = `${LONG}${LONG}${LONG}`;
    const m = createLogMasker([value]);
    const out = [m.push(Buffer.from('<'))];
    for (const c of value.match(/.{1,7}/g)!) out.push(m.push(Buffer.from(c)));
    out.push(m.push(Buffer.from('>')), m.end());
    expect(Buffer.concat(out).toString()).toBe('<*****>');
  });

  it('end() flushes what was held back', () => {
    const m = createLogMasker([SPECIALS]);
    expect(m.push(Buffer.from('tail: p@ss:w0')).toString()).toBe('tail: ');
    expect(m.end().toString()).toBe('p@ss:w0');
  });

  it('passes text through unchanged when there is nothing to mask', () => {
    expect(maskText('', [SPECIALS])).toBe('');
    expect(maskText('plain output\n', [])).toBe('plain output\n');
    expect(maskText('plain output\n', [SPECIALS])).toBe('plain output\n');
  });

  it('handles megabytes of output with many values', () => {
    const many = Array.from(
      { length: 300 },
      (_, i) => `value-${i}-${LONG.slice(i % 40, (i % 40) + 10 + (i % 50))}`,
    );
    const chunk = Buffer.from(`${'lorem ipsum dolor sit amet '.repeat(2000)}${many[7]}\n`);
    const m = compileMasking([...many, PEM, SPECIALS]).stream();
    let masks = 0;
    for (let i = 0; i < 40; i++) masks += m.push(chunk).toString('utf8').split('*****').length - 1;
    masks += m.end().toString('utf8').split('*****').length - 1;
    expect(masks).toBe(40);
  });

  it('never lets a form of a value through, over random values, texts and chunkings', () => {
    const rand = prng(42);
    const alphabet = [...'abcXYZ019 &=/+"\'\\<>%é🔑\n'];
    const pick = (n: number) =>
      Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
    for (let round = 0; round < 150; round++) {
      const values = [pick(8 + Math.floor(rand() * 30)), pick(8 + Math.floor(rand() * 30))];
      const pieces = Array.from({ length: 5 }, () => {
        const v = values[Math.floor(rand() * 2)]!.trim();
        const forms = textForms(v).filter((f) => !/[\r\n]/.test(f));
        return `${pick(Math.floor(rand() * 5))}${forms[Math.floor(rand() * forms.length)] ?? ''}`;
      });
      const text = pieces.join(' ');
      const n = Buffer.byteLength(text);
      const cuts = [...new Set(Array.from({ length: 4 }, () => Math.floor(rand() * n)))].sort(
        (a, b) => a - b,
      );
      const out = streamed(text, values, cuts).toString();
      expect(out, JSON.stringify({ text, values })).toBe(maskText(text, values));
      for (const v of values.map((x) => x.trim()).filter((x) => [...x].length >= 8 && !/[\r\n]/.test(x)))
        for (const f of textForms(v)) expect(out, JSON.stringify({ text, v })).not.toContain(f);
    }
  });
});

describe('the values', () => {
  it('live only inside the compiled masking, out of sight', () => {
    const masking = compileMasking([SPECIALS, PEM]);
    expect(Object.keys(masking)).toEqual(['stream', 'text']);
    expect(inspect(masking, { depth: 10, showHidden: true })).not.toContain('w0rd');
  });
});

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
