import type { Kysely } from 'kysely';

/*
 * Frozen. A notebook's checkpoint, as Jupyter keeps one per file (docs/adr/0020): a copy of the
 * document taken by File → Save and Checkpoint, which File → Revert to Checkpoint brings back. Null
 * until the first checkpoint.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('notebooks').addColumn('checkpoint', 'text').execute();
  await db.schema.alterTable('notebooks').addColumn('checkpoint_at', 'bigint').execute();
}
