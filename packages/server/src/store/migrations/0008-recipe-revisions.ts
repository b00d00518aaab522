import { sql, type Kysely } from 'kysely';

/*
 * Frozen. Recipe revisions: every save of a recipe's code is kept (number, language, code, author,
 * time), so a runner can be shown what others changed since they last ran it, and a job records which
 * revision it ran. The author is kept by id (a login could be reused after its user is deleted) and by
 * login (to show), with how they signed in when it was not with a credential of their own (author_via:
 * an administrator's key or password, a job's ticket; null when it was their own). What exists becomes revision 1, authored by whoever saved it last; a job that ran
 * exactly that code and language is taken to have run revision 1, so nobody is asked to approve code
 * they already ran.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  const millis = 'bigint';

  await db.schema
    .alterTable('recipes')
    .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();

  await db.schema
    .createTable('recipe_revisions')
    .addColumn('recipe_id', 'text', (c) => c.notNull().references('recipes.id').onDelete('cascade'))
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('author_id', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('author_login', 'text', (c) => c.notNull())
    .addColumn('author_via', 'text')
    .addColumn('created_at', millis, (c) => c.notNull())
    .addPrimaryKeyConstraint('recipe_revisions_pk', ['recipe_id', 'revision'])
    .execute();

  await sql`insert into recipe_revisions (recipe_id, revision, language, code, author_id, author_login, created_at)
            select r.id, 1, r.language, r.code, u.id, r.updated_by, r.updated_at
            from recipes r left join users u on u.login = r.updated_by`.execute(db);

  await db.schema.alterTable('jobs').addColumn('recipe_revision', 'integer').execute();
  await sql`update jobs set recipe_revision = 1
            where exists (select 1 from recipes r
                          where r.id = jobs.recipe_id and r.code = jobs.code and r.language = jobs.language)`.execute(
    db,
  );
  await db.schema
    .createIndex('jobs_runner_recipe')
    .on('jobs')
    .columns(['runner_id', 'recipe_id', 'recipe_revision'])
    .execute();
}
