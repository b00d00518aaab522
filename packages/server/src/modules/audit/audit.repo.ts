import type { Kysely } from 'kysely';
import { prepared } from '../../store/prepared.js';
import type { Db } from '../../store/store.js';
import type { AuditRow, Database, NewAuditRow } from '../../store/schema.js';

const CHUNK = 500;

export async function insertAuditEvents(db: Db, rows: NewAuditRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db
      .insertInto('audit_events')
      .values(rows.slice(i, i + CHUNK))
      .execute();
  }
}

/** Events about a user's own secrets, newest first, paged by id. */
export async function listSecretEventsForUser(
  db: Db,
  userId: string,
  opts: { limit: number; beforeId?: number | undefined },
): Promise<AuditRow[]> {
  let q = db
    .selectFrom('audit_events')
    .selectAll()
    .where('target_user_id', '=', userId)
    .where('action', 'like', 'secret.%');
  if (opts.beforeId !== undefined) q = q.where('id', '<', opts.beforeId);
  return q.orderBy('id', 'desc').limit(opts.limit).execute();
}

/** Marks all of a user's secrets used at a time (every read returns all of them). */
export const markSecretsUsed = prepared(2, (db: Kysely<Database>, at: number, userId: string) =>
  db.updateTable('secrets').set({ last_used_at: at }).where('user_id', '=', userId),
);
