import type { Kysely } from 'kysely';

/*
 * Frozen. A running kernel's row (0015) names its ticket and its notebook, so that whoever finds the
 * kernel gone ends what it held (docs/adr/0020): a replica starting after a crash (kill -9, power loss),
 * or any replica forgetting the rows of one that stopped beating, revokes those kernels' tickets instead
 * of leaving them valid until they expire; deleting a notebook ends every kernel of it, on every
 * replica, by its id (a kernel keeps its notebook's id across renames, not its name). Rows written
 * before this migration have neither: their tickets expire as they did.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('kernels').addColumn('ticket_id', 'text').execute();
  await db.schema.alterTable('kernels').addColumn('notebook_id', 'text').execute();
}
