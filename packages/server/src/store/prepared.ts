import type SQLite from 'better-sqlite3';
import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import type { ReadSnapshot } from './read-snapshot.js';

/*
 * The hot read path (every auth/info: the key with its user, then the sealed values with their data
 * keys) runs its few queries thousands of times a second, and the generic path costs more than the
 * queries: Kysely builds and compiles each one, and its SQLite driver hands the one connection out
 * through an async mutex. Here a query is compiled once per database; on SQLite, outside any
 * transaction, it runs directly on better-sqlite3 (synchronous, cached statement). Inside a
 * transaction, or on PostgreSQL, it goes through Kysely as usual.
 */

/** The better-sqlite3 handle under a root Kysely instance (never a transaction's), if SQLite. */
const rawSqlite = new WeakMap<object, { raw: SQLite.Database; snapshot: ReadSnapshot }>();

export function registerRawSqlite(db: Kysely<unknown>, raw: SQLite.Database, snapshot: ReadSnapshot): void {
  rawSqlite.set(db, { raw, snapshot });
}

/**
 * A query built and compiled once per database and then rerun with new parameters. `build` is called
 * once with marker values in place of the arguments; the compiled parameters that hold a marker are
 * swapped for the real arguments at call time. Works on the root database and inside its transactions.
 */
export function prepared<DB, A extends unknown[], R>(
  arity: A['length'],
  build: (db: Kysely<DB>, ...args: A) => Compilable<R>,
  opts: { keep?: boolean } = {},
): (db: Kysely<DB>, ...args: A) => Promise<R[]> {
  const markers = Array.from({ length: arity }, (_, i) => `\u0000coffer-prepared-${i}\u0000`);
  // Keyed by the dialect adapter, which a database shares with its transactions.
  const compiledFor = new WeakMap<object, { query: CompiledQuery<R>; slots: number[]; reader: boolean }>();
  return async (db, ...args) => {
    const adapter = db.getExecutor().adapter;
    let c = compiledFor.get(adapter);
    if (!c) {
      const query = build(db, ...(markers as A)).compile();
      const slots = query.parameters.map((p) => markers.indexOf(p as string));
      if (new Set(slots.filter((s) => s >= 0)).size !== arity)
        throw new Error('prepared query does not use every argument');
      c = { query, slots, reader: /^\s*select\b/i.test(query.sql) };
      compiledFor.set(adapter, c);
    }
    const { query, slots } = c;
    const parameters = query.parameters.map((p, i) => (slots[i]! >= 0 ? args[slots[i]!] : p));
    const sqlite = rawSqlite.get(db);
    // A read outside any transaction only: inside one, the connection would show that transaction's
    // uncommitted writes, which only Kysely's path (it waits for the transaction) keeps apart.
    if (sqlite && c.reader && !sqlite.raw.inTransaction) {
      if (!opts.keep) return sqlite.raw.prepare(query.sql).all(...parameters) as R[];
      const key = query.sql + '\u0000' + parameters.join('\u0000');
      const kept = sqlite.snapshot.get<R>(key);
      if (kept) return kept;
      const rows = sqlite.raw.prepare(query.sql).all(...parameters) as R[];
      sqlite.snapshot.set(key, rows);
      return rows;
    }
    return (await db.executeQuery<R>({ ...query, parameters })).rows;
  };
}
