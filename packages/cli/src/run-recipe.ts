import { CofferApiError, CofferUnreachable, type CofferClient, type Job } from '@coffer/client';

/*
 * `coffer run`: a recipe run from a terminal, as the user whose API key the environment names (the
 * same discovery as recipes: DKU_DSS_URL + DKU_API_KEY, or ~/.dataiku/config.json). The job runs on the
 * server exactly as from the web UI; this only starts it, follows its masked log and reports its end.
 * Ctrl-C cancels the job rather than leaving it running unseen.
 */

const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);
const POLL_MS = 250;

export interface RunOptions {
  timeoutSeconds?: number;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

/** Runs the recipe and follows it; answers the job at its end. */
export async function runAndFollow(
  client: CofferClient,
  project: string,
  recipe: string,
  opts: RunOptions,
): Promise<Job> {
  const started = await client.runRecipe(
    project,
    recipe,
    opts.timeoutSeconds ? { timeoutSeconds: opts.timeoutSeconds } : {},
  );
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
