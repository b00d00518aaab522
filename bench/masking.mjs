// Masking throughput, part of `npm run bench`: how fast the job-log masker (execution/log-masker.ts,
// from the build) masks a job's largest allowed output, 10 MiB, with a user's few hundred values. No
// server: the masker alone, driven as the job runner drives it (one masker per stream, pipe-sized
// chunks). Not a test; nothing in test/ runs it.
//
// The values are a realistic mix (bench/masking-corpus.mjs): short PINs and words, passwords, API
// tokens, JWT-sized tokens and a few PEM keys. The output is ordinary log text (words, JSON lines,
// URLs, base64 lines) with some of the values printed in several forms.
//
// Settings (environment): BENCH_MASK_MIB (10) of output, BENCH_MASK_VALUES (300), BENCH_MASK_CHUNK
// (65536) bytes per chunk, BENCH_ROUNDS (3), BENCH_MASKER (another build of log-masker.js, to compare).
// Prints MiB/s (median of the rounds), the time to compile the values, and the memory the compiled
// masking holds (run with --expose-gc for that figure).

import { pathToFileURL } from 'node:url';
import { intFromEnv } from './lib.mjs';
import { makeOutput, makeValues } from './masking-corpus.mjs';

const masker = process.env.BENCH_MASKER
  ? await import(pathToFileURL(process.env.BENCH_MASKER).href)
  : await import('../packages/server/dist/execution/log-masker.js');

const mib = intFromEnv('BENCH_MASK_MIB', 10, 1, 1024);
const valueCount = intFromEnv('BENCH_MASK_VALUES', 300, 1, 10_000);
const chunkSize = intFromEnv('BENCH_MASK_CHUNK', 65536, 16, 16 * 1024 * 1024);
const rounds = intFromEnv('BENCH_ROUNDS', 3, 1, 20);

const values = makeValues(valueCount);
const output = makeOutput(mib * 1024 * 1024, values);

/** Compiles the values once (older builds have no compileMasking: they compile per masker). */
const compile = () =>
  masker.compileMasking ? masker.compileMasking(values) : { stream: () => masker.createLogMasker(values) };
const used = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

global.gc?.();
const before = used();
const t0 = performance.now();
const masking = compile();
const first = masking.stream();
const compileMs = performance.now() - t0;
global.gc?.();
global.gc?.(); // the second collects what the first only found (the automata's building arrays)
const held = used() - before;

const rates = [];
let masked = [];
for (let r = 0; r < rounds; r++) {
  const m = r === 0 ? first : masking.stream();
  const pieces = [];
  const start = performance.now();
  for (let at = 0; at < output.length; at += chunkSize)
    pieces.push(m.push(output.subarray(at, at + chunkSize)));
  pieces.push(m.end());
  rates.push(output.length / 1024 / 1024 / ((performance.now() - start) / 1000));
  masked = pieces;
}
const masks = Buffer.concat(masked).toString('latin1').split('*****').length - 1;
const median = [...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)];
console.log(
  `masking: ${(output.length / 1024 / 1024).toFixed(1)} MiB, ${valueCount} values ` +
    `(${values.reduce((n, v) => n + v.length, 0)} characters), ${chunkSize}-byte chunks`,
);
console.log(
  `  ${median.toFixed(1)} MiB/s (median of ${rounds}: ${rates.map((x) => x.toFixed(1)).join(', ')}), ` +
    `${masks} masks; compile ${compileMs.toFixed(0)} ms` +
    (global.gc ? `, the compiled masking holds ${(held / 1024 / 1024).toFixed(1)} MiB` : ''),
);
