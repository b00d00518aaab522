import type { Kysely } from 'kysely';

/*
 * Frozen. Projects with members, recipes (code in a project), and jobs: one run of a recipe as the user
 * who clicked Run, with its state, its timings and its (masked) log in chunks. Jobs carry the replica
 * that claimed them and a heartbeat, so a job whose process died with its server is found and failed.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  const millis = 'bigint';

  await db.schema
    .createTable('projects')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('key', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', millis, (c) => c.notNull())
    .addColumn('updated_at', millis, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('project_members')
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('added_at', millis, (c) => c.notNull())
    .addPrimaryKeyConstraint('project_members_pk', ['project_id', 'user_id'])
    .execute();
  await db.schema.createIndex('project_members_user').on('project_members').column('user_id').execute();

  await db.schema
    .createTable('recipes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('created_at', millis, (c) => c.notNull())
    .addColumn('updated_at', millis, (c) => c.notNull())
    .addUniqueConstraint('recipes_project_name', ['project_id', 'name'])
    .execute();

  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('recipe_id', 'text', (c) => c.references('recipes.id').onDelete('set null'))
    .addColumn('recipe_name', 'text', (c) => c.notNull())
    .addColumn('runner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('exit_code', 'integer')
    .addColumn('error', 'text')
    .addColumn('timeout_ms', 'integer', (c) => c.notNull())
    .addColumn('created_at', millis, (c) => c.notNull())
    .addColumn('started_at', millis)
    .addColumn('finished_at', millis)
    .addColumn('cancel_requested_at', millis)
    .addColumn('claimed_by', 'text')
    .addColumn('heartbeat_at', millis)
    // Where the job's process group runs, so a restarted server can stop what a crash left behind.
    .addColumn('host', 'text')
    .addColumn('pid', 'integer')
    .addColumn('pid_started', 'text')
    .addColumn('log_bytes', 'integer', (c) => c.notNull())
    .addColumn('log_chunks', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('jobs_runner').on('jobs').columns(['runner_id', 'created_at']).execute();
  await db.schema.createIndex('jobs_state').on('jobs').column('state').execute();

  await db.schema
    .createTable('job_logs')
    .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('at', millis, (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('job_logs_pk', ['job_id', 'seq'])
    .execute();

  await db.schema.createIndex('tickets_job').on('tickets').column('job_id').execute();
}
