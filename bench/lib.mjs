// Shared helpers for bench/run.mjs and bench/profile.mjs: child processes (always cleaned up), a Coffer
// server with one user and 20 secrets, the baseline servers, and autocannon runs in a separate process.

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const CLI = path.join(ROOT, 'packages/cli/bin/coffer.js');
const AUTOCANNON = path.join(ROOT, 'node_modules/autocannon/autocannon.js');
const BASELINE = path.join(BENCH_DIR, 'baseline-server.mjs');
export const AUTH_INFO_PATH = '/dip/publicapi/auth/info?withSecrets=true';

// ---------------------------------------------------------------------------------------------------
// Progress and settings

const t0 = Date.now();
export function phase(message) {
  process.stderr.write(`[bench +${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${message}\n`);
}

export function intFromEnv(name, def, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max) {
    throw new Error(`${name}=${JSON.stringify(raw)}: must be a whole number from ${min} to ${max}`);
  }
  return n;
}

export function machineFacts() {
  const cpus = os.cpus();
  const pkgVersion = (name) => {
    try {
      return JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return '?';
    }
  };
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: `${cpus.length} × ${cpus[0]?.model?.trim() ?? 'unknown'}${cpus[0]?.speed ? ` @ ${cpus[0].speed} MHz` : ''}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    loadavg: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    versions: `fastify ${pkgVersion('fastify')}, autocannon ${pkgVersion('autocannon')}, better-sqlite3 ${pkgVersion('better-sqlite3')}, kysely ${pkgVersion('kysely')}`,
  };
}

// ---------------------------------------------------------------------------------------------------
// Child processes and temporary directories, cleaned up on every way out

const children = new Set();
const tempDirs = new Set();

export function makeTempDir(prefix) {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Spawns a child that is killed at cleanup; keeps the tail of its stderr for error messages. */
export function spawnChild(label, command, args, opts = {}) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  child.label = label;
  child.stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    child.stderrTail = (child.stderrTail + d).slice(-4000);
  });
  child.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  child.once('error', (err) => {
    child.stderrTail += `\n(spawn error: ${err.message})`;
  });
  children.add(child);
  return child;
}

/** Sends a signal and waits for the exit; SIGKILL after the timeout. */
export async function stopChild(child, signal = 'SIGTERM', timeoutMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  child.kill(signal);
  let timer;
  const killed = new Promise((resolve) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, timeoutMs);
  });
  await Promise.race([child.exited, killed]);
  clearTimeout(timer);
  return child.exited;
}

let cleaning = null;
export function cleanup() {
  cleaning ??= (async () => {
    await Promise.all([...children].map((c) => stopChild(c, 'SIGTERM', 5000)));
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    tempDirs.clear();
  })();
  return cleaning;
}

/** Last resort when the process exits without running cleanup(): synchronous kill and removal. */
function cleanupSync() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

let interrupted = false;
/** True once a signal asked us to stop: errors from children being stopped are then expected. */
export const wasInterrupted = () => interrupted;

export function installCleanupHandlers() {
  process.once('exit', cleanupSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      interrupted = true;
      phase(`${signal}: stopping servers and removing temporary data`);
      void cleanup().finally(() => process.exit(130));
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// Networking helpers

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitHealthy(child, url, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${child.label} exited during start-up (code ${child.exitCode}):\n${child.stderrTail}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${child.label} did not answer ${url} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------------------------------------------
// Coffer

/** The environment for Coffer processes: ours without any COFFER_* (a stray DATABASE_URL or key source
 * must not leak in), plus the given settings. */
function cofferEnv(settings) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('COFFER_')) env[k] = v;
  return { ...env, COFFER_LOG_LEVEL: 'warn', COFFER_HOST: '127.0.0.1', ...settings };
}

async function runCli(args, { dataDir, input = '', env = {} }) {
  const child = spawnChild(`coffer ${args.slice(0, 2).join(' ')}`, process.execPath, [CLI, ...args], {
    env: cofferEnv({ COFFER_DATA_DIR: dataDir, ...env }),
  });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => (stdout += d));
  child.stdin.end(input);
  const { code } = await child.exited;
  if (code !== 0) throw new Error(`${child.label} failed (exit ${code}):\n${child.stderrTail}`);
  return stdout;
}

/** Creates the benchmark user and a personal API key with the CLI; returns the key. */
export async function createUserAndKey(dataDir, login, env = {}) {
  await runCli(['users', 'create', login, '--display-name', 'Bench User', '--group', 'data-science'], {
    dataDir,
    env,
    input: `${randomBytes(18).toString('base64url')}\n`,
  });
  const key = (await runCli(['api-keys', 'create', login, '--label', 'bench'], { dataDir, env })).trim();
  if (!/^cofk_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/.test(key)) throw new Error('api-keys create printed no key');
  return key;
}

/** Starts `coffer serve` on a free port and waits until /healthz answers. */
export async function startCoffer({ dataDir, nodeArgs = [], env = {}, label = 'coffer serve' }) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawnChild(label, process.execPath, [...nodeArgs, CLI, 'serve'], {
      env: { ...cofferEnv({ COFFER_DATA_DIR: dataDir, COFFER_PORT: String(port) }), ...env },
    });
    child.stdout.resume();
    try {
      await waitHealthy(child, `http://127.0.0.1:${port}/healthz`);
      return { child, url: `http://127.0.0.1:${port}` };
    } catch (err) {
      await stopChild(child, 'SIGKILL');
      // The port may have been taken between freePort() and listen(); try another once or twice.
      if (attempt >= 3 || !/EADDRINUSE/.test(child.stderrTail)) throw err;
    }
  }
}

/** Stops a Coffer server gracefully (SIGINT: it drains the audit queue and closes the store). */
export async function stopCoffer(server) {
  const { code, signal } = await stopChild(server.child, 'SIGINT', 15_000);
  if (code !== 0) {
    throw new Error(
      `${server.child.label} did not stop cleanly (code ${code}, signal ${signal}):\n${server.child.stderrTail}`,
    );
  }
}

// Realistic secrets: what data people keep in such a store, with a recognisable prefix (and suffix) and
// random text; lengths spread evenly over 20–200 characters, roughly in each kind's natural order.
const SECRET_KINDS = [
  ['aws-access-key-id', 'AKIA'],
  ['postgres-prod-password', ''],
  ['snowflake-password', ''],
  ['smtp-relay-password', ''],
  ['ldap-bind-password', 'pässwörd-'],
  ['aws-secret-access-key', ''],
  ['github-token', 'ghp_'],
  ['gitlab-deploy-token', 'glpat-'],
  ['databricks-token', 'dapi'],
  ['azure-client-secret', 'Q~'],
  ['openai-api-key', 'sk-proj-'],
  ['tableau-personal-access-token', ''],
  ['redis-url', 'rediss://default:', '@cache.internal:6380/0'],
  ['salesforce-refresh-token', '5Aep861'],
  ['slack-webhook-url', 'https://hooks.slack.com/services/T0BENCH01/B0BENCH02/'],
  ['mongodb-uri', 'mongodb+srv://svc_reader:', '@cluster0.bench.mongodb.net/app?retryWrites=true'],
  ['gcp-service-account-key', '{"type":"service_account","project_id":"bench","private_key_id":"', '"}'],
  ['jdbc-url-warehouse', 'jdbc:postgresql://warehouse.internal:5432/analytics?sslmode=verify-full&password='],
  [
    'kafka-sasl-jaas-config',
    'org.apache.kafka.common.security.plain.PlainLoginModule required username="svc-etl" password="',
    '";',
  ],
  [
    's3-presigned-upload-url',
    'https://bench-bucket.s3.eu-west-1.amazonaws.com/upload?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=',
  ],
];

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~!$%^&*+=/';

/** `count` named secrets with values of 20, 29, …, 200 characters. */
export function makeSecrets(count = 20) {
  const secrets = [];
  for (let i = 0; i < count; i++) {
    const [kind, prefix, suffix = ''] = SECRET_KINDS[i % SECRET_KINDS.length];
    const length = count === 1 ? 20 : Math.round(20 + (i * 180) / (count - 1));
    // At least 8 random characters, whatever the prefix and suffix.
    const head = prefix.slice(0, Math.max(0, length - 8 - suffix.length));
    const tail = suffix.slice(0, Math.max(0, length - 8 - head.length));
    let random = '';
    while (head.length + random.length + tail.length < length) random += ALPHABET[randomInt(ALPHABET.length)];
    secrets.push({ key: i < SECRET_KINDS.length ? kind : `${kind}-${i}`, value: head + random + tail });
  }
  return secrets;
}

export const basicAuth = (key) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

/** Stores the secrets through the HTTP API (PUT /api/v1/me/secrets/{name}, Bearer key). */
export async function putSecrets(url, key, secrets) {
  for (const s of secrets) {
    const res = await fetch(`${url}/api/v1/me/secrets/${encodeURIComponent(s.key)}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ value: s.value }),
    });
    if (res.status !== 201) {
      throw new Error(`PUT secret ${s.key}: expected 201, got ${res.status} ${await res.text()}`);
    }
  }
}

export async function getAuthInfo(url, key) {
  const headers = key ? { authorization: basicAuth(key) } : {};
  const res = await fetch(url + AUTH_INFO_PATH, { headers });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${AUTH_INFO_PATH} on ${url}: ${res.status} ${text}`);
  return { json: JSON.parse(text), bytes: Buffer.byteLength(text) };
}

/** Fails loudly unless the body carries exactly the expected secrets with the expected values. */
export function verifySecrets(label, body, expected) {
  const got = body.secrets;
  if (!Array.isArray(got)) throw new Error(`${label}: the response has no secrets array`);
  if (got.length !== expected.length) {
    throw new Error(`${label}: expected ${expected.length} secrets, got ${got.length}`);
  }
  const byName = new Map(got.map((s) => [s.key, s.value]));
  for (const s of expected) {
    if (!byName.has(s.key)) throw new Error(`${label}: secret ${JSON.stringify(s.key)} is missing`);
    if (byName.get(s.key) !== s.value)
      throw new Error(`${label}: secret ${JSON.stringify(s.key)} has a wrong value`);
  }
}

/** Counts the audited reads in a (stopped) Coffer data directory. */
export async function countAuditedReads(dataDir) {
  const { default: SQLite } = await import('better-sqlite3');
  const db = new SQLite(path.join(dataDir, 'coffer.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare("select count(*) as n from audit_records where action = 'secret.read'").get().n;
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Baseline servers

export function writeBaselineSpec(dir, info, secrets) {
  const file = path.join(dir, 'baseline-spec.json');
  writeFileSync(file, JSON.stringify({ info, secrets }), { mode: 0o600 });
  return file;
}

export async function startBaseline({ specFile, mode, nodeArgs = [], env = {} }) {
  const child = spawnChild(
    `baseline-server ${mode}`,
    process.execPath,
    [...nodeArgs, BASELINE, specFile, mode],
    {
      env: { ...process.env, ...env },
    },
  );
  child.stdout.setEncoding('utf8');
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      child.stdout.off('data', onData);
      child.stdout.resume();
      try {
        resolve(JSON.parse(buf.slice(0, nl)).port);
      } catch (err) {
        reject(err);
      }
    };
    child.stdout.on('data', onData);
    void child.exited.then(({ code }) =>
      reject(new Error(`${child.label} exited during start-up (code ${code}):\n${child.stderrTail}`)),
    );
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(child, `${url}/healthz`);
  return { child, url };
}

// ---------------------------------------------------------------------------------------------------
// Load: the autocannon CLI in its own process, JSON result

/**
 * Runs the autocannon CLI (a separate process) against url and returns its figures, with the CPU time
 * the server (serverPid) and the load generator used meanwhile where /proc allows.
 */
export async function autocannon({ url, headers = {}, seconds, connections, pipelining, serverPid }) {
  const args = [
    AUTOCANNON,
    '--json',
    '--connections',
    String(connections),
    '--pipelining',
    String(pipelining),
    '--duration',
    String(seconds),
    '--timeout',
    '10',
  ];
  for (const [k, v] of Object.entries(headers)) args.push('--headers', `${k}=${v}`);
  args.push(url);
  const serverCpu0 = serverPid ? cpuMs(serverPid) : null;
  const machine0 = machineCpu();
  const child = spawnChild('autocannon', process.execPath, args);
  child.stdin.end();
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => (stdout += d));
  // The load generator's CPU, sampled while it runs (its /proc entry is gone once it has exited).
  const samples = [];
  const sampler = setInterval(() => {
    const c = cpuMs(child.pid);
    if (c !== null) samples.push({ at: performance.now(), cpu: c });
  }, 250);
  const { code } = await child.exited;
  clearInterval(sampler);
  const serverCpu1 = serverPid ? cpuMs(serverPid) : null;
  const machine1 = machineCpu();
  if (code !== 0) throw new Error(`autocannon failed (exit ${code}):\n${child.stderrTail}`);
  const r = JSON.parse(stdout);
  // Skip the first second of samples: start-up (module loading) is not load generation.
  const steady = samples.filter((x) => x.at - (samples[0]?.at ?? 0) >= 1000);
  const first = steady[0];
  const last = steady[steady.length - 1];
  const serverCpu = serverCpu0 !== null && serverCpu1 !== null ? serverCpu1 - serverCpu0 : null;
  return {
    rps: r.requests.average,
    total: r.requests.total,
    sent: r.requests.sent,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    p50: r.latency.p50,
    p99: r.latency.p99,
    mean: r.latency.mean,
    bytesPerResponse: r.requests.total > 0 ? r.throughput.total / r.requests.total : 0,
    duration: r.duration,
    serverCpuPct: serverCpu === null ? null : (100 * serverCpu) / (r.duration * 1000),
    serverCpuUsPerReq:
      serverCpu === null || r.requests.total === 0 ? null : (1000 * serverCpu) / r.requests.total,
    // Busy share of all CPUs of the machine (100% = every CPU busy): well above server + load generator
    // means other work was running.
    machineCpuPct:
      machine0 && machine1 && machine1.total > machine0.total
        ? (100 * (machine1.busy - machine0.busy)) / (machine1.total - machine0.total)
        : null,
    loadgenCpuPct:
      first && last && last.at > first.at ? (100 * (last.cpu - first.cpu)) / (last.at - first.at) : null,
  };
}

// ---------------------------------------------------------------------------------------------------
// CPU time of a process (Linux /proc), to tell CPU-bound from blocked, and server from load generator

let clockTicks;
function ticksPerSecond() {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU time of a process in milliseconds, or null where /proc is not available. */
export function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond();
  } catch {
    return null;
  }
}

/** Busy and total jiffies of all CPUs together (/proc/stat), or null. */
function machineCpu() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = v[3] + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** The median of a list of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** One JSON call to a Coffer server with a personal API key; throws on an error status. */
export async function callJson(url, key, method, path, body) {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: basicAuth(key), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => undefined);
  if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
