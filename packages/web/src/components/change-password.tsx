import { useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { useCall } from '../session';
import { Field } from './field';
import { FormError } from './form-error';

/** Change your own password. The server ends your other sessions; this one stays signed in. */
export function ChangePasswordForm({ onChanged }: { onChanged?(): void }) {
  const call = useCall();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const mismatch = again.length > 0 && again !== next ? 'the two new passwords differ' : null;

  async function submit(e: Event) {
    e.preventDefault();
    setDone(false);
    if (!current || !next) return setError('Enter your current password and a new one.');
    if (next !== again) return setError('The two new passwords differ.');
    setBusy(true);
    setError(null);
    try {
      await call(() => api.changePassword(current, next));
      setCurrent('');
      setNext('');
      setAgain('');
      setDone(true);
      onChanged?.();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate class="narrow">
      <Field
        label="Current password"
        type="password"
        value={current}
        onValue={setCurrent}
        autocomplete="current-password"
      />
      <Field
        label="New password"
        type="password"
        value={next}
        onValue={setNext}
        autocomplete="new-password"
      />
      <Field
        label="New password again"
        type="password"
        value={again}
        onValue={setAgain}
        autocomplete="new-password"
        error={mismatch}
      />
      <FormError message={error} />
      <div role="status">
        {done && <p class="success">Password changed. Your other sessions were signed out.</p>}
      </div>
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          Change password
        </button>
      </div>
    </form>
  );
}
