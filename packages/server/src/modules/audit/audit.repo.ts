import type { Kysely } from 'kysely';
import { backgroundCommit, prepared, preparedWrite } from '../../store/prepared.js';
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

const stampSecretsUsed = (db: Kysely<Database>, at: number, userId: string) =>
  db.updateTable('secrets').set({ last_used_at: at }).where('user_id', '=', userId);

/** Marks all of a user's secrets used at a time (every read returns all of them). */
export const markSecretsUsed = prepared(2, stampSecretsUsed);

const insertAuditEvent = preparedWrite(
  12,
  (
    db: Kysely<Database>,
    at: number,
    action: string,
    outcome: string,
    actorUserId: string | null,
    actorLogin: string | null,
    authSource: string | null,
    credentialId: string | null,
    targetUserId: string | null,
    targetLogin: string | null,
    secretName: string | null,
    ip: string | null,
    detail: string,
  ) =>
    db.insertInto('audit_events').values({
      at,
      action,
      outcome,
      actor_user_id: actorUserId,
      actor_login: actorLogin,
      auth_source: authSource,
      credential_id: credentialId,
      target_user_id: targetUserId,
      target_login: targetLogin,
      secret_name: secretName,
      ip,
      detail,
    }),
);

const markSecretsUsedWrite = preparedWrite(2, stampSecretsUsed);

/**
 * Records audited reads and their last-used stamps in one transaction on SQLite's writer thread, off
 * the request thread (store/dialect/sqlite-writer.ts); resolves once durable. Answers undefined where
 * the store has no writer thread (PostgreSQL): the caller then uses a transaction.
 */
export function recordReadsInBackground(
  db: Kysely<Database>,
  rows: NewAuditRow[],
  used: ReadonlyMap<string, number>,
): Promise<void> | undefined {
  const commit = backgroundCommit(db as Kysely<unknown>);
  if (!commit) return undefined;
  const inserts = rows.map((r) =>
    insertAuditEvent(
      db,
      Number(r.at),
      r.action,
      r.outcome,
      r.actor_user_id ?? null,
      r.actor_login ?? null,
      r.auth_source ?? null,
      r.credential_id ?? null,
      r.target_user_id ?? null,
      r.target_login ?? null,
      r.secret_name ?? null,
      r.ip ?? null,
      r.detail,
    ),
  );
  const stamps = [...used].map(([userId, at]) => markSecretsUsedWrite(db, at, userId));
  return commit(
    [inserts, stamps]
      .filter((s) => s.length > 0)
      .map((s) => ({ sql: s[0]!.sql, rows: s.map((x) => x.parameters) })),
  );
}
