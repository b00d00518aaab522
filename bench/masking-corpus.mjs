// The text and values bench/masking.mjs masks: deterministic, so every run masks the same bytes.

/** A small deterministic PRNG, so every run masks the same text. */
let seed = 12345;
const rand = () => {
  // mulberry32: 32-bit integer arithmetic (a float LCG loses bits and repeats itself).
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const randomText = (n, alphabet) => Array.from({ length: n }, () => pick(alphabet)).join('');

export function makeValues(n) {
  const values = [];
  for (let i = 0; i < n; i++) {
    const r = i % 20;
    if (r < 3)
      values.push(randomText(4 + (i % 4), '0123456789abcdefghij')); // PINs, short words
    else if (r < 11)
      values.push(randomText(8 + (i % 17), `${B64}!@#$%^&*()-_=\\"'`)); // passwords
    else if (r < 18)
      values.push(`tok_${randomText(32 + (i % 33), B64)}`); // API tokens
    else if (r < 19)
      values.push(`eyJ${randomText(400 + (i % 300), B64)}`); // JWT-sized
    else {
      const lines = Array.from({ length: 25 }, () => randomText(64, B64));
      values.push(`-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`);
    }
  }
  return values;
}

const WORDS =
  'the of and to in is for on that with as was by it at from this be or are an which not have has ' +
  'request response user token status error warning info debug started finished rows columns value ' +
  'password passage compass pipeline dataset model training epoch loss accuracy'.split(' ');

export function makeOutput(bytes, values) {
  const lines = [];
  let size = 0;
  while (size < bytes) {
    const kind = rand();
    let line;
    if (kind < 0.6) line = Array.from({ length: 6 + Math.floor(rand() * 12) }, () => pick(WORDS)).join(' ');
    else if (kind < 0.75)
      line = JSON.stringify({
        id: Math.floor(rand() * 1e6),
        name: pick(WORDS),
        score: rand(),
        tags: [pick(WORDS)],
      });
    else if (kind < 0.85)
      line = `GET https://api.example.com/v1/${pick(WORDS)}?page=${Math.floor(rand() * 100)}&q=${encodeURIComponent(pick(WORDS))} 200`;
    else if (kind < 0.95) line = randomText(76, B64);
    else {
      const v = pick(values).split('\n')[0];
      line = pick([
        `value: ${v}`,
        `repr: '${v.replace(/\\/g, '\\\\')}'`,
        JSON.stringify({ secret: v }),
        `url: https://x.example/?k=${encodeURIComponent(v)}`,
        `b64: ${Buffer.from(`x${v}`).toString('base64')}`,
      ]);
    }
    lines.push(line);
    size += Buffer.byteLength(line) + 1;
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}
