import type { Clock } from '../../clock.js';
import { oncePerObject } from '../../memo.js';
import type { NewAuditRow } from '../../store/schema.js';
import type { Db, Store } from '../../store/store.js';
import { actorOf, type Caller } from '../auth/caller.js';
import {
  insertAuditEvents,
  listSecretEventsForUser,
  markSecretsUsed,
  recordReadsInBackground,
} from './audit.repo.js';

/*
 * The audit trail. Changes are recorded in the transaction that makes them. Secret reads have no
 * transaction of their own, and there are many of them, so they go through a group commit: the reads of
 * one turn of the event loop are written in one transaction (on SQLite by the writer thread, which also
 * merges the batches that arrive while it commits), and each read is answered only after its record is
 * durable. One fsync then serves many requests, and no read goes unrecorded.
 *
 * Details never hold a secret value: only names, ids and counts.
 */

export type AuditAction =
  | 'secret.created'
  | 'secret.replaced'
  | 'secret.deleted'
  | 'secret.read'
  | 'api_key.created'
  | 'api_key.updated'
  | 'api_key.revoked'
  | 'login.succeeded'
  | 'login.failed'
  | 'logout'
  | 'user.created'
  | 'user.updated'
  | 'user.disabled'
  | 'user.enabled'
  | 'user.deleted'
  | 'user.password_changed'
  | 'user.password_reset'
  | 'project.created'
  | 'project.deleted'
  | 'project.member_set'
  | 'project.member_removed'
  | 'recipe.created'
  | 'recipe.updated'
  | 'recipe.deleted'
  | 'notebook.created'
  | 'notebook.saved'
  | 'notebook.deleted'
  | 'job.started'
  | 'job.cancelled';

export interface AuditEvent {
  readonly action: AuditAction;
  readonly outcome?: 'success' | 'failure';
  readonly target?: { id: string; login: string } | undefined;
  readonly secretName?: string | undefined;
  readonly detail?: Record<string, unknown>;
}

export interface SecretRead {
  readonly caller: Extract<Caller, { kind: 'user' }>;
  readonly names: readonly string[];
}

export interface ActivityEntry {
  readonly id: number;
  readonly at: number;
  readonly action: string;
  readonly secretNames: string[];
  readonly actorLogin: string | null;
  readonly authSource: string | null;
  readonly credentialId: string | null;
  /** The job whose ticket did it, when one did. */
  readonly jobId: string | null;
  readonly ip: string | null;
}

export interface AuditLog {
  /** Writes events inside the caller's transaction, so they commit or roll back with the change. */
  record(db: Db, caller: Caller | null, events: AuditEvent[]): Promise<void>;
  /** Records a read of secrets and marks them used; resolves once durable (group commit). */
  recordRead(read: SecretRead): Promise<void>;
  /** Waits for queued reads to be written (shutdown). */
  drain(): Promise<void>;
  activity(userId: string, opts: { limit: number; beforeId?: number | undefined }): Promise<ActivityEntry[]>;
}

const LAST_USED_RESOLUTION_MS = 1000;
/** The fewest reads sent to be committed before the end of an event-loop turn (see kick). */
const EARLY_FLUSH_MIN = 12;

export function createAuditLog(deps: { store: Store; clock: Clock }): AuditLog {
  const { store, clock } = deps;

  /**
   * The job whose ticket acts. The row already names the ticket (credential_id); the detail also names
   * its job (viaJob), so the trail says which run did it even after the ticket is gone.
   */
  const jobOf = (caller: Caller | null): string | undefined =>
    (caller?.kind === 'user' && caller.ticket?.jobId) || undefined;
  const detailOf = (caller: Caller | null, e: AuditEvent): string => {
    const job = jobOf(caller);
    return JSON.stringify(job ? { ...e.detail, viaJob: job } : (e.detail ?? {}));
  };

  const toRow = (
    caller: Caller | null,
    e: AuditEvent,
    at: number,
    detail = detailOf(caller, e),
  ): NewAuditRow => ({
    at,
    action: e.action,
    outcome: e.outcome ?? 'success',
    ...(caller
      ? actorOf(caller)
      : { actor_user_id: null, actor_login: null, auth_source: null, credential_id: null, ip: null }),
    target_user_id: e.target?.id ?? null,
    target_login: e.target?.login ?? null,
    secret_name: e.secretName ?? null,
    detail,
  });

  /** The detail of a read, made once per list of names (the read path hands the same list again). */
  const namesDetail = oncePerObject((names: readonly string[]) => JSON.stringify({ names }));
  const readDetail = (read: SecretRead): string => {
    const job = jobOf(read.caller);
    return job ? JSON.stringify({ names: read.names, viaJob: job }) : namesDetail(read.names);
  };

  type Pending = { read: SecretRead; at: number; resolve: () => void; reject: (e: unknown) => void };
  /** When this process last stamped each user's secrets as used. */
  const stamped = new Map<string, number>();
  let queue: Pending[] = [];
  let scheduled = false;
  /** A transaction of reads under way where there is no writer thread (PostgreSQL): one at a time. */
  let inTransaction = false;
  const writing = new Set<Promise<void>>();
  /** Reads sent to be committed and not yet durable. */
  let committing = 0;

  /*
   * A batch goes at the end of the event-loop turn (setImmediate lets the reads parsed in that turn join
   * it), or before, once it is as large as what is already being committed. Under load that splits the
   * reads into two halves taking turns — the request thread works on one while the other is committed
   * — where a single batch per turn would leave the thread idle during every commit, with all requests
   * waiting on it. Not below EARLY_FLUSH_MIN reads, so that every commit serves many.
   */
  function kick(): void {
    if (scheduled || inTransaction || queue.length === 0) return;
    scheduled = true;
    setImmediate(flush);
  }

  function flush(): void {
    scheduled = false;
    if (inTransaction || queue.length === 0) return;
    const batch = queue;
    queue = [];
    committing += batch.length;
    const done = write(batch)
      .finally(() => (committing -= batch.length))
      .then(
        () => {
          for (const p of batch) p.resolve();
        },
        async (err: unknown) => {
          if (batch.length === 1) return batch[0]!.reject(err);
          // One read that cannot be recorded must not fail the others: each again, on its own.
          for (const p of batch) await write([p]).then(p.resolve, p.reject);
        },
      );
    writing.add(done);
    void done.finally(() => writing.delete(done));
  }

  /** Records a batch of reads in one transaction; resolves once it is durable. */
  function write(batch: Pending[]): Promise<void> {
    const rows = batch.map((p) =>
      toRow(p.read.caller, { action: 'secret.read', target: p.read.caller.user }, p.at, readDetail(p.read)),
    );
    // Last-used is per user (every read returns all of that user's secrets), to the second: a user
    // read many times a second gets one stamp a second, not one rewrite of their rows per batch.
    // The audit events above keep every read, to the millisecond.
    const used = new Map<string, number>();
    for (const p of batch) {
      const id = p.read.caller.user.id;
      if (p.read.names.length > 0 && p.at - (stamped.get(id) ?? -Infinity) >= LAST_USED_RESOLUTION_MS)
        used.set(id, p.at);
    }
    for (const [id, at] of used) stamped.set(id, at);
    if (stamped.size > 100_000) stamped.clear();
    // SQLite: handed to the writer thread, which commits what arrives together; the next batch need
    // not wait. Elsewhere: one transaction at a time, and the reads that arrive meanwhile join the next.
    const background = recordReadsInBackground(store.db, rows, used);
    if (background) return background;
    inTransaction = true;
    return store
      .transaction(async (trx) => {
        await insertAuditEvents(trx, rows);
        for (const [userId, at] of used) await markSecretsUsed(trx, at, userId);
      })
      .finally(() => {
        inTransaction = false;
        kick();
      });
  }

  return {
    async record(db, caller, events) {
      if (events.length === 0) return;
      const at = clock.now();
      await insertAuditEvents(
        db,
        events.map((e) => toRow(caller, e, at)),
      );
    },

    recordRead(read) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ read, at: clock.now(), resolve, reject });
        if (!inTransaction && queue.length >= Math.max(EARLY_FLUSH_MIN, committing)) flush();
        else kick();
      });
    },

    async drain() {
      while (queue.length > 0 || writing.size > 0) {
        kick();
        await Promise.all([...writing, new Promise((done) => setImmediate(done))]);
      }
    },

    async activity(userId, opts) {
      const rows = await listSecretEventsForUser(store.db, userId, opts);
      return rows.map((r) => {
        const detail = JSON.parse(r.detail) as { names?: string[]; viaJob?: unknown };
        return {
          id: Number(r.id),
          at: Number(r.at),
          action: r.action,
          secretNames: r.secret_name !== null ? [r.secret_name] : (detail.names ?? []),
          actorLogin: r.actor_login,
          authSource: r.auth_source,
          credentialId: r.credential_id,
          jobId: typeof detail.viaJob === 'string' ? detail.viaJob : null,
          ip: r.ip,
        };
      });
    },
  };
}
