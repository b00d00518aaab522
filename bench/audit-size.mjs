// Audit trail: how many bytes the store spends on the record of one secret read, and what pruning costs
// reads. Not a test; `node bench/audit-size.mjs` after `npm run build` (also the last step of
// `npm run bench`).
//
// 1. Size. A server (in its own process), one user with the benchmark's 20 secrets and a personal API
//    key, then BENCH_AUDIT_READS reads of auth/info?withSecrets=true, BENCH_CONNECTIONS at a time. The
//    figure is the growth of every audit table and index divided by the number of reads: SQLite's
//    dbstat (pages in use, page fill included) and the growth of the database file; PostgreSQL's
//    pg_total_relation_size.
// 2. Pruning under load. With the server stopped, BENCH_AUDIT_OLD records dated 100 days back are added;
//    the server is started with a retention of 1 day, so it prunes them from its start, and the same
//    reads run again at once. Reads/s with and without pruning, and how fast pruning went.
//
// Settings (environment): BENCH_AUDIT_READS (10000), BENCH_AUDIT_OLD (1000000), BENCH_CONNECTIONS (20),
// BENCH_PG_URL (postgres://postgres@127.0.0.1:5432/test; empty: SQLite only).

import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import {
  basicAuth,
  AUTH_INFO_PATH,
  cleanup,
  createUserAndKey,
  installCleanupHandlers,
  intFromEnv,
  makeSecrets,
  makeTempDir,
  phase,
  putSecrets,
  startCoffer,
  stopCoffer,
} from './lib.mjs';

installCleanupHandlers();

const reads = intFromEnv('BENCH_AUDIT_READS', 10_000, 100, 10_000_000);
const oldRecords = intFromEnv('BENCH_AUDIT_OLD', 1_000_000, 0, 100_000_000);
const connections = intFromEnv('BENCH_CONNECTIONS', 20, 1, 1000);
const pgUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** `reads` audited reads, `connections` at a time; fails on any answer but 200. */
async function readMany(url, key) {
  let left = reads;
  const worker = async () => {
    while (left-- > 0) {
      const res = await fetch(url + AUTH_INFO_PATH, { headers: { authorization: basicAuth(key) } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`auth/info answered ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
}

/** Runs SQL on a SQLite store (its server stopped, or running: WAL lets a reader in). */
async function onSqlite(dataDir, fn) {
  const { default: SQLite } = await import('better-sqlite3');
  const db = new SQLite(path.join(dataDir, 'coffer.db'), { fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

const sqlite = {
  /** Bytes in use by every table and index whose name starts with audit_, per dbstat. */
  sizeOf: (dataDir) =>
    onSqlite(dataDir, (db) => {
      const rows = db
        .prepare(
          `select s.name, sum(s.pgsize) as bytes from dbstat s
           join sqlite_master m on m.name = s.name
           where m.tbl_name like 'audit%' group by s.name order by s.name`,
        )
        .all();
      return Object.fromEntries(rows.map((r) => [r.name, r.bytes]));
    }),
  exec: (dataDir, _env, sql) => onSqlite(dataDir, (db) => db.exec(sql)),
  count: (dataDir, _env, sql) => onSqlite(dataDir, (db) => Number(db.prepare(sql).get().n)),
};

const fileBytes = (dataDir) =>
  ['coffer.db', 'coffer.db-wal'].reduce((n, f) => {
    try {
      return n + statSync(path.join(dataDir, f)).size;
    } catch {
      return n;
    }
  }, 0);

const total = (o) => Object.values(o).reduce((a, b) => a + b, 0);
const perRead = (before, after) => ((after - before) / reads).toFixed(1);

async function onPostgres(url, fn) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The same on PostgreSQL; the database is the one in the store's COFFER_DATABASE_URL. */
const postgres = {
  sizeOf: (_dataDir, env) =>
    onPostgres(env.COFFER_DATABASE_URL, async (c) => {
      const { rows } = await c.query(
        `select c.relname as name, pg_total_relation_size(c.oid) as bytes from pg_class c
         join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relkind = 'r' and c.relname like 'audit%' order by 1`,
      );
      return Object.fromEntries(rows.map((r) => [r.name, Number(r.bytes)]));
    }),
  exec: (_dataDir, env, sql) => onPostgres(env.COFFER_DATABASE_URL, (c) => c.query(sql)),
  count: (_dataDir, env, sql) =>
    onPostgres(env.COFFER_DATABASE_URL, async (c) => Number((await c.query(sql)).rows[0].n)),
};

const DAY = 86_400_000;

/** Records of reads dated `daysBack` days ago, naming the store's first subject, caller and names. */
const oldRecordsSql = (n, daysBack) => `
  with recursive seq(i) as (select 1 union all select i + 1 from seq where i < ${n})
  insert into audit_records (at, action, subject_id, caller_id, names_id, detail)
  select ${Date.now() - daysBack * DAY} + i, 'secret.read', (select min(id) from audit_subjects),
         (select min(id) from audit_callers), (select min(id) from audit_name_lists), null
  from seq`;

async function timedReads(url, key) {
  const t0 = performance.now();
  await readMany(url, key);
  return (performance.now() - t0) / 1000;
}

/**
 * A new store with the benchmark user, its API key and 20 secrets; answers its data dir, settings and
 * the key. On PostgreSQL each gets a database of its own (`newDatabase`).
 */
async function newStore(newDatabase) {
  const dataDir = makeTempDir('coffer-audit-size-');
  const env = newDatabase ? { COFFER_DATABASE_URL: await newDatabase() } : {};
  const key = await createUserAndKey(dataDir, 'reader', env);
  const server = await startCoffer({ dataDir, env });
  await putSecrets(server.url, key, makeSecrets(20));
  await stopCoffer(server);
  return { dataDir, env, key };
}

async function measure(label, store, newDatabase) {
  const { dataDir, env, key } = await newStore(newDatabase);
  const before = await store.sizeOf(dataDir, env);
  const fileBefore = fileBytes(dataDir);
  let server = await startCoffer({ dataDir, env });
  phase(`${label}: ${reads} reads, ${connections} at a time`);
  const seconds = await timedReads(server.url, key);
  await stopCoffer(server);
  const after = await store.sizeOf(dataDir, env);
  console.log(`\n${label}: ${reads} reads in ${seconds.toFixed(1)} s (${(reads / seconds).toFixed(0)}/s)`);
  for (const name of Object.keys(after))
    console.log(`  ${name.padEnd(28)} ${perRead(before[name] ?? 0, after[name]).padStart(7)} bytes/read`);
  console.log(
    `  ${'all audit tables'.padEnd(28)} ${perRead(total(before), total(after)).padStart(7)} bytes/read`,
  );
  if (!env.COFFER_DATABASE_URL)
    console.log(
      `  ${'database file'.padEnd(28)} ${perRead(fileBefore, fileBytes(dataDir)).padStart(7)} bytes/read`,
    );
  if (oldRecords === 0) return;

  // A store that has kept a long trail: the old records come first, as they would have been written.
  phase(`${label}: ${oldRecords} records 100 days old, a server keeping 1 day, the same reads at once`);
  const aged = await newStore(newDatabase);
  await store.exec(aged.dataDir, aged.env, oldRecordsSql(oldRecords, 100));
  const countOld = `select count(*) as n from audit_records where at < ${Date.now() - 50 * DAY}`;
  server = await startCoffer({
    dataDir: aged.dataDir,
    env: { ...aged.env, COFFER_AUDIT_RETENTION_DAYS: '1' },
  });
  const pruneStart = performance.now();
  const busySeconds = await timedReads(server.url, aged.key);
  const leftAfterReads = await store.count(aged.dataDir, aged.env, countOld);
  while ((await store.count(aged.dataDir, aged.env, countOld)) > 0)
    await new Promise((r) => setTimeout(r, 500));
  const pruneSeconds = (performance.now() - pruneStart) / 1000;
  await stopCoffer(server);
  console.log(
    `  reads while pruning          ${(reads / busySeconds).toFixed(0)}/s` +
      ` (${leftAfterReads} old records left when they ended${leftAfterReads > 0 ? ': pruning ran throughout' : ''})`,
  );
  console.log(
    `  pruning                      ${oldRecords} records in at most ${pruneSeconds.toFixed(1)} s (${(oldRecords / pruneSeconds).toFixed(0)}/s or more)`,
  );
}

const databases = [];
try {
  await measure('SQLite', sqlite);
  if (pgUrl) {
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    try {
      await measure('PostgreSQL', postgres, async () => {
        const name = `coffer_bench_${randomBytes(6).toString('hex')}`;
        await admin.query(`create database ${name}`);
        databases.push(name);
        const url = new URL(pgUrl);
        url.pathname = `/${name}`;
        return url.toString();
      });
    } finally {
      await cleanup();
      for (const name of databases) await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  }
} finally {
  await cleanup();
}
