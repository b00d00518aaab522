import type { Job, JobLogChunk } from '@coffer/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { formatTime, shortJobId } from '../format';
import { useCall } from '../session';
import { FormError } from './form-error';

const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);
const POLL_MS = 500;

/**
 * A job's log, followed live: polls for chunks after the last one seen until the job has finished.
 * The server masks the runner's secret values before storing the log, so what arrives here is safe
 * to show. Works for any job of the signed-in user, started here or elsewhere.
 */
export function JobLog({
  jobId,
  onFinished,
  onState,
  level = 3,
}: {
  jobId: string;
  onFinished?(job: Job): void;
  /** Every state read, so the page can tell a job that is still starting (queued) from one that runs. */
  onState?(job: Job): void;
  /** The heading's level, one below the section it is shown in. */
  level?: 2 | 3;
}) {
  const call = useCall();
  const [job, setJob] = useState<Job | null>(null);
  const [chunks, setChunks] = useState<JobLogChunk[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const end = useRef<HTMLDivElement>(null);
  // The poll outlives the render that started it: it calls the page's latest callbacks, not the first.
  const onFinishedRef = useRef(onFinished);
  const onStateRef = useRef(onState);
  onFinishedRef.current = onFinished;
  onStateRef.current = onState;

  useEffect(() => {
    let stopped = false;
    let after: number | undefined;
    setChunks([]);
    setJob(null);
    async function tick() {
      try {
        const r = await call(() => api.jobLog(jobId, after));
        if (stopped) return;
        if (r.chunks.length) {
          after = r.chunks[r.chunks.length - 1]!.seq;
          setChunks((c) => [...c, ...r.chunks]);
        }
        setJob(r.job);
        onStateRef.current?.(r.job);
        if (FINISHED.has(r.job.state) && r.chunks.length === 0) {
          onFinishedRef.current?.(r.job);
          return;
        }
        setTimeout(() => void tick(), r.chunks.length ? 0 : POLL_MS);
      } catch (e) {
        if (!stopped) setError(messageOf(e));
      }
    }
    void tick();
    return () => {
      stopped = true;
    };
  }, [jobId]);

  useEffect(() => end.current?.scrollIntoView({ block: 'nearest' }), [chunks.length]);

  async function cancel() {
    setCancelling(true);
    try {
      const j = await call(() => api.cancelJob(jobId));
      setJob(j);
      onStateRef.current?.(j);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setCancelling(false);
    }
  }

  const running = job && !FINISHED.has(job.state);
  const Heading = level === 2 ? 'h2' : 'h3';
  // The runner's message often says the exit code already ("exited with code 1"): say it once.
  const exitCode =
    job && job.exitCode !== null && !job.error?.includes(`code ${job.exitCode}`) ? job.exitCode : null;
  return (
    <section class="job" aria-labelledby={`job-${jobId}`}>
      <div class="card-head">
        <Heading id={`job-${jobId}`}>
          Job <code>{shortJobId(jobId)}</code>{' '}
          {job && (
            <span class={`state state-${job.state}`} role="status">
              {job.state.replace('_', ' ')}
            </span>
          )}
        </Heading>
        {running && (
          <button type="button" class="danger" onClick={() => void cancel()} disabled={cancelling}>
            Cancel
          </button>
        )}
      </div>
      {job && (
        <p class="muted small">
          Ran as {job.runner}; queued {formatTime(job.createdAt)}
          {job.finishedAt !== null && `, finished ${formatTime(job.finishedAt)}`}
          {exitCode !== null && `, exit code ${exitCode}`}
          {job.error && ` — ${job.error}`}
        </p>
      )}
      <FormError message={error} />
      <pre class="log" aria-label="Job log" aria-live="polite" tabIndex={0}>
        {chunks.map((c) => (
          <span key={c.seq} class={`log-${c.stream}`}>
            {c.text}
          </span>
        ))}
        <div ref={end} />
      </pre>
    </section>
  );
}
