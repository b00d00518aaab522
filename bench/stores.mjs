// Store benchmark, the second half of `npm run bench`: the same auth/info load (20 secrets, API key,
// every read audited) against one replica on SQLite, one replica on PostgreSQL, and two replicas on one
// PostgreSQL with the load split evenly between them (two autocannon processes, as a load balancer
// would), all in one run on this machine. PostgreSQL is the local server (127.0.0.1:5432, trust auth);
// each run gets a fresh database, dropped afterwards.
//
// Settings (environment): BENCH_SECONDS (10), BENCH_CONNECTIONS (50, split across replicas),
// BENCH_WARMUP_SECONDS (3), BENCH_PG_URL (postgres://postgres@127.0.0.1:5432/test, for creating the
// database). Exit status 0 when every check passed, 1 otherwise.

import { randomBytes } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import {
  AUTH_INFO_PATH,
  autocannon,
  basicAuth,
  cleanup,
  createUserAndKey,
  getAuthInfo,
  installCleanupHandlers,
  intFromEnv,
  makeSecrets,
  makeTempDir,
  phase,
  putSecrets,
  startCoffer,
  stopCoffer,
  verifySecrets,
  wasInterrupted,
} from './lib.mjs';

installCleanupHandlers();

const seconds = intFromEnv('BENCH_SECONDS', 10, 1, 3600);
const connections = intFromEnv('BENCH_CONNECTIONS', 50, 2, 10_000);
const warmup = intFromEnv('BENCH_WARMUP_SECONDS', 3, 0, 600);
const adminUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const dbName = `coffer_bench_${randomBytes(6).toString('hex')}`;
const masterKey = randomBytes(32).toString('base64');

async function admin(query) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(query);
  } finally {
    await c.end();
  }
}

/** Warm-up, then the measured run, against every URL at once with the connections split evenly. */
async function load(label, servers) {
  const share = Math.floor(connections / servers.length);
  const run = (s, secs) =>
    autocannon({
      url: s.url + AUTH_INFO_PATH,
      headers: { authorization: basicAuth(s.key) },
      seconds: secs,
      connections: share,
      pipelining: 1,
      serverPid: s.child.pid,
    });
  if (warmup > 0) {
    phase(`${label}: warm-up ${warmup} s`);
    await Promise.all(servers.map((s) => run(s, warmup)));
  }
  phase(`${label}: measuring ${seconds} s`);
  const rs = await Promise.all(servers.map((s) => run(s, seconds)));
  return {
    label,
    rps: rs.reduce((a, r) => a + r.rps, 0),
    p50: Math.max(...rs.map((r) => r.p50)),
    p99: Math.max(...rs.map((r) => r.p99)),
    bad: rs.reduce((a, r) => a + r.non2xx + r.errors + r.timeouts, 0),
    cpu: rs.map((r) => (r.serverCpuPct === null ? 'n/a' : `${r.serverCpuPct.toFixed(0)}%`)).join(' + '),
  };
}

async function main() {
  const secrets = makeSecrets(20);
  const results = [];

  phase('SQLite: one replica');
  const sqliteDir = makeTempDir('coffer-bench-sqlite-');
  const sqliteKey = await createUserAndKey(sqliteDir, 'bench', { COFFER_MASTER_KEY: masterKey });
  const sqlite = await startCoffer({ dataDir: sqliteDir, env: { COFFER_MASTER_KEY: masterKey } });
  await putSecrets(sqlite.url, sqliteKey, secrets);
  verifySecrets('sqlite', (await getAuthInfo(sqlite.url, sqliteKey)).json, secrets);
  results.push(await load('1 replica, SQLite', [{ ...sqlite, key: sqliteKey }]));
  await stopCoffer(sqlite);

  phase(`PostgreSQL: database ${dbName}`);
  await admin(`create database ${dbName}`);
  try {
    const env = {
      COFFER_DATABASE_URL: adminUrl.replace(/\/[^/]*$/, `/${dbName}`),
      COFFER_MASTER_KEY: masterKey,
      COFFER_JOBS_ENABLED: 'false',
    };
    const key = await createUserAndKey(makeTempDir('coffer-bench-pg-cli-'), 'bench', env);
    const replicas = [];
    for (let i = 0; i < 2; i++) {
      const r = await startCoffer({
        dataDir: makeTempDir(`coffer-bench-pg-${i}-`),
        env,
        label: `replica ${i + 1}`,
      });
      replicas.push({ ...r, key });
    }
    await putSecrets(replicas[0].url, key, secrets);
    for (const r of replicas) verifySecrets(r.child.label, (await getAuthInfo(r.url, key)).json, secrets);
    results.push(await load('1 replica, PostgreSQL', [replicas[0]]));
    results.push(await load('2 replicas, one PostgreSQL', replicas));
    for (const r of replicas) await stopCoffer(r);
  } finally {
    await admin(`drop database if exists ${dbName} with (force)`);
  }

  const base = results[0].rps;
  console.log('');
  console.log(`Stores: GET ${AUTH_INFO_PATH}, 20 secrets, ${connections} connections in all, ${seconds} s`);
  console.log(
    `  ${'target'.padEnd(28)} ${'req/s'.padStart(7)} ${'× SQLite'.padStart(8)} ${'p50 ms'.padStart(6)} ${'p99 ms'.padStart(6)} ${'bad'.padStart(4)}  server CPU`,
  );
  for (const r of results)
    console.log(
      `  ${r.label.padEnd(28)} ${r.rps.toFixed(0).padStart(7)} ${(r.rps / base).toFixed(2).padStart(8)} ${String(r.p50).padStart(6)} ${String(r.p99).padStart(6)} ${String(r.bad).padStart(4)}  ${r.cpu}`,
    );
  console.log(
    `  ${os.cpus().length} CPUs shared by the replicas, PostgreSQL and the load generators: with 2 replicas the machine, not Coffer, is the limit.`,
  );
  const bad = results.reduce((n, r) => n + r.bad, 0);
  console.log(`Checks  non-2xx, errors and timeouts: ${bad}`);
  return bad === 0 ? 0 : 1;
}

let status = 1;
try {
  status = await main();
} catch (err) {
  if (!wasInterrupted())
    console.error(`\nbench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  phase('cleaning up');
  await cleanup();
}
process.exit(status);
