// Write-path benchmark, part of `npm run bench`: does a user's write cost depend on how many secrets
// they have? One Coffer server on SQLite, two users: one with FEW secrets, one with MANY. The same load,
// PUT /api/v1/me/secrets/{name} replacing one of the user's own secrets (a new value each time), from
// BENCH_WRITERS concurrent writers, runs against each user in turn (few, many, few, many…) for
// BENCH_ROUNDS rounds; the table gives writes/s per round and the ratio many/few of the means. The
// target is a ratio of at least 0.9: a write reads only the names it touches.
//
// Settings (environment): BENCH_SECONDS (5) per measured run, BENCH_WRITERS (8), BENCH_ROUNDS (2),
// BENCH_MANY (600). Exit status 0 when every write succeeded, 1 otherwise.

import { randomBytes } from 'node:crypto';
import {
  cleanup,
  createUserAndKey,
  installCleanupHandlers,
  intFromEnv,
  makeTempDir,
  phase,
  startCoffer,
  stopCoffer,
  wasInterrupted,
} from './lib.mjs';

installCleanupHandlers();

const seconds = intFromEnv('BENCH_SECONDS', 5, 1, 3600);
const writers = intFromEnv('BENCH_WRITERS', 8, 1, 256);
const rounds = intFromEnv('BENCH_ROUNDS', 2, 1, 20);
const many = intFromEnv('BENCH_MANY', 600, 10, 5000);
const FEW = 3;
const TARGET = 0.9;

async function put(url, key, name, value, expect) {
  const res = await fetch(`${url}/api/v1/me/secrets/${encodeURIComponent(name)}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ value }),
  });
  await res.arrayBuffer();
  if (!expect.includes(res.status)) throw new Error(`PUT ${name}: got ${res.status}`);
}

async function fill(url, key, count) {
  for (let i = 0; i < count; i++)
    await put(url, key, `secret-${i}`, randomBytes(24).toString('base64url'), [201]);
}

/** Writes per second for `seconds`: each writer replaces the user's first FEW names in turn. */
async function load(url, key) {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = w; performance.now() < end; i += writers) {
        await put(url, key, `secret-${i % FEW}`, randomBytes(24).toString('base64url'), [200]);
        done++;
      }
    }),
  );
  return done / seconds;
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

let server;
let failed = false;
try {
  const dataDir = makeTempDir('coffer-bench-writes-');
  phase('creating users');
  const fewKey = await createUserAndKey(dataDir, 'few');
  const manyKey = await createUserAndKey(dataDir, 'many');
  server = await startCoffer({ dataDir, env: { COFFER_MAX_SECRETS_PER_USER: String(Math.max(1000, many)) } });
  phase(`storing ${FEW} and ${many} secrets`);
  await fill(server.url, fewKey, FEW);
  await fill(server.url, manyKey, many);
  phase('warming up');
  await load(server.url, fewKey);
  const results = { few: [], many: [] };
  for (let r = 1; r <= rounds && !wasInterrupted(); r++) {
    phase(`round ${r}/${rounds}`);
    results.few.push(await load(server.url, fewKey));
    results.many.push(await load(server.url, manyKey));
  }
  const f = mean(results.few);
  const m = mean(results.many);
  const ratio = m / f;
  console.log('');
  console.log(`Write path: PUT replacing one secret, ${writers} writers, ${seconds} s per run, SQLite`);
  console.log(
    `  user with ${String(FEW).padStart(4)} secrets: ${f.toFixed(0).padStart(6)} writes/s  (rounds: ${results.few.map((x) => x.toFixed(0)).join(', ')})`,
  );
  console.log(
    `  user with ${String(many).padStart(4)} secrets: ${m.toFixed(0).padStart(6)} writes/s  (rounds: ${results.many.map((x) => x.toFixed(0)).join(', ')})`,
  );
  console.log(
    `  ratio ${many}/${FEW}: ${ratio.toFixed(2)}  (target ≥ ${TARGET}: ${ratio >= TARGET ? 'met' : 'NOT met'})`,
  );
} catch (err) {
  failed = true;
  console.error(`writes benchmark failed: ${err instanceof Error ? err.message : err}`);
} finally {
  if (server) await stopCoffer(server).catch(() => undefined);
  cleanup();
}
process.exit(failed ? 1 : 0);
