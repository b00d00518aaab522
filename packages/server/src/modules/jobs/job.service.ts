import type { Clock } from '../../clock.js';
import { newId } from '../../crypto/index.js';
import { Invalid, NotFound } from '../../errors.js';
import type { JobRow } from '../../store/schema.js';
import type { Store } from '../../store/store.js';
import type { AuditLog } from '../audit/audit.service.js';
import { beyondTicket, requireOwnCredential, requireUser, type Caller } from '../auth/caller.js';
import type { ProjectService } from '../projects/project.service.js';
import * as repo from './job.repo.js';

/*
 * Jobs: one run of a recipe, as the user who clicked Run (never the recipe's author). A job and its log
 * are its runner's alone: the log is output of code that held the runner's secrets, so even masked it is
 * not shown to other members. Starting a job needs a credential of the user's own: not a key an
 * administrator made for them, and not a job's ticket (code the platform runs does not start more code).
 */

export interface JobLimits {
  /** Upper bound for a job's run time; a run may ask for less. */
  timeoutSeconds: number;
}

export interface JobView {
  id: string;
  project: string;
  recipe: string;
  language: string;
  runner: string;
  state: string;
  exitCode: number | null;
  error: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  logBytes: number;
}

export type JobService = ReturnType<typeof createJobService>;

export function createJobService(deps: {
  store: Store;
  clock: Clock;
  audit: AuditLog;
  projects: ProjectService;
  limits: JobLimits;
  /** Tells the local runner that a job is waiting (others find it by polling). */
  onQueued?: () => void;
}) {
  const { store, clock, audit, projects, limits } = deps;
  const db = store.db;

  const view = (j: JobRow, project: string, runner: string): JobView => ({
    id: j.id,
    project,
    recipe: j.recipe_name,
    language: j.language,
    runner,
    state: j.state,
    exitCode: j.exit_code,
    error: j.error,
    createdAt: Number(j.created_at),
    startedAt: j.started_at === null ? null : Number(j.started_at),
    finishedAt: j.finished_at === null ? null : Number(j.finished_at),
    logBytes: Number(j.log_bytes),
  });

  /** The caller's own job, or NotFound (another user's job does not exist for them). */
  async function ownJob(caller: Caller, id: string) {
    const me = requireUser(caller);
    const j = await db
      .selectFrom('jobs')
      .innerJoin('projects', 'projects.id', 'jobs.project_id')
      .selectAll('jobs')
      .select('projects.key as project_key')
      .where('jobs.id', '=', id)
      .executeTakeFirst();
    if (!j || j.runner_id !== me.user.id) throw new NotFound(`job ${JSON.stringify(id)} does not exist`);
    return { me, job: j };
  }

  return {
    async run(
      caller: Caller,
      projectKey: string,
      recipeName: string,
      opts: { timeoutSeconds?: number | undefined } = {},
    ): Promise<JobView> {
      const me = requireOwnCredential(caller, 'running code as you');
      // The auth hook refuses tickets on the route; this keeps the service shut too.
      if (me.source === 'TICKET') throw beyondTicket('start jobs', me.ticket);
      const { project } = await projects.membership(caller, projectKey, 'contributor');
      const recipe = await projects.getRecipe(caller, projectKey, recipeName);
      const timeoutSeconds = opts.timeoutSeconds ?? limits.timeoutSeconds;
      if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > limits.timeoutSeconds)
        throw new Invalid(`timeoutSeconds must be a whole number from 1 to ${limits.timeoutSeconds}`);
      const now = clock.now();
      const id = newId();
      const row = await store.transaction(async (trx) => {
        const recipeRow = await trx
          .selectFrom('recipes')
          .select('id')
          .where('project_id', '=', project.id)
          .where('name', '=', recipe.name)
          .executeTakeFirst();
        await trx
          .insertInto('jobs')
          .values({
            id,
            project_id: project.id,
            recipe_id: recipeRow?.id ?? null,
            recipe_name: recipe.name,
            runner_id: me.user.id,
            language: recipe.language,
            code: recipe.code,
            state: 'queued',
            exit_code: null,
            error: null,
            timeout_ms: timeoutSeconds * 1000,
            created_at: now,
            started_at: null,
            finished_at: null,
            cancel_requested_at: null,
            claimed_by: null,
            heartbeat_at: null,
            log_bytes: 0,
            log_chunks: 0,
          })
          .execute();
        await audit.record(trx, caller, [
          { action: 'job.started', detail: { job: id, project: projectKey, recipe: recipe.name } },
        ]);
        return (await repo.findJob(trx, id))!;
      });
      deps.onQueued?.();
      return view(row, projectKey, me.user.login);
    },

    async get(caller: Caller, id: string): Promise<JobView> {
      const { me, job } = await ownJob(caller, id);
      return view(job, job.project_key, me.user.login);
    },

    async list(caller: Caller, opts: { project?: string | undefined; limit: number }): Promise<JobView[]> {
      const me = requireUser(caller);
      let projectId: string | undefined;
      if (opts.project) projectId = (await projects.membership(caller, opts.project, 'reader')).project.id;
      const rows = await repo.listJobsOfRunner(db, me.user.id, { projectId, limit: opts.limit });
      return rows.map((j) => view(j, j.project_key, me.user.login));
    },

    /** The job's log after `afterSeq` (masked when it was written), with the job's current state. */
    async log(caller: Caller, id: string, opts: { afterSeq: number; limit: number }) {
      const { me, job } = await ownJob(caller, id);
      const chunks = await repo.readLog(db, id, opts.afterSeq, opts.limit);
      return {
        job: view(job, job.project_key, me.user.login),
        chunks: chunks.map((c) => ({ seq: c.seq, stream: c.stream, at: Number(c.at), text: c.text })),
      };
    },

    /** Cancels a queued job at once, or asks the replica running it to stop it. */
    async cancel(caller: Caller, id: string): Promise<JobView> {
      const { me, job } = await ownJob(caller, id);
      if (repo.FINISHED.includes(job.state)) return view(job, job.project_key, me.user.login);
      const now = clock.now();
      await store.transaction(async (trx) => {
        await trx
          .updateTable('jobs')
          .set({ cancel_requested_at: now })
          .where('id', '=', id)
          .where('cancel_requested_at', 'is', null)
          .execute();
        if (job.state === 'queued')
          await repo.finishJob(trx, id, {
            state: 'cancelled',
            exitCode: null,
            error: 'cancelled before it started',
            at: now,
          });
        await audit.record(trx, caller, [{ action: 'job.cancelled', detail: { job: id } }]);
      });
      const after = (await ownJob(caller, id)).job;
      return view(after, after.project_key, me.user.login);
    },
  };
}
