import { statfsSync } from 'node:fs';
import type SQLite from 'better-sqlite3';
import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely';
import { BUSY_TIMEOUT_MS } from './sqlite-connection.js';

/*
 * How the SQLite store tells an outage of writes (a full disk: store/health.ts) from its end: which
 * commits prove that writes work again, a probe for readiness, and how to read an I/O error.
 */

const READ = /^\s*(select|with)\b/i;

/**
 * The connection Kysely hands out, watched for commits that wrote something (which end an outage of
 * writes, health.ts): a statement that changed rows, run outside a transaction, or the commit of a
 * transaction in which one did. A statement that changed nothing proves nothing: SQLite commits it
 * without writing a byte, even on a full disk.
 */
export function watchingCommits(
  connection: DatabaseConnection,
  raw: Pick<SQLite.Database, 'inTransaction'>,
  wrote: () => void,
): DatabaseConnection {
  let changedInTransaction = false;
  return {
    async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
      const result = await connection.executeQuery<R>(query);
      const sql = query.sql;
      if (/^(begin|rollback)\b/i.test(sql)) changedInTransaction = false;
      else if (sql === 'commit') {
        if (changedInTransaction) wrote();
        changedInTransaction = false;
      } else if (
        Number(result.numAffectedRows ?? 0) > 0 ||
        // insert … returning runs as a reader: the rows it answers are the rows it changed.
        (!READ.test(sql) && result.rows.length > 0)
      ) {
        if (raw.inTransaction) changedInTransaction = true;
        else wrote();
      }
      return result;
    },
    streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
  };
}

/** Whether the file system under dir has (almost) no room left: how to read an I/O error there. */
export function hasNoRoom(dir: string): boolean {
  try {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize < 1024 * 1024;
  } catch {
    return false;
  }
}

/**
 * See Store.probeWrites. A full WAL cannot grow, and only a checkpoint that copies it into the database
 * file lets SQLite start it again from the beginning: so first a checkpoint that also truncates the
 * WAL (which gives its space back), then one committed frame (the header's user_version, rewritten
 * with its own value: no table is touched). A single page can still fit where a real write does not,
 * which is why the checkpoint, which needs room for everything the WAL holds, comes first. Neither waits
 * for a lock: readiness answers at once, and a lock held elsewhere means "not yet".
 */
export function probeWrites(raw: SQLite.Database): boolean {
  raw.pragma('busy_timeout = 0');
  try {
    const [result] = raw.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    if (result?.busy) return false;
    const version = raw.pragma('user_version', { simple: true }) as number;
    raw.pragma(`user_version = ${Number(version)}`);
    return true;
  } finally {
    raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
}
