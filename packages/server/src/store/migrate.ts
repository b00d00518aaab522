import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import * as m0001 from './migrations/0001-initial.js';
import * as m0002 from './migrations/0002-delegated-credentials.js';
import * as m0003 from './migrations/0003-projects-and-jobs.js';
import * as m0004 from './migrations/0004-master-key-versions.js';
import * as m0005 from './migrations/0005-change-counter.js';
import * as m0006 from './migrations/0006-sandbox-accounts.js';
import * as m0007 from './migrations/0007-ticket-scope.js';
import * as m0008 from './migrations/0008-recipe-revisions.js';
import * as m0009 from './migrations/0009-secret-revisions.js';
import * as m0010 from './migrations/0010-audit-records.js';
import * as m0012 from './migrations/0012-notebooks.js';
import * as m0013 from './migrations/0013-notebook-tickets.js';
import * as m0014 from './migrations/0014-notebook-checkpoints.js';
import * as m0015 from './migrations/0015-running-kernels.js';
import * as m0016 from './migrations/0016-plugins.js';
import * as m0017 from './migrations/0017-plugin-settings-revisions.js';
import * as m0018 from './migrations/0018-plugin-credential-revisions.js';
import * as m0019 from './migrations/0019-kernel-tickets.js';

type Dialect = 'sqlite' | 'postgres';
type FrozenMigration = { up(db: Kysely<unknown>, dialect: Dialect): Promise<void> };

/** Ordered by name; a new migration is a new file added here, never an edit of an old one. */
const MIGRATIONS: Record<string, FrozenMigration> = {
  '0001-initial': m0001 as FrozenMigration,
  '0002-delegated-credentials': m0002 as FrozenMigration,
  '0003-projects-and-jobs': m0003 as FrozenMigration,
  '0004-master-key-versions': m0004 as FrozenMigration,
  '0005-change-counter': m0005 as FrozenMigration,
  '0006-sandbox-accounts': m0006 as FrozenMigration,
  '0007-ticket-scope': m0007 as FrozenMigration,
  '0008-recipe-revisions': m0008 as FrozenMigration,
  '0009-secret-revisions': m0009 as FrozenMigration,
  '0010-audit-records': m0010 as FrozenMigration,
  '0012-notebooks': m0012 as FrozenMigration,
  '0013-notebook-tickets': m0013 as FrozenMigration,
  '0014-notebook-checkpoints': m0014 as FrozenMigration,
  '0015-running-kernels': m0015 as FrozenMigration,
  '0016-plugins': m0016 as FrozenMigration,
  '0017-plugin-settings-revisions': m0017 as FrozenMigration,
  '0018-plugin-credential-revisions': m0018 as FrozenMigration,
  '0019-kernel-tickets': m0019 as FrozenMigration,
};

/** The migrations this code knows, in order: a store is current when it has applied exactly these. */
export const MIGRATION_NAMES: readonly string[] = Object.keys(MIGRATIONS).sort();

/**
 * Brings the schema up to date. Kysely's migrator takes a lock (an advisory lock on PostgreSQL), so
 * several replicas starting at once migrate exactly once.
 */
export async function migrateToLatest(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const provider: MigrationProvider = {
    getMigrations: async () => {
      const out: Record<string, Migration> = {};
      for (const [name, m] of Object.entries(MIGRATIONS)) out[name] = { up: (d) => m.up(d, dialect) };
      return out;
    },
  };
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(
      `database migration ${failed?.migrationName ?? ''} failed: ${(error as Error | undefined)?.message ?? 'unknown error'}`,
      { cause: error ?? failed },
    );
  }
}
