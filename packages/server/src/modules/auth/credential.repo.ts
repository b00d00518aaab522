import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { prepared } from '../../store/prepared.js';
import type { Db } from '../../store/store.js';

/** Ends a user's live sessions, except optionally the one making the change. */
export async function revokeSessions(db: Db, userId: string, now: number, exceptId?: string): Promise<void> {
  let q = db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
  await q.execute();
}

/** Ends every way a user can authenticate: sessions, tickets and personal API keys. */
export async function revokeAllCredentials(db: Db, userId: string, now: number): Promise<void> {
  await revokeSessions(db, userId, now);
  for (const table of ['tickets', 'api_keys'] as const) {
    await db
      .updateTable(table)
      .set({ revoked_at: now })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .execute();
  }
}

/** The API key row with its user's row, in one query: the first step of every API-key request. */
export const findApiKeyWithUser = prepared(
  1,
  (db: Kysely<Database>, id: string) =>
    db
      .selectFrom('api_keys')
      .innerJoin('users', 'users.id', 'api_keys.user_id')
      .select([
        'api_keys.secret_hash',
        'api_keys.revoked_at',
        'api_keys.expires_at',
        'api_keys.last_used_at',
        'api_keys.delegated',
      ])
      .selectAll('users')
      .where('api_keys.id', '=', id),
  { keep: true },
);
