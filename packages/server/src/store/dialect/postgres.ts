import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from '../migrate.js';
import type { Database } from '../schema.js';
import { storeOver, type Db, type Store } from '../store.js';
import { isStoreUnreachable, StoreUnreachable } from '../unavailable.js';

/** Tables whose ids come from a sequence, which rows inserted with their ids (a restore) do not advance. */
const SEQUENCED: readonly (keyof Database)[] = ['audit_events'];

/**
 * PostgreSQL, for several replicas. A bounded pool that gives up on a connection after 3 s (so a
 * request fails with 503 rather than queue behind a database that does not answer) and statements
 * after 30 s; migrations under Kysely's advisory lock, so replicas may start together.
 */
export async function openPostgres(url: string, poolMax: number): Promise<Store> {
  // epoch-millisecond bigints fit in a double; parse them as numbers like SQLite does.
  pg.types.setTypeParser(20, (v) => Number(v));
  const pool = new pg.Pool({
    connectionString: url,
    max: poolMax,
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
    // Read committed would give each statement its own snapshot; a backup needs one for all of them.
    snapshot: (fn) =>
      db
        .transaction()
        .setIsolationLevel('repeatable read')
        .execute(async (trx) => {
          await sql`set transaction read only`.execute(trx);
          return fn(trx);
        }),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    afterBulkInsert: async (trx: Db) => {
      for (const t of SEQUENCED)
        await sql`select setval(pg_get_serial_sequence(${t}, 'id'), coalesce((select max(id) from ${sql.table(t)}), 0) + 1, false)`.execute(
          trx,
        );
    },
  };
}
