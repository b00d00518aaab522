import { sql } from 'kysely';
import type { Db } from '../../store/store.js';
import type { JobRow, JobState } from '../../store/schema.js';

export interface LogChunk {
  stream: 'stdout' | 'stderr' | 'system';
  at: number;
  text: string;
}

export const FINISHED: readonly JobState[] = ['succeeded', 'failed', 'cancelled', 'timed_out'];

export async function findJob(db: Db, id: string): Promise<JobRow | undefined> {
  return db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The latest revision of a recipe that the runner has run (or approved, by running it); null if none. */
export async function lastRevisionRun(db: Db, runnerId: string, recipeId: string): Promise<number | null> {
  const r = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.max('recipe_revision').as('revision'))
    .where('runner_id', '=', runnerId)
    .where('recipe_id', '=', recipeId)
    .executeTakeFirst();
  return r?.revision === null || r?.revision === undefined ? null : Number(r.revision);
}

export async function listJobsOfRunner(
  db: Db,
  runnerId: string,
  opts: { projectId?: string | undefined; limit: number },
) {
  let q = db
    .selectFrom('jobs')
    .innerJoin('projects', 'projects.id', 'jobs.project_id')
    .selectAll('jobs')
    .select('projects.key as project_key')
    .where('jobs.runner_id', '=', runnerId);
  if (opts.projectId) q = q.where('jobs.project_id', '=', opts.projectId);
  // Jobs queued in the same millisecond: the id settles their order, the same on both stores.
  return q.orderBy('jobs.created_at', 'desc').orderBy('jobs.id', 'desc').limit(opts.limit).execute();
}

/**
 * Claims the oldest queued job for this replica, atomically: of several replicas polling at once,
 * exactly one gets each job (the update only matches while the job is still queued).
 */
export async function claimNextJob(db: Db, replicaId: string, now: number): Promise<JobRow | undefined> {
  const next = await db
    .selectFrom('jobs')
    .select('id')
    .where('state', '=', 'queued')
    .orderBy('created_at')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  if (!next) return undefined;
  return db
    .updateTable('jobs')
    .set({ state: 'running', claimed_by: replicaId, started_at: now, heartbeat_at: now })
    .where('id', '=', next.id)
    .where('state', '=', 'queued')
    .returningAll()
    .executeTakeFirst();
}

/** Finishes a running job once; answers false if it had already finished. */
export async function finishJob(
  db: Db,
  id: string,
  end: { state: JobState; exitCode: number | null; error: string | null; at: number },
): Promise<boolean> {
  const r = await db
    .updateTable('jobs')
    .set({ state: end.state, exit_code: end.exitCode, error: end.error, finished_at: end.at })
    .where('id', '=', id)
    .where('state', 'in', ['queued', 'running'])
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Records where the job's process group runs (its leader's pid and start time, on this host). */
export async function recordProcess(
  db: Db,
  id: string,
  proc: { host: string; pid: number; pidStarted: string | null },
): Promise<void> {
  await db
    .updateTable('jobs')
    .set({ host: proc.host, pid: proc.pid, pid_started: proc.pidStarted })
    .where('id', '=', id)
    .execute();
}

export async function heartbeat(db: Db, ids: readonly string[], now: number): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('jobs').set({ heartbeat_at: now }).where('id', 'in', ids).execute();
}

/** Running jobs whose replica stopped beating: their process died with it. */
export async function listStaleRunning(db: Db, before: number): Promise<JobRow[]> {
  return db
    .selectFrom('jobs')
    .selectAll()
    .where('state', '=', 'running')
    .where((eb) => eb.or([eb('heartbeat_at', 'is', null), eb('heartbeat_at', '<', before)]))
    .execute();
}

export async function cancelRequestedAmong(db: Db, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('jobs')
    .select('id')
    .where('id', 'in', ids)
    .where('cancel_requested_at', 'is not', null)
    .execute();
  return rows.map((r) => r.id);
}

/** Appends masked log chunks and bumps the job's counters, in the caller's transaction. */
export async function appendLog(
  db: Db,
  jobId: string,
  chunks: readonly LogChunk[],
  firstSeq: number,
): Promise<void> {
  if (chunks.length === 0) return;
  await db
    .insertInto('job_logs')
    .values(chunks.map((c, i) => ({ ...c, job_id: jobId, seq: firstSeq + i })))
    .execute();
  const bytes = chunks.reduce((n, c) => n + Buffer.byteLength(c.text, 'utf8'), 0);
  await db
    .updateTable('jobs')
    .set({
      log_chunks: sql<number>`log_chunks + ${chunks.length}`,
      log_bytes: sql<number>`log_bytes + ${bytes}`,
    })
    .where('id', '=', jobId)
    .execute();
}

export async function readLog(db: Db, jobId: string, afterSeq: number, limit: number) {
  return db
    .selectFrom('job_logs')
    .select(['seq', 'stream', 'at', 'text'])
    .where('job_id', '=', jobId)
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
}

/** The key of the job's project and the login of its runner, for the code's environment. */
export async function projectAndRunnerOf(
  db: Db,
  jobId: string,
): Promise<{ projectKey: string; runnerLogin: string }> {
  const row = await db
    .selectFrom('jobs')
    .innerJoin('projects', 'projects.id', 'jobs.project_id')
    .innerJoin('users', 'users.id', 'jobs.runner_id')
    .select(['projects.key as projectKey', 'users.login as runnerLogin'])
    .where('jobs.id', '=', jobId)
    .executeTakeFirst();
  if (!row) throw new Error('the job’s project or runner no longer exists');
  return row;
}
