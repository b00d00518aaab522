import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../store/dialect/errors.js';
import type { Database } from '../store/schema.js';

type Db = Kysely<Database>;

export async function findUid(db: Db, userId: string): Promise<number | undefined> {
  const row = await db
    .selectFrom('sandbox_accounts')
    .select('uid')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row ? Number(row.uid) : undefined;
}

/**
 * Gives the user the next free uid of [min, max]: above the highest handed out, or else the lowest gap.
 * Two replicas allocating at once: the unique index lets one win, and the other tries again (and finds
 * the winner's row if it was for the same user).
 */
export async function allocateUid(
  db: Db,
  userId: string,
  range: { min: number; max: number },
  now: number,
): Promise<number | undefined> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const existing = await findUid(db, userId);
    if (existing !== undefined) return existing;
    const uid = await nextFree(db, range);
    if (uid === undefined) return undefined;
    try {
      await db.insertInto('sandbox_accounts').values({ user_id: userId, uid, created_at: now }).execute();
      return uid;
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
    }
  }
  throw new Error('could not allocate a uid for user code: too many concurrent allocations');
}

async function nextFree(db: Db, range: { min: number; max: number }): Promise<number | undefined> {
  const top = await db
    .selectFrom('sandbox_accounts')
    .select((eb) => eb.fn.max('uid').as('uid'))
    .where('uid', '>=', range.min)
    .where('uid', '<=', range.max)
    .executeTakeFirst();
  const highest = top?.uid === null || top?.uid === undefined ? undefined : Number(top.uid);
  if (highest === undefined) return range.min;
  if (highest < range.max) return highest + 1;
  // The top of the range is taken: the lowest uid whose successor is free, or the bottom itself.
  const taken = new Set(
    (
      await db
        .selectFrom('sandbox_accounts')
        .select('uid')
        .where('uid', '>=', range.min)
        .where('uid', '<=', range.max)
        .execute()
    ).map((r) => Number(r.uid)),
  );
  for (let uid = range.min; uid <= range.max; uid++) if (!taken.has(uid)) return uid;
  return undefined;
}
