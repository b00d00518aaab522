import type { RunningKernel } from '@coffer/client';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { formatTime } from '../format';
import { useCall } from '../session';
import { FormError } from './form-error';
import { notebookPage } from './notebooks-card';

/**
 * Running notebook kernels, to see and stop (docs/adr/0020): yours in a project (its page), or, for an
 * administrator, everyone's (the Administration page). Stopping ends the kernel and its ticket.
 */
export function RunningKernels({ project, all = false }: { project?: string; all?: boolean }) {
  const call = useCall();
  const [kernels, setKernels] = useState<RunningKernel[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const statusRef = useRef<HTMLParagraphElement>(null);

  const load = useCallback(async () => {
    try {
      const list = await call(() => (all ? api.admin.listKernels() : api.listKernels()));
      setKernels(project === undefined ? list : list.filter((k) => k.projectKey === project));
    } catch (e) {
      setError(messageOf(e));
    }
  }, [call, all, project]);
  useEffect(() => void load(), [load]);

  async function stop(k: RunningKernel) {
    setError(null);
    try {
      await call(() => api.stopKernel(k.sessionId));
      setStatus(`Stopped the kernel of ${k.notebook}${k.owner ? ` (${k.owner})` : ''}.`);
      statusRef.current?.focus();
      await load();
    } catch (e) {
      setError(messageOf(e));
    }
  }

  const title = all ? 'Running notebook kernels' : 'Your running kernels';
  return (
    <section class="card" aria-labelledby="running-kernels">
      <h2 id="running-kernels">{title}</h2>
      {kernels?.length === 0 && (
        <p class="empty">{all ? 'No kernel is running.' : 'You have no kernel running here.'}</p>
      )}
      {kernels && kernels.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Notebook</th>
              {project === undefined && <th scope="col">Project</th>}
              {all && <th scope="col">User</th>}
              <th scope="col">Last activity</th>
              <th scope="col">State</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {kernels.map((k) => (
              <tr key={k.sessionId}>
                <th scope="row">
                  <a href={notebookPage(k.projectKey, k.notebook)}>{k.notebook}</a>
                </th>
                {project === undefined && <td>{k.projectKey}</td>}
                {all && <td>{k.owner}</td>}
                <td>{formatTime(k.lastActivity)}</td>
                <td>{k.state}</td>
                <td class="row-actions">
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Stop the kernel of ${k.notebook}${k.owner ? ` (${k.owner})` : ''}`}
                    onClick={() => void stop(k)}
                  >
                    Stop
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <FormError message={error} />
      <p role="status" class="success" tabIndex={-1} ref={statusRef}>
        {status}
      </p>
    </section>
  );
}
