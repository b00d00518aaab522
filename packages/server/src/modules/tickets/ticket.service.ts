import type { Clock } from '../../clock.js';
import { newToken } from '../../crypto/index.js';
import type { Db, Store } from '../../store/store.js';

/*
 * Tickets authenticate code that the platform runs for a user (header X-DKU-APITicket). Each is bound to
 * one user and, for jobs, one job (for a notebook's kernel, its notebook); it is short-lived and revoked when its job ends. A ticket is a scoped
 * credential: its scope (the job, and the project that job runs in) is recorded here, when it is issued,
 * and enforced by the auth hook against what each route declares (docs/adr/0013). A ticket issued
 * without a project acts on no project.
 */

export type TicketService = ReturnType<typeof createTicketService>;

/** A ticket as issued: the token itself exists only here, in memory, until it is handed to the code. */
export interface IssuedTicket {
  readonly id: string;
  readonly ticket: string;
  readonly expiresAt: number;
}

export function createTicketService(deps: { store: Store; clock: Clock }) {
  const { store, clock } = deps;
  return {
    /** Issues a ticket; in `db`'s transaction when given one, so it commits with what it is for. */
    async issue(
      userId: string,
      opts: {
        jobId?: string | undefined;
        projectId?: string | undefined;
        /** The notebook whose kernel the ticket is for: reads with it are recorded as that notebook's. */
        notebookId?: string | undefined;
        ttlMs: number;
      },
      db: Db = store.db,
    ): Promise<IssuedTicket> {
      const t = newToken('coft');
      const now = clock.now();
      const expiresAt = now + opts.ttlMs;
      await db
        .insertInto('tickets')
        .values({
          id: t.id,
          user_id: userId,
          job_id: opts.jobId ?? null,
          project_id: opts.projectId ?? null,
          notebook_id: opts.notebookId ?? null,
          secret_hash: t.secretHash,
          created_at: now,
          expires_at: expiresAt,
          revoked_at: null,
        })
        .execute();
      return { id: t.id, ticket: t.token, expiresAt };
    },

    async revoke(id: string): Promise<void> {
      await store.db
        .updateTable('tickets')
        .set({ revoked_at: clock.now() })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .execute();
    },

    /** Revokes these tickets (those of kernels found gone); in `db`'s transaction when given one. */
    async revokeAll(ids: readonly string[], db: Db = store.db): Promise<void> {
      if (ids.length === 0) return;
      await db
        .updateTable('tickets')
        .set({ revoked_at: clock.now() })
        .where('id', 'in', ids)
        .where('revoked_at', 'is', null)
        .execute();
    },

    /** Revokes the tickets of every kernel of a notebook (it is being deleted), in `db`'s transaction. */
    async revokeForNotebook(notebookId: string, db: Db = store.db): Promise<void> {
      await db
        .updateTable('tickets')
        .set({ revoked_at: clock.now() })
        .where('notebook_id', '=', notebookId)
        .where('revoked_at', 'is', null)
        .execute();
    },

    async revokeForJob(jobId: string): Promise<void> {
      await store.db
        .updateTable('tickets')
        .set({ revoked_at: clock.now() })
        .where('job_id', '=', jobId)
        .where('revoked_at', 'is', null)
        .execute();
    },
  };
}
