import type { Kysely } from 'kysely';

/*
 * Frozen. A ticket records the project its job runs in, so the auth hook can hold the ticket to that
 * project (docs/adr/0013). Null: the ticket acts on no project at all (tickets made for webapps, old
 * tickets). No foreign key, as for job_id: a ticket outlives nothing, and a project that is deleted
 * simply stops matching (the hook joins on the id, so a new project with the same key is not it).
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('tickets').addColumn('project_id', 'text').execute();
}
