import { sql, type Kysely } from 'kysely';

/*
 * Frozen. Master key versions: one row per master key the store has known, identified by its key check
 * (an HMAC, never the key), active while any data key is wrapped under it, then retired. The single key
 * check kept in `meta` until now becomes version 1, the only version there was.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  const millis = 'bigint';
  await db.schema
    .createTable('master_keys')
    .addColumn('version', 'integer', (c) => c.primaryKey())
    .addColumn('key_check', 'text', (c) => c.notNull().unique())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_at', millis, (c) => c.notNull())
    .addColumn('retired_at', millis)
    .execute();
  await sql`insert into master_keys (version, key_check, state, created_at)
            select 1, value, 'active', ${Date.now()} from meta where key = 'master_key_check'`.execute(db);
  await sql`delete from meta where key = 'master_key_check'`.execute(db);
}
