import type { Kysely } from 'kysely';

/*
 * Frozen. Jupyter notebooks, kept with their project as recipes are (docs/adr/0020): the nbformat 4
 * document as JSON text, the language its kernel speaks, and a revision that moves on every save so an
 * editor's save based on an older one is refused rather than overwriting.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  const millis = 'bigint';
  await db.schema
    .createTable('notebooks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('created_at', millis, (c) => c.notNull())
    .addColumn('updated_at', millis, (c) => c.notNull())
    .addUniqueConstraint('notebooks_project_name', ['project_id', 'name'])
    .execute();
}
