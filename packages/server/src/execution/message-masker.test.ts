import { describe, expect, it } from 'vitest';
import { compileMasking, maskText } from './log-masker.js';
import { createMessageMasker, maskJsonStrings } from './message-masker.js';

const BACKSLASH = 'DOMAIN\\svc-r3port';
const SPECIALS = `p@ss:w0rd,&x=1 "q" 'é' <t>/+%zz`;
const VALUES = [BACKSLASH, SPECIALS];

/** A line as the bridge writes it: Python's json.dumps, which escapes everything past ASCII. */
const bridgeLine = (m: unknown) =>
  `${JSON.stringify(m).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;

/** Runs `lines` through a message masker, cut into chunks at `cuts` (byte offsets); the lines out. */
function masked(lines: string, values = VALUES, cuts: number[] = []): string[] {
  const m = createMessageMasker(compileMasking(values));
  const bytes = Buffer.from(lines, 'utf8');
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(m.push(bytes.subarray(at, c)));
    at = c;
  }
  out.push(m.end());
  return Buffer.concat(out).toString('utf8').split('\n').slice(0, -1);
}

const parent = { msg_id: 'cell-1', msg_type: 'execute_request' };
const iopub = (msgType: string, content: unknown, parentId = 'cell-1') => ({
  header: { msg_id: `${msgType}-${Math.random()}`, msg_type: msgType, session: 's', username: 'u' },
  parent_header: { ...parent, msg_id: parentId },
  msg_type: msgType,
  metadata: {},
  content,
  channel: 'iopub',
});
const stream = (text: string, name = 'stdout', parentId = 'cell-1') =>
  iopub('stream', { name, text }, parentId);

// What Python prints, as ipykernel sends it: [form, value, printed text]. In the bridge's JSON every one
// is escaped once more, which is what the job log masker never saw (issue: notebook output leaked).
const PRINTED: [string, string, string][] = [
  ['repr', SPECIALS, `'p@ss:w0rd,&x=1 "q" \\'é\\' <t>/+%zz'\n`],
  ['repr, backslash', BACKSLASH, `'DOMAIN\\\\svc-r3port'\n`],
  ['dict', SPECIALS, `{'token': 'p@ss:w0rd,&x=1 "q" \\'é\\' <t>/+%zz', 'n': 1}\n`],
  ['ascii()', SPECIALS, `'p@ss:w0rd,&x=1 "q" \\'\\xe9\\' <t>/+%zz'\n`],
  ['bytes', SPECIALS, `b'p@ss:w0rd,&x=1 "q" \\'\\xc3\\xa9\\' <t>/+%zz'\n`],
  [
    'JSON inside JSON',
    SPECIALS,
    `{"body": "{\\"k\\": \\"p@ss:w0rd,&x=1 \\\\\\"q\\\\\\" '\\\\u00e9' <t>/+%zz\\"}"}\n`,
  ],
  ['HTML', SPECIALS, `p@ss:w0rd,&amp;x=1 &quot;q&quot; &#x27;é&#x27; &lt;t&gt;/+%zz\n`],
  ['CSV', SPECIALS, `token,"p@ss:w0rd,&x=1 ""q"" 'é' <t>/+%zz"\r\n`],
];

describe('masking a kernel bridge’s messages', () => {
  it.each(PRINTED)('%s: the client reads what a job log would show', (_form, value, printed) => {
    const out = masked(bridgeLine(stream(printed)), [value]);
    expect(out).toHaveLength(1);
    const text = (JSON.parse(out[0]!) as { content: { text: string } }).content.text;
    expect(text).toBe(maskText(printed, [value]));
    expect(text).toContain('*****');
  });

  it('masks every string of an execute result, a display and an error, as a job log would', () => {
    const repr = `'p@ss:w0rd,&x=1 "q" \\'é\\' <t>/+%zz'`;
    const lines = [
      iopub('execute_result', { data: { 'text/plain': repr }, metadata: {}, execution_count: 1 }),
      iopub('display_data', {
        data: {
          'text/html': `<b>${SPECIALS.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</b>`,
        },
        metadata: { 'text/html': { note: SPECIALS } },
        transient: { display_id: SPECIALS },
      }),
      iopub('error', {
        ename: 'KeyError',
        evalue: `'DOMAIN\\\\svc-r3port'`,
        traceback: [`\u001b[0;31mKeyError\u001b[0m: 'DOMAIN\\\\svc-r3port'`],
      }),
    ];
    const out = masked(lines.map(bridgeLine).join(''));
    expect(out.map((l) => JSON.parse(l))).toEqual(
      [
        iopub('execute_result', { data: { 'text/plain': `'*****'` }, metadata: {}, execution_count: 1 }),
        iopub('display_data', {
          data: { 'text/html': '<b>*****</b>' },
          metadata: { 'text/html': { note: '*****' } },
          transient: { display_id: '*****' },
        }),
        iopub('error', {
          ename: 'KeyError',
          evalue: `'*****'`,
          traceback: [`\u001b[0;31mKeyError\u001b[0m: '*****'`],
        }),
      ].map((m, i) => ({ ...m, header: JSON.parse(out[i]!).header })),
    );
  });

  it('never leaves a lone backslash: what was masked in the line could begin inside a JSON escape', () => {
    // A short value with a line break, in a dict's repr: `{'k': '\\n:0éZ'}`, in the line `\\\\n:0\\u00e9Z`.
    const value = '\n:0éZ';
    const line = bridgeLine(stream(`{'k': '\\n:0éZ'}\n`));
    // Masking the line itself (before) left `\\*****`, which is no JSON: kernels.ts dropped the message.
    expect(maskText(line, [value])).toContain('\\*****');
    expect(() => JSON.parse(maskText(line, [value]))).toThrow();
    const out = masked(line, [value]);
    expect((JSON.parse(out[0]!) as { content: { text: string } }).content.text).toBe(`{'k': '*****'}\n`);
  });

  it('masks a repr of a value with both quotes (it leaked, escaped again, in the line)', () => {
    const value = `pa"ss'word99`;
    const line = bridgeLine(iopub('execute_result', { data: { 'text/plain': `'pa"ss\\'word99'` } }));
    expect(maskText(line, [value])).not.toContain('*****');
    const out = JSON.parse(masked(line, [value])[0]!) as { content: { data: Record<string, string> } };
    expect(out.content.data['text/plain']).toBe(`'*****'`);
  });

  it('masks keys below the envelope (a JSON display keyed by a value), not the envelope’s own', () => {
    const word = 'content'; // a value that is also a name of the protocol's
    const out = masked(
      bridgeLine(iopub('display_data', { data: { 'application/json': { [SPECIALS]: 1 } } })),
      [SPECIALS, word],
    );
    const m = JSON.parse(out[0]!) as { content: { data: Record<string, unknown> } };
    expect(Object.keys(m)).toContain('content');
    expect(m.content.data).toEqual({ 'application/json': { '*****': 1 } });
    expect(maskJsonStrings({ a: { b: { c: 'x' } } }, (s) => s.toUpperCase(), 2)).toEqual({
      a: { b: { C: 'X' } },
    });
  });

  it('joins a value split across two stream messages, as a job log joins two writes', () => {
    const lines = [stream(SPECIALS.slice(0, 10)), stream(`${SPECIALS.slice(10)}\n`)].map(bridgeLine).join('');
    const out = masked(lines).map((l) => JSON.parse(l) as { content: { text: string } });
    expect(out.map((m) => m.content.text)).toEqual(['*****\n']);
    // Whatever the chunks the lines arrive in.
    const n = Buffer.byteLength(lines);
    for (let cut = 0; cut <= n; cut += 7)
      expect(masked(lines, VALUES, [cut]), `cut at ${cut}`).toEqual(masked(lines));
  });

  it('lets a waiting stream message go before any other output, and not before a reply on the shell channel', () => {
    const reply = { ...iopub('execute_reply', { status: 'ok' }), channel: 'shell' };
    const idle = iopub('status', { execution_state: 'idle' });
    const out = masked(
      [
        stream('token p@ss:w0rd'),
        reply,
        stream(',&x=1 "q"'),
        idle,
        stream('after'),
        stream('other cell', 'stdout', 'cell-2'),
      ]
        .map(bridgeLine)
        .join(''),
    ).map((l) => JSON.parse(l) as { msg_type: string; content: { text?: string } });
    expect(out.map((m) => [m.msg_type, m.content.text])).toEqual([
      ['execute_reply', undefined],
      // Not a whole value: shown as it came, once the stream is over.
      ['stream', 'token p@ss:w0rd,&x=1 "q"'],
      ['status', undefined],
      ['stream', 'after'],
      ['stream', 'other cell'],
    ]);
  });

  it('passes on a line that is no message masked as text, for the log, never as it came', () => {
    const out = masked(`Error: ${SPECIALS}\n42\n${bridgeLine({ bridge: 'ready' })}`);
    expect(out.map((l) => JSON.parse(l))).toEqual([
      { bridge: 'stray-output', text: 'Error: *****' },
      { bridge: 'stray-output', text: '42' },
      { bridge: 'ready' },
    ]);
  });

  it('passes messages through unchanged when there is nothing to mask', () => {
    const line = bridgeLine(stream('é and "quotes" \\ backslash\n'));
    expect(masked(line, [])).toEqual([JSON.stringify(JSON.parse(line))]);
  });
});
