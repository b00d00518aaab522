/*
 * Masks a user's secret values in the output of a job before it is stored or shown. A value can appear
 * as itself, JSON-escaped, URL-encoded or inside base64, and output arrives in chunks that may split any
 * of those anywhere (even inside a multi-byte character), so matching is on bytes, over a window that
 * keeps the tail of the previous chunk.
 *
 * Values shorter than `minLength` are not masked: masking every "abc" would shred ordinary output and,
 * by where the stars fall, still show what the value is.
 *
 * This catches accidents (a value printed while debugging). It is not a barrier: code that runs as the
 * user already holds the value and can always transform it beyond recognition.
 */

export interface MaskOptions {
  /** Values shorter than this (in characters) are left alone. Default 4. */
  minLength?: number;
  /** What a masked value becomes. Default `*****`. */
  mask?: string;
}

export interface LogMasker {
  /** Masks a chunk; returns what is safe to emit now (a short tail may be held back for the next). */
  push(chunk: Buffer): Buffer;
  /** Returns the held-back tail, masked. */
  end(): Buffer;
}

/**
 * The runs of base64 characters that encode only bytes of the value, whatever surrounds it: one per
 * position of the value in a 3-byte group. A run shorter than this is too common to mean anything.
 */
const MIN_BASE64_RUN = 5;

/** Every byte sequence that betrays `value`. */
export function formsOf(value: string): Buffer[] {
  const forms = new Set<string>([value]);
  const json = JSON.stringify(value).slice(1, -1);
  forms.add(json);
  // Python's json.dumps escapes every non-ASCII character as \uXXXX.
  forms.add(json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  const url = encodeURIComponent(value);
  forms.add(url);
  forms.add(url.replace(/%2F/g, '/')); // Python's urllib.parse.quote keeps "/"
  forms.add(new URLSearchParams({ v: value }).toString().slice(2)); // form encoding: "+" for space
  const out = [...forms].map((f) => Buffer.from(f, 'utf8'));
  const bytes = Buffer.from(value, 'utf8');
  for (let align = 0; align < 3; align++) {
    const encoded = Buffer.concat([Buffer.alloc(align), bytes]).toString('base64');
    // Character i covers bits [6i, 6i+6); the value covers bits [8·align, 8·(align+n)).
    const run = encoded.slice(Math.ceil((8 * align) / 6), Math.floor((8 * (align + bytes.length)) / 6));
    if (run.length < MIN_BASE64_RUN) continue;
    out.push(Buffer.from(run, 'latin1'));
    const urlSafe = run.replace(/\+/g, '-').replace(/\//g, '_');
    if (urlSafe !== run) out.push(Buffer.from(urlSafe, 'latin1'));
  }
  return out;
}

interface Node {
  next: Map<number, Node>;
  fail: Node | null;
  /** Bytes from the root: the length of the pattern prefix this node stands for. */
  depth: number;
  /** Length of the longest pattern ending here (directly or through failure links); 0 if none. */
  longest: number;
}

/** Aho–Corasick over bytes: one pass finds every occurrence of every pattern. */
function automaton(patterns: readonly Buffer[]): Node {
  const root: Node = { next: new Map(), fail: null, depth: 0, longest: 0 };
  for (const p of patterns) {
    let node = root;
    for (const b of p) {
      let child = node.next.get(b);
      if (!child)
        node.next.set(b, (child = { next: new Map(), fail: null, depth: node.depth + 1, longest: 0 }));
      node = child;
    }
    node.longest = Math.max(node.longest, p.length);
  }
  const queue: Node[] = [];
  for (const child of root.next.values()) {
    child.fail = root;
    queue.push(child);
  }
  while (queue.length) {
    const node = queue.shift()!;
    for (const [b, child] of node.next) {
      let f = node.fail;
      while (f && !f.next.has(b)) f = f.fail;
      child.fail = f ? f.next.get(b)! : root;
      child.longest = Math.max(child.longest, child.fail.longest);
      queue.push(child);
    }
  }
  return root;
}

/**
 * Merged [start, end) ranges of every match in `data`, in order, and how many of its last bytes could
 * begin a match that more data would complete (the longest suffix that is a prefix of some pattern).
 */
function scan(root: Node, data: Buffer): { ranges: [number, number][]; open: number } {
  const ranges: [number, number][] = [];
  let node = root;
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    while (node !== root && !node.next.has(b)) node = node.fail!;
    node = node.next.get(b) ?? root;
    if (node.longest === 0) continue;
    let start = i + 1 - node.longest;
    const end = i + 1;
    while (ranges.length && ranges[ranges.length - 1]![1] >= start) start = Math.min(start, ranges.pop()![0]);
    ranges.push([start, end]);
  }
  return { ranges, open: node.depth };
}

/** A streaming masker for one output stream of one job. */
export function createLogMasker(values: readonly string[], opts: MaskOptions = {}): LogMasker {
  const minLength = opts.minLength ?? 4;
  const mask = Buffer.from(opts.mask ?? '*****', 'utf8');
  const patterns = values.filter((v) => [...v].length >= minLength).flatMap(formsOf);
  if (patterns.length === 0) return { push: (c) => c, end: () => Buffer.alloc(0) };
  const root = automaton(patterns);
  let held = Buffer.alloc(0);
  /** Leading bytes of `held` that belong to a match whose mask was already emitted. */
  let carry = 0;

  /** Masks `window` and emits all of it but the bytes that may begin a match (all of it at the end). */
  function emit(window: Buffer, final: boolean): Buffer {
    const { ranges, open } = scan(root, window);
    // Only a tail that could still become a value is held back: a line that ends in anything else
    // (a newline, say) shows in the live log at once instead of waiting for the next output.
    const cut = final ? window.length : window.length - open;
    if (carry > 0) {
      // The carried part is masked already: merge it in front, and emit no second mask for it.
      let end = carry;
      while (ranges.length && ranges[0]![0] <= end) end = Math.max(end, ranges.shift()![1]);
      ranges.unshift([-1, end]);
    }
    const parts: Buffer[] = [];
    let at = 0;
    let nextCarry = 0;
    for (const [start, end] of ranges) {
      if (start >= cut) break;
      if (start >= 0) {
        parts.push(window.subarray(at, start), mask);
      }
      at = Math.min(end, cut);
      if (end > cut) nextCarry = end - cut;
    }
    if (at < cut) parts.push(window.subarray(at, cut));
    held = Buffer.from(window.subarray(cut));
    carry = nextCarry;
    return Buffer.concat(parts);
  }

  return {
    push(chunk) {
      const window = held.length ? Buffer.concat([held, chunk]) : chunk;
      return emit(window, false);
    },
    end() {
      const out = emit(held, true);
      held = Buffer.alloc(0);
      carry = 0;
      return out;
    },
  };
}

/** Masks a whole text at once. */
export function maskText(text: string, values: readonly string[], opts: MaskOptions = {}): string {
  const m = createLogMasker(values, opts);
  return Buffer.concat([m.push(Buffer.from(text, 'utf8')), m.end()]).toString('utf8');
}
