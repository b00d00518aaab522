import type { Insertable } from 'kysely';
import type { Db } from '../../store/store.js';
import type { ProjectRole, RecipeRevisionRow, RecipeRevisionsTable, RecipeRow } from '../../store/schema.js';

/** A project as one of its members sees it, with that member's role. */
export async function findMembership(db: Db, projectKey: string, userId: string) {
  return db
    .selectFrom('projects')
    .innerJoin('project_members', 'project_members.project_id', 'projects.id')
    .selectAll('projects')
    .select('project_members.role')
    .where('projects.key', '=', projectKey)
    .where('project_members.user_id', '=', userId)
    .executeTakeFirst();
}

export async function listMemberships(db: Db, userId: string) {
  return db
    .selectFrom('projects')
    .innerJoin('project_members', 'project_members.project_id', 'projects.id')
    .selectAll('projects')
    .select('project_members.role')
    .where('project_members.user_id', '=', userId)
    .orderBy('projects.key')
    .execute();
}

export async function listMembers(db: Db, projectId: string) {
  return db
    .selectFrom('project_members')
    .innerJoin('users', 'users.id', 'project_members.user_id')
    .select(['users.login', 'users.display_name', 'project_members.role', 'project_members.added_at'])
    .where('project_members.project_id', '=', projectId)
    .orderBy('users.login')
    .execute();
}

export async function projectKeyExists(db: Db, key: string): Promise<boolean> {
  return (
    (await db.selectFrom('projects').select('id').where('key', '=', key).executeTakeFirst()) !== undefined
  );
}

export async function setMember(db: Db, projectId: string, userId: string, role: ProjectRole, now: number) {
  await db
    .insertInto('project_members')
    .values({ project_id: projectId, user_id: userId, role, added_at: now })
    .onConflict((oc) => oc.columns(['project_id', 'user_id']).doUpdateSet({ role }))
    .execute();
}

export async function countOwners(db: Db, projectId: string): Promise<number> {
  const r = await db
    .selectFrom('project_members')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('project_id', '=', projectId)
    .where('role', '=', 'owner')
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function listRecipes(db: Db, projectId: string): Promise<RecipeRow[]> {
  return db.selectFrom('recipes').selectAll().where('project_id', '=', projectId).orderBy('name').execute();
}

export async function findRecipe(db: Db, projectId: string, name: string): Promise<RecipeRow | undefined> {
  return db
    .selectFrom('recipes')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('name', '=', name)
    .executeTakeFirst();
}

/** Keeps one save of a recipe's code as its revision `revision`. */
export async function insertRevision(db: Db, row: Insertable<RecipeRevisionsTable>): Promise<void> {
  await db.insertInto('recipe_revisions').values(row).execute();
}

/** Who saved each revision of a recipe after `after` (all when null) up to `upTo`, oldest first. */
export async function listRevisions(db: Db, recipeId: string, after: number | null, upTo: number) {
  return db
    .selectFrom('recipe_revisions')
    .select(['revision', 'author_id', 'author_login', 'author_via', 'created_at'])
    .where('recipe_id', '=', recipeId)
    .where('revision', '>', after ?? 0)
    .where('revision', '<=', upTo)
    .orderBy('revision')
    .execute();
}

export async function findRevision(
  db: Db,
  recipeId: string,
  revision: number,
): Promise<RecipeRevisionRow | undefined> {
  return db
    .selectFrom('recipe_revisions')
    .selectAll()
    .where('recipe_id', '=', recipeId)
    .where('revision', '=', revision)
    .executeTakeFirst();
}
