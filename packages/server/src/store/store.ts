import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, sql, SqliteDialect, type Transaction } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrate.js';
import { isStoreUnreachable, StoreUnreachable } from './unavailable.js';
import { registerRawSqlite } from './prepared.js';
import { ReadSnapshot } from './read-snapshot.js';
import { withStatementCache } from './statement-cache.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database> | Transaction<Database>;

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly db: Kysely<Database>;
  /** Runs fn in one transaction: it all commits, or none of it does. */
  transaction<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  /** Connection pool figures, where there is a pool (PostgreSQL). */
  poolStats?(): { total: number; idle: number; waiting: number };
  /** The rows the SQLite read path keeps between requests (for tests). */
  keptRows?(): unknown[];
  /** Answers if the database does (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreOptions {
  readonly dataDir: string;
  readonly databaseUrl?: string | undefined;
  /** SQLite file name inside the data dir; tests may point elsewhere. */
  readonly sqliteFile?: string;
  /** Most PostgreSQL connections this process opens. */
  readonly poolMax?: number;
}

/**
 * Opens the store and runs pending migrations. SQLite is the embedded default: WAL for concurrent
 * readers, synchronous=FULL so an acknowledged commit survives power loss, foreign keys on.
 */
export async function openStore(opts: StoreOptions): Promise<Store> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.poolMax ?? 10);
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  // An existing directory keeps its mode through mkdir; the data directory is private either way.
  chmodSync(opts.dataDir, 0o700);
  const file = path.join(opts.dataDir, opts.sqliteFile ?? 'coffer.db');
  const sqlite = new SQLite(file);
  // The WAL and shared-memory files SQLite creates later take the database file's mode.
  chmodSync(file, 0o600);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // Overwrite freed pages so deleted ciphertext does not linger in the file.
  sqlite.pragma('secure_delete = ON');
  const snapshot = new ReadSnapshot(sqlite);
  const raw = withStatementCache(sqlite, (sql, reader) => snapshot.noteStatement(sql, reader));
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  registerRawSqlite(db as Kysely<unknown>, raw, snapshot);
  await migrateToLatest(db as Kysely<unknown>, 'sqlite');
  return { ...storeOver('sqlite', db), keptRows: () => snapshot.rows() };
}

async function openPostgres(url: string, poolMax: number): Promise<Store> {
  // epoch-millisecond bigints fit in a double; parse them as numbers like SQLite does.
  pg.types.setTypeParser(20, (v) => Number(v));
  const pool = new pg.Pool({
    connectionString: url,
    max: poolMax,
    // Fail a request fast (503) rather than queue it behind a database that does not answer.
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 30_000,
  });
  // An idle connection dropped by the server (restart, failover) must not crash the process: the pool
  // discards it, and the next query opens a new one or fails with 503.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrateToLatest(db as Kysely<unknown>, 'postgres');
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw isStoreUnreachable(err) || isStoreUnreachable((err as { cause?: unknown }).cause)
      ? new StoreUnreachable(url, err)
      : err;
  }
  return {
    ...storeOver('postgres', db),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
  };
}

function storeOver(kind: Store['kind'], db: Kysely<Database>): Store {
  return {
    kind,
    db,
    transaction: (fn) => db.transaction().execute(fn),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}
