import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  sql,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type SqliteDialectConfig,
  type TransactionSettings,
} from 'kysely';
import { StoreHealth } from '../health.js';
import { migrateToLatest } from '../migrate.js';
import { registerRawSqlite } from '../prepared.js';
import { ReadSnapshot } from '../read-snapshot.js';
import { SEQUENCED_TABLES, type Database } from '../schema.js';
import { withStatementCache } from '../statement-cache.js';
import { storeOver, type Store, type StoreLog } from '../store.js';
import { StoreCannotWrite } from '../unavailable.js';
import { checkpointAtClose } from './sqlite-checkpoint.js';
import { openSqliteConnection } from './sqlite-connection.js';
import { hasNoRoom, probeWrites, watchingCommits } from './sqlite-health.js';
import { SqliteWriter } from './sqlite-writer.js';

/**
 * Write transactions begin IMMEDIATE: they take the write lock first, waiting for another connection's
 * commit (the audit writer thread's, another process's) through the busy timeout. A deferred one that
 * read before writing would instead fail at its first write whenever another connection had committed
 * in between (SQLITE_BUSY_SNAPSHOT), which nothing can wait out. Read-only transactions (backups) stay
 * deferred, so they never hold the write lock.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  #watched: DatabaseConnection | undefined;

  constructor(private readonly settings: SqliteStoreDialectConfig) {
    super(settings);
  }

  /** The one connection, watched for commits that wrote (sqlite-health.ts). */
  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await super.acquireConnection();
    return (this.#watched ??= watchingCommits(connection, this.settings.database, this.settings.wrote));
  }

  override async beginTransaction(connection: DatabaseConnection, settings?: TransactionSettings) {
    const begin = settings?.accessMode === 'read only' ? 'begin' : 'begin immediate';
    await connection.executeQuery(CompiledQuery.raw(begin));
  }

  /**
   * SQLite rolls a transaction back by itself when a statement in it fails for want of space or I/O
   * (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM, some SQLITE_BUSY). A ROLLBACK after that fails with
   * "cannot rollback - no transaction is active", and Kysely would throw that error in place of the
   * one that says what happened. So only a transaction still open is rolled back.
   */
  override async rollbackTransaction(connection: DatabaseConnection) {
    if (this.settings.database.inTransaction) await super.rollbackTransaction(connection);
  }
}

type SqliteStoreDialectConfig = SqliteDialectConfig & { database: SQLite.Database; wrote: () => void };

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteStoreDialectConfig) {
    super(settings);
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.settings);
  }
}

/** A failure to write at open (a new store, a migration, on a full disk) is said in one line. */
const explained = (dataDir: string, err: unknown): unknown =>
  StoreCannotWrite.matches(err) ? new StoreCannotWrite(dataDir, err) : err;

/**
 * The embedded default: one file in the data directory (0600, in a 0700 directory), set up as
 * sqlite-connection.ts says, with a second connection on a thread of its own for the audit records of
 * reads (sqlite-writer.ts).
 */
export async function openSqlite(dataDir: string, fileName = 'coffer.db', log?: StoreLog): Promise<Store> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // An existing directory keeps its mode through mkdir; the data directory is private either way.
  chmodSync(dataDir, 0o700);
  const file = path.join(dataDir, fileName);
  let sqlite: SQLite.Database;
  try {
    sqlite = openSqliteConnection(file);
  } catch (err) {
    throw explained(dataDir, err);
  }
  const snapshot = new ReadSnapshot(sqlite);
  const raw = withStatementCache(sqlite, (sql, reader) => snapshot.noteStatement(sql, reader));
  const health = new StoreHealth({
    disk: 'the disk holding the data directory',
    diskHasNoRoom: () => hasNoRoom(dataDir),
  });
  const wrote = () => health.wrote();
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: raw, wrote }) });
  try {
    await migrateToLatest(db as Kysely<unknown>, 'sqlite');
  } catch (err) {
    await db.destroy();
    throw explained(dataDir, err);
  }
  const writer = new SqliteWriter(file, wrote);
  registerRawSqlite(db as Kysely<unknown>, { raw, snapshot, writer });
  const store = storeOver('sqlite', db, health);
  return {
    ...store,
    snapshot: (fn) => db.transaction().setAccessMode('read only').execute(fn),
    keptRows: () => snapshot.rows(),
    // Holding Kysely's one connection: no transaction of this process is open meanwhile.
    probeWrites: () =>
      db.connection().execute(async () => {
        if (probeWrites(raw)) wrote();
      }),
    // AUTOINCREMENT follows the largest id a table has held; a table that must also follow another's
    // ids (audit_records after audit_events) is told so here.
    afterBulkInsert: async (trx) => {
      for (const { table, after } of SEQUENCED_TABLES) {
        if (!after) continue;
        const last = sql`(select max(id) from ${sql.table(after)})`;
        await sql`update sqlite_sequence set seq = max(seq, coalesce(${last}, 0)) where name = ${table}`.execute(
          trx,
        );
        await sql`insert into sqlite_sequence (name, seq) select ${table}, coalesce(${last}, 0)
                  where not exists (select 1 from sqlite_sequence where name = ${table})`.execute(trx);
      }
    },
    close: async () => {
      await writer.close();
      await db.connection().execute(async () => checkpointAtClose(raw, file, log));
      await store.close();
    },
  };
}
