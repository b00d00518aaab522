import type { Kysely } from 'kysely';

/*
 * Frozen. Each secret records the user's secrets revision at which it was created and last written, and
 * the credential (session, API key or ticket id) that last wrote it, so a DSS settings save can tell what
 * its GET saw (docs/adr/0015): a secret written after the revision the client read is one the client
 * never saw, and is not its to delete or overwrite, unless that client wrote it itself. Rows from before
 * this migration get 0: they were written before any revision a client can read from now on.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .alterTable('secrets')
    .addColumn('created_revision', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('secrets')
    .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('secrets').addColumn('written_by', 'text').execute();
}
