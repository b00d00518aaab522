import type { ActivityEvent } from '@coffer/client';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { describeAction, describeSource, formatTime } from '../format';
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
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
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
                <td>{formatTime(e.at)}</td>
                <td>{describeAction(e.action)}</td>
                <td class="names">{e.secretNames.join(', ')}</td>
                <td>{e.actorLogin ?? '—'}</td>
                <td>{describeSource(e.authSource, e.credentialId, keyLabels, e.jobId)}</td>
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
