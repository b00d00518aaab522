import type { Kysely } from 'kysely';

/*
 * Frozen. Marks credentials an administrator set for someone else: API keys created for another user,
 * and passwords the user has not chosen themself. Such credentials never read secret values.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .alterTable('api_keys')
    .addColumn('delegated', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('users')
    .addColumn('password_must_change', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}
