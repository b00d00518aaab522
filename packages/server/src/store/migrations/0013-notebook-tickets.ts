import type { Kysely } from 'kysely';

/*
 * Frozen. A ticket issued for a notebook's kernel names that notebook, as a job's names its job, so a
 * read made with it is recorded as the notebook's (docs/adr/0020). No foreign key, as for job_id: a
 * ticket outlives nothing, and a deleted notebook simply stops matching.
 *
 * The audit trail's callers (0010, docs/adr/0016) keep, for a ticket, the key of the project it acted
 * in and the notebook whose kernel held it: its id, and its name at the time, which stays true after
 * the notebook is renamed or deleted. They are columns of the shared caller row, not of each record,
 * so a record stays as small as it was.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('tickets').addColumn('notebook_id', 'text').execute();
  for (const column of ['project_key', 'notebook_id', 'notebook_name'])
    await db.schema.alterTable('audit_callers').addColumn(column, 'text').execute();
}
