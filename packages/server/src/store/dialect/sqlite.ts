import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
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
import { migrateToLatest } from '../migrate.js';
import { registerRawSqlite } from '../prepared.js';
import { ReadSnapshot } from '../read-snapshot.js';
import { SEQUENCED_TABLES, type Database } from '../schema.js';
import { withStatementCache } from '../statement-cache.js';
import { storeOver, type Store } from '../store.js';
import { openSqliteConnection } from './sqlite-connection.js';
import { SqliteWriter } from './sqlite-writer.js';

/**
 * Write transactions begin IMMEDIATE: they take the write lock first, waiting for another connection's
 * commit (the audit writer thread's, another process's) through the busy timeout. A deferred one that
 * read before writing would instead fail at its first write whenever another connection had committed
 * in between (SQLITE_BUSY_SNAPSHOT), which nothing can wait out. Read-only transactions (backups) stay
 * deferred, so they never hold the write lock.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection, settings?: TransactionSettings) {
    const begin = settings?.accessMode === 'read only' ? 'begin' : 'begin immediate';
    await connection.executeQuery(CompiledQuery.raw(begin));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.settings);
  }
}

/**
 * The embedded default: one file in the data directory (0600, in a 0700 directory), set up as
 * sqlite-connection.ts says, with a second connection on a thread of its own for the audit records of
 * reads (sqlite-writer.ts).
 */
export async function openSqlite(dataDir: string, fileName = 'coffer.db'): Promise<Store> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // An existing directory keeps its mode through mkdir; the data directory is private either way.
  chmodSync(dataDir, 0o700);
  const file = path.join(dataDir, fileName);
  const sqlite = openSqliteConnection(file);
  const snapshot = new ReadSnapshot(sqlite);
  const raw = withStatementCache(sqlite, (sql, reader) => snapshot.noteStatement(sql, reader));
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: raw }) });
  await migrateToLatest(db as Kysely<unknown>, 'sqlite');
  const writer = new SqliteWriter(file);
  registerRawSqlite(db as Kysely<unknown>, { raw, snapshot, writer });
  const store = storeOver('sqlite', db);
  return {
    ...store,
    snapshot: (fn) => db.transaction().setAccessMode('read only').execute(fn),
    keptRows: () => snapshot.rows(),
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
      await store.close();
    },
  };
}
