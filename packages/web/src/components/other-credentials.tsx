import type { SecretChange, SecretList } from '@coffer/client';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, isConflict, isUnauthenticated, messageOf } from '../api';
import { useFocusAfterRender } from '../focus';
import { formatTime } from '../format';
import { usePending } from '../pending';
import { useCall } from '../session';
import { BreakableName } from './breakable-name';
import { FormError } from './form-error';
import { SecretDialog, type TakenBy } from './secret-dialog';

type Editing =
  { mode: 'add' } | { mode: 'replace'; name: string } | { mode: 'edit'; name: string; value: string };

type Notice = { kind: 'saved' | 'error' | 'conflict' | 'session'; text: string } | null;

const MASK = '••••••••';

/**
 * The seed's "Other credentials": stored secrets (names and dates, values masked) plus the person's
 * unsaved changes. Add / Replace / Delete only change the page; Save sends them all in one atomic batch
 * with the revision the page was showing, so a save based on a stale view is refused, not merged.
 */
export function OtherCredentials() {
  const call = useCall();
  const pending = usePending();
  const [list, setList] = useState<SecretList | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [editing, setEditing] = useState<Editing | null>(null);
  const [saving, setSaving] = useState(false);
  const [notice, setNotice] = useState<Notice>(null);
  const focusAfter = useFocusAfterRender();

  const load = useCallback(async () => {
    try {
      setList(await call(() => api.listSecrets()));
      setLoadError(null);
    } catch (e) {
      setLoadError(messageOf(e));
    }
  }, [call]);

  useEffect(() => {
    void load();
  }, [load]);

  const stored = list?.secrets ?? [];
  const storedNames = new Set(stored.map((s) => s.name));
  const added = [...pending.changes]
    .filter(([name, c]) => c.op === 'put' && !storedNames.has(name))
    .map(([name]) => name)
    .sort();
  const takenNames = new Map<string, TakenBy>([
    ...stored.map((x): [string, TakenBy] => {
      const c = pending.changes.get(x.name);
      return [x.name, c?.op === 'delete' ? 'deleted' : c ? 'replaced' : 'stored'];
    }),
    ...added.map((n): [string, TakenBy] => [n, 'added']),
  ]);

  function onOk(name: string, value: string) {
    pending.set(name, { op: 'put', value });
    if (editing?.mode === 'edit' && editing.name !== name) pending.drop(editing.name);
    // Replace gives way to Undo in its row; the dialog would hand focus back to a button that is gone.
    if (editing?.mode === 'replace') focusAfter(() => rowButton(name, 'undo'));
    setEditing(null);
    setNotice(null);
  }

  async function save() {
    if (!list) return;
    const changes: SecretChange[] = [...pending.changes].map(([name, c]) =>
      c.op === 'put' ? { op: 'put', name, value: c.value } : { op: 'delete', name },
    );
    setSaving(true);
    setNotice(null);
    try {
      const next = await call(() => api.saveSecrets(list.revision, changes));
      pending.clear();
      setList(next);
      const n = changes.length;
      setNotice({ kind: 'saved', text: `Saved ${n} change${n === 1 ? '' : 's'}.` });
      // Save is disabled now that nothing is unsaved: the confirmation takes focus instead.
      focusAfter('#credentials-notice');
    } catch (e) {
      if (isConflict(e)) {
        setNotice({
          kind: 'conflict',
          text: 'Your credentials were changed elsewhere (another tab or a script) since this list was loaded, so nothing was saved. Your unsaved changes are kept: reload the list to see the current credentials, check your changes, then Save again.',
        });
      } else if (isUnauthenticated(e)) {
        setNotice({
          kind: 'session',
          text: 'Your session ended before the save; nothing was saved. Sign in again, then click Save: your changes are kept.',
        });
      } else {
        setNotice({ kind: 'error', text: `Nothing was saved: ${messageOf(e)}` });
      }
      focusAfter('#credentials-notice');
    } finally {
      setSaving(false);
    }
  }

  async function reload() {
    await load();
    setNotice(null);
  }

  function discard() {
    pending.clear();
    setNotice(null);
    // Discard disappears with the changes it dropped; Add is where one starts again.
    focusAfter(() => section()?.querySelector<HTMLElement>('.card-head button'));
  }

  const section = () => document.getElementById('other-credentials')?.closest('section');
  const rowButton = (name: string, action: string) =>
    document.querySelector<HTMLElement>(
      `tr[data-secret="${CSS.escape(name)}"] button[data-action="${action}"]`,
    );
  /** The first button of the row after `name`, or else of the row before it, or else Add. */
  const neighbour = (name: string) => () => {
    const row = document.querySelector(`tr[data-secret="${CSS.escape(name)}"]`);
    const next = row?.nextElementSibling ?? row?.previousElementSibling;
    return (
      next?.querySelector<HTMLElement>('button') ?? section()?.querySelector<HTMLElement>('.card-head button')
    );
  };

  /** Delete and Replace swap the row's buttons for Undo: focus follows to it. */
  function markDeleted(name: string) {
    pending.set(name, { op: 'delete' });
    focusAfter(() => rowButton(name, 'undo'));
  }

  /** Undo brings back the button that made the change, and focus with it. */
  function undo(name: string) {
    const what = pending.changes.get(name)?.op === 'delete' ? 'delete' : 'replace';
    pending.drop(name);
    focusAfter(() => rowButton(name, what));
  }

  /** The row goes away: focus moves to the next row (or the one before, or Add). */
  function removeAdded(name: string) {
    // Found before the row is gone, so its neighbours are still known.
    const target = neighbour(name)();
    pending.drop(name);
    focusAfter(() => (target?.isConnected ? target : null), '.card-head button');
  }

  const dirty = pending.changes.size > 0;
  const empty = stored.length === 0 && added.length === 0;

  return (
    <section class="card" aria-labelledby="other-credentials">
      <div class="card-head">
        <h2 id="other-credentials">Other credentials</h2>
        <button type="button" class="primary" onClick={() => setEditing({ mode: 'add' })} disabled={!list}>
          Add
        </button>
      </div>
      <p class="muted">
        Credentials that your own code can use, such as a token for an external API. Only code running as you
        gets the values: in Python <code>client.get_auth_info(with_secrets=True)["secrets"]</code>, in R{' '}
        <code>dkuGetAuthInfo(with_secrets = TRUE)$secrets</code>. Values are encrypted; once saved they can be
        replaced or deleted, never displayed.
      </p>

      <FormError message={loadError && `Could not load your credentials: ${loadError}`}>
        <button type="button" onClick={() => void load()}>
          Try again
        </button>
      </FormError>

      {list && empty && <p class="empty">No credentials yet. Click Add to store one.</p>}

      {list && !empty && (
        <table class="secrets">
          <caption class="visually-hidden">Your credentials</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Value</th>
              <th scope="col">Created</th>
              <th scope="col">Changed</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {stored.map((s) => {
              const c = pending.changes.get(s.name);
              const state = c?.op === 'delete' ? 'deleted' : c ? 'replaced' : null;
              return (
                <tr key={s.name} class={state ? `pending ${state}` : undefined} data-secret={s.name}>
                  <th scope="row" class="name">
                    <BreakableName name={s.name} />
                  </th>
                  <td>
                    <span aria-label="value hidden">{MASK}</span>
                    {state && <Unsaved what={state === 'deleted' ? 'will be deleted' : 'new value'} />}
                  </td>
                  <td data-label="Created">{formatTime(s.createdAt)}</td>
                  <td data-label="Changed">{formatTime(s.updatedAt)}</td>
                  <td data-label="Last used">{formatTime(s.lastUsedAt)}</td>
                  <td class="row-actions">
                    {state ? (
                      <button
                        type="button"
                        data-action="undo"
                        onClick={() => undo(s.name)}
                        aria-label={`Undo ${s.name}`}
                      >
                        Undo
                      </button>
                    ) : (
                      <>
                        <button
                          type="button"
                          data-action="replace"
                          onClick={() => setEditing({ mode: 'replace', name: s.name })}
                          aria-label={`Replace ${s.name}`}
                        >
                          Replace
                        </button>
                        <button
                          type="button"
                          class="danger"
                          data-action="delete"
                          onClick={() => markDeleted(s.name)}
                          aria-label={`Delete ${s.name}`}
                        >
                          Delete
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
            {added.map((name) => (
              <tr key={name} class="pending added" data-secret={name}>
                <th scope="row" class="name">
                  <BreakableName name={name} />
                </th>
                <td>
                  <span aria-label="value hidden">{MASK}</span>
                  <Unsaved what="new" />
                </td>
                <td colSpan={3} class="muted">
                  not saved yet
                </td>
                <td class="row-actions">
                  <button
                    type="button"
                    onClick={() => {
                      const c = pending.changes.get(name);
                      if (c?.op === 'put') setEditing({ mode: 'edit', name, value: c.value });
                    }}
                    aria-label={`Edit ${name}`}
                  >
                    Edit
                  </button>
                  <button type="button" onClick={() => removeAdded(name)} aria-label={`Remove ${name}`}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <div class="save-bar">
        <button
          type="button"
          class="primary"
          onClick={() => void save()}
          disabled={!dirty || saving || !list}
        >
          {saving ? 'Saving…' : 'Save'}
        </button>
        {dirty && (
          <button type="button" onClick={discard} disabled={saving}>
            Discard changes
          </button>
        )}
        <span class="muted" aria-live="polite">
          {dirty ? `${pending.changes.size} unsaved change${pending.changes.size === 1 ? '' : 's'}` : ''}
        </span>
      </div>

      <div aria-live="polite" role="status" class="notice-slot">
        {notice?.kind === 'saved' && (
          <p class="success" id="credentials-notice" tabIndex={-1}>
            {notice.text}
          </p>
        )}
      </div>
      {notice && notice.kind !== 'saved' && (
        <FormError message={notice.text} id="credentials-notice" tabIndex={-1}>
          {notice.kind === 'conflict' && (
            <button type="button" onClick={() => void reload()}>
              Reload the list
            </button>
          )}
        </FormError>
      )}

      {editing && (
        <SecretDialog
          mode={editing.mode}
          initialName={editing.mode === 'add' ? '' : editing.name}
          initialValue={editing.mode === 'edit' ? editing.value : ''}
          takenNames={
            editing.mode === 'edit'
              ? new Map([...takenNames].filter(([n]) => n !== editing.name))
              : takenNames
          }
          onOk={onOk}
          onCancel={() => setEditing(null)}
        />
      )}
    </section>
  );
}

function Unsaved({ what }: { what: string }) {
  return <span class="badge">unsaved: {what}</span>;
}
