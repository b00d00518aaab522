import type { ApiKey, NewApiKey } from '@coffer/client';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { ConfirmDialog } from '../components/dialog';
import { Field } from '../components/field';
import { FormError } from '../components/form-error';
import { useFocusAfterRender } from '../focus';
import { formatTime } from '../format';
import { useCall } from '../session';

const DAY = 24 * 60 * 60 * 1000;
const EXPIRIES = [
  { label: 'Never', days: 0 },
  { label: '30 days', days: 30 },
  { label: '90 days', days: 90 },
  { label: '1 year', days: 365 },
];

/** Personal API keys: created here, shown once with a copy button, listed by label, revocable. */
export function ApiKeysTab() {
  const call = useCall();
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [label, setLabel] = useState('');
  const [description, setDescription] = useState('');
  const [expiry, setExpiry] = useState(0);
  const [created, setCreated] = useState<NewApiKey | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [revokeError, setRevokeError] = useState<string | null>(null);
  const [revoked, setRevoked] = useState<string | null>(null);
  const focusAfter = useFocusAfterRender();

  const load = useCallback(async () => {
    try {
      setKeys(await call(() => api.listApiKeys()));
    } catch (e) {
      setError(messageOf(e));
    }
  }, [call]);
  useEffect(() => void load(), [load]);

  async function create(e: Event) {
    e.preventDefault();
    setError(null);
    try {
      const k = await call(() =>
        api.createApiKey({
          label: label.trim() || undefined,
          description: description.trim() || undefined,
          expiresOn: expiry ? Date.now() + expiry * DAY : null,
        }),
      );
      setCreated(k);
      setCopied(null);
      setRevoked(null);
      // The key is shown this once: focus (which selects it) goes straight to it, ready to copy.
      focusAfter('#new-api-key');
      setLabel('');
      setDescription('');
      await load();
    } catch (err) {
      setError(messageOf(err));
    }
  }

  async function copy() {
    if (!created) return;
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('Could not copy: select the key and copy it yourself.');
    }
  }

  async function revoke() {
    if (!revoking) return;
    try {
      await call(() => api.revokeApiKey(revoking.id));
      // The revoked key's row, and its Revoke button that opened the dialog, go away: focus moves to the
      // next key's Revoke (or the one before), or to the message when no key is left.
      const row = document.querySelector(`tr[data-key="${CSS.escape(revoking.id)}"]`);
      const nextId = (row?.nextElementSibling ?? row?.previousElementSibling)?.getAttribute('data-key');
      await load();
      setRevoked(
        `Revoked ${revoking.label ? `the key “${revoking.label}”` : `the key ending ${revoking.last4}`}.`,
      );
      setRevoking(null);
      setRevokeError(null);
      focusAfter(
        () =>
          nextId ? document.querySelector<HTMLElement>(`tr[data-key="${CSS.escape(nextId)}"] button`) : null,
        '#api-keys-status',
      );
    } catch (e) {
      setRevokeError(messageOf(e));
    }
  }

  return (
    <>
      <section class="card" aria-labelledby="new-key">
        <h2 id="new-key">Create an API key</h2>
        <p class="muted">
          A personal API key lets a script act as you, for example{' '}
          <code>DSSClient("{location.origin}", key).get_auth_info(with_secrets=True)</code>. Anyone holding it
          can read your credentials: keep it like a password.
        </p>
        <form onSubmit={create} class="narrow" noValidate>
          <Field
            id="new-key-label"
            label="Label"
            value={label}
            onValue={setLabel}
            hint="To recognise the key later, e.g. laptop."
          />
          <Field label="Description" value={description} onValue={setDescription} />
          <div class="field">
            <label for="key-expiry">Expires after</label>
            <select id="key-expiry" value={expiry} onChange={(e) => setExpiry(Number(e.currentTarget.value))}>
              {EXPIRIES.map((x) => (
                <option key={x.days} value={x.days}>
                  {x.label}
                </option>
              ))}
            </select>
          </div>
          <FormError message={error} />
          <div class="actions">
            <button type="submit" class="primary">
              Create key
            </button>
          </div>
        </form>
        {created && (
          <div class="new-key" role="region" aria-labelledby="new-key-title">
            <h3 id="new-key-title">Your new API key</h3>
            <p>Copy it now: it will not be shown again.</p>
            <div class="field-row">
              <input
                id="new-api-key"
                aria-label="New API key"
                readOnly
                value={created.key}
                spellcheck={false}
                onFocus={(e) => e.currentTarget.select()}
              />
              <button type="button" onClick={() => void copy()}>
                Copy
              </button>
            </div>
            <p role="status">{copied}</p>
            <button
              type="button"
              onClick={() => {
                setCreated(null);
                // The box and its Done button go away: back to the form, to make another key.
                focusAfter('#new-key-label');
              }}
            >
              Done
            </button>
          </div>
        )}
      </section>

      <section class="card" aria-labelledby="keys">
        <h2 id="keys">Your API keys</h2>
        <p role="status" id="api-keys-status" class="success" tabIndex={-1}>
          {revoked}
        </p>
        {keys && keys.length === 0 && <p class="empty">No API keys.</p>}
        {keys && keys.length > 0 && (
          <table>
            <thead>
              <tr>
                <th scope="col">Label</th>
                <th scope="col">Key</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id} data-key={k.id}>
                  <th scope="row">
                    {k.label || <span class="muted">(no label)</span>}
                    {k.description && <div class="muted small">{k.description}</div>}
                  </th>
                  <td>
                    <code>…{k.last4}</code>
                  </td>
                  <td data-label="Created">
                    {formatTime(k.createdOn)}
                    {k.createdBy !== k.user && <div class="muted small">by {k.createdBy}</div>}
                  </td>
                  <td data-label="Last used">{formatTime(k.lastUsedOn)}</td>
                  <td data-label="Expires">{formatTime(k.expiresOn)}</td>
                  <td class="row-actions">
                    <button
                      type="button"
                      class="danger"
                      aria-label={`Revoke ${k.label || `key ending ${k.last4}`}`}
                      onClick={() => setRevoking(k)}
                    >
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      {revoking && (
        <ConfirmDialog
          title="Revoke this API key?"
          message={
            <p>
              Scripts using <strong>{revoking.label || `the key ending ${revoking.last4}`}</strong> will be
              refused at once. This cannot be undone.
            </p>
          }
          confirmLabel="Revoke"
          danger
          error={revokeError}
          onConfirm={() => void revoke()}
          onCancel={() => {
            setRevoking(null);
            setRevokeError(null);
          }}
        />
      )}
    </>
  );
}
