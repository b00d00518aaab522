import { ApprovalRequired, type JobState } from '@coffer/client';
import { useRef, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { useCall, useSession } from '../session';
import { ApprovalDialog } from './approval-dialog';
import { JobLog } from './job-log';

/** The status line's class once a job has finished. */
const ENDED_CLASS: Partial<Record<JobState, string>> = {
  succeeded: 'success',
  failed: 'error',
  timed_out: 'error',
  cancelled: 'muted',
};

/**
 * Running a recipe, for code and plugin recipes alike: `prepare` (save what is on screen, check it can
 * run) first, so what runs is what is on screen; then the run. When someone else changed the recipe
 * since you last ran it, the run waits for your approval of that revision (ADR 0014).
 *
 * Run is refused while this person's last run of the recipe is starting (the request is under way, or
 * the job is still queued): a double click, or an impatient second click, would otherwise start the same
 * code twice with their credentials. Once it runs, another run may start; every run keeps its own log and
 * Cancel, newest first, so a second run never hides a first one that is still going.
 */
export function useRecipeRun(
  key: string,
  name: string,
  opts: {
    /** Runs before the run; false stops it (and says why itself). */
    prepare(): Promise<boolean>;
    /** After an approved run starts: the page may not have had that revision loaded. */
    reload(): Promise<void>;
  },
) {
  const call = useCall();
  const { session } = useSession();
  const [status, setStatusText] = useState<string | null>(null);
  // How the status line reads: a job that failed, timed out or was cancelled is not shown as a success.
  const [statusClass, setStatusClass] = useState('success');
  const setStatus = (s: string | null) => {
    setStatusText(s);
    setStatusClass('success');
  };
  const [error, setError] = useState<string | null>(null);
  /** Jobs started here, newest first, with the last state each log reported. */
  const [runs, setRuns] = useState<{ id: string; state: JobState }[]>([]);
  const [busy, setBusy] = useState(false);
  // Set at once, not on the next render as `busy` is: a second click in the same frame is refused too.
  const starting = useRef(false);
  const latestId = useRef<string | null>(null);
  const [approval, setApproval] = useState<ApprovalRequired | null>(null);
  const latest = runs[0];
  const latestStarting = latest?.state === 'queued';

  const setState = (id: string, state: JobState) =>
    setRuns((rs) =>
      rs.some((r) => r.id === id && r.state !== state)
        ? rs.map((r) => (r.id === id ? { id, state } : r))
        : rs,
    );

  async function run(approvedRevision?: number) {
    if (starting.current || latestStarting) return;
    starting.current = true;
    setBusy(true);
    setError(null);
    try {
      if (!(await opts.prepare())) return;
      const job = await call(() =>
        api.runRecipe(key, name, approvedRevision === undefined ? {} : { approvedRevision }),
      );
      setApproval(null);
      latestId.current = job.id;
      setRuns((rs) => [{ id: job.id, state: job.state }, ...rs]);
      setStatus(`Running revision ${job.revision ?? '?'} as ${session.user.login}…`);
      if (approvedRevision !== undefined) await opts.reload();
    } catch (e) {
      // Asked again after approving means the recipe changed meanwhile: the dialog shows the new diff.
      if (e instanceof ApprovalRequired) setApproval(e);
      else {
        setApproval(null);
        setError(messageOf(e));
      }
    } finally {
      starting.current = false;
      setBusy(false);
    }
  }

  /** The approval dialog while one is asked, and the job's live log once a run started. */
  const output = (
    <>
      {approval && (
        <ApprovalDialog
          recipe={name}
          approval={approval}
          busy={busy}
          onConfirm={() => void run(approval.revision)}
          onCancel={() => {
            setApproval(null);
            setStatus('Not run: you did not approve the changes.');
          }}
        />
      )}
      {runs.length > 0 && (
        <div class="job-runs">
          {runs.map((r) => (
            <div class="card" key={r.id}>
              <JobLog
                jobId={r.id}
                onState={(j) => setState(r.id, j.state)}
                onFinished={(j) => {
                  setState(r.id, j.state);
                  // The status line speaks of the latest run; an older one's end shows in its own log.
                  if (r.id !== latestId.current) return;
                  setStatusText(`Job ${j.state.replace('_', ' ')}.`);
                  setStatusClass(ENDED_CLASS[j.state] ?? 'muted');
                }}
              />
            </div>
          ))}
        </div>
      )}
    </>
  );

  return {
    run,
    busy,
    /** Whether Run may start another run now. */
    canRun: !busy && !latestStarting && approval === null,
    approval,
    status,
    statusClass,
    setStatus,
    error,
    setError,
    output,
  };
}
