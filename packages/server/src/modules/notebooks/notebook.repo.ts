import type { Db } from '../../store/store.js';
import type { NotebookRow } from '../../store/schema.js';

/** A project's notebooks without their content (the list). */
export async function listNotebooks(db: Db, projectId: string) {
  return db
    .selectFrom('notebooks')
    .select(['name', 'language', 'revision', 'created_by', 'updated_by', 'created_at', 'updated_at'])
    .where('project_id', '=', projectId)
    .orderBy('name')
    .execute();
}

export async function findNotebook(
  db: Db,
  projectId: string,
  name: string,
): Promise<NotebookRow | undefined> {
  return db
    .selectFrom('notebooks')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('name', '=', name)
    .executeTakeFirst();
}

/** Deletes a notebook; answers its id, or undefined when there was none of that name. */
export async function deleteNotebook(db: Db, projectId: string, name: string): Promise<string | undefined> {
  const r = await db
    .deleteFrom('notebooks')
    .where('project_id', '=', projectId)
    .where('name', '=', name)
    .returning('id')
    .executeTakeFirst();
  return r?.id;
}
