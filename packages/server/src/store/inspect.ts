import { existsSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, sql, SqliteDialect } from 'kysely';
import pg from 'pg';
import { MIGRATION_NAMES } from './migrate.js';
import type { Database } from './schema.js';
import type { StoreOptions } from './store.js';
import { describeDatabaseUrl, StoreUnreachable } from './unavailable.js';

/*
 * The store as it is, for `coffer doctor`: opened read-only, never created and never migrated (which
 * openStore does), so looking changes nothing.
 */

export type StoreInspection =
  | { readonly state: 'absent'; readonly where: string }
  | {
      readonly state: 'present';
      readonly kind: 'sqlite' | 'postgres';
      readonly where: string;
      /** Migrations this code has that the store has not applied yet (the next start applies them). */
      readonly pending: readonly string[];
      /** Migrations the store has applied that this code does not know: a newer Coffer wrote it. */
      readonly unknown: readonly string[];
      /** Read-only queries; nothing may be written through it. */
      readonly db: Kysely<Database>;
      close(): Promise<void>;
    };

/** Opens the configured store without changing it; `absent` when there is none yet. */
export async function inspectStore(opts: StoreOptions): Promise<StoreInspection> {
  if (opts.databaseUrl) return inspectPostgres(opts.databaseUrl, opts.connectTimeoutMs ?? 3000);
  const file = path.join(opts.dataDir, opts.sqliteFile ?? 'coffer.db');
  if (!existsSync(file)) return { state: 'absent', where: file };
  const database = new SQLite(file, { readonly: true, fileMustExist: true });
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return present('sqlite', file, db);
}

async function inspectPostgres(url: string, connectTimeoutMs: number): Promise<StoreInspection> {
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: connectTimeoutMs });
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const where = `PostgreSQL at ${describeDatabaseUrl(url)}`;
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw new StoreUnreachable(url, err);
  }
  const r = await sql<{ t: string | null }>`select to_regclass('kysely_migration')::text as t`.execute(db);
  if (!r.rows[0]?.t) {
    await db.destroy();
    return { state: 'absent', where };
  }
  return present('postgres', where, db);
}

async function present(
  kind: 'sqlite' | 'postgres',
  where: string,
  db: Kysely<Database>,
): Promise<StoreInspection> {
  let applied: string[];
  try {
    const r = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    applied = r.rows.map((row) => row.name);
  } catch (err) {
    // A SQLite file that no Coffer has migrated yet has no table of migrations.
    if (!/no such table/.test((err as Error).message)) {
      await db.destroy();
      throw err;
    }
    applied = [];
  }
  const done = new Set(applied);
  const known = new Set(MIGRATION_NAMES);
  return {
    state: 'present',
    kind,
    where,
    pending: MIGRATION_NAMES.filter((n) => !done.has(n)),
    unknown: applied.filter((n) => !known.has(n)).sort(),
    db,
    close: () => db.destroy(),
  };
}
