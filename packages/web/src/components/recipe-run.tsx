import { ApprovalRequired, type JobState } from '@coffer/client';
import { useState } from 'preact/hooks';
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
  const [jobId, setJobId] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [approval, setApproval] = useState<ApprovalRequired | null>(null);

  async function run(approvedRevision?: number) {
    setBusy(true);
    setError(null);
    try {
      if (!(await opts.prepare())) return;
      const job = await call(() =>
        api.runRecipe(key, name, approvedRevision === undefined ? {} : { approvedRevision }),
      );
      setApproval(null);
      setJobId(job.id);
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
      {jobId && (
        <div class="card">
          <JobLog
            jobId={jobId}
            onFinished={(j) => {
              setStatusText(`Job ${j.state.replace('_', ' ')}.`);
              setStatusClass(ENDED_CLASS[j.state] ?? 'muted');
            }}
          />
        </div>
      )}
    </>
  );

  return { run, busy, approval, status, statusClass, setStatus, error, setError, output };
}
