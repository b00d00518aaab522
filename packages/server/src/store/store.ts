import { sql, type Kysely, type Transaction } from 'kysely';
import { openPostgres } from './dialect/postgres.js';
import { openSqlite } from './dialect/sqlite.js';
import type { StoreHealth } from './health.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database> | Transaction<Database>;

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly db: Kysely<Database>;
  /** Runs fn in one transaction: it all commits, or none of it does. */
  transaction<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  /** Runs fn in a read-only transaction whose reads all see one snapshot (backups). */
  snapshot<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  /** Connection pool figures, where there is a pool (PostgreSQL). */
  poolStats?(): { total: number; idle: number; waiting: number };
  /** After rows were inserted with their ids (a restore): lets the database hand out the next ids. */
  afterBulkInsert?(trx: Db): Promise<void>;
  /** The rows the SQLite read path keeps between requests (for tests). */
  keptRows?(): unknown[];
  /** Answers if the database does (readiness). */
  ping(): Promise<void>;
  /** What this process has seen go wrong with the store: the outage under way, if any (health.ts). */
  readonly health: StoreHealth;
  /**
   * While writes fail (SQLite: a full disk): does what lets them succeed again, then one small write,
   * which ends the outage if it commits. For readiness, so that a server taken out of rotation because
   * it could not write comes back by itself once it can.
   */
  probeWrites?(): Promise<void>;
  /** Waits for writes under way and closes the database (SQLite: checkpoints and truncates the WAL). */
  close(): Promise<void>;
}

export interface StoreOptions {
  readonly dataDir: string;
  readonly databaseUrl?: string | undefined;
  /** SQLite file name inside the data dir; tests may point elsewhere. */
  readonly sqliteFile?: string;
  /** Most PostgreSQL connections this process opens. */
  readonly poolMax?: number;
  /** Where the store tells the operator what happened at close (SQLite: the WAL that stayed). */
  readonly log?: StoreLog | undefined;
  /** PostgreSQL: how long to wait for a connection, and longest a statement may run. */
  readonly connectTimeoutMs?: number;
  readonly statementTimeoutMs?: number;
}

/** The few lines the store itself has for the operator. */
export interface StoreLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** The store settings of a loaded configuration. */
export function storeOptionsOf(config: {
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolMax: number;
  databaseConnectTimeoutSeconds: number;
  databaseStatementTimeoutSeconds: number;
}): StoreOptions {
  return {
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    poolMax: config.databasePoolMax,
    connectTimeoutMs: config.databaseConnectTimeoutSeconds * 1000,
    statementTimeoutMs: config.databaseStatementTimeoutSeconds * 1000,
  };
}

/**
 * Opens the store and runs pending migrations: PostgreSQL when a URL is given, else SQLite in the data
 * directory. What differs between the two lives in dialect/ (and the column types in migrations).
 */
export async function openStore(opts: StoreOptions): Promise<Store> {
  if (opts.databaseUrl)
    return openPostgres(opts.databaseUrl, {
      poolMax: opts.poolMax ?? 10,
      connectTimeoutMs: opts.connectTimeoutMs ?? 3000,
      statementTimeoutMs: opts.statementTimeoutMs ?? 30_000,
    });
  return openSqlite(opts.dataDir, opts.sqliteFile, opts.log);
}

/**
 * Readiness: undefined when the store answers and, if writes were failing, writes again; otherwise what
 * is wrong, in words. Costs one `select 1` while all is well; the write probe runs only during an
 * outage of writes.
 */
export async function storeProblem(
  store: Pick<Store, 'ping' | 'health' | 'probeWrites'>,
): Promise<string | undefined> {
  try {
    await store.ping();
  } catch (err) {
    return store.health.failed(err)?.summary ?? 'the store does not answer';
  }
  if (store.health.problem?.endsWith === 'write' && store.probeWrites) {
    try {
      await store.probeWrites();
    } catch (err) {
      store.health.failed(err);
    }
  }
  return store.health.problem?.summary;
}

export function storeOver(kind: Store['kind'], db: Kysely<Database>, health: StoreHealth): Store {
  return {
    kind,
    db,
    health,
    transaction: (fn) => db.transaction().execute(fn),
    // SQLite: a read transaction sees one state of the WAL from its first read to its end.
    snapshot: (fn) => db.transaction().execute(fn),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}
