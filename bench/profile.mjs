// Where does Coffer's time per request go, next to the baselines? Run after `npm run build`:
//
//   node bench/profile.mjs                       profile (a) Coffer, (b) crypto and (c) plain under load
//   node bench/profile.mjs x.cpuprofile [reqs]   only summarise an existing profile (e.g. from --cpu-prof)
//
// Same set-up and load as bench/run.mjs (autocannon in its own process). Each server is started with
// bench/cpu-profile-hook.mjs, which profiles only the load window (after a warm-up). Prints, per server,
// the self time by category in µs per request, the top self-time functions and the top inclusive
// (synchronous-stack) functions. Profiles are written to a temporary directory and removed, unless
// BENCH_KEEP_PROFILES=<dir> names a directory to copy them to (keep it out of the repository).
// Settings: BENCH_PROFILE_SECONDS (8), BENCH_CONNECTIONS (50), BENCH_WARMUP_SECONDS (3),
// BENCH_PROFILE_INTERVAL_US (250), BENCH_PROFILE_TOP (25).

import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AUTH_INFO_PATH,
  autocannon,
  basicAuth,
  BENCH_DIR,
  cleanup,
  createUserAndKey,
  getAuthInfo,
  installCleanupHandlers,
  intFromEnv,
  machineFacts,
  makeSecrets,
  makeTempDir,
  phase,
  putSecrets,
  ROOT,
  startBaseline,
  startCoffer,
  stopChild,
  verifySecrets,
  wasInterrupted,
  writeBaselineSpec,
} from './lib.mjs';

// ---------------------------------------------------------------------------------------------------
// Reading a .cpuprofile

const SQLITE_PREPARE = new Set(['Statement', 'prepare']);
const SQLITE_NATIVE = new Set(['all', 'run', 'get', 'iterate', 'exec', 'pragma', 'bind', 'raw']);
const CRYPTO_NATIVE = new Set([
  'update',
  'final',
  'setAAD',
  'setAuthTag',
  'getAuthTag',
  'initiv',
  'init',
  'digest',
  'timingSafeEqual',
  'CipherBase',
  'Hash',
  'Hmac',
]);
const BUFFER_NATIVE = new Set([
  'utf8Write',
  'utf8Slice',
  'base64Write',
  'base64Slice',
  'base64urlSlice',
  'latin1Write',
  'byteLengthUtf8',
  'copy',
  'compare',
  'fill',
  'createUnsafeArrayBuffer',
  'isAnyArrayBuffer',
]);
const IO_NATIVE = new Set([
  'writev',
  'writeUtf8String',
  'writeBuffer',
  'writeLatin1String',
  'writeAsciiString',
  'onStreamRead',
  'close',
  'shutdown',
  'WriteWrap',
]);

function packageOf(url) {
  const i = url.lastIndexOf('/node_modules/');
  if (i < 0) return null;
  const parts = url.slice(i + '/node_modules/'.length).split('/');
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** A coarse place for a function: which layer of the stack its time belongs to. */
export function categoryOf({ functionName: name, url }) {
  if (name === '(idle)') return 'idle';
  if (name === '(garbage collector)') return 'GC';
  if (name === '(program)') return 'V8/native (unattributed)';
  if (name === '(root)') return 'V8/native (unattributed)';
  if (!url) {
    if (SQLITE_PREPARE.has(name)) return 'SQLite prepare (native)';
    if (SQLITE_NATIVE.has(name)) return 'SQLite execute/commit (native)';
    if (CRYPTO_NATIVE.has(name)) return 'node:crypto native (OpenSSL)';
    if (BUFFER_NATIVE.has(name)) return 'node:buffer native';
    if (IO_NATIVE.has(name)) return 'socket I/O native';
    if (name === 'runMicrotasks') return 'node event loop / promises';
    // Functions made with new Function(): fast-json-stringify serialisers, typebox/ajv validators.
    if (/^anonymous\d*$|^check_\d+$/.test(name)) return 'generated code (serialisers, validators)';
    return 'V8 builtins / other native';
  }
  const pkg = packageOf(url);
  if (pkg === 'kysely') return 'kysely (query building)';
  if (pkg === 'better-sqlite3') return 'better-sqlite3 JS';
  if (pkg === 'pino' || pkg === 'pino-std-serializers' || pkg === 'fast-redact' || pkg === 'sonic-boom')
    return 'pino (logger)';
  if (
    pkg === 'fastify' ||
    pkg?.startsWith('@fastify/') ||
    pkg === 'find-my-way' ||
    pkg === 'avvio' ||
    pkg === 'light-my-request'
  ) {
    return 'fastify (routing, hooks, reply)';
  }
  if (pkg === 'fast-json-stringify' || pkg === 'json-schema-ref-resolver') return 'JSON serialisation';
  if (pkg === 'typebox' || pkg?.startsWith('@sinclair/')) return 'typebox (validation)';
  if (pkg) return `other package: ${pkg}`;
  if (url.includes('/packages/server/dist/')) return 'coffer code';
  if (url.includes('/packages/cli/')) return 'coffer code';
  if (url.includes('/bench/')) return 'baseline code';
  if (url.startsWith('node:internal/crypto') || url === 'node:crypto') return 'node:crypto JS';
  if (/^node:(_http|internal\/http|http)/.test(url)) return 'node:http JS';
  if (/^node:(net|internal\/stream|internal\/streams|stream)/.test(url)) return 'node:net/streams JS';
  if (/^node:(internal\/process\/task_queues|internal\/timers|timers|internal\/async_hooks)/.test(url)) {
    return 'node event loop / promises';
  }
  if (url.startsWith('node:internal/buffer') || url === 'node:buffer') return 'node:buffer JS';
  if (url.startsWith('node:')) return 'node other JS';
  return 'other JS';
}

const shortUrl = (url) => {
  if (!url) return '(native)';
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(ROOT)) u = u.slice(ROOT.length);
  const i = u.lastIndexOf('/node_modules/');
  if (i >= 0) u = u.slice(i + '/node_modules/'.length);
  return u;
};

/**
 * Self and inclusive time per function (µs). Inclusive time counts each function once per stack, so
 * recursion does not double it; it covers synchronous stacks only (an await ends a stack).
 */
export function analyseProfile(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, { ...n, self: 0 }]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const { samples, timeDeltas } = profile;
  // Sample i lasts until sample i+1 (as DevTools attributes it).
  for (let i = 0; i < samples.length; i++) {
    const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0;
    nodes.get(samples[i]).self += Math.max(0, dt);
  }
  const keyOf = (cf) => `${cf.functionName || '(anonymous)'} ${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
  const self = new Map();
  const categories = new Map();
  let total = 0;
  let idle = 0;
  for (const n of nodes.values()) {
    if (n.self === 0) continue;
    total += n.self;
    const cat = categoryOf(n.callFrame);
    if (cat === 'idle') idle += n.self;
    categories.set(cat, (categories.get(cat) ?? 0) + n.self);
    const k = keyOf(n.callFrame);
    const e = self.get(k) ?? { key: k, category: cat, us: 0 };
    e.us += n.self;
    self.set(k, e);
  }
  // Inclusive: walk each sampled node's stack once per distinct function on it.
  const inclusive = new Map();
  for (const n of nodes.values()) {
    if (n.self === 0) continue;
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const cf = nodes.get(id).callFrame;
      if (cf.functionName === '(root)') continue;
      const k = keyOf(cf);
      if (seen.has(k)) continue;
      seen.add(k);
      const e = inclusive.get(k) ?? { key: k, category: categoryOf(cf), us: 0 };
      e.us += n.self;
      inclusive.set(k, e);
    }
  }
  const byUs = (a, b) => b.us - a.us;
  return {
    wallUs: profile.endTime - profile.startTime,
    totalUs: total,
    busyUs: total - idle,
    categories: [...categories].map(([category, us]) => ({ category, us })).sort(byUs),
    self: [...self.values()].sort(byUs),
    inclusive: [...inclusive.values()].sort(byUs),
  };
}

function printSummary(title, a, requests, top) {
  const perReq = (us) => (requests ? (us / requests).toFixed(1).padStart(8) : '       -');
  const pct = (us) => `${((100 * us) / a.busyUs).toFixed(1).padStart(5)}%`;
  console.log('');
  console.log(`== ${title}`);
  console.log(
    `   profiled ${(a.wallUs / 1e6).toFixed(1)} s wall, busy ${(a.busyUs / 1e6).toFixed(2)} s (${((100 * a.busyUs) / a.totalUs).toFixed(0)}% of samples)` +
      (requests ? `, ${requests} requests, ${(a.busyUs / requests).toFixed(0)} µs busy per request` : ''),
  );
  console.log(`   top ${top} self time                                                  µs/req   % busy`);
  for (const e of a.self.filter((x) => x.category !== 'idle').slice(0, top)) {
    console.log(`   ${e.key.slice(0, 68).padEnd(68)} ${perReq(e.us)}  ${pct(e.us)}  ${e.category}`);
  }
  console.log(`   top ${top} inclusive (synchronous stacks)                             µs/req   % busy`);
  const boring =
    /^\((program|idle|garbage collector)\)|^processTicksAndRejections |^runMicrotasks |^listOnTimeout |^processTimers /;
  for (const e of a.inclusive.filter((x) => !boring.test(x.key)).slice(0, top)) {
    console.log(`   ${e.key.slice(0, 68).padEnd(68)} ${perReq(e.us)}  ${pct(e.us)}`);
  }
}

function printCategoryComparison(results) {
  const cats = new Map();
  for (const r of results) {
    for (const c of r.analysis.categories) {
      if (c.category === 'idle') continue;
      const row = cats.get(c.category) ?? { category: c.category, perReq: {} };
      row.perReq[r.id] = c.us / r.requests;
      cats.set(c.category, row);
    }
  }
  const ids = results.map((r) => r.id);
  const rows = [...cats.values()].sort((x, y) => (y.perReq[ids[0]] ?? 0) - (x.perReq[ids[0]] ?? 0));
  console.log('');
  console.log('== CPU (self time, idle excluded) per request, by layer, in µs');
  console.log(
    `   ${'layer'.padEnd(34)}${ids.map((id) => `(${id})`.padStart(10)).join('')}${'a − b'.padStart(10)}`,
  );
  for (const row of rows) {
    const v = ids.map((id) => (row.perReq[id] === undefined ? '-' : row.perReq[id].toFixed(1)).padStart(10));
    const diff = (row.perReq.a ?? 0) - (row.perReq.b ?? 0);
    console.log(`   ${row.category.padEnd(34)}${v.join('')}${diff.toFixed(1).padStart(10)}`);
  }
  const totals = ids.map((id) => {
    const r = results.find((x) => x.id === id);
    return r.analysis.busyUs / r.requests;
  });
  console.log(
    `   ${'TOTAL busy'.padEnd(34)}${totals.map((t) => t.toFixed(1).padStart(10)).join('')}${(totals[0] - (totals[1] ?? 0)).toFixed(1).padStart(10)}`,
  );
  console.log(
    `   ${'req/s under the profiler'.padEnd(34)}${results.map((r) => r.rps.toFixed(0).padStart(10)).join('')}`,
  );
}

// ---------------------------------------------------------------------------------------------------
// Profiling run

async function waitForFile(file, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Profiles the server inside one longer load run: the profiler starts a second after the load does and
 * stops a second before it ends, so neither autocannon's start nor its end is in the window. The hook
 * counts the requests that arrived in the window.
 */
async function profileUnderLoad(target, settings, profileFile) {
  const load = {
    url: target.server.url + AUTH_INFO_PATH,
    headers: target.headers,
    connections: settings.connections,
    pipelining: 1,
  };
  phase(`${target.label}: warm-up ${settings.warmup} s`);
  await autocannon({ ...load, seconds: settings.warmup });
  phase(`${target.label}: profiling ${settings.seconds} s under load`);
  const run = autocannon({ ...load, seconds: settings.seconds + 2 });
  await sleep(1000);
  target.server.child.kill('SIGUSR2');
  await waitForFile(`${profileFile}.started`);
  await sleep(settings.seconds * 1000);
  target.server.child.kill('SIGUSR2');
  await waitForFile(profileFile);
  const r = await run;
  if (r.non2xx + r.errors + r.timeouts > 0) {
    throw new Error(
      `${target.label}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts under load`,
    );
  }
  return { requests: Number(readFileSync(`${profileFile}.requests`, 'utf8')), rps: r.rps };
}

async function main() {
  const files = process.argv.slice(2);
  if (files.length > 0) {
    const requests = Number(files[1]) || undefined;
    printSummary(files[0], analyseProfile(JSON.parse(readFileSync(files[0], 'utf8'))), requests, 30);
    return 0;
  }
  installCleanupHandlers();
  const settings = {
    seconds: intFromEnv('BENCH_PROFILE_SECONDS', 8, 1, 600),
    connections: intFromEnv('BENCH_CONNECTIONS', 50, 1, 10_000),
    warmup: intFromEnv('BENCH_WARMUP_SECONDS', 3, 1, 600),
    interval: intFromEnv('BENCH_PROFILE_INTERVAL_US', 250, 10, 100_000),
    top: intFromEnv('BENCH_PROFILE_TOP', 25, 1, 500),
  };
  const facts = machineFacts();
  console.log(`Coffer CPU profile: node ${facts.node}, ${facts.cpus}`);
  console.log(
    `  ${settings.connections} connections, ${settings.warmup} s warm-up, ${settings.seconds} s profiled, sampling every ${settings.interval} µs`,
  );

  const dir = makeTempDir('coffer-profile-');
  const dataDir = path.join(dir, 'data');
  const hook = ['--import', path.join(BENCH_DIR, 'cpu-profile-hook.mjs')];
  const profileEnv = (id) => ({
    BENCH_CPU_PROFILE: path.join(dir, `${id}.cpuprofile`),
    BENCH_CPU_PROFILE_INTERVAL_US: String(settings.interval),
  });

  phase('setup: user, API key, Coffer server, 20 secrets');
  const key = await createUserAndKey(dataDir, 'bench-user');
  const coffer = await startCoffer({ dataDir, nodeArgs: hook, env: profileEnv('a') });
  const secrets = makeSecrets(20);
  await putSecrets(coffer.url, key, secrets);
  const a0 = await getAuthInfo(coffer.url, key);
  verifySecrets('(a) Coffer', a0.json, secrets);
  const { secrets: cofferSecrets, ...info } = a0.json;
  const specFile = writeBaselineSpec(dir, info, cofferSecrets);
  phase('setup: baseline servers');
  const cryptoServer = await startBaseline({
    specFile,
    mode: 'crypto',
    nodeArgs: hook,
    env: profileEnv('b'),
  });
  const plainServer = await startBaseline({ specFile, mode: 'plain', nodeArgs: hook, env: profileEnv('c') });

  const targets = [
    { id: 'a', label: '(a) Coffer', server: coffer, headers: { authorization: basicAuth(key) } },
    { id: 'b', label: '(b) bare Fastify + 20 AES-GCM opens', server: cryptoServer, headers: {} },
    { id: 'c', label: '(c) bare Fastify, no crypto', server: plainServer, headers: {} },
  ];
  const results = [];
  for (const t of targets) {
    const file = profileEnv(t.id).BENCH_CPU_PROFILE;
    const { requests, rps } = await profileUnderLoad(t, settings, file);
    results.push({
      ...t,
      requests,
      rps,
      file,
      analysis: analyseProfile(JSON.parse(readFileSync(file, 'utf8'))),
    });
  }
  for (const t of targets) await stopChild(t.server.child, 'SIGINT');

  printCategoryComparison(results);
  for (const r of results) printSummary(r.label, r.analysis, r.requests, settings.top);

  const keep = process.env.BENCH_KEEP_PROFILES;
  if (keep) {
    mkdirSync(keep, { recursive: true });
    for (const r of results) copyFileSync(r.file, path.join(keep, `${r.id}.cpuprofile`));
    console.log(`\nProfiles copied to ${keep} (open them in Chrome DevTools or speedscope).`);
  }
  return 0;
}

let status = 1;
try {
  status = await main();
} catch (err) {
  if (!wasInterrupted())
    console.error(`\nprofile failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  await cleanup();
}
process.exit(status);
