import { secretNameProblem, secretValueProblem } from '@coffer/client';
import { useState } from 'preact/hooks';
import { Dialog } from './dialog';
import { Field } from './field';

interface SecretDialogProps {
  /** add: a new secret; replace: a new value for a stored one; edit: change an unsaved one. */
  mode: 'add' | 'replace' | 'edit';
  initialName?: string;
  initialValue?: string;
  /** Names that a new secret may not take (stored and unsaved ones, except the one being edited). */
  takenNames: ReadonlySet<string>;
  onOk(name: string, value: string): void;
  onCancel(): void;
}

const TITLES = { add: 'Add a credential', replace: 'Replace the value', edit: 'Edit the unsaved credential' };

/**
 * Name and Value of one secret, checked with the API's own rules as the person types. Ok only adds a
 * pending change; nothing reaches the server until Save. The value can be shown while it is being typed,
 * never afterwards.
 */
export function SecretDialog(p: SecretDialogProps) {
  const [name, setName] = useState(p.initialName ?? '');
  const [value, setValue] = useState(p.initialValue ?? '');
  const [shown, setShown] = useState(false);
  const [touched, setTouched] = useState({ name: false, value: false });

  const nameProblem =
    p.mode === 'replace'
      ? null
      : (secretNameProblem(name) ??
        (p.takenNames.has(name)
          ? `a secret named ${JSON.stringify(name)} already exists: use Replace`
          : null));
  const valueProblem = secretValueProblem(name, value);

  function ok(e: Event) {
    e.preventDefault();
    setTouched({ name: true, value: true });
    if (nameProblem || valueProblem) {
      const first = document.getElementById(nameProblem ? 'secret-name' : 'secret-value');
      first?.focus();
      return;
    }
    p.onOk(name, value);
  }

  return (
    <Dialog title={TITLES[p.mode]} onCancel={p.onCancel}>
      <form onSubmit={ok} noValidate autocomplete="off">
        <Field
          id="secret-name"
          label="Name"
          value={name}
          onValue={setName}
          onBlur={() => setTouched((t) => ({ ...t, name: true }))}
          readOnly={p.mode === 'replace'}
          spellcheck={false}
          autocapitalize="off"
          autocomplete="off"
          data-autofocus={p.mode === 'replace' ? undefined : true}
          hint="The identifier your code looks the secret up by, e.g. credential-for-my-api."
          error={touched.name ? nameProblem : null}
        />
        <Field
          id="secret-value"
          label="Value"
          type={shown ? 'text' : 'password'}
          value={value}
          onValue={setValue}
          onBlur={() => setTouched((t) => ({ ...t, value: true }))}
          spellcheck={false}
          autocapitalize="off"
          autocomplete="new-password"
          data-autofocus={p.mode === 'replace' ? true : undefined}
          hint="Encrypted when saved; after Save it can be replaced or deleted, never shown again."
          error={touched.value ? valueProblem : null}
          after={
            <button
              type="button"
              class="toggle"
              aria-pressed={shown}
              aria-controls="secret-value"
              onClick={() => setShown((s) => !s)}
            >
              {shown ? 'Hide' : 'Show'}
            </button>
          }
        />
        <div class="actions">
          <button type="button" onClick={p.onCancel}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Ok
          </button>
        </div>
      </form>
    </Dialog>
  );
}
