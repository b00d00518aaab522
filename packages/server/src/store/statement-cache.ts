import type SQLite from 'better-sqlite3';

const LIMIT = 1000;

/**
 * better-sqlite3 compiles SQL text into a statement on every prepare(); Kysely prepares each query it
 * runs. Handing Kysely this wrapper reuses statements by SQL text (bounded, oldest dropped first), which
 * saves a compile on every call of the same query. Statements are run to completion by Kysely's driver
 * (all/run), so sharing one between calls is safe.
 */
export function withStatementCache(
  db: SQLite.Database,
  onStatement: (sql: string, reader: boolean) => void = () => {},
): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>();
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop !== 'prepare') {
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      }
      return (sql: string) => {
        let stmt = cache.get(sql);
        if (!stmt) {
          stmt = target.prepare(sql);
          if (cache.size >= LIMIT) cache.delete(cache.keys().next().value!);
          cache.set(sql, stmt);
        }
        // Kysely runs what it prepares at once, so this is when the statement runs.
        onStatement(sql, stmt.reader);
        return stmt;
      };
    },
  });
}
