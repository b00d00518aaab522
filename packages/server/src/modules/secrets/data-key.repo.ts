import type { Db } from '../../store/store.js';
import type { DataKeysTable } from '../../store/schema.js';
import type { Insertable, Selectable } from 'kysely';

export async function insertDataKey(db: Db, row: Insertable<DataKeysTable>): Promise<void> {
  await db.insertInto('data_keys').values(row).execute();
}

/** The user's newest data key: new values are sealed under it. */
export async function currentDataKey(db: Db, userId: string): Promise<Selectable<DataKeysTable> | undefined> {
  return db
    .selectFrom('data_keys')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** The user's data keys by version: what opens values sealed under any of them. */
export async function dataKeysByVersion(
  db: Db,
  userId: string,
): Promise<Map<number, Selectable<DataKeysTable>>> {
  const rows = await db.selectFrom('data_keys').selectAll().where('user_id', '=', userId).execute();
  return new Map(rows.map((r) => [r.version, r]));
}
