import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { JobsConfig } from '../config.js';
import { newId } from '../crypto/index.js';
import * as repo from '../modules/jobs/job.repo.js';
import type { LogChunk } from '../modules/jobs/job.repo.js';
import type { SecretService } from '../modules/secrets/secret.service.js';
import type { TicketService } from '../modules/tickets/ticket.service.js';
import type { JobRow, JobState } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { createLogMasker } from './log-masker.js';
import { killLeftoverGroup, processStartTime } from './process-group.js';
import { recipeFile, type Runtimes } from './runtimes.js';

/*
 * Runs queued jobs on this replica. A job is claimed atomically in the store, gets a fresh ticket bound
 * to it and its runner, and runs in a fresh directory with an environment built from nothing (never the
 * server's own: no master key, no database URL). Everything it prints passes through a masker holding
 * the runner's secret values before it is stored or shown. The ticket is revoked and the directory
 * removed when it ends, however it ends. Heartbeats let any replica fail a job whose server died.
 */

const POLL_MS = 250;
/** A replica that misses this many heartbeats in a row is taken for dead, and its jobs failed. */
const MISSED_BEATS = 6;
const FLUSH_MS = 200;
const FLUSH_BYTES = 64 * 1024;
const KILL_GRACE_MS = 2_000;
const STOPPED = 'the server stopped while the job ran';
/** The ticket outlives the time limit a little, so the final calls of a job at its limit still work. */
const TICKET_MARGIN_MS = 60_000;

export interface Backend {
  host: string;
  port: number;
  protocol: 'http' | 'https';
}

export interface JobRunnerDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  config: JobsConfig;
  secrets: Pick<SecretService, 'valuesForMasking'>;
  tickets: TicketService;
  runtimes: Runtimes;
  /** Where job code reaches this server; known only once it listens. */
  backend: () => Backend;
}

interface Running {
  id: string;
  stop(state: JobState, error: string): void;
}

export function createJobRunner(deps: JobRunnerDeps) {
  const { store, clock, logger, config } = deps;
  const replicaId = newId();
  const runAs = config.runAs ? lookupAccount(config.runAs) : undefined;
  const heartbeatMs = config.heartbeatSeconds * 1000;
  const running = new Map<string, Running>();
  let timer: NodeJS.Timeout | undefined;
  let beat: NodeJS.Timeout | undefined;
  let stopping = false;
  let polling = false;
  const finished: Promise<void>[] = [];

  async function poll(): Promise<void> {
    if (polling || stopping) return;
    polling = true;
    try {
      while (running.size < config.concurrency && !stopping) {
        const job = await repo.claimNextJob(store.db, replicaId, clock.now());
        if (!job) break;
        const p = execute(job).catch((e: unknown) =>
          logger.error({ err: e, job: job.id }, 'job runner failed'),
        );
        finished.push(p);
        void p.finally(() => finished.splice(finished.indexOf(p), 1));
      }
      const cancelled = await repo.cancelRequestedAmong(store.db, [...running.keys()]);
      for (const id of cancelled) running.get(id)?.stop('cancelled', 'cancelled by its runner');
    } catch (e) {
      logger.error({ err: e }, 'job polling failed');
    } finally {
      polling = false;
    }
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
      // Its processes are detached, so they may have outlived the server that started them.
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

  async function execute(job: JobRow): Promise<void> {
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
          .catch((e: unknown) => {
            logger.error({ err: e, job: job.id }, 'could not store job log');
          }),
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

    let workdir: string | undefined;
    let end: { state: JobState; exitCode: number | null; error: string | null };
    try {
      if (!runAs && process.getuid?.() === 0)
        throw new Error(
          'jobs are never run as root (their code could read the master key): the operator must set COFFER_JOB_USER to an unprivileged account',
        );
      const { ticket } = await deps.tickets.issue(job.runner_id, {
        jobId: job.id,
        projectId: job.project_id,
        ttlMs: Number(job.timeout_ms) + TICKET_MARGIN_MS,
      });
      const values = await deps.secrets.valuesForMasking(job.runner_id);
      mkdirSync(config.workRoot, { recursive: true, mode: 0o711 });
      // The job account must reach its own directory inside, but not list the others.
      if (runAs) chmodSync(config.workRoot, 0o711);
      workdir = mkdtempSync(path.join(config.workRoot, 'job-'));
      mkdirSync(path.join(workdir, 'tmp'));
      writeFileSync(path.join(workdir, recipeFile(job.language)), job.code);
      const launch = await deps.runtimes.prepare(job.language, workdir);
      if (runAs) chownTree(workdir, runAs);
      const b = deps.backend();
      const env: Record<string, string> = {
        PATH: '/usr/local/bin:/usr/bin:/bin',
        HOME: workdir,
        TMPDIR: path.join(workdir, 'tmp'),
        LANG: 'C.UTF-8',
        LC_ALL: 'C.UTF-8',
        DKU_API_TICKET: ticket,
        DKU_BACKEND_HOST: b.host,
        DKU_BACKEND_PORT: String(b.port),
        DKU_BACKEND_PROTOCOL: b.protocol,
        DKU_CURRENT_PROJECT_KEY: (await projectKeyOf(job)) ?? '',
        COFFER_JOB_ID: job.id,
        ...launch.env,
      };
      emit('system', `Running ${job.language} recipe ${job.recipe_name} (job ${job.id}).\n`);
      end = await runProcess(job, launch.command, launch.args, workdir, env, values, emit);
    } catch (e) {
      end = { state: 'failed', exitCode: null, error: e instanceof Error ? e.message : String(e) };
    } finally {
      clearInterval(flushTimer);
    }
    const seconds = ((clock.now() - started) / 1000).toFixed(1);
    emit(
      'system',
      `Job ${end.state.replace('_', ' ')}${end.error ? `: ${end.error}` : ''} (${seconds} s).\n`,
    );
    await flush();
    await repo.finishJob(store.db, job.id, { ...end, at: clock.now() });
    await deps.tickets.revokeForJob(job.id);
    if (workdir) rmSync(workdir, { recursive: true, force: true });
    logger.info({ job: job.id, state: end.state, exitCode: end.exitCode }, 'job finished');
  }

  async function projectKeyOf(job: JobRow): Promise<string | undefined> {
    const p = await store.db
      .selectFrom('projects')
      .select('key')
      .where('id', '=', job.project_id)
      .executeTakeFirst();
    return p?.key;
  }

  function runProcess(
    job: JobRow,
    command: string,
    args: string[],
    cwd: string,
    env: Record<string, string>,
    values: string[],
    emit: (stream: LogChunk['stream'], text: string) => void,
  ): Promise<{ state: JobState; exitCode: number | null; error: string | null }> {
    return new Promise((resolve) => {
      let outcome: { state: JobState; error: string } | undefined;
      let outBytes = 0;
      const child = spawn(command, args, {
        cwd,
        env,
        detached: true, // its own process group, so cancel and timeout stop everything it started
        stdio: ['ignore', 'pipe', 'pipe'],
        uid: runAs?.uid,
        gid: runAs?.gid,
      });
      const kill = (state: JobState, error: string) => {
        if (outcome) return;
        outcome = { state, error };
        const group = (signal: NodeJS.Signals) => {
          try {
            if (child.pid) process.kill(-child.pid, signal);
          } catch {
            // already gone
          }
        };
        group('SIGTERM');
        setTimeout(() => group('SIGKILL'), KILL_GRACE_MS).unref();
      };
      running.set(job.id, { id: job.id, stop: kill });
      // stop() came while this job was being prepared, before it could be signalled: stop it now.
      if (stopping) kill('failed', STOPPED);
      if (child.pid) {
        const proc = { host: hostname(), pid: child.pid, pidStarted: processStartTime(child.pid) ?? null };
        void repo
          .recordProcess(store.db, job.id, proc)
          .catch((e: unknown) => logger.error({ err: e, job: job.id }, 'could not record job process'));
      }
      const limit = setTimeout(
        () =>
          kill('timed_out', `stopped after its time limit of ${Math.round(Number(job.timeout_ms) / 1000)} s`),
        Number(job.timeout_ms),
      );

      const pipe = (stream: 'stdout' | 'stderr', source: NodeJS.ReadableStream) => {
        const masker = createLogMasker(values, { minLength: config.maskMinLength });
        const text = new StringDecoder('utf8');
        source.on('data', (chunk: Buffer) => {
          outBytes += chunk.length;
          if (outBytes > config.maxLogBytes) {
            kill('failed', `output limit of ${config.maxLogBytes} bytes exceeded`);
            return;
          }
          emit(stream, text.write(masker.push(chunk)));
        });
        source.on('end', () => emit(stream, text.write(masker.end()) + text.end()));
      };
      pipe('stdout', child.stdout!);
      pipe('stderr', child.stderr!);

      child.on('error', (e) => {
        clearTimeout(limit);
        running.delete(job.id);
        resolve({ state: 'failed', exitCode: null, error: `could not start ${command}: ${e.message}` });
      });
      child.on('close', (code, signal) => {
        clearTimeout(limit);
        running.delete(job.id);
        if (outcome) return resolve({ state: outcome.state, exitCode: code, error: outcome.error });
        if (code === 0) return resolve({ state: 'succeeded', exitCode: 0, error: null });
        resolve({
          state: 'failed',
          exitCode: code,
          error: signal ? `killed by signal ${signal}` : `exited with code ${code}`,
        });
      });
    });
  }

  return {
    replicaId,

    async start(): Promise<void> {
      // One SQLite store has one server: whatever it left running died with it.
      await sweep(store.kind === 'sqlite');
      // Every replica watches for dead ones, including those that run no jobs themselves.
      beat = setInterval(() => {
        void repo.heartbeat(store.db, [...running.keys()], clock.now()).catch(() => undefined);
        void sweep(false).catch((e: unknown) => logger.error({ err: e }, 'job sweep failed'));
      }, heartbeatMs);
      if (!config.enabled) return;
      timer = setInterval(() => void poll(), POLL_MS);
      void poll();
    },

    /** A job was queued here: look now rather than at the next poll. */
    wake(): void {
      if (config.enabled && timer) void poll();
    },

    /** Stops taking jobs and cancels the running ones; waits for them to be recorded. */
    async stop(): Promise<void> {
      stopping = true;
      clearInterval(timer);
      clearInterval(beat);
      // A poll in flight may still claim a job: let it, so that job is in `finished` and gets stopped too.
      while (polling) await new Promise((r) => setTimeout(r, 10));
      for (const r of running.values()) r.stop('failed', STOPPED);
      await Promise.allSettled([...finished]);
    },
  };
}

/** uid and gid of a local account, from /etc/passwd; a missing account is a configuration error. */
function lookupAccount(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined)
    throw new Error(`COFFER_JOB_USER=${name}: there is no such account on this machine`);
  return { uid: Number(uid), gid: Number(gid) };
}

function chownTree(dir: string, owner: { uid: number; gid: number }): void {
  chownSync(dir, owner.uid, owner.gid);
  mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  chownSync(path.join(dir, 'tmp'), owner.uid, owner.gid);
}

export type JobRunner = ReturnType<typeof createJobRunner>;
