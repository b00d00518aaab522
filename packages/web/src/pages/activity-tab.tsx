import type { ActivityEvent } from '@coffer/client';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { FormError } from '../components/form-error';
import { notebookPage } from '../components/notebooks-card';
import { BreakableName } from '../components/breakable-name';
import { describeAction, describeSource, formatTimeToSecond, shortJobId } from '../format';
import { useCall } from '../session';

const PAGE = 50;

/** Who read or changed your secrets, when, and with which credential: newest first. */
export function ActivityTab() {
  const call = useCall();
  const [events, setEvents] = useState<ActivityEvent[] | null>(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [keyLabels, setKeyLabels] = useState<ReadonlyMap<string, string>>(new Map());

  const load = useCallback(
    async (before?: number) => {
      try {
        const [page, keys] = await Promise.all([
          call(() => api.activity({ limit: PAGE, before })),
          call(() => api.listApiKeys()),
        ]);
        setKeyLabels(new Map(keys.map((k) => [k.id, k.label])));
        setEvents((prev) => (before && prev ? [...prev, ...page] : page));
        setMore(page.length === PAGE);
      } catch (e) {
        setError(messageOf(e));
      }
    },
    [call],
  );
  useEffect(() => void load(), [load]);

  return (
    <section class="card" aria-labelledby="activity">
      <div class="card-head">
        <h2 id="activity">Activity</h2>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <p class="muted">Every read of your credentials by code, and every change to them.</p>
      <FormError message={error} />
      {events && events.length === 0 && <p class="empty">Nothing yet.</p>}
      {events && events.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Credentials</th>
              <th scope="col">By</th>
              <th scope="col">How</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.id}>
                <td>{formatTimeToSecond(e.at)}</td>
                <td>{describeAction(e.action)}</td>
                <td class="names">
                  <BreakableName name={e.secretNames.join(', ')} />
                </td>
                <td>{e.actorLogin ?? '—'}</td>
                <td>
                  <How event={e} keyLabels={keyLabels} />
                </td>
                <td>{e.ip ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {more && events && (
        <button type="button" onClick={() => void load(events[events.length - 1]!.id)}>
          Show older
        </button>
      )}
    </section>
  );
}

/**
 * How it was done. Code the platform ran says where it ran: a job links to its page, a notebook's
 * kernel to the notebook's page (where it is now, if it was renamed), each with its project.
 */
function How({ event: e, keyLabels }: { event: ActivityEvent; keyLabels: ReadonlyMap<string, string> }) {
  const project = e.projectKey && <> in project {e.projectKey}</>;
  if (e.authSource === 'TICKET' && e.notebook) {
    const { name, current } = e.notebook;
    const shown = name ?? current?.name ?? 'a deleted notebook';
    return (
      <>
        notebook {current ? <a href={notebookPage(current.projectKey, current.name)}>{shown}</a> : shown}
        {current && name !== null && current.name !== name && <> (now {current.name})</>}
        {project}
      </>
    );
  }
  if (e.authSource === 'TICKET' && e.job) {
    const { id, projectKey, recipe, plugin } = e.job;
    const recipePage = `/projects/${encodeURIComponent(projectKey)}/recipes/${encodeURIComponent(recipe)}`;
    return (
      <>
        job{' '}
        <a href={`/jobs/${encodeURIComponent(id)}`}>
          <code>{shortJobId(id)}</code>
        </a>{' '}
        of {plugin ? 'plugin recipe' : 'recipe'} <a href={recipePage}>{recipe}</a>
        {plugin && <> ({plugin.id})</>} in project{' '}
        <a href={`/projects/${encodeURIComponent(projectKey)}`}>{projectKey}</a>
      </>
    );
  }
  // A job no longer kept (its project was deleted, say): its id still tells runs apart.
  if (e.authSource === 'TICKET' && e.jobId)
    return (
      <>
        job <code>{shortJobId(e.jobId)}</code>
        {project}
      </>
    );
  return <>{describeSource(e.authSource, e.credentialId, keyLabels, e.jobId)}</>;
}
