import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { defineConfig } from 'vitest/config';

/*
 * The suite runs once per store in STORES (default: both, on CI too). Per folder:
 * - test/ (the integration suite: real servers, CLI children, clients) runs on both, each server on a
 *   fresh store (test/support/test-store.ts): the postgres project gets a database per data directory.
 *   Left out of the postgres project by configuration, never skipped at run time, is only what is about
 *   SQLite's own files: at-rest (scans coffer.db and its WAL for plaintext, file modes),
 *   read-snapshot (the SQLite-only kept read rows) and disk-full (SQLite on a full tmpfs). Their PostgreSQL counterparts are at-rest-postgres
 *   (no value crosses the wire or sits in any table readable) and the crash, cli and replicas tests,
 *   which run on PostgreSQL as well.
 * - Tests about PostgreSQL itself (at-rest-postgres, replicas, store-outage) run in the postgres project
 *   only; backup makes SQLite and PostgreSQL stores of its own and runs once, in the sqlite project.
 * - Unit tests beside the code (packages, src) are pure (no store) and e2e/ drives the UI, whose store is the server's
 *   business: both would only repeat themselves, so they run once, in the sqlite project.
 *
 * PostgreSQL is 127.0.0.1:5432 with trust auth (COFFER_TEST_PG_URL to change it). On CI it must answer,
 * or the run fails; locally, when it does not, the postgres project is left out with a loud warning.
 */

const PG_URL = process.env.COFFER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The URL as printed: never with its password. */
const PG_SHOWN = PG_URL.replace(/^(\w+:\/\/[^:@/]*):[^@/]*@/, '$1:***@');
const CI = Boolean(process.env.CI);

async function pgAnswers(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('select 1');
    return undefined;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await c.end().catch(() => undefined);
  }
}

const stores = (process.env.STORES ?? 'sqlite,postgres').split(',').map((s) => s.trim());
for (const s of stores)
  if (!['sqlite', 'postgres'].includes(s)) throw new Error(`STORES: unknown store ${JSON.stringify(s)}`);
const pgProblem = await pgAnswers();
if (pgProblem && CI) throw new Error(`CI needs PostgreSQL at ${PG_SHOWN} for the tests, but: ${pgProblem}`);
if (pgProblem) {
  const line = '!'.repeat(100);
  console.warn(
    `\n${line}\n!! PostgreSQL at ${PG_SHOWN} does not answer (${pgProblem}).\n!! The PostgreSQL run and the tests that need PostgreSQL are SKIPPED. On CI this fails.\n${line}\n`,
  );
}
const runId = (process.env.COFFER_TEST_RUN ??= randomBytes(4).toString('hex'));
const env = { COFFER_TEST_RUN: runId, COFFER_TEST_PG: pgProblem ? '' : PG_URL };
process.env.COFFER_TEST_PG = env.COFFER_TEST_PG; // for the global teardown, in this process

const SQLITE_ONLY = ['test/at-rest.test.ts', 'test/read-snapshot.test.ts', 'test/disk-full.test.ts'];
// masking-forms runs recipes in three languages and asks nothing of the store but a user and a project,
// nor does masking-forms-notebook, which runs the same table through a Python and an R kernel;
// notebook-attacks asks it for two users (sandbox-attacks runs the same sandbox on both stores); docs
// reads markdown files and nothing else.
const ONCE = [
  'test/docs.test.ts',
  'test/backup.test.ts',
  'test/spawner.test.ts',
  'test/kernel-bridge.test.ts',
  'test/masking-forms.test.ts',
  'test/masking-forms-notebook.test.ts',
  'test/notebook-attacks.test.ts',
];
const POSTGRES_ONLY = ['test/at-rest-postgres.test.ts', 'test/replicas.test.ts', 'test/store-outage.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration suites start real servers and child processes; two cores, so keep parallelism modest.
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      ...(stores.includes('sqlite')
        ? [
            {
              extends: true as const,
              test: {
                name: 'sqlite',
                include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts', 'e2e/**/*.test.ts'],
                exclude: POSTGRES_ONLY,
                env: { ...env, COFFER_TEST_STORE: 'sqlite' },
              },
            },
          ]
        : []),
      ...(stores.includes('postgres') && !pgProblem
        ? [
            {
              extends: true as const,
              test: {
                name: 'postgres',
                include: ['test/**/*.test.ts'],
                exclude: [...SQLITE_ONLY, ...ONCE],
                env: { ...env, COFFER_TEST_STORE: 'postgres' },
                globalSetup: ['./test/support/drop-test-databases.ts'],
              },
            },
          ]
        : []),
    ],
  },
});
