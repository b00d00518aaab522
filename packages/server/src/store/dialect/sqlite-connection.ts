import { chmodSync } from 'node:fs';
import SQLite from 'better-sqlite3';

/** How long a connection waits for another one's write lock before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * A connection to the store's SQLite file, set up the same way for every connection a server opens (the
 * request thread's and the audit writer's): the file private (0600) before SQLite makes its WAL and
 * shared-memory files, which take its mode; WAL for readers beside the writer; synchronous=FULL so an
 * acknowledged commit survives power loss; foreign keys on; freed pages overwritten so deleted
 * ciphertext does not linger; and a wait for the write lock instead of an immediate failure.
 */
export function openSqliteConnection(file: string): SQLite.Database {
  const sqlite = new SQLite(file);
  try {
    chmodSync(file, 0o600);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    sqlite.pragma('secure_delete = ON');
    return sqlite;
  } catch (err) {
    // A new store on a full disk fails here (WAL mode writes the header).
    sqlite.close();
    throw err;
  }
}
