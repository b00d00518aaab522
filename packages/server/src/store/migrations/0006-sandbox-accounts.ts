import type { Kysely } from 'kysely';

/*
 * Frozen. The Unix account each user's code runs as when the server runs as root: a uid allocated
 * once per user from the configured range, so every replica gives a user the same one. Deleting the
 * user frees the row; uids are not handed out again while a higher one is free.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('sandbox_accounts')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('uid', 'bigint', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}
