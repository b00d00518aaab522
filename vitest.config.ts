import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { defineConfig } from 'vitest/config';

/*
 * The suite runs once per store in STORES (default: both). The SQLite run is everything: unit tests,
 * the integration suite, the browser suite. The PostgreSQL run repeats the integration suite (test/)
 * on a fresh database per server, except what is about SQLite's own files (scanning the database and
 * its WAL for plaintext, integrity after kill -9, the data-directory CLI checks); their PostgreSQL
 * counterparts are at-rest-postgres and replicas. backup and replicas make their own databases, so
 * they run once, as does the outage test (its own database behind a proxy). The browser suite and unit tests do not touch the store's dialect and run once.
 *
 * PostgreSQL is 127.0.0.1:5432 with trust auth (COFFER_TEST_PG_URL to change it). On CI it must answer;
 * locally, when it does not, the PostgreSQL run is left out with a loud warning.
 */

const PG_URL = process.env.COFFER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
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
if (pgProblem && CI) throw new Error(`CI needs PostgreSQL at ${PG_URL} for the tests, but: ${pgProblem}`);
if (pgProblem) {
  const line = '!'.repeat(100);
  console.warn(
    `\n${line}\n!! PostgreSQL at ${PG_URL} does not answer (${pgProblem}).\n!! The PostgreSQL run and the tests that need PostgreSQL are SKIPPED. On CI this fails.\n${line}\n`,
  );
}
const runId = (process.env.COFFER_TEST_RUN ??= randomBytes(4).toString('hex'));
const env = { COFFER_TEST_RUN: runId, COFFER_TEST_PG: pgProblem ? '' : PG_URL };
process.env.COFFER_TEST_PG = env.COFFER_TEST_PG; // for the global teardown, in this process

const SQLITE_ONLY = [
  'test/at-rest.test.ts',
  'test/crash.test.ts',
  'test/cli.test.ts',
  'test/read-snapshot.test.ts',
];
const ONCE = ['test/backup.test.ts', 'test/replicas.test.ts', 'test/store-outage.test.ts'];
const POSTGRES_ONLY = ['test/at-rest-postgres.test.ts'];

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
