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

/** Follows a notebook renamed while its kernel runs. */
export async function renameKernel(db: Db, id: string, notebook: string): Promise<void> {
  await db.updateTable('kernels').set({ notebook }).where('id', '=', id).execute();
}

export async function beat(db: Db, ids: readonly string[], now: number): Promise<void> {
  if (ids.length > 0)
    await db.updateTable('kernels').set({ heartbeat_at: now }).where('id', 'in', ids).execute();
}

/** Rows a crashed replica left behind: no heartbeat since `liveSince`. */
export async function forgetDead(db: Db, liveSince: number): Promise<void> {
  await db.deleteFrom('kernels').where('heartbeat_at', '<', liveSince).execute();
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
