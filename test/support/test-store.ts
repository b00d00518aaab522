import { randomBytes } from 'node:crypto';
import pg from 'pg';

/*
 * Which store this test run uses, and fresh PostgreSQL databases for it. vitest.config.ts runs the
 * integration suite once per store in STORES and tells each run its store in COFFER_TEST_STORE; the
 * PostgreSQL admin URL comes in COFFER_TEST_PG (empty when PostgreSQL is not reachable, which is only
 * allowed off CI). Databases are named after the run (COFFER_TEST_RUN), so the global teardown drops
 * every one this run made, even those of a test that failed half way.
 */

export type TestStore = 'sqlite' | 'postgres';

export const testStore: TestStore = process.env.COFFER_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

/** The admin URL of the test PostgreSQL, or undefined when there is none (local runs only). */
export const pgAdminUrl: string | undefined = process.env.COFFER_TEST_PG || undefined;

export const DB_PREFIX = `coffer_t_${process.env.COFFER_TEST_RUN ?? 'adhoc'}_`;

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  if (!pgAdminUrl) throw new Error('no PostgreSQL for tests (COFFER_TEST_PG is empty)');
  const c = new pg.Client({ connectionString: pgAdminUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Runs one query on a test database (as the admin role) and answers its rows. */
export async function pgQuery<R extends Record<string, unknown> = Record<string, unknown>>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/**
 * A digest of everything a test database holds: every row of every table (in a stable order), so a
 * test can prove that a refused command changed nothing, as hashing the SQLite files does.
 */
export async function databaseDigest(url: string): Promise<Record<string, string>> {
  const tables = await pgQuery<{ table_name: string }>(
    url,
    "select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1",
  );
  const out: Record<string, string> = {};
  for (const { table_name: t } of tables) {
    const [row] = await pgQuery<{ digest: string | null; n: string }>(
      url,
      `select md5(string_agg(r::text, E'\\n' order by r::text)) as digest, count(*) as n from "${t}" r`,
    );
    out[t] = `${row!.n}:${row!.digest ?? ''}`;
  }
  return out;
}

/** Creates an empty database and answers its URL. */
export async function createTestDatabase(): Promise<string> {
  const name = DB_PREFIX + randomBytes(5).toString('hex');
  // COFFER_TEST_PG_ICU_LOCALE (e.g. en-US) makes the databases sort text as most production ones do,
  // rather than in the byte order of the C locale that the test PostgreSQL may default to.
  const icu = process.env.COFFER_TEST_PG_ICU_LOCALE;
  if (icu !== undefined && !/^[A-Za-z0-9-]+$/.test(icu))
    throw new Error('COFFER_TEST_PG_ICU_LOCALE: a locale like en-US');
  await admin((c) =>
    c.query(
      icu
        ? `create database ${name} template template0 locale_provider icu icu_locale '${icu}'`
        : `create database ${name}`,
    ),
  );
  const url = new URL(pgAdminUrl!);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropTestDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  if (!name.startsWith('coffer_t_')) throw new Error(`refusing to drop ${name}: not a test database`);
  await admin((c) => c.query(`drop database if exists ${name} with (force)`));
}

/** Drops every database this run made (global teardown). */
export async function dropRunDatabases(prefix = DB_PREFIX): Promise<void> {
  const rows = await admin((c) =>
    c.query<{ datname: string }>('select datname from pg_database where datname like $1', [`${prefix}%`]),
  );
  for (const { datname } of rows.rows)
    await admin((c) => c.query(`drop database if exists ${datname} with (force)`));
}

/**
 * The database of a data directory in this run: tests that restart a server on the same data directory
 * (child processes or in-process) reach the same database, as an operator's replicas would.
 */
const databases = new Map<string, Promise<string>>();
export function databaseFor(dataDir: string): Promise<string> {
  let url = databases.get(dataDir);
  if (!url) databases.set(dataDir, (url = createTestDatabase()));
  return url;
}

/** Drops the databases of the data directories at or under dir (the global teardown gets any left). */
export async function dropDatabasesUnder(dir: string): Promise<void> {
  for (const [dataDir, url] of databases) {
    if (dataDir !== dir && !dataDir.startsWith(dir + '/')) continue;
    databases.delete(dataDir);
    await dropTestDatabase(await url);
  }
}
