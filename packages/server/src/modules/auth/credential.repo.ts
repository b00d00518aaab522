import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { prepared } from '../../store/prepared.js';
import type { Db } from '../../store/store.js';

/** Ends every way a user can authenticate: sessions, tickets and personal API keys. */
export async function revokeAllCredentials(db: Db, userId: string, now: number): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();
  await db
    .updateTable('tickets')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();
  await db
    .updateTable('api_keys')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();
}

/** The API key row with its user's row, in one query: the first step of every API-key request. */
export const findApiKeyWithUser = prepared(1, (db: Kysely<Database>, id: string) =>
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
);
