import { MAX_NAME_CHARS, secretNameProblem, secretValueProblem } from '@coffer/client';
import { useState } from 'preact/hooks';
import { Dialog } from './dialog';
import { Field } from './field';
import { asSentence } from './form-error';

/**
 * What a row of Other credentials already holds under a name: a stored secret, one with an unsaved new
 * value or an unsaved deletion, or one added and not saved yet. Each offers its own action.
 */
export type TakenBy = 'stored' | 'replaced' | 'deleted' | 'added';

interface SecretDialogProps {
  /** add: a new secret; replace: a new value for a stored one; edit: change an unsaved one. */
  mode: 'add' | 'replace' | 'edit';
  initialName?: string;
  initialValue?: string;
  /** Names that a new secret may not take (stored and unsaved ones, except the one being edited). */
  takenNames: ReadonlyMap<string, TakenBy>;
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

  const nameProblem = p.mode === 'replace' ? null : nameMessage(name, p.takenNames.get(name));
  const valueProblem = valueMessage(name, value);

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

/**
 * The API's rule for names, said as a person would say it. The rule itself is the client's (the server
 * enforces the same one); only the wording is the page's. A name already in the list says what its row
 * offers, so the person knows which button to look for.
 */
function nameMessage(name: string, taken: TakenBy | undefined): string | null {
  const problem = secretNameProblem(name);
  if (problem) {
    if (name.length === 0) return 'Enter a name for the secret.';
    if (/^\s|\s$/u.test(name) && !problem.includes('control'))
      return 'Remove the spaces at the start or end of the name.';
    const chars = [...name].length;
    if (chars > MAX_NAME_CHARS)
      return `Shorten the name to ${MAX_NAME_CHARS} characters or fewer (it has ${chars}).`;
    return asSentence(problem);
  }
  const quoted = `“${name}”`;
  switch (taken) {
    case undefined:
      return null;
    case 'stored':
      return `A secret named ${quoted} already exists. To change its value, use Replace in its row.`;
    case 'replaced':
      return `A secret named ${quoted} already exists and has an unsaved new value. To change that value, use Undo in its row, then Replace.`;
    case 'deleted':
      return `The secret ${quoted} is marked for deletion. To keep it, use Undo in its row; to add it anew, Save first.`;
    case 'added':
      return `You have already added ${quoted} (not saved yet). To change it, use Edit in its row.`;
  }
}

function valueMessage(name: string, value: string): string | null {
  const problem = secretValueProblem(name, value);
  if (!problem) return null;
  if (value.length === 0) return 'Enter a value for the secret.';
  return asSentence(problem);
}
