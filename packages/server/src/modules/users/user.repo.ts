import type { Db } from '../../store/store.js';
import type { NewUserRow, UserRow } from '../../store/schema.js';

export async function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findUserByLogin(db: Db, login: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('login', '=', login).executeTakeFirst();
}

export async function listUsers(db: Db): Promise<UserRow[]> {
  return db.selectFrom('users').selectAll().orderBy('login').execute();
}

export async function countUsers(db: Db): Promise<number> {
  const r = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function insertUser(db: Db, row: NewUserRow): Promise<void> {
  await db.insertInto('users').values(row).execute();
}

export type UserPatch = Partial<
  Pick<
    UserRow,
    | 'display_name'
    | 'email'
    | 'groups'
    | 'user_profile'
    | 'enabled'
    | 'password_hash'
    | 'password_must_change'
    | 'user_properties'
    | 'admin_properties'
    | 'preferences'
  >
>;

export async function updateUser(db: Db, id: string, patch: UserPatch, now: number): Promise<void> {
  await db
    .updateTable('users')
    .set({ ...patch, updated_at: now })
    .where('id', '=', id)
    .execute();
}

export async function deleteUserRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('users').where('id', '=', id).execute();
}

/**
 * Bumps the user's secrets revision, only if it still is `expected` (when given), and returns the new
 * value; undefined if it was not. Being an UPDATE, it also takes the user's row until the transaction
 * ends (PostgreSQL's row lock; SQLite has one writer anyway), so concurrent saves of one user queue here
 * and each sees the last one's result.
 */
export async function claimSecretsRevision(
  db: Db,
  id: string,
  now: number,
  expected?: number,
): Promise<number | undefined> {
  let q = db
    .updateTable('users')
    .set((eb) => ({ secrets_revision: eb('secrets_revision', '+', 1), updated_at: now }))
    .where('id', '=', id);
  if (expected !== undefined) q = q.where('secrets_revision', '=', expected);
  const r = await q.returning('secrets_revision').executeTakeFirst();
  return r === undefined ? undefined : Number(r.secrets_revision);
}

/**
 * Bumps the user's plugin credentials revision and returns the new value. Being an UPDATE of the user's
 * row, it also takes that row until the transaction ends, as every write of their credentials does.
 */
export async function claimCredentialsRevision(db: Db, id: string): Promise<number> {
  const r = await db
    .updateTable('users')
    .set((eb) => ({ credentials_revision: eb('credentials_revision', '+', 1) }))
    .where('id', '=', id)
    .returning('credentials_revision')
    .executeTakeFirstOrThrow();
  return Number(r.credentials_revision);
}

/** The user's plugin credentials revision (0 for a user who never wrote one). */
export async function credentialsRevisionOf(db: Db, id: string): Promise<number> {
  const r = await db
    .selectFrom('users')
    .select('credentials_revision')
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return Number(r.credentials_revision);
}

/**
 * Takes the user's row for the rest of the transaction without changing it, as every save of their
 * secrets does: what the transaction reads of the user after this cannot change until it ends.
 */
export async function lockUser(db: Db, userId: string): Promise<void> {
  await db
    .updateTable('users')
    .set((eb) => ({ secrets_revision: eb.ref('secrets_revision') }))
    .where('id', '=', userId)
    .execute();
}

export async function listGroups(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('users').select('groups').execute();
  const set = new Set<string>();
  for (const r of rows) for (const g of JSON.parse(r.groups) as string[]) set.add(g);
  return [...set].sort();
}
