import { sql } from 'kysely';
import type { Db } from '../../store/store.js';

export async function listMasterKeys(db: Db) {
  return db.selectFrom('master_keys').selectAll().orderBy('version').execute();
}

/** Records a new master key version (its key check only); undefined if another process just did. */
export async function addMasterKeyVersion(
  db: Db,
  keyCheck: string,
  now: number,
): Promise<number | undefined> {
  const r = await db
    .insertInto('master_keys')
    .values((eb) => ({
      version: eb.selectFrom('master_keys').select(sql<number>`coalesce(max(version), 0) + 1`.as('v')),
      key_check: keyCheck,
      state: 'active',
      created_at: now,
      retired_at: null,
    }))
    .onConflict((oc) => oc.doNothing())
    .returning('version')
    .executeTakeFirst();
  return r?.version;
}

/** Master key versions no data key is wrapped under any more, other than `keep`. */
export async function unusedActiveVersions(db: Db, keep: number): Promise<number[]> {
  const rows = await db
    .selectFrom('master_keys')
    .select('version')
    .where('state', '=', 'active')
    .where('version', '!=', keep)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('data_keys')
            .select('user_id')
            .whereRef('data_keys.master_version', '=', 'master_keys.version'),
        ),
      ),
    )
    .execute();
  return rows.map((r) => r.version);
}

export async function retireMasterKey(db: Db, version: number, now: number): Promise<void> {
  await db
    .updateTable('master_keys')
    .set({ state: 'retired', retired_at: now })
    .where('version', '=', version)
    .where('state', '=', 'active')
    .execute();
}

export async function countDataKeysNotUnder(db: Db, masterVersion: number): Promise<number> {
  const r = await db
    .selectFrom('data_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('master_version', '!=', masterVersion)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function dataKeysNotUnder(db: Db, masterVersion: number, limit: number) {
  return db
    .selectFrom('data_keys')
    .select(['user_id', 'version', 'wrapped', 'master_version'])
    .where('master_version', '!=', masterVersion)
    .orderBy('user_id')
    .orderBy('version')
    .limit(limit)
    .execute();
}

/** Replaces a data key's wrapping, only if it is still the one read (a concurrent rotation may have). */
export async function replaceWrapping(
  db: Db,
  row: { user_id: string; version: number; master_version: number },
  wrapped: Buffer,
  masterVersion: number,
): Promise<boolean> {
  const r = await db
    .updateTable('data_keys')
    .set({ wrapped, master_version: masterVersion })
    .where('user_id', '=', row.user_id)
    .where('version', '=', row.version)
    .where('master_version', '=', row.master_version)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

// --- Re-sealing ---------------------------------------------------------------------------------------

const RESEAL_MARK = 'reseal_started_at';

/** When the re-seal under way began (kept until it finishes, so a rerun resumes it), or a new one. */
export async function resealStart(db: Db, now: number): Promise<number> {
  await db
    .insertInto('meta')
    .values({ key: RESEAL_MARK, value: String(now) })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const r = await db
    .selectFrom('meta')
    .select('value')
    .where('key', '=', RESEAL_MARK)
    .executeTakeFirstOrThrow();
  return Number(r.value);
}

export async function resealDone(db: Db): Promise<void> {
  await db.deleteFrom('meta').where('key', '=', RESEAL_MARK).execute();
}

/** Users whose newest data key is older than the re-seal's start: those it has still to do. */
export async function usersToReseal(
  db: Db,
  since: number,
  afterId: string,
  limit: number,
): Promise<string[]> {
  const rows = await db
    .selectFrom('data_keys')
    .select('user_id')
    .where('user_id', '>', afterId)
    .groupBy('user_id')
    .having((eb) => eb.fn.max('created_at'), '<', since)
    .orderBy('user_id')
    .limit(limit)
    .execute();
  return rows.map((r) => r.user_id);
}

export async function countUsersToReseal(db: Db, since: number): Promise<number> {
  const r = await db
    .selectFrom(
      db
        .selectFrom('data_keys')
        .select('user_id')
        .groupBy('user_id')
        .having((eb) => eb.fn.max('created_at'), '<', since)
        .as('todo'),
    )
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function dataKeysOf(db: Db, userId: string) {
  return db.selectFrom('data_keys').selectAll().where('user_id', '=', userId).orderBy('version').execute();
}

export async function sealedOf(db: Db, userId: string) {
  return db
    .selectFrom('secrets')
    .select(['name', 'ciphertext', 'key_version'])
    .where('user_id', '=', userId)
    .execute();
}

export async function replaceSealed(
  db: Db,
  userId: string,
  name: string,
  ciphertext: Buffer,
  keyVersion: number,
): Promise<void> {
  await db
    .updateTable('secrets')
    .set({ ciphertext, key_version: keyVersion })
    .where('user_id', '=', userId)
    .where('name', '=', name)
    .execute();
}

export async function insertDataKeyRow(
  db: Db,
  row: { user_id: string; version: number; wrapped: Buffer; master_version: number; created_at: number },
): Promise<void> {
  await db.insertInto('data_keys').values(row).execute();
}

export async function deleteDataKeysBelow(db: Db, userId: string, version: number): Promise<void> {
  await db.deleteFrom('data_keys').where('user_id', '=', userId).where('version', '<', version).execute();
}

/** Every stored data key, wrapped (for `coffer doctor`, which checks that each one opens). */
export async function wrappedDataKeys(db: Db) {
  return db.selectFrom('data_keys').select(['user_id', 'version', 'wrapped']).execute();
}
