/*
 * The forms in which code shows a secret value by accident, as one table: each row is a snippet per
 * language that prints a value in one form, or a whole notebook cell that shows it (a cell's last
 * expression, a display, an uncaught error: forms only a notebook has). test/masking-forms.test.ts runs
 * the printing snippets through job logs; test/masking-forms-notebook.test.ts runs them, and the cells,
 * through notebook kernels, reading what a client receives over the kernel's WebSocket.
 *
 * "Readable" is defined once, in `readableCopies`: the output, decoded every way the table encodes
 * (backslash escapes, percent-encoding, HTML entities, CSV quoting, R's <U+XXXX>, LaTeX escapes, and
 * any two of these in turn; base64 at every alignment with its line breaks removed), must not contain
 * - a long piece of a value (32 characters or more: the value, its trimmed copy, a line of it) cut to
 *   any 20 consecutive characters: the masker's rule for runs;
 * - any other piece of 8 characters or more, whole;
 * - a short value (under 8 characters) standing as a whole word.
 */

/** The values, stored as the runner's secrets `mask-<key>`. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { TestServer, type TestUser } from './test-server.js';

export const MASKING_VALUES = {
  /** A Windows account: the backslash is doubled by every repr. */
  backslash: 'DOMAIN\\svc-r3port',
  /** Both quotes, URL delimiters, HTML specials, a non-ASCII letter and a stray "%". */
  specials: `p@ss:w0rd,&x=1 "q" 'é' <t>/+%zz`,
  /** A long token (pandas, str() and error messages cut it). */
  long:
    'lk_9fQ2xL7vR1mZ8kP3sT6wY0bN4cH5jD2gF8aE1uI7oK3qW9zX6rV0tB5nM4lC2yU8iO1pA7sD3fG6hJ9kL0zQ' +
    '2wE5rT8yU1iO4pA7sD0fG3hJ6kL9zX2cV5bN8mQ1wE4rT7yU0iO3pA6sD9fG2hJ5kL8zX1cV4',
  /** A PEM-like multi-line value, with a short last line of base64. */
  pem: [
    '-----BEGIN TEST PRIVATE KEY-----',
    'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj',
    'MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu',
    'NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ',
    'qgtzJ6GR3eqoYSW9b9UMvkBpZODSctWSNGj3P7jRFDO5VoTwCQAWbFnOjDfH5Ulg',
    'p2PKSQnSJP3AJLQNFNe7br1Xb5GXwZ2cdqIBhHa==',
    '-----END TEST PRIVATE KEY-----',
    '',
  ].join('\n'),
  /** A value pasted with its line end: code strips it before printing. */
  pasted: 'pasted-value-4f9c\n',
  /** A short value: masked only as a word of its own. */
  short: 'pass',
} as const;

export type MaskingValueKey = keyof typeof MASKING_VALUES;
export type MaskingLanguage = 'python' | 'r' | 'javascript';

/** A language a notebook kernel speaks (there is no JavaScript kernel). */
export type KernelLanguage = 'python' | 'r';

/**
 * One form. Each snippet gets the value in `v` and prints it in that form (to standard output). A
 * `cell` is a notebook cell of its own, run with `v` set: what the kernel sends for it (streams, the
 * last expression's value, displays, an error) is its output.
 */
export interface MaskingForm {
  name: string;
  value: MaskingValueKey;
  python?: string;
  r?: string;
  javascript?: string;
  cell?: Partial<Record<KernelLanguage, string>>;
  /** Text that must survive masking (ordinary words around a short value). */
  keeps?: string[];
}

// The forms, grouped as issue 13 lists them. Snippets are bodies: Python indented by the builder.
export const MASKING_FORMS: MaskingForm[] = [
  // Plain, for reference: these were masked before.
  {
    name: 'plain print',
    value: 'specials',
    python: 'print(v)',
    r: 'cat(v, "\\n")',
    javascript: 'console.log(v)',
  },
  // Two writes: a notebook kernel sends each flushed write as a message of its own.
  {
    name: 'split across two writes',
    value: 'specials',
    python: 'sys.stdout.write(v[:10])\nsys.stdout.flush()\nprint(v[10:])',
    r: 'cat(substr(v, 1, 10))\nflush(stdout())\ncat(substr(v, 11, 100), "\\n")',
    javascript: 'process.stdout.write(v.slice(0, 10))\nconsole.log(v.slice(10))',
  },

  // repr-style escapes
  {
    name: 'repr',
    value: 'backslash',
    python: 'print(repr(v))',
    r: 'print(v)',
    javascript: 'console.log(util.inspect(v))',
  },
  {
    name: 'repr with both quotes',
    value: 'specials',
    python: 'print(repr(v))',
    r: 'print(v)',
    javascript: 'console.log([v])',
  },
  { name: 'percent-r', value: 'backslash', python: 'print("token=%r" % v)', r: 'print(sprintf("%s", v))' },
  {
    name: 'repr in a container',
    value: 'specials',
    python: 'print({"token": v, "n": 1})',
    r: 'print(list(token = v))',
    javascript: 'console.log({ token: v, n: 1 })',
  },
  { name: 'ascii()', value: 'specials', python: 'print(ascii(v))' },
  {
    name: 'KeyError traceback',
    value: 'backslash',
    python: '{}[v]',
    r: 'stop(sprintf("no key %s", encodeString(v, quote = "\'")))',
    javascript: 'const m = new Map(); if (!m.has(v)) throw new Error(`no key ${util.inspect(v)}`)',
  },
  {
    name: 'exception message',
    value: 'specials',
    python: 'raise ValueError(f"bad token {v!r}")',
    r: 'stop(v)',
    javascript: 'throw new Error(`bad token ${JSON.stringify(v)}`)',
  },
  { name: 'bytes', value: 'specials', python: 'print(v.encode())' },
  { name: 'bytes, backslash', value: 'backslash', python: 'print(v.encode())' },
  { name: 'data frame', value: 'backslash', r: 'print(data.frame(token = v, n = 1))' },
  { name: 'str() and dput()', value: 'specials', r: 'str(v)\ndput(v)\nstr(list(a = v))' },

  // multi-line values
  { name: 'multi-line print', value: 'pem', python: 'print(v)', r: 'cat(v)', javascript: 'console.log(v)' },
  {
    name: 'multi-line repr',
    value: 'pem',
    python: 'print(repr(v))',
    r: 'print(v)',
    javascript: 'console.log(util.inspect(v))',
  },
  {
    name: 'multi-line pprint and inspect',
    value: 'pem',
    python: 'import pprint\npprint.pprint({"key": v, "kind": "test"})',
    r: 'str(list(key = v))',
    javascript: 'console.log({ key: v, kind: "test" })',
  },
  {
    name: 'multi-line indented',
    value: 'pem',
    python: 'import textwrap\nprint(textwrap.indent(v, "    "))',
    r: 'cat(paste0("    ", strsplit(v, "\\n")[[1]], collapse = "\\n"), "\\n")',
    javascript: 'console.log(v.replace(/^/gm, "    "))',
  },
  {
    name: 'multi-line CRLF',
    value: 'pem',
    python: 'sys.stdout.write(v.replace("\\n", "\\r\\n"))',
    r: 'cat(gsub("\\n", "\\r\\n", v))',
    javascript: 'process.stdout.write(v.replace(/\\n/g, "\\r\\n"))',
  },
  {
    name: 'multi-line JSON',
    value: 'pem',
    python: 'print(json.dumps({"key": v}))',
    r: 'cat(jsonlite::toJSON(list(key = v), auto_unbox = TRUE), "\\n")',
    javascript: 'console.log(JSON.stringify({ key: v }))',
  },
  {
    name: 'pasted value, stripped',
    value: 'pasted',
    python: 'print(v.strip())\nprint(repr(v.strip()))',
    r: 'cat(trimws(v), "\\n")\nprint(trimws(v))',
    javascript: 'console.log(v.trim())\nconsole.log([v.trim()])',
  },

  // URLs as requests and urllib3 print them in their errors. Recipes run the system's Python, which may
  // lack requests: then the snippet prints the message requests would (its requote_uri, and urlencode).
  {
    name: 'requests error URL',
    value: 'specials',
    python: requestsSnippet('requests.get("http://127.0.0.1:9/api?token=" + v, timeout=2)', 'requote(v)'),
  },
  {
    name: 'requests error URL, params',
    value: 'specials',
    python: requestsSnippet(
      'requests.get("http://127.0.0.1:9/api", params={"token": v}, timeout=2)',
      'quote_plus(v)',
    ),
  },
  {
    name: 'URL encoders',
    value: 'specials',
    python:
      'from urllib.parse import quote, quote_plus, urlencode\nprint(quote(v))\nprint(quote_plus(v))\nprint(urlencode({"t": v}))\nprint(quote(v, safe="@:,&"))',
    r: 'cat(URLencode(v), "\\n")\ncat(URLencode(v, reserved = TRUE), "\\n")',
    javascript:
      'console.log(encodeURIComponent(v))\nconsole.log(encodeURI(v))\nconsole.log(new URLSearchParams({ t: v }).toString())',
  },

  // JSON inside JSON, HTML, CSV, base64
  {
    name: 'JSON',
    value: 'specials',
    python: 'print(json.dumps({"k": v}))\nprint(json.dumps({"k": v}, ensure_ascii=False))',
    r: 'cat(jsonlite::toJSON(list(k = v), auto_unbox = TRUE), "\\n")',
    javascript: 'console.log(JSON.stringify({ k: v }))',
  },
  {
    name: 'JSON inside JSON',
    value: 'specials',
    python: 'print(json.dumps({"body": json.dumps({"k": v})}))\nprint({"body": json.dumps({"k": v})})',
    r: 'cat(jsonlite::toJSON(list(body = as.character(jsonlite::toJSON(list(k = v), auto_unbox = TRUE))), auto_unbox = TRUE), "\\n")',
    javascript:
      'console.log(JSON.stringify({ body: JSON.stringify({ k: v }) }))\nconsole.log({ body: JSON.stringify({ k: v }) })',
  },
  {
    name: 'HTML-escaped',
    value: 'specials',
    python: 'import html\nprint(html.escape(v))\nprint(html.escape(v, quote=False))',
    javascript:
      "console.log(v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\"/g, '&quot;').replace(/'/g, '&#39;'))",
  },
  {
    name: 'CSV',
    value: 'specials',
    python: 'import csv\ncsv.writer(sys.stdout).writerow(["token", v])',
    r: 'write.csv(data.frame(token = v), stdout(), row.names = FALSE)',
    javascript: 'console.log(`token,"${v.replace(/"/g, \'""\')}"`)',
  },
  {
    name: 'base64',
    value: 'specials',
    python:
      'import base64\nprint(base64.b64encode(v.encode()).decode())\nprint(base64.b64encode(("user:" + v).encode()).decode())\nprint(base64.urlsafe_b64encode(("xy" + v).encode()).decode())',
    r: 'cat(jsonlite::base64_enc(v), "\\n")\ncat(jsonlite::base64_enc(paste0("user:", v)), "\\n")',
    javascript:
      "console.log(Buffer.from(v).toString('base64'))\nconsole.log(Buffer.from('xy' + v).toString('base64url'))",
  },
  {
    name: 'MIME base64',
    value: 'specials',
    python:
      'import base64\nsys.stdout.write(base64.encodebytes(("x" * 50 + v).encode()).decode())\nprint(base64.encodebytes(("x" * 52 + v).encode()))',
    javascript: "console.log(Buffer.from('x'.repeat(50) + v).toString('base64').replace(/.{76}/g, '$&\\n'))",
  },
  {
    name: 'MIME base64, multi-line value',
    value: 'pem',
    python: 'import base64\nsys.stdout.write(base64.encodebytes(v.encode()).decode())',
    javascript: "console.log(Buffer.from(v).toString('base64').replace(/.{76}/g, '$&\\n'))",
  },

  // truncated displays
  {
    name: 'truncated',
    value: 'long',
    python:
      'print(v[:40] + "...")\nprint(f"{v:.30}")\nprint("..." + v[-25:])\nraise ValueError(f"invalid token: {v[:50]}... (truncated)")',
    r: 'str(v)\ncat(strtrim(v, 30), "...\\n")\nprint(substr(v, 50, 90))',
    javascript: "console.log(v.slice(0, 40) + '…')\nconsole.log(util.inspect(v, { maxStringLength: 30 }))",
  },
  {
    name: 'truncated in a table',
    value: 'long',
    python: 'print("   token" + " " * 40 + "n\\n0  " + v[:47] + "...  1")',
    r: 'print(data.frame(token = substr(v, 1, 47)))',
  },

  // short values: whole words only
  {
    name: 'short value as a word',
    value: 'short',
    python: 'print(f"the {v} is {v}; {v}.")\nprint(repr(v))\nprint("password passage compass bypass")',
    r: 'cat("the", v, "is", v, "\\n")\nprint(v)\ncat("password passage compass bypass\\n")',
    javascript:
      'console.log(`the ${v} is ${v}; ${v}.`)\nconsole.log([v])\nconsole.log("password passage compass bypass")',
    keeps: ['password passage compass bypass'],
  },

  // Notebooks only: what a cell shows beside what it prints. IRkernel shows an R value in four formats
  // at once (text/plain, text/html, text/markdown, text/latex), and the page shows the HTML.
  {
    name: 'last expression',
    value: 'specials',
    cell: { python: 'v', r: 'v' },
  },
  {
    name: 'last expression, backslash',
    value: 'backslash',
    cell: { python: 'v', r: 'v' },
  },
  {
    name: 'last expression, container',
    value: 'specials',
    cell: { python: '{"token": v, "n": 1}', r: 'list(token = v)' },
  },
  {
    name: 'last expression, multi-line',
    value: 'pem',
    cell: { python: 'v', r: 'v' },
  },
  {
    name: 'last expression, data frame',
    value: 'specials',
    cell: { r: 'data.frame(token = v, n = 1)' },
  },
  { name: 'uncaught KeyError', value: 'backslash', cell: { python: '{}[v]', r: 'get(v)' } },
  {
    name: 'uncaught exception',
    value: 'specials',
    cell: { python: 'raise ValueError(f"bad token {v!r}")', r: 'stop(v)' },
  },
  {
    name: 'display data',
    value: 'specials',
    cell: {
      python:
        'import html\nfrom IPython.display import HTML, JSON, Markdown, display\ndisplay(HTML("<b>" + html.escape(v) + "</b>"))\ndisplay(JSON({"k": v, v: "as a key"}))\ndisplay(Markdown("`" + v + "`"))\ndisplay({"text/plain": repr(v)}, raw=True)',
      r: 'IRdisplay::display_html(paste0("<b>", v, "</b>"))\nIRdisplay::display_json(jsonlite::toJSON(list(k = v), auto_unbox = TRUE))\nIRdisplay::display(list(token = v))',
    },
  },
  {
    name: 'standard error',
    value: 'specials',
    cell: { python: 'print(repr(v), file=sys.stderr)', r: 'message(v)' },
  },
];

/** A Python snippet that makes requests fail on a URL holding `v`, or prints what requests would say. */
function requestsSnippet(call: string, query: string): string {
  return [
    'try:',
    '    import requests',
    'except ImportError:',
    '    from urllib.parse import quote, quote_plus',
    `    requote = lambda s: quote(s, safe="!#$&'()*+,/:;=?@[]~")`,
    '    print("ConnectionError HTTPConnectionPool(host=\'127.0.0.1\', port=9): Max retries exceeded with url: "',
    `          + "/api?token=" + ${query} + " (Caused by NewConnectionError(...))")`,
    'else:',
    '    try:',
    `        ${call}`,
    '    except Exception as e:',
    '        print(type(e).__name__, e)',
  ].join('\n');
}

const SECRET_PREFIX = 'mask-';

/** The secret name a value is stored under. */
export const secretNameOf = (key: MaskingValueKey) => `${SECRET_PREFIX}${key}`;

const BEGIN = '@@form ';
const END = '@@end@@';

/**
 * A program that prints every form of `forms` that `language` has, each between markers. With
 * `notebook`, it is a notebook cell: R's messages stay with the kernel, which shows them itself.
 */
export function programFor(
  language: MaskingLanguage,
  forms: readonly MaskingForm[],
  opts: { notebook?: boolean } = {},
): string {
  const keys = Object.keys(MASKING_VALUES) as MaskingValueKey[];
  const rows = forms.filter((f) => f[language] !== undefined);
  if (language === 'python') {
    const lines = [
      'import json, sys, traceback, dataiku',
      `V = {k: dataiku.get_secret("${SECRET_PREFIX}" + k) for k in ${JSON.stringify(keys)}}`,
      'def form(name, key, body):',
      `    print("${BEGIN}" + name + "@@", flush=True)`,
      '    try:',
      '        body(V[key])',
      '    except Exception:',
      '        traceback.print_exc(file=sys.stdout)',
      `    print("\\n${END}", flush=True)`,
    ];
    rows.forEach((f, i) => {
      lines.push(`def form_${i}(v):`, ...f.python!.split('\n').map((l) => `    ${l}`));
      lines.push(`form(${JSON.stringify(f.name)}, "${f.value}", form_${i})`);
    });
    return `${lines.join('\n')}\n`;
  }
  if (language === 'r') {
    const lines = [
      'library(dataiku)',
      ...(opts.notebook ? [] : ['sink(stdout(), type = "message")']),
      `V <- list(${keys.map((k) => `${k} = dkuGetSecret("${SECRET_PREFIX}${k}")`).join(', ')})`,
      'form <- function(name, key, body) {',
      `  cat("${BEGIN}", name, "@@\\n", sep = "")`,
      '  tryCatch(body(V[[key]]), error = function(e) print(e))',
      `  cat("\\n${END}\\n")`,
      '}',
    ];
    for (const f of rows)
      lines.push(`form(${JSON.stringify(f.name)}, "${f.value}", function(v) {`, f.r!, '})');
    return `${lines.join('\n')}\n`;
  }
  const lines = [
    "import util from 'node:util';",
    "import { apiClient } from '@coffer/client/node';",
    'const client = apiClient();',
    `const V = {};`,
    `for (const k of ${JSON.stringify(keys)}) V[k] = await client.getSecret('${SECRET_PREFIX}' + k);`,
    'async function form(name, key, body) {',
    `  console.log('${BEGIN}' + name + '@@');`,
    '  try { await body(V[key]); } catch (e) { console.log(e); }',
    `  console.log('\\n${END}');`,
    '}',
  ];
  for (const f of rows)
    lines.push(`await form(${JSON.stringify(f.name)}, '${f.value}', async (v) => {`, f.javascript!, '});');
  return `${lines.join('\n')}\n`;
}

/**
 * A form's notebook cell, in a kernel where a `programFor(language, …, { notebook: true })` cell has
 * run (it holds the values in `V`).
 */
export function cellFor(language: KernelLanguage, form: MaskingForm): string {
  const body = form.cell?.[language];
  if (body === undefined) throw new Error(`${form.name} has no ${language} cell`);
  return language === 'python'
    ? `import sys\nv = V[${JSON.stringify(form.value)}]\n${body}`
    : `v <- V[[${JSON.stringify(form.value)}]]\n${body}`;
}

/** The output of each form, by name, from the output of a `programFor` program. */
export function sectionsOf(output: string): Map<string, string> {
  const sections = new Map<string, string>();
  const re = /@@form (.+?)@@\r?\n([\s\S]*?)@@end@@/g;
  for (let m = re.exec(output); m; m = re.exec(output)) sections.set(m[1]!, m[2]!);
  return sections;
}

/**
 * The readable copies of `value` in `text` (empty when there are none), each with the decoding that
 * shows it: see the head of this file.
 */
export function readableCopies(text: string, value: string): string[] {
  const found: string[] = [];
  const pieces = [...new Set([value, value.trim(), ...value.split(/\r\n|\r|\n/).map((l) => l.trim())])];
  const fragments = new Set<string>();
  const words: string[] = [];
  for (const piece of pieces) {
    const chars = [...piece];
    if (chars.length >= 32)
      for (let i = 0; i + 20 <= chars.length; i++) fragments.add(chars.slice(i, i + 20).join(''));
    else if (chars.length >= 8) fragments.add(piece);
    else if (chars.length >= 4) words.push(piece);
  }
  for (const [how, decoded] of decodings(text)) {
    for (const f of fragments) if (decoded.includes(f)) found.push(`${JSON.stringify(f)} (${how})`);
    for (const w of words) {
      const standalone = new RegExp(`(^|[^\\p{L}\\p{N}_])${escapeRegExp(w)}(?![\\p{L}\\p{N}_])`, 'u');
      if (standalone.test(decoded)) found.push(`${JSON.stringify(w)} as a word (${how})`);
    }
  }
  return [...new Set(found)];
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `text` and every way it may be decoded back to a value it shows: each decoding, and each pair of
 * them one after the other (IRkernel's HTML and LaTeX are of R's escaped repr, say).
 */
function decodings(text: string): [string, string][] {
  const singles: [string, (t: string) => string][] = [
    ['backslash escapes (bytes)', (t) => unescapeBackslashes(t, 'bytes')],
    ['backslash escapes (code points)', (t) => unescapeBackslashes(t, 'code points')],
    ['percent-encoding', (t) => percentDecode(t, true)],
    ['percent-encoding, "+" kept', (t) => percentDecode(t, false)],
    ['HTML entities', htmlUnescape],
    ['CSV quoting', (t) => t.replace(/""/g, '"')],
    [
      'R <U+XXXX>',
      (t) => t.replace(/<U\+([0-9A-Fa-f]{4,6})>/g, (_, h: string) => String.fromCodePoint(parseInt(h, 16))),
    ],
    ['LaTeX escapes', latexUnescape],
  ];
  const out: [string, string][] = [['as printed', text]];
  for (const [first, f] of singles) {
    const once = f(text);
    if (once === text) continue;
    out.push([first, once]);
    for (const [then, g] of singles) {
      const twice = g(once);
      if (twice !== once) out.push([`${first}, then ${then}`, twice]);
    }
  }
  out.push(...base64Decodings(text));
  return out;
}

const LATEX_WORDS: Record<string, string> = {
  textbackslash: '\\',
  textasciitilde: '~',
  textasciicircum: '^',
  textbar: '|',
};

/** Undoes the LaTeX escapes of R's repr package (IRkernel's text/latex). */
function latexUnescape(text: string): string {
  return text
    .replace(
      /\\(textbackslash|textasciitilde|textasciicircum|textbar)\{\}/g,
      (_, w: string) => LATEX_WORDS[w]!,
    )
    .replace(/\{([[\]])\}/g, '$1')
    .replace(/\\([&%$#_{}])/g, '$1');
}

const SIMPLE_ESCAPES: Record<string, string> = {
  n: '\n',
  r: '\r',
  t: '\t',
  b: '\b',
  f: '\f',
  v: '\v',
  a: '\x07',
  e: '\x1b',
  '0': '\0',
};

/** Undoes the escapes of JSON, Python, JavaScript and R string literals (\xNN as a byte or a code point). */
export function unescapeBackslashes(text: string, mode: 'bytes' | 'code points'): string {
  const bytes: number[] = [];
  const pushText = (s: string) => bytes.push(...Buffer.from(s, 'utf8'));
  const re = /\\(?:x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|([0-7]{3})|(.))|([^\\]+)|\\$/gsu;
  let pendingHigh: number | null = null;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const [, x, u, bigU, octal, other, plain] = m;
    if (u !== undefined) {
      const cu = parseInt(u, 16);
      if (cu >= 0xd800 && cu < 0xdc00) {
        pendingHigh = cu;
        continue;
      }
      pushText(
        pendingHigh !== null && cu >= 0xdc00 && cu < 0xe000
          ? String.fromCharCode(pendingHigh, cu)
          : String.fromCharCode(cu),
      );
      pendingHigh = null;
      continue;
    }
    pendingHigh = null;
    if (x !== undefined) {
      if (mode === 'bytes') bytes.push(parseInt(x, 16));
      else pushText(String.fromCharCode(parseInt(x, 16)));
    } else if (bigU !== undefined) pushText(String.fromCodePoint(parseInt(bigU, 16)));
    else if (octal !== undefined) bytes.push(parseInt(octal, 8) & 0xff);
    else if (other !== undefined) pushText(SIMPLE_ESCAPES[other] ?? other);
    else if (plain !== undefined) pushText(plain);
    else pushText('\\');
  }
  return Buffer.from(bytes).toString('utf8');
}

function percentDecode(text: string, plusIsSpace: boolean): string {
  const s = plusIsSpace ? text.replace(/\+/g, ' ') : text;
  const bytes: number[] = [];
  for (let i = 0; i < s.length;) {
    if (s[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      const cp = s.codePointAt(i)!;
      bytes.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
      i += cp > 0xffff ? 2 : 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function htmlUnescape(text: string): string {
  return text.replace(/&(#x[0-9A-Fa-f]+|#[0-9]+|[a-z]+);/g, (all, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return NAMED_ENTITIES[e] ?? all;
  });
}

/** Every run of base64 (its line breaks, real or escaped, removed), decoded at each of 4 alignments. */
function base64Decodings(text: string): [string, string][] {
  const joined = text.replace(/(\\n|\r?\n)(?=[A-Za-z0-9+/=_-])/g, '');
  const out: [string, string][] = [];
  for (const run of joined.match(/[A-Za-z0-9+/=_-]{8,}/g) ?? []) {
    const std = run.replace(/-/g, '+').replace(/_/g, '/').replace(/=+/g, '');
    for (let skip = 0; skip < 4; skip++) {
      const part = std.slice(skip);
      const decoded = Buffer.from(part.slice(0, part.length - (part.length % 4 === 1 ? 1 : 0)), 'base64');
      out.push([`base64 of ${run.slice(0, 12)}… from character ${skip}`, decoded.toString('utf8')]);
    }
  }
  return out;
}

/** What is wrong with one form's output: nothing masked, a readable copy, a kept word masked. */
export function problemsOf(form: MaskingForm, out: string): string[] {
  const problems: string[] = [];
  // Every form shows its value: no mask means the value never reached the code.
  if (!out.includes('*****')) problems.push(`${form.name}: nothing masked in ${JSON.stringify(out)}`);
  const readable = readableCopies(out, MASKING_VALUES[form.value]);
  if (readable.length)
    problems.push(`${form.name}: readable as ${readable.slice(0, 3).join(', ')} in ${JSON.stringify(out)}`);
  for (const kept of form.keeps ?? [])
    if (!out.includes(kept)) problems.push(`${form.name}: ${JSON.stringify(kept)} was masked too`);
  return problems;
}

/**
 * A server for the suite, with a user holding every value of the table as a secret and a project of
 * theirs: answers a getter, valid once the suite's beforeAll has run.
 */
export function useMaskingUser(projectKey: string): () => { server: TestServer; user: TestUser } {
  let server: TestServer;
  let user: TestUser;
  let workRoot: string;
  beforeAll(async () => {
    workRoot = mkdtempSync(path.join(tmpdir(), 'coffer-masking-'));
    server = await TestServer.start({ COFFER_JOB_WORK_DIR: workRoot });
    user = await server.createUser('masked');
    for (const [key, value] of Object.entries(MASKING_VALUES)) {
      const put = await server.request('PUT', `/api/v1/me/secrets/${secretNameOf(key as MaskingValueKey)}`, {
        key: user.key,
        body: { value },
      });
      expect(put.status, put.text).toBe(201);
    }
    const p = await server.request('POST', '/api/v1/projects', {
      key: user.key,
      body: { key: projectKey, name: 'Mask' },
    });
    expect(p.status, p.text).toBe(201);
  });
  afterAll(async () => {
    await server?.close();
    if (workRoot) rmSync(workRoot, { recursive: true, force: true });
  });
  return () => ({ server, user });
}
