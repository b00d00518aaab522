import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { migrateToLatest } from '../migrate.js';
import { registerRawSqlite } from '../prepared.js';
import { ReadSnapshot } from '../read-snapshot.js';
import type { Database } from '../schema.js';
import { withStatementCache } from '../statement-cache.js';
import { storeOver, type Store } from '../store.js';

/**
 * The embedded default: one file in the data directory (0600, in a 0700 directory). WAL for readers
 * beside the writer, synchronous=FULL so an acknowledged commit survives power loss, foreign keys on,
 * freed pages overwritten so deleted ciphertext does not linger.
 */
export async function openSqlite(dataDir: string, fileName = 'coffer.db'): Promise<Store> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // An existing directory keeps its mode through mkdir; the data directory is private either way.
  chmodSync(dataDir, 0o700);
  const file = path.join(dataDir, fileName);
  const sqlite = new SQLite(file);
  // The WAL and shared-memory files SQLite creates later take the database file's mode.
  chmodSync(file, 0o600);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('secure_delete = ON');
  const snapshot = new ReadSnapshot(sqlite);
  const raw = withStatementCache(sqlite, (sql, reader) => snapshot.noteStatement(sql, reader));
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  await migrateToLatest(db as Kysely<unknown>, 'sqlite');
  registerRawSqlite(db as Kysely<unknown>, { raw, snapshot });
  return { ...storeOver('sqlite', db), keptRows: () => snapshot.rows() };
}
