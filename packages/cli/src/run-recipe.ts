import { createInterface } from 'node:readline';
import {
  ApprovalRequired,
  CofferApiError,
  CofferUnreachable,
  type CofferClient,
  type Job,
} from '@coffer/client';

/*
 * `coffer run`: a recipe run from a terminal, as the user whose API key the environment names (the
 * same discovery as recipes: DKU_DSS_URL + DKU_API_KEY, or ~/.dataiku/config.json). The job runs on the
 * server exactly as from the web UI; this only starts it, follows its masked log and reports its end.
 * Ctrl-C cancels the job rather than leaving it running unseen. When someone else changed the recipe
 * since you last ran it, the server refuses until you approve that revision (ADR 0014): this prints who
 * changed what and the diff, and asks at a terminal, or takes --approve-revision N without one.
 */

const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);
const POLL_MS = 250;

export interface RunOptions {
  timeoutSeconds?: number | undefined;
  /** The revision approved in advance (--approve-revision): it must be the one the server would run. */
  approvedRevision?: number | undefined;
  /** Asks the person at the terminal a yes/no question; absent when there is no terminal. */
  ask?: ((question: string) => Promise<boolean>) | undefined;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

/** The recipe was not run because its changes were not approved; the message says how to approve. */
export class NotApproved extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotApproved';
  }
}

/** Who changed what, then the diff, as the person deciding reads it. */
export function describeApproval(e: ApprovalRequired): string {
  const when = (at: number) =>
    new Date(at)
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ' UTC');
  const changes = e.changes.map((c) => `  revision ${c.revision} by ${c.by}, ${when(c.at)}\n`).join('');
  const diff = e.diff.endsWith('\n') || e.diff === '' ? e.diff : `${e.diff}\n`;
  return `coffer: ${e.message}\n${changes}\n${diff}\n`;
}

/**
 * Starts the run, getting the approval the server asks for: from --approve-revision, or from the person
 * at the terminal (asked again if the code changes once more meanwhile). Never approves by itself.
 */
async function start(client: CofferClient, project: string, recipe: string, opts: RunOptions): Promise<Job> {
  let approvedRevision = opts.approvedRevision;
  for (;;) {
    try {
      return await client.runRecipe(project, recipe, {
        ...(opts.timeoutSeconds ? { timeoutSeconds: opts.timeoutSeconds } : {}),
        ...(approvedRevision !== undefined ? { approvedRevision } : {}),
      });
    } catch (e) {
      if (!(e instanceof ApprovalRequired)) throw e;
      opts.err.write(describeApproval(e));
      const again = `coffer run ${project} ${recipe} --approve-revision ${e.revision}`;
      if (opts.approvedRevision !== undefined)
        throw new NotApproved(
          `not run: --approve-revision ${opts.approvedRevision} is not what would run. If you accept the code above, run: ${again}`,
        );
      if (!opts.ask)
        throw new NotApproved(
          `not run: someone else changed this recipe, and there is no terminal to ask you. Review the changes above; to run revision ${e.revision}, run: ${again}`,
        );
      if (!(await opts.ask(`Run revision ${e.revision}? [y/N] `)))
        throw new NotApproved(`not run: you did not approve revision ${e.revision}`);
      approvedRevision = e.revision;
    }
  }
}

/** Asks a yes/no question on the terminal; only "y" or "yes" is yes, and Ctrl-C is no. */
export function askOnTerminal(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  return new Promise<boolean>((resolve) => {
    rl.on('SIGINT', () => {
      process.stderr.write('\n');
      rl.close();
      resolve(false);
    });
    rl.question(question, (answer) => {
      rl.close();
      resolve(/^y(es)?$/i.test(answer.trim()));
    });
  });
}

/** Runs the recipe and follows it; answers the job at its end. */
export async function runAndFollow(
  client: CofferClient,
  project: string,
  recipe: string,
  opts: RunOptions,
): Promise<Job> {
  const started = await start(client, project, recipe, opts);
  let cancelling = false;
  const onInterrupt = () => {
    if (cancelling) return;
    cancelling = true;
    opts.err.write(`coffer: cancelling job ${started.id}…\n`);
    void client.cancelJob(started.id).catch(() => undefined);
  };
  process.on('SIGINT', onInterrupt);
  try {
    let after: number | undefined;
    for (;;) {
      const { job, chunks } = await client.jobLog(started.id, after);
      for (const c of chunks) {
        (c.stream === 'stdout' ? opts.out : opts.err).write(c.text);
        after = c.seq;
      }
      // The log is complete once the job has finished and a read brings nothing more.
      if (FINISHED.has(job.state) && chunks.length === 0) return job;
      if (chunks.length === 0) await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/** The command's exit status for a finished job: the job's own code where it has one. */
export function exitStatusOf(job: Job): number {
  if (job.state === 'succeeded') return 0;
  if (job.state === 'cancelled') return 130;
  if (job.exitCode !== null && job.exitCode > 0 && job.exitCode < 126) return job.exitCode;
  return 1;
}

export function describeClientError(err: unknown): string | undefined {
  if (err instanceof CofferApiError) return `the server refused (${err.status}): ${err.message}`;
  if (err instanceof CofferUnreachable) return err.message;
  return undefined;
}
