import type { PluginCredentialRequest, PluginCredentialValue } from '@coffer/client';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { ConfirmDialog, Dialog } from '../components/dialog';
import { Field } from '../components/field';
import { FormError } from '../components/form-error';
import { formatTime } from '../format';
import { useCall } from '../session';

const TYPES: Record<PluginCredentialRequest['type'], string> = {
  SINGLE_FIELD: 'Token or key',
  BASIC: 'User and password',
  PASSWORD: 'Password',
};

const describe = (c: PluginCredentialRequest) =>
  `${c.paramLabel} of ${c.pluginLabel} (${c.parameterSetLabel}, preset ${c.preset})`;

/**
 * Plugin credentials (DSS: Profile → Credentials): what presets ask each user for, entered by the user
 * for themself and given only to their own runs. Values are encrypted and never shown again.
 */
export function CredentialsTab() {
  const call = useCall();
  const [list, setList] = useState<PluginCredentialRequest[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [entering, setEntering] = useState<PluginCredentialRequest | null>(null);
  const [deleting, setDeleting] = useState<PluginCredentialRequest | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setList(await call(() => api.listPluginCredentials()));
      setError(null);
    } catch (e) {
      setError(messageOf(e));
    }
  }, [call]);
  useEffect(() => void load(), [load]);

  const done = async (message: string) => {
    setEntering(null);
    setDeleting(null);
    setNotice(message);
    await load();
  };

  async function remove(c: PluginCredentialRequest) {
    try {
      await call(() => api.deletePluginCredential(c));
      await done(`Deleted your ${describe(c)}.`);
    } catch (e) {
      setDeleteError(messageOf(e));
    }
  }

  return (
    <section class="card" aria-labelledby="plugin-credentials">
      <h2 id="plugin-credentials">Plugin credentials</h2>
      <p class="muted">
        Credentials that plugin recipes ask for, such as a token for the service a plugin connects to. Each
        person enters their own; a recipe gets yours only when you run it. Values are encrypted; once saved
        they can be replaced or deleted, never displayed.
      </p>
      <FormError message={error && `Could not load your plugin credentials: ${error}`}>
        <button type="button" onClick={() => void load()}>
          Try again
        </button>
      </FormError>
      <p role="status" class="success">
        {notice}
      </p>
      {list?.length === 0 && (
        <p class="empty">
          No plugin asks you for a credential yet. Credentials appear here once an administrator creates a
          preset that asks each user for one.
        </p>
      )}
      {list && list.length > 0 && (
        <table>
          <caption class="visually-hidden">Credentials that plugins ask you for</caption>
          <thead>
            <tr>
              <th scope="col">Plugin</th>
              <th scope="col">Preset</th>
              <th scope="col">Credential</th>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col">Updated</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <tr key={`${c.plugin}/${c.parameterSet}/${c.preset}/${c.param}`} data-credential={c.paramLabel}>
                <td>{c.pluginLabel}</td>
                <td>
                  {c.parameterSetLabel} / {c.preset}
                </td>
                <th scope="row">{c.paramLabel}</th>
                <td>{TYPES[c.type]}</td>
                <td>{c.set ? 'Set' : <span class="badge">Not set</span>}</td>
                <td data-label="Updated">{c.set ? formatTime(c.updatedAt) : '—'}</td>
                <td class="row-actions">
                  <button
                    type="button"
                    aria-label={`${c.set ? 'Replace' : 'Enter'} ${describe(c)}`}
                    onClick={() => setEntering(c)}
                  >
                    {c.set ? 'Replace' : 'Enter'}
                  </button>
                  {c.set && (
                    <button
                      type="button"
                      class="danger"
                      aria-label={`Delete ${describe(c)}`}
                      onClick={() => {
                        setDeleteError(null);
                        setDeleting(c);
                      }}
                    >
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {entering && (
        <CredentialDialog
          request={entering}
          onCancel={() => setEntering(null)}
          onSaved={() => void done(`Saved your ${describe(entering)}.`)}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete your ${deleting.paramLabel}?`}
          message={
            <p>
              Recipes using preset {deleting.preset} of {deleting.pluginLabel} cannot run as you until you
              enter it again.
            </p>
          }
          confirmLabel="Delete"
          danger
          error={deleteError}
          onCancel={() => setDeleting(null)}
          onConfirm={() => void remove(deleting)}
        />
      )}
    </section>
  );
}

/** Enter or Replace: one password-type field, or BASIC's user and password. Nothing is shown back. */
function CredentialDialog(p: { request: PluginCredentialRequest; onCancel(): void; onSaved(): void }) {
  const call = useCall();
  const { request: c } = p;
  const basic = c.type === 'BASIC';
  const [user, setUser] = useState('');
  const [secret, setSecret] = useState('');
  const [problem, setProblem] = useState<{ field: 'user' | 'secret'; text: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    const missing =
      basic && !user.trim()
        ? ({ field: 'user', text: 'Enter the user name.' } as const)
        : !secret
          ? ({
              field: 'secret',
              text: basic ? 'Enter the password.' : `Enter the ${TYPES[c.type].toLowerCase()}.`,
            } as const)
          : null;
    setProblem(missing);
    if (missing) return document.getElementById(`credential-${missing.field}`)?.focus();
    const value: PluginCredentialValue = basic ? { user: user.trim(), password: secret } : { value: secret };
    setSaving(true);
    try {
      await call(() => api.setPluginCredential(c, value));
      setSecret('');
      p.onSaved();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setSaving(false);
    }
  }

  return (
    <Dialog title={`${c.set ? 'Replace' : 'Enter'} your ${c.paramLabel}`} onCancel={p.onCancel}>
      <form onSubmit={submit} noValidate autocomplete="off">
        <p class="muted small">
          For {c.pluginLabel}, preset {c.preset} of {c.parameterSetLabel}. Encrypted when saved, given only to
          recipes you run, and never shown again.
        </p>
        {basic && (
          <Field
            id="credential-user"
            label="User"
            value={user}
            onValue={setUser}
            autocomplete="off"
            spellcheck={false}
            data-autofocus
            error={problem?.field === 'user' ? problem.text : null}
          />
        )}
        <Field
          id="credential-secret"
          label={basic ? 'Password' : c.paramLabel}
          type="password"
          value={secret}
          onValue={setSecret}
          autocomplete="new-password"
          spellcheck={false}
          data-autofocus={basic ? undefined : true}
          error={problem?.field === 'secret' ? problem.text : null}
        />
        <FormError message={error && `Not saved: ${error}`} />
        <div class="actions">
          <button type="button" onClick={p.onCancel}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={saving}>
            {saving ? 'Saving…' : 'Save'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
