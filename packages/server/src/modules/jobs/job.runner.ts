import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { JobsConfig } from '../../config.js';
import { newId } from '../../crypto/index.js';
import {
  ticketLifetimeMs,
  type CodeOutcome,
  type CodeRunner,
  type PluginCode,
  type RunningCode,
} from '../../execution/code-runner.js';
import { killLeftoverGroup } from '../../execution/process-tree.js';
import type { JobRow, RecipeLanguage } from '../../store/schema.js';
import type { Store } from '../../store/store.js';
import type { IssuedTicket, TicketService } from '../tickets/ticket.service.js';
import type { JobSlot, QueuedJob } from './job.service.js';
import * as repo from './job.repo.js';
import type { LogChunk } from './job.repo.js';

/*
 * Runs queued jobs on this replica. A job is claimed atomically in the store and handed to the code
 * runner (execution/), which runs it in the sandbox as its runner, with a ticket bound to it, and masks
 * its output; this keeps the job's state, batches its log into the store, and beats its heart so that
 * any replica can fail a job whose server died.
 */

const POLL_MS = 250;
/** A replica that misses this many heartbeats in a row is taken for dead, and its jobs failed. */
const MISSED_BEATS = 6;
const FLUSH_MS = 200;
const FLUSH_BYTES = 64 * 1024;
const STOPPED = 'the server stopped while the job ran';

export interface JobRunnerDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  config: JobsConfig;
  tickets: Pick<TicketService, 'issue' | 'revokeForJob'>;
  code: Pick<CodeRunner, 'start'>;
  /** Resolves a plugin recipe's run for its runner: files, config with their own credentials. */
  plugins: { resolve(userId: string, code: string): Promise<PluginCode & { language: RecipeLanguage }> };
}

export function createJobRunner(deps: JobRunnerDeps) {
  const { store, clock, logger, config } = deps;
  const replicaId = newId();
  const heartbeatMs = config.heartbeatSeconds * 1000;
  const running = new Map<string, RunningCode>();
  let timer: NodeJS.Timeout | undefined;
  let beat: NodeJS.Timeout | undefined;
  let stopping = false;
  let polling = false;
  const active: Promise<void>[] = [];

  /** A store failure belongs to an outage, logged when it begins and ends (store/outage-log.ts). */
  const logFailure = (e: unknown, fields: object, message: string) => {
    if (!store.health.failed(e)) logger.error({ err: e, ...fields }, message);
  };

  async function poll(): Promise<void> {
    if (polling || stopping) return;
    polling = true;
    try {
      // Jobs being prepared count too: `active` holds every job this replica has claimed and not ended.
      while (active.length < config.concurrency && !stopping) {
        const job = await repo.claimNextJob(store.db, replicaId, clock.now());
        if (!job) break;
        track(() => job.id, execute(job));
      }
      const cancelled = await repo.cancelRequestedAmong(store.db, [...running.keys()]);
      for (const id of cancelled) running.get(id)?.stop('cancelled', 'cancelled by its runner');
    } catch (e) {
      logFailure(e, {}, 'job polling failed');
    } finally {
      polling = false;
    }
  }

  /** Counts a job among this replica's until it has ended. */
  function track(id: () => string | undefined, run: Promise<void>): void {
    const p = run.catch((e: unknown) => logFailure(e, { job: id() }, 'job runner failed'));
    active.push(p);
    void p.finally(() => active.splice(active.indexOf(p), 1));
  }

  /** Fails jobs whose replica stopped beating (or, on SQLite, any left running by a previous process). */
  async function sweep(all: boolean): Promise<void> {
    const now = clock.now();
    const stale = await repo.listStaleRunning(
      store.db,
      all ? Number.MAX_SAFE_INTEGER : now - MISSED_BEATS * heartbeatMs,
    );
    for (const job of stale) {
      if (running.has(job.id)) continue;
      // Its sandbox dies with its server; a plain process (COFFER_SANDBOX=off) may have outlived it.
      if (job.host === hostname() && job.pid && job.pid_started) {
        const killed = killLeftoverGroup(Number(job.pid), job.pid_started);
        if (killed > 0)
          logger.warn({ job: job.id, killed }, 'stopped processes a stopped server left running');
      }
      const error = 'the server running this job stopped before it finished';
      await store.transaction(async (trx) => {
        if (await repo.finishJob(trx, job.id, { state: 'failed', exitCode: null, error, at: now }))
          await repo.appendLog(
            trx,
            job.id,
            [{ stream: 'system', at: now, text: `Job failed: ${error}.\n` }],
            job.log_chunks,
          );
      });
      await deps.tickets.revokeForJob(job.id);
      logger.warn({ job: job.id }, 'marked a job failed: its server stopped');
    }
  }

  async function execute(job: JobRow, queued?: QueuedJob, ticket?: IssuedTicket): Promise<void> {
    const started = clock.now();
    let seq = Number(job.log_chunks);
    const pending: LogChunk[] = [];
    let pendingBytes = 0;
    let flushing = Promise.resolve();
    const flush = () => {
      const batch = pending.splice(0);
      pendingBytes = 0;
      if (batch.length === 0) return flushing;
      const first = seq;
      seq += batch.length;
      flushing = flushing.then(() =>
        store
          .transaction((trx) => repo.appendLog(trx, job.id, batch, first))
          .catch((e: unknown) => logFailure(e, { job: job.id }, 'could not store job log')),
      );
      return flushing;
    };
    const emit = (stream: LogChunk['stream'], text: string) => {
      if (!text) return;
      pending.push({ stream, at: clock.now(), text });
      pendingBytes += text.length;
      if (pendingBytes >= FLUSH_BYTES) void flush();
    };
    const flushTimer = setInterval(() => void flush(), FLUSH_MS);

    emit(
      'system',
      job.plugin_id
        ? `Running recipe ${job.recipe_name} of plugin ${job.plugin_id} (${job.plugin_recipe}, job ${job.id}).\n`
        : `Running ${job.language} recipe ${job.recipe_name} (job ${job.id}).\n`,
    );
    let end: CodeOutcome;
    try {
      const who = queued ?? (await repo.projectAndRunnerOf(store.db, job.id));
      // Resolved here, where it runs: the runner's credentials are opened for this run only.
      const plugin = job.plugin_id ? await deps.plugins.resolve(job.runner_id, job.code) : undefined;
      const run = deps.code.start({
        plugin,
        user: { id: job.runner_id, login: who.runnerLogin },
        project: { id: job.project_id, key: who.projectKey },
        jobId: job.id,
        ticket,
        language: plugin?.language ?? job.language,
        code: job.code,
        env: { COFFER_JOB_ID: job.id },
        timeoutMs: Number(job.timeout_ms),
        maxOutputBytes: config.maxLogBytes,
        output: emit,
        started: (proc) =>
          void repo
            .recordProcess(store.db, job.id, proc)
            .catch((e: unknown) => logFailure(e, { job: job.id }, 'could not record job process')),
      });
      running.set(job.id, run);
      // stop() came while this job was being claimed: stop it now.
      if (stopping) run.stop('failed', STOPPED);
      end = await run.done;
    } catch (e) {
      end = { state: 'failed', exitCode: null, error: e instanceof Error ? e.message : String(e) };
    } finally {
      running.delete(job.id);
      clearInterval(flushTimer);
    }
    const seconds = ((clock.now() - started) / 1000).toFixed(1);
    emit(
      'system',
      `Job ${end.state.replace('_', ' ')}${end.error ? `: ${end.error}` : ''} (${seconds} s).\n`,
    );
    await flush();
    await repo.finishJob(store.db, job.id, { ...end, at: clock.now() });
    logger.info({ job: job.id, state: end.state, exitCode: end.exitCode }, 'job finished');
  }

  return {
    replicaId,

    async start(): Promise<void> {
      // One SQLite store has one server: whatever it left running died with it.
      await sweep(store.kind === 'sqlite');
      // Every replica watches for dead ones, including those that run no jobs themselves.
      beat = setInterval(() => {
        void repo.heartbeat(store.db, [...running.keys()], clock.now()).catch(() => undefined);
        void sweep(false).catch((e: unknown) => logFailure(e, {}, 'job sweep failed'));
      }, heartbeatMs);
      if (!config.enabled) return;
      timer = setInterval(() => void poll(), POLL_MS);
      void poll();
    },

    /** A place for a job this replica is queueing itself, taken now so concurrency holds. */
    reserve(): JobSlot | undefined {
      if (!config.enabled || !timer || stopping || active.length >= config.concurrency) return undefined;
      // The slot counts from now; it ends with the job run in it, or at once if released unused.
      let fill!: (run: Promise<void>) => void;
      const slot = new Promise<void>((resolve) => (fill = resolve));
      let jobId: string | undefined;
      let ticket: IssuedTicket | undefined;
      track(() => jobId, slot);
      return {
        replicaId,
        prepareIn: async (trx, job) => {
          ticket = await deps.tickets.issue(
            job.runnerId,
            { jobId: job.id, projectId: job.projectId, ttlMs: ticketLifetimeMs(job.timeoutMs) },
            trx,
          );
        },
        run: (job, queued) => {
          jobId = job.id;
          fill(execute(job, queued, ticket));
        },
        release: () => fill(Promise.resolve()),
      };
    },

    /** A job was queued: look now rather than at the next poll. */
    wake(): void {
      if (config.enabled && timer) void poll();
    },

    /** Stops taking jobs and cancels the running ones; waits for them to be recorded. */
    async stop(): Promise<void> {
      stopping = true;
      clearInterval(timer);
      clearInterval(beat);
      // A poll in flight may still claim a job: let it, so that job is in `active` and gets stopped too.
      while (polling) await new Promise((r) => setTimeout(r, 10));
      for (const r of running.values()) r.stop('failed', STOPPED);
      await Promise.allSettled([...active]);
    },
  };
}

export type JobRunner = ReturnType<typeof createJobRunner>;
