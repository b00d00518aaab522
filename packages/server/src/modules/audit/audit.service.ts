import type { Clock } from '../../clock.js';
import { digestOf } from '../../crypto/index.js';
import { oncePerObject } from '../../memo.js';
import type { LegacyAuditRow } from '../../store/schema.js';
import type { Db, Store } from '../../store/store.js';
import type { Caller } from '../auth/caller.js';
import {
  listLegacySecretEventsForUser,
  listSecretRecordsForUser,
  planRecords,
  recordReads,
  recordReadsInBackground,
  writePlan,
  type ActivityRecordRow,
  type CallerEntry,
  type NameListEntry,
  type NewAuditRecord,
} from './audit.repo.js';

/*
 * The audit trail. Changes are recorded in the transaction that makes them. Secret reads have no
 * transaction of their own, and there are many of them, so they go through a group commit: the reads of
 * one turn of the event loop are written in one transaction (on SQLite by the writer thread, which also
 * merges the batches that arrive while it commits), and each read is answered only after its record is
 * durable. One fsync then serves many requests, and no read goes unrecorded.
 *
 * A record is small (docs/adr/0016): its time and action, and references to whose trail it is in, who
 * acted and how, and which names, each kept once however many records name it.
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
  | 'job.cancelled'
  | 'plugin.installed'
  | 'plugin.removed'
  | 'plugin.preset_set'
  | 'plugin.preset_deleted'
  | 'plugin.settings_saved'
  | 'plugin_credential.set'
  | 'plugin_credential.deleted';

export interface AuditEvent {
  readonly action: AuditAction;
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
  /** The project a ticket acted in, when a ticket did. */
  readonly projectKey: string | null;
  /**
   * The notebook whose kernel's ticket did it: its name then (null if it was already deleted), and
   * where it is now, while it exists in a project the user is a member of.
   */
  readonly notebook: {
    readonly name: string | null;
    readonly current: { readonly projectKey: string; readonly name: string } | null;
  } | null;
  /**
   * The job whose ticket did it, while it is kept: its project and the recipe it ran, and for a plugin
   * recipe the plugin and its component.
   */
  readonly job: {
    readonly id: string;
    readonly projectKey: string;
    readonly recipe: string;
    readonly plugin: { readonly id: string; readonly recipe: string } | null;
  } | null;
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
/**
 * How often a server moves the last_at of a shared row (subject, caller, names) that reads keep naming.
 * Retention removes a shared row only once its last_at is older than the records it removes by more
 * than this (audit.pruner.ts), so a row that is still named is never removed.
 */
export const SHARED_STAMP_INTERVAL_MS = 3_600_000;

/**
 * Who acted and how, as a shared row: the user, the auth source, the credential, the ticket's job,
 * project and notebook, the address.
 */
function callerEntryOf(caller: Caller): CallerEntry {
  const none = { projectKey: null, notebookId: null, notebookName: null };
  const fields =
    caller.kind === 'operator'
      ? { userId: null, login: null, authSource: 'CLI', credentialId: null, jobId: null, ip: null, ...none }
      : {
          userId: caller.user.id,
          login: caller.user.login,
          authSource: caller.source,
          credentialId: caller.credentialId,
          // The ticket names its job too, so the trail says which run did it even after the ticket is gone.
          jobId: caller.ticket?.jobId ?? null,
          ip: caller.ip ?? null,
          // And where it ran: a notebook's kernel has no job, and is named by its notebook instead.
          projectKey: caller.ticket?.projectKey ?? null,
          notebookId: caller.ticket?.notebook?.id ?? null,
          notebookName: caller.ticket?.notebook?.name ?? null,
        };
  const ran = [fields.projectKey, fields.notebookId, fields.notebookName];
  const key = digestOf(
    JSON.stringify([
      fields.userId,
      fields.login,
      fields.authSource,
      fields.credentialId,
      fields.jobId,
      fields.ip,
      // Only when there is one, so a session's or a key's caller keeps the key it had before 0013.
      ...(ran.some((v) => v !== null) ? ran : []),
    ]),
  );
  return { key, ...fields };
}

const nameListOf = (names: readonly string[]): NameListEntry => {
  const json = JSON.stringify(names);
  return { key: digestOf(json), json };
};

/** What users see of records about their secrets. */
function activityOfRecord(r: ActivityRecordRow): ActivityEntry {
  return {
    id: Number(r.id),
    at: Number(r.at),
    action: r.action,
    secretNames: r.names !== null ? (JSON.parse(r.names) as string[]) : [],
    actorLogin: r.actor_login,
    authSource: r.auth_source,
    credentialId: r.credential_id,
    jobId: r.job_id,
    ip: r.ip,
    projectKey: r.project_key,
    notebook:
      r.notebook_id === null
        ? null
        : {
            name: r.notebook_name,
            current:
              r.notebook_now_project !== null && r.notebook_now_name !== null
                ? { projectKey: r.notebook_now_project, name: r.notebook_now_name }
                : null,
          },
    job:
      r.job_id !== null && r.job_project !== null && r.job_recipe !== null
        ? {
            id: r.job_id,
            projectKey: r.job_project,
            recipe: r.job_recipe,
            plugin:
              r.job_plugin_id !== null && r.job_plugin_recipe !== null
                ? { id: r.job_plugin_id, recipe: r.job_plugin_recipe }
                : null,
          }
        : null,
  };
}

/** The same, for a record written before migration 0010. */
function activityOfLegacyEvent(r: LegacyAuditRow): ActivityEntry {
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
    projectKey: null,
    notebook: null,
    job: null,
  };
}

export function createAuditLog(deps: { store: Store; clock: Clock }): AuditLog {
  const { store, clock } = deps;

  const recordOf = (caller: Caller | null, e: AuditEvent, at: number): NewAuditRecord => ({
    at,
    action: e.action,
    subject: e.target ? { userId: e.target.id, login: e.target.login } : null,
    caller: caller ? callerEntryOf(caller) : null,
    names: e.secretName !== undefined ? nameListOf([e.secretName]) : null,
    detail: e.detail && Object.keys(e.detail).length > 0 ? JSON.stringify(e.detail) : null,
  });

  /** The names of a read, made once per list (the read path hands the same list again). */
  const namesOfRead = oncePerObject(nameListOf);
  const readRecord = (read: SecretRead, at: number): NewAuditRecord => ({
    at,
    action: 'secret.read',
    subject: { userId: read.caller.user.id, login: read.caller.user.login },
    caller: callerEntryOf(read.caller),
    names: namesOfRead(read.names),
    detail: null,
  });

  /**
   * When this process last moved each shared row's last_at for reads. Cleared when a write of reads
   * fails, as its stamps may not have been committed.
   */
  const sharedStamped = new Map<string, number>();
  const readStampDue = (key: string, at: number): boolean => {
    if (at - (sharedStamped.get(key) ?? -Infinity) < SHARED_STAMP_INTERVAL_MS) return false;
    if (sharedStamped.size > 100_000) sharedStamped.clear();
    sharedStamped.set(key, at);
    return true;
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
    const plan = planRecords(
      store.db,
      batch.map((p) => readRecord(p.read, p.at)),
      readStampDue,
    );
    // Last-used is per user (every read returns all of that user's secrets), to the second: a user
    // read many times a second gets one stamp a second, not one rewrite of their rows per batch.
    // The audit records above keep every read, to the millisecond.
    const used = new Map<string, number>();
    for (const p of batch) {
      const id = p.read.caller.user.id;
      if (p.read.names.length > 0 && p.at - (stamped.get(id) ?? -Infinity) >= LAST_USED_RESOLUTION_MS)
        used.set(id, p.at);
    }
    for (const [id, at] of used) stamped.set(id, at);
    if (stamped.size > 100_000) stamped.clear();
    const forgetStamps = (err: unknown) => {
      sharedStamped.clear();
      throw err;
    };
    // SQLite: handed to the writer thread, which commits what arrives together; the next batch need
    // not wait. Elsewhere: one transaction at a time, and the reads that arrive meanwhile join the next.
    const background = recordReadsInBackground(store.db, plan, used);
    if (background) return background.catch(forgetStamps);
    inTransaction = true;
    return store
      .transaction((trx) => recordReads(trx, plan, used))
      .catch(forgetStamps)
      .finally(() => {
        inTransaction = false;
        kick();
      });
  }

  return {
    async record(db, caller, events) {
      if (events.length === 0) return;
      const at = clock.now();
      // Changes are few: each moves the last_at of what it names, in its own transaction, so whether
      // that transaction commits or not, no stamp is believed made that was not.
      await writePlan(
        db,
        planRecords(
          store.db,
          events.map((e) => recordOf(caller, e, at)),
          () => true,
        ),
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
      const recent = (await listSecretRecordsForUser(store.db, userId, opts)).map(activityOfRecord);
      if (recent.length >= opts.limit) return recent;
      // Records written before migration 0010 all have smaller ids than any written since.
      const older = await listLegacySecretEventsForUser(store.db, userId, {
        limit: opts.limit - recent.length,
        beforeId: opts.beforeId,
      });
      return [...recent, ...older.map(activityOfLegacyEvent)];
    },
  };
}
