import type { Selectable } from 'kysely';
import type { KernelsTable } from '../../store/schema.js';
import type { Db } from '../../store/store.js';

/** The running kernels of every replica (migration 0015). `liveSince`: heartbeats older are dead. */
export type KernelRow = Selectable<KernelsTable>;

export async function recordKernel(db: Db, row: KernelRow): Promise<void> {
  await db.insertInto('kernels').values(row).execute();
}

export async function forgetKernel(db: Db, id: string): Promise<void> {
  await db.deleteFrom('kernels').where('id', '=', id).execute();
}

/** Forgets every kernel of a notebook (it is being deleted): their replicas stop them at their next beat. */
export async function forgetNotebookKernels(db: Db, notebookId: string): Promise<void> {
  await db.deleteFrom('kernels').where('notebook_id', '=', notebookId).execute();
}

/**
 * Forgets the kernels of a project's notebooks, one owner's or everyone's (the project is deleted, or
 * the owner removed from it): their replicas stop them at their next beat. Answers their tickets.
 */
export async function forgetProjectKernels(db: Db, projectKey: string, ownerId?: string): Promise<string[]> {
  let q = db.deleteFrom('kernels').where('project_key', '=', projectKey);
  if (ownerId !== undefined) q = q.where('owner_id', '=', ownerId);
  const rows = await q.returning('ticket_id').execute();
  return rows.flatMap((r) => (r.ticket_id ? [r.ticket_id] : []));
}

/** Follows a notebook renamed while its kernel runs. */
export async function renameKernel(db: Db, id: string, notebook: string): Promise<void> {
  await db.updateTable('kernels').set({ notebook }).where('id', '=', id).execute();
}

/** Says these kernels still run; answers those whose row was there to say it of. */
export async function beat(db: Db, ids: readonly string[], now: number): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .updateTable('kernels')
    .set({ heartbeat_at: now })
    .where('id', 'in', ids)
    .returning('id')
    .execute();
  return new Set(rows.map((r) => r.id));
}

/**
 * Deletes the rows of kernels gone without ending their runs (a crash), answering their tickets: rows
 * with no heartbeat since `liveSince` (their replica stopped beating), and with `formerly`, rows started
 * before `startedBefore` by a previous process of `replica` (of any replica when it is undefined: a
 * SQLite store has one server). Never the rows in `keep`.
 */
export async function forgetGone(
  db: Db,
  opts: {
    liveSince: number;
    formerly?: { replica?: string | undefined; startedBefore: number } | undefined;
    keep: readonly string[];
  },
): Promise<{ id: string; ticket_id: string | null }[]> {
  const { formerly } = opts;
  let q = db.deleteFrom('kernels').where((eb) => {
    const stale = eb('heartbeat_at', '<', opts.liveSince);
    if (!formerly) return stale;
    const before = eb('started_at', '<', formerly.startedBefore);
    return eb.or([
      stale,
      formerly.replica === undefined ? before : eb.and([before, eb('replica', '=', formerly.replica)]),
    ]);
  });
  if (opts.keep.length > 0) q = q.where('id', 'not in', opts.keep);
  return q.returning(['id', 'ticket_id']).execute();
}

export async function findKernel(
  db: Db,
  by: { id: string } | { sessionId: string },
  liveSince: number,
): Promise<KernelRow | undefined> {
  return db
    .selectFrom('kernels')
    .selectAll()
    .where('id' in by ? 'id' : 'session_id', '=', 'id' in by ? by.id : by.sessionId)
    .where('heartbeat_at', '>=', liveSince)
    .executeTakeFirst();
}

/** Live kernels held elsewhere than `replica`: one owner's, or everyone's. */
export async function kernelsElsewhere(
  db: Db,
  replica: string,
  liveSince: number,
  ownerId?: string,
): Promise<KernelRow[]> {
  let q = db
    .selectFrom('kernels')
    .selectAll()
    .where('replica', '!=', replica)
    .where('heartbeat_at', '>=', liveSince);
  if (ownerId !== undefined) q = q.where('owner_id', '=', ownerId);
  return q.orderBy('started_at').execute();
}
