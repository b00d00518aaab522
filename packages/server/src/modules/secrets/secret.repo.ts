import type { Kysely } from 'kysely';
import { prepared } from '../../store/prepared.js';
import type { Db } from '../../store/store.js';
import type { Database, SecretRow } from '../../store/schema.js';

export type SecretMeta = Pick<
  SecretRow,
  | 'name'
  | 'tag'
  | 'created_revision'
  | 'revision'
  | 'written_by'
  | 'created_at'
  | 'updated_at'
  | 'last_used_at'
>;

/** What a secret is besides its value: the columns every listing reads. */
const META_COLUMNS = [
  'name',
  'tag',
  'created_revision',
  'revision',
  'written_by',
  'created_at',
  'updated_at',
  'last_used_at',
] as const;

export async function listSecretMeta(db: Db, userId: string): Promise<SecretMeta[]> {
  return db
    .selectFrom('secrets')
    .select(META_COLUMNS)
    .where('user_id', '=', userId)
    .orderBy('name')
    .execute();
}

/** The named secrets of a user that exist: one index lookup per name, however many the user has. */
export async function findSecretMeta(
  db: Db,
  userId: string,
  names: readonly string[],
): Promise<SecretMeta[]> {
  if (names.length === 0) return [];
  return db
    .selectFrom('secrets')
    .select(META_COLUMNS)
    .where('user_id', '=', userId)
    .where('name', 'in', names)
    .execute();
}

export async function upsertSecret(
  db: Db,
  row: Pick<SecretRow, 'user_id' | 'name' | 'ciphertext' | 'key_version' | 'tag' | 'revision' | 'written_by'>,
  now: number,
): Promise<void> {
  await db
    .insertInto('secrets')
    .values({ ...row, created_revision: row.revision, created_at: now, updated_at: now, last_used_at: null })
    .onConflict((oc) =>
      oc.columns(['user_id', 'name']).doUpdateSet({
        ciphertext: row.ciphertext,
        key_version: row.key_version,
        tag: row.tag,
        revision: row.revision,
        written_by: row.written_by,
        updated_at: now,
      }),
    )
    .execute();
}

export async function deleteSecret(db: Db, userId: string, name: string): Promise<boolean> {
  const r = await db
    .deleteFrom('secrets')
    .where('user_id', '=', userId)
    .where('name', '=', name)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function countSecrets(db: Db, userId: string): Promise<number> {
  const r = await db
    .selectFrom('secrets')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Every sealed value of a user (the read path). */
export const listSealed = prepared(
  1,
  (db: Kysely<Database>, userId: string) =>
    db
      .selectFrom('secrets')
      .select(['name', 'ciphertext', 'key_version'])
      .where('user_id', '=', userId)
      .orderBy('name'),
  { keep: true },
);

export type WrappedKey = { version: number; wrapped: Uint8Array };

/** A user's wrapped data keys, usually one. Read apart from the values so each is copied out once. */
export const listWrappedKeys = prepared(
  1,
  (db: Kysely<Database>, userId: string) =>
    db.selectFrom('data_keys').select(['version', 'wrapped']).where('user_id', '=', userId),
  { keep: true },
);
