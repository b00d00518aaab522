import type { Db } from '../../store/store.js';

/*
 * Fixed-window counters in the store, so every replica sees the same count. The upsert is one atomic
 * statement on both SQLite and PostgreSQL.
 */

export async function hit(db: Db, key: string, windowMs: number, now: number): Promise<number> {
  const windowStart = now - (now % windowMs);
  const r = await db
    .insertInto('rate_limits')
    .values({ key, window_start: windowStart, count: 1 })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet((eb) => ({
        count: eb
          .case()
          .when('rate_limits.window_start', '=', windowStart)
          .then(eb('rate_limits.count', '+', 1))
          .else(1)
          .end(),
        window_start: windowStart,
      })),
    )
    .returning('count')
    .executeTakeFirstOrThrow();
  return Number(r.count);
}

export async function peek(db: Db, key: string, windowMs: number, now: number): Promise<number> {
  const windowStart = now - (now % windowMs);
  const r = await db
    .selectFrom('rate_limits')
    .select(['count', 'window_start'])
    .where('key', '=', key)
    .executeTakeFirst();
  return r && Number(r.window_start) === windowStart ? Number(r.count) : 0;
}

export async function reset(db: Db, key: string): Promise<void> {
  await db.deleteFrom('rate_limits').where('key', '=', key).execute();
}
