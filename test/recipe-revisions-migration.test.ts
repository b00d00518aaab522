/*
 * Migration 0008 on a store that already holds recipes and jobs: each recipe becomes revision 1,
 * authored by whoever saved it last; a job that ran exactly that code counts as a run of revision 1, so
 * its runner is not asked to approve code they already ran, and one that ran other code does not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration } from 'kysely';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { openStore } from '@coffer/server';
import * as m0001 from '../packages/server/src/store/migrations/0001-initial.js';
import * as m0002 from '../packages/server/src/store/migrations/0002-delegated-credentials.js';
import * as m0003 from '../packages/server/src/store/migrations/0003-projects-and-jobs.js';
import * as m0004 from '../packages/server/src/store/migrations/0004-master-key-versions.js';
import * as m0005 from '../packages/server/src/store/migrations/0005-change-counter.js';
import { createTestDatabase, dropTestDatabase, testStore } from './support/test-store.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'coffer-migration-0008-'));
let databaseUrl: string | undefined;
afterAll(async () => {
  if (databaseUrl) await dropTestDatabase(databaseUrl);
  rmSync(dataDir, { recursive: true, force: true });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function oldStore(): Kysely<any> {
  if (testStore === 'postgres')
    return new Kysely({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl }) }),
    });
  return new Kysely({
    dialect: new SqliteDialect({ database: new Database(path.join(dataDir, 'coffer.db')) }),
  });
}

it('existing recipes become revision 1 by their last editor, and jobs that ran that code count as its runs', async () => {
  if (testStore === 'postgres') databaseUrl = await createTestDatabase();
  const old = oldStore();
  const dialect = testStore;
  type Up = { up(db: Kysely<unknown>, d: typeof dialect): Promise<void> };
  const through0005: Record<string, Up> = {
    '0001-initial': m0001,
    '0002-delegated-credentials': m0002,
    '0003-projects-and-jobs': m0003,
    '0004-master-key-versions': m0004,
    '0005-change-counter': m0005,
  } as Record<string, Up>;
  const migrations: Record<string, Migration> = {};
  for (const [name, m] of Object.entries(through0005)) migrations[name] = { up: (d) => m.up(d, dialect) };
  const migrated = await new Migrator({
    db: old,
    provider: { getMigrations: async () => migrations },
  }).migrateToLatest();
  expect(migrated.error).toBeUndefined();

  const user = (id: string, login: string) => ({
    id,
    login,
    display_name: login,
    email: '',
    groups: '[]',
    user_profile: 'DATA_SCIENTIST',
    source_type: 'LOCAL',
    enabled: 1,
    password_hash: null,
    user_properties: '{}',
    admin_properties: '{}',
    preferences: '{}',
    secrets_revision: 0,
    created_at: 1,
    updated_at: 1,
  });
  await old
    .insertInto('users')
    .values([user('u-alice', 'alice'), user('u-mallory', 'mallory')])
    .execute();
  await old
    .insertInto('projects')
    .values({ id: 'p1', key: 'OLD', name: 'Old', created_by: 'alice', created_at: 1, updated_at: 1 })
    .execute();
  const recipe = (id: string, name: string, code: string, updatedBy: string) => ({
    id,
    project_id: 'p1',
    name,
    language: 'python',
    code,
    created_by: 'alice',
    updated_by: updatedBy,
    created_at: 1,
    updated_at: 2,
  });
  await old
    .insertInto('recipes')
    .values([
      recipe('r-ran', 'ran', 'print("current")\n', 'mallory'),
      recipe('r-changed', 'changed', 'print("changed since")\n', 'mallory'),
      recipe('r-gone', 'gone', 'print(1)\n', 'someone-deleted'),
    ])
    .execute();
  const job = (id: string, recipeId: string, code: string) => ({
    id,
    project_id: 'p1',
    recipe_id: recipeId,
    recipe_name: recipeId,
    runner_id: 'u-alice',
    language: 'python',
    code,
    state: 'succeeded',
    exit_code: 0,
    error: null,
    timeout_ms: 1000,
    created_at: 3,
    started_at: 3,
    finished_at: 3,
    cancel_requested_at: null,
    claimed_by: null,
    heartbeat_at: null,
    host: null,
    pid: null,
    pid_started: null,
    log_bytes: 0,
    log_chunks: 0,
  });
  await old
    .insertInto('jobs')
    .values([job('j-ran', 'r-ran', 'print("current")\n'), job('j-changed', 'r-changed', 'print("before")\n')])
    .execute();
  await old.destroy();

  const store = await openStore({ dataDir, databaseUrl });
  try {
    const names = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(
      store.db,
    );
    expect(names.rows.map((r) => r.name)).toContain('0008-recipe-revisions');
    const revisions = await store.db
      .selectFrom('recipe_revisions')
      .selectAll()
      .orderBy('recipe_id')
      .execute();
    expect(revisions.map((r) => ({ ...r, created_at: Number(r.created_at) }))).toEqual([
      {
        recipe_id: 'r-changed',
        revision: 1,
        language: 'python',
        code: 'print("changed since")\n',
        author_id: 'u-mallory',
        author_login: 'mallory',
        author_via: null,
        created_at: 2,
      },
      {
        recipe_id: 'r-gone',
        revision: 1,
        language: 'python',
        code: 'print(1)\n',
        author_id: null,
        author_login: 'someone-deleted',
        author_via: null,
        created_at: 2,
      },
      {
        recipe_id: 'r-ran',
        revision: 1,
        language: 'python',
        code: 'print("current")\n',
        author_id: 'u-mallory',
        author_login: 'mallory',
        author_via: null,
        created_at: 2,
      },
    ]);
    const recipes = await store.db.selectFrom('recipes').select(['id', 'revision']).orderBy('id').execute();
    expect(recipes).toEqual([
      { id: 'r-changed', revision: 1 },
      { id: 'r-gone', revision: 1 },
      { id: 'r-ran', revision: 1 },
    ]);
    const jobs = await store.db.selectFrom('jobs').select(['id', 'recipe_revision']).orderBy('id').execute();
    expect(jobs).toEqual([
      { id: 'j-changed', recipe_revision: null },
      { id: 'j-ran', recipe_revision: 1 },
    ]);
  } finally {
    await store.close();
  }
});
