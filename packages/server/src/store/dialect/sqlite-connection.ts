import { chmodSync } from 'node:fs';
import SQLite from 'better-sqlite3';

/**
 * A connection to the store's SQLite file, set up the same way for every connection a server opens (the
 * request thread's and the audit writer's): the file private (0600) before SQLite makes its WAL and
 * shared-memory files, which take its mode; WAL for readers beside the writer; synchronous=FULL so an
 * acknowledged commit survives power loss; foreign keys on; freed pages overwritten so deleted
 * ciphertext does not linger; and a wait for the write lock instead of an immediate failure.
 */
export function openSqliteConnection(file: string): SQLite.Database {
  const sqlite = new SQLite(file);
  chmodSync(file, 0o600);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('secure_delete = ON');
  return sqlite;
}
