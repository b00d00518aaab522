import type SQLite from 'better-sqlite3';
import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import type { SqliteWriter, WriteStatement } from './dialect/sqlite-writer.js';
import { WATCHED_TABLES, type ReadSnapshot } from './read-snapshot.js';

/*
 * The hot read path (every auth/info: the key with its user, then the sealed values with their data
 * keys) runs its few queries thousands of times a second, and the generic path costs more than the
 * queries: Kysely builds and compiles each one, and its SQLite driver hands the one connection out
 * through an async mutex. Here a query is compiled once per database; on SQLite, outside any
 * transaction, it runs directly on better-sqlite3 (synchronous, cached statement). Inside a
 * transaction, or on PostgreSQL, it goes through Kysely as usual.
 */

interface RawSqlite {
  raw: SQLite.Database;
  snapshot: ReadSnapshot;
  writer: SqliteWriter;
}

/** The better-sqlite3 handle under a root Kysely instance (never a transaction's), if SQLite. */
const rawSqlite = new WeakMap<object, RawSqlite>();

export function registerRawSqlite(db: Kysely<unknown>, handle: RawSqlite): void {
  rawSqlite.set(db, handle);
}

interface Compiled<R> {
  query: CompiledQuery<R>;
  slots: number[];
  reader: boolean;
  /** Short and unique: kept rows are looked up by it (hashing the SQL text on every call costs more). */
  id: string;
}

let compiledCount = 0;

/**
 * Compiles `build` once per database (keyed by the dialect adapter, which a database shares with its
 * transactions), with marker values in place of the arguments; answers the SQL and, for each call,
 * the parameters with the markers swapped for the real arguments.
 */
function compiler<DB, A extends unknown[], R>(
  arity: number,
  build: (db: Kysely<DB>, ...args: A) => Compilable<R>,
  check?: (sql: string) => void,
): (db: Kysely<DB>, args: A) => { c: Compiled<R>; parameters: unknown[] } {
  const markers = Array.from({ length: arity }, (_, i) => `\u0000coffer-prepared-${i}\u0000`);
  const compiledFor = new WeakMap<object, Compiled<R>>();
  return (db, args) => {
    const adapter = db.getExecutor().adapter;
    let c = compiledFor.get(adapter);
    if (!c) {
      const query = build(db, ...(markers as A)).compile();
      const slots = query.parameters.map((p) => markers.indexOf(p as string));
      if (new Set(slots.filter((x) => x >= 0)).size !== arity)
        throw new Error('prepared query does not use every argument');
      c = { query, slots, reader: /^\s*select\b/i.test(query.sql), id: `q${++compiledCount}` };
      compiledFor.set(adapter, c);
      check?.(query.sql);
    }
    const slots = c.slots;
    return { c, parameters: c.query.parameters.map((p, i) => (slots[i]! >= 0 ? args[slots[i]!] : p)) };
  };
}

/**
 * A query built and compiled once per database and then rerun with new parameters. Works on the root
 * database and inside its transactions. With `keep`, its rows are kept between calls (see
 * read-snapshot.ts): only for the hot read path, whose rows hold no plaintext.
 */
export function prepared<DB, A extends unknown[], R>(
  arity: A['length'],
  build: (db: Kysely<DB>, ...args: A) => Compilable<R>,
  opts: { keep?: boolean } = {},
): (db: Kysely<DB>, ...args: A) => Promise<R[]> {
  const compile = compiler(arity, build, opts.keep ? onlyWatchedTables : undefined);
  return async (db, ...args) => {
    const { c, parameters } = compile(db, args);
    const { query } = c;
    const sqlite = rawSqlite.get(db);
    // A read outside any transaction only: inside one, the connection would show that transaction's
    // uncommitted writes, which only Kysely's path (it waits for the transaction) keeps apart.
    if (sqlite && c.reader && !sqlite.raw.inTransaction) {
      if (!opts.keep) return sqlite.raw.prepare(query.sql).all(...parameters) as R[];
      const key = c.id + '\u0000' + parameters.join('\u0000');
      const kept = sqlite.snapshot.get<R>(key);
      if (kept) return kept;
      const rows = sqlite.raw.prepare(query.sql).all(...parameters) as R[];
      sqlite.snapshot.set(key, rows);
      return rows;
    }
    return (await db.executeQuery<R>({ ...query, parameters })).rows;
  };
}

/** Kept rows are dropped when a watched table changes (read-snapshot.ts); a kept query reads no other. */
function onlyWatchedTables(sql: string): void {
  for (const [, table] of sql.matchAll(/\b(?:from|join)\s+"(\w+)"/gi))
    if (!WATCHED_TABLES.includes(table!))
      throw new Error(`a kept query reads "${table}", whose changes do not drop kept rows`);
}

/** A write compiled once per database; each call answers the statement with its parameters. */
export function preparedWrite<DB, A extends unknown[]>(
  arity: A['length'],
  build: (db: Kysely<DB>, ...args: A) => Compilable<unknown>,
): (db: Kysely<DB>, ...args: A) => { sql: string; parameters: unknown[] } {
  const compile = compiler(arity, build);
  return (db, ...args) => {
    const { c, parameters } = compile(db, args);
    return { sql: c.query.sql, parameters };
  };
}

/**
 * Where the store has a writer thread (SQLite, sqlite-writer.ts): a function that commits statements as
 * one transaction there, so the request thread neither runs them nor waits for the disk meanwhile, and
 * resolves once they are durable. Undefined elsewhere (PostgreSQL, whose commits never block the
 * thread): the caller then does the same work through store.transaction. Resolves with the number of
 * rows the statements changed.
 */
export function backgroundCommit(
  db: Kysely<unknown>,
): ((statements: readonly WriteStatement[]) => Promise<number>) | undefined {
  const writer = rawSqlite.get(db)?.writer;
  return writer && ((statements) => writer.commit(statements));
}
