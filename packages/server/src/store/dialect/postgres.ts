import type { Socket } from 'node:net';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { StoreHealth } from '../health.js';
import { migrateToLatest } from '../migrate.js';
import { SEQUENCED_TABLES, type Database } from '../schema.js';
import { storeOver, type Db, type Store } from '../store.js';
import { StoreUnreachable } from '../unavailable.js';

export interface PostgresOptions {
  /** Most connections this process opens. */
  readonly poolMax: number;
  /** How long to wait for a connection (new or from the pool) before the request fails with 503. */
  readonly connectTimeoutMs: number;
  /** Longest a statement may run on the server (statement_timeout). */
  readonly statementTimeoutMs: number;
}

/**
 * PostgreSQL, for several replicas. A bounded pool that gives up on a connection after
 * `connectTimeoutMs` (so a request fails with 503 rather than queue behind a database that does not
 * answer) and on statements after `statementTimeoutMs`; migrations under Kysely's advisory lock, so
 * replicas may start together.
 */
export async function openPostgres(url: string, opts: PostgresOptions): Promise<Store> {
  // epoch-millisecond bigints fit in a double; parse them as numbers like SQLite does.
  pg.types.setTypeParser(20, (v) => Number(v));
  // The server ends a statement at statement_timeout. If the network itself goes silent (a partition, a
  // frozen host), no answer ever comes: a checked-out connection that hears nothing for longer than that
  // is dropped, so the request fails with 503 instead of hanging, and the pool opens a fresh one.
  const silentMs = opts.statementTimeoutMs + opts.connectTimeoutMs;
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolMax,
    connectionTimeoutMillis: opts.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    statement_timeout: opts.statementTimeoutMs,
    // A transaction left open by a replica that froze must not hold its row locks for long.
    idle_in_transaction_session_timeout: Math.max(2 * opts.statementTimeoutMs, 10_000),
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: 'coffer',
  });
  // An idle connection dropped by the server (restart, failover) must not crash the process: the pool
  // discards it, and the next query opens a new one or fails with 503.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    // A connection that breaks while checked out errors its queries (answered 503) and is discarded when
    // released; its 'error' event must not become an uncaught exception that ends the process.
    client.on('error', () => undefined);
    const socket = streamOf(client);
    socket?.on('timeout', () => {
      const err = Object.assign(new Error(`PostgreSQL did not answer for ${silentMs} ms`), {
        code: 'ETIMEDOUT',
      });
      socket.destroy(err);
    });
  });
  // The silence limit holds only while the connection is checked out: idle in the pool, silence is normal.
  pool.on('acquire', (client) => streamOf(client)?.setTimeout(silentMs));
  pool.on('release', (_err: Error | undefined, client: pg.PoolClient) => streamOf(client)?.setTimeout(0));
  const health = new StoreHealth({ disk: "the PostgreSQL server's disk" });
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    // Any answer ends an outage of an unreachable database (health.ts).
    log: (event) => {
      if (event.level === 'query') health.answered();
    },
  });
  try {
    await migrateToLatest(db as Kysely<unknown>, 'postgres');
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw StoreUnreachable.matches(err) ? new StoreUnreachable(url, err) : err;
  }
  return {
    ...storeOver('postgres', db, health),
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
      for (const { table, after } of SEQUENCED_TABLES) {
        const last = after
          ? sql`greatest((select max(id) from ${sql.table(table)}), (select max(id) from ${sql.table(after)}))`
          : sql`(select max(id) from ${sql.table(table)})`;
        await sql`select setval(pg_get_serial_sequence(${table}, 'id'), coalesce(${last}, 0) + 1, false)`.execute(
          trx,
        );
      }
    },
  };
}

/** The TCP socket under a pg client (not part of pg's typed API, but stable across pg 8). */
function streamOf(client: pg.PoolClient): Socket | undefined {
  const stream = (client as unknown as { connection?: { stream?: Socket } }).connection?.stream;
  return stream && typeof stream.setTimeout === 'function' ? stream : undefined;
}
