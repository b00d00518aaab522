import type { Compilable, CompiledQuery, Kysely } from 'kysely';

/**
 * A query built and compiled once per database and then rerun with new parameters, for the hot read
 * path: it skips Kysely's building and compiling on every request. `build` is called once with marker
 * values in place of the arguments; the compiled parameters that hold a marker are swapped for the real
 * arguments at call time. Works on the root database and inside its transactions alike.
 */
export function prepared<DB, A extends unknown[], R>(
  arity: A['length'],
  build: (db: Kysely<DB>, ...args: A) => Compilable<R>,
): (db: Kysely<DB>, ...args: A) => Promise<R[]> {
  const markers = Array.from({ length: arity }, (_, i) => `\u0000coffer-prepared-${i}\u0000`);
  // Keyed by the dialect adapter, which a database shares with its transactions.
  const compiledFor = new WeakMap<object, { query: CompiledQuery<R>; slots: number[] }>();
  return async (db, ...args) => {
    const adapter = db.getExecutor().adapter;
    let c = compiledFor.get(adapter);
    if (!c) {
      const query = build(db, ...(markers as A)).compile();
      const slots = query.parameters.map((p) => markers.indexOf(p as string));
      if (new Set(slots.filter((s) => s >= 0)).size !== arity)
        throw new Error('prepared query does not use every argument');
      c = { query, slots };
      compiledFor.set(adapter, c);
    }
    const { query, slots } = c;
    const parameters = query.parameters.map((p, i) => (slots[i]! >= 0 ? args[slots[i]!] : p));
    return (await db.executeQuery<R>({ ...query, parameters })).rows;
  };
}
