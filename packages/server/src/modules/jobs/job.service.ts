import type { Clock } from '../../clock.js';
import { newId } from '../../crypto/index.js';
import { ApprovalRequired, Conflict, Invalid, NotFound } from '../../errors.js';
import type { JobRow } from '../../store/schema.js';
import type { Db, Store } from '../../store/store.js';
import type { AuditLog } from '../audit/audit.service.js';
import { beyondTicket, requireOwnCredential, requireUser, type Caller } from '../auth/caller.js';
import type { ProjectService } from '../projects/project.service.js';
import { approvalProblem, codeDiff } from './approval.rules.js';
import * as repo from './job.repo.js';
import type { Missing } from '../plugins/plugin-run.js';

/*
 * Jobs: one run of a recipe, as the user who clicked Run (never the recipe's author). A job and its log
 * are its runner's alone: the log is output of code that held the runner's secrets, so even masked it is
 * not shown to other members. Starting a job needs a credential of the user's own: not a key an
 * administrator made for them, and not a job's ticket (code the platform runs does not start more code).
 * And it needs the runner's approval of the exact revision that runs when anyone else changed the code
 * since the runner last ran it (ADR 0014): a contributor must not be able to make a colleague's next
 * click send the colleague's secrets away unseen.
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
  /** The recipe revision the job runs; null for jobs queued before revisions were kept. */
  revision: number | null;
  state: string;
  exitCode: number | null;
  error: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  logBytes: number;
}

/** A job just queued, with what its run needs to know besides its row. */
export interface QueuedJob {
  id: string;
  projectKey: string;
  runnerLogin: string;
}

/** A free place in this replica's runner, taken before a job is queued so it is queued already claimed. */
export interface JobSlot {
  readonly replicaId: string;
  /**
   * Writes what the run needs with the job, in the transaction that queues it (its ticket), so the
   * run starts without another commit.
   */
  prepareIn(
    trx: Db,
    job: { id: string; runnerId: string; projectId: string; timeoutMs: number },
  ): Promise<void>;
  run(job: JobRow, queued: QueuedJob): void;
  release(): void;
}

/** This replica's job runner, as the service needs it. */
export interface LocalRunner {
  /** A slot when this replica runs jobs and has one free. */
  reserve(): JobSlot | undefined;
  /** A job was queued for any replica: look now rather than at the next poll. */
  wake(): void;
}

export type JobService = ReturnType<typeof createJobService>;

export function createJobService(deps: {
  store: Store;
  clock: Clock;
  audit: AuditLog;
  projects: Pick<ProjectService, 'membership' | 'recipeToRun' | 'recipeChanges'>;
  limits: JobLimits;
  /** What the caller lacks to run a plugin recipe (its code is the recipe's config): refused until none. */
  pluginReadiness: (caller: Caller, code: string) => Promise<Missing[]>;
  /** Tells the local runner that a job is waiting (others find it by polling). */
  runner?: LocalRunner;
}) {
  const { store, clock, audit, projects, limits } = deps;
  const db = store.db;

  const view = (j: JobRow, project: string, runner: string): JobView => ({
    id: j.id,
    project,
    recipe: j.recipe_name,
    language: j.language,
    runner,
    revision: j.recipe_revision,
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
    /**
     * Queues a run of the recipe's current revision as the caller. Refused with ApprovalRequired while
     * someone else changed the code since the caller last ran it, until the call approves that revision.
     */
    async run(
      caller: Caller,
      projectKey: string,
      recipeName: string,
      opts: { timeoutSeconds?: number | undefined; approvedRevision?: number | undefined } = {},
    ): Promise<JobView> {
      const me = requireOwnCredential(caller, 'running code as you');
      // The auth hook refuses tickets on the route; this keeps the service shut too.
      if (me.source === 'TICKET') throw beyondTicket('start jobs', me.ticket);
      const { project, recipe } = await projects.recipeToRun(caller, projectKey, recipeName);
      const timeoutSeconds = opts.timeoutSeconds ?? limits.timeoutSeconds;
      if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > limits.timeoutSeconds)
        throw new Invalid(`timeoutSeconds must be a whole number from 1 to ${limits.timeoutSeconds}`);
      const approved = opts.approvedRevision;
      if (
        approved !== undefined &&
        (!Number.isInteger(approved) || approved < 1 || approved > recipe.revision)
      )
        throw new Invalid(
          `approvedRevision ${approved} is not a revision of recipe ${recipe.name}: its current revision is ${recipe.revision}`,
        );
      // What the runner lacks first: approving a change they then cannot run would be for nothing.
      if (recipe.plugin) {
        const missing = await deps.pluginReadiness(caller, recipe.code);
        if (missing.length > 0)
          throw new Conflict(`The run did not start. ${missing.map((m) => m.message).join(' ')}`, {
            missing,
          });
      }
      // What runs is the revision read above, whatever is saved meanwhile: it is what was checked.
      const lastRun = await repo.lastRevisionRun(db, me.user.id, recipe.id);
      const { changes, before } = await projects.recipeChanges(
        caller,
        projectKey,
        recipe,
        lastRun,
        recipe.revision,
      );
      const problem = approvalProblem({
        runnerId: me.user.id,
        recipe: recipe.name,
        current: recipe.revision,
        lastRun,
        changes,
        approved,
      });
      if (problem)
        throw new ApprovalRequired(problem, {
          revision: recipe.revision,
          changes: changes.map((c) => ({ revision: c.revision, by: c.by, at: c.at })),
          diff: await codeDiff(recipe.name, before, recipe),
        });
      const now = clock.now();
      const id = newId();
      // With a slot free here, the job is queued claimed by this replica: it starts at once.
      const slot = deps.runner?.reserve();
      const row = await store
        .transaction(async (trx) => {
          await trx
            .insertInto('jobs')
            .values({
              id,
              project_id: project.id,
              recipe_id: recipe.id,
              recipe_name: recipe.name,
              recipe_revision: recipe.revision,
              runner_id: me.user.id,
              language: recipe.language,
              code: recipe.code,
              state: slot ? 'running' : 'queued',
              exit_code: null,
              error: null,
              timeout_ms: timeoutSeconds * 1000,
              created_at: now,
              started_at: slot ? now : null,
              finished_at: null,
              cancel_requested_at: null,
              claimed_by: slot?.replicaId ?? null,
              heartbeat_at: slot ? now : null,
              log_bytes: 0,
              log_chunks: 0,
              plugin_id: recipe.plugin?.id ?? null,
              plugin_recipe: recipe.plugin?.recipe ?? null,
            })
            .execute();
          const detail = {
            job: id,
            project: projectKey,
            recipe: recipe.name,
            revision: recipe.revision,
            ...(approved === undefined ? {} : { approvedRevision: approved }),
          };
          await audit.record(trx, caller, [{ action: 'job.started', detail }]);
          await slot?.prepareIn(trx, {
            id,
            runnerId: me.user.id,
            projectId: project.id,
            timeoutMs: timeoutSeconds * 1000,
          });
          return (await repo.findJob(trx, id))!;
        })
        .catch((e: unknown) => {
          slot?.release();
          throw e;
        });
      const queued = { id, projectKey, runnerLogin: me.user.login };
      if (slot) slot.run(row, queued);
      else deps.runner?.wake();
      return view(row, projectKey, me.user.login);
    },

    /** What the caller lacks to run a recipe (for a plugin recipe: credentials, secrets); ready when none. */
    async readiness(
      caller: Caller,
      projectKey: string,
      recipeName: string,
    ): Promise<{ ready: boolean; missing: Missing[] }> {
      const { recipe } = await projects.recipeToRun(caller, projectKey, recipeName);
      const missing = recipe.plugin ? await deps.pluginReadiness(caller, recipe.code) : [];
      return { ready: missing.length === 0, missing };
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
