import type { Session } from '@coffer/client';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { CofferApiError } from '@coffer/client';
import { api, messageOf } from '../api';
import { Field } from '../components/field';
import { FormError } from '../components/form-error';
import { useFocusAfterRender } from '../focus';
import { useTitle } from '../title';

/**
 * Why signing in failed, as a sentence a person would write. The server's messages are for API clients
 * ("login or password is incorrect"); the ones a person meets here are reworded, anything else is shown
 * as the server says it.
 */
function signInProblem(e: unknown): string {
  if (e instanceof CofferApiError) {
    if (e.status === 429) {
      const minutes = /(\d+) minute/.exec(e.message)?.[1];
      return `Too many failed sign-in attempts. Try again in ${minutes ?? 'a few'} minute${minutes === '1' ? '' : 's'}.`;
    }
    if (e.status === 401 && /disabled/.test(e.message))
      return 'This account is disabled. Ask an administrator to enable it.';
    if (e.status === 401) return 'The login or password is incorrect. Check both and try again.';
  }
  return messageOf(e);
}

/**
 * Sign-in form. After a failure, focus goes to the field to fix: the empty one, or else Password (with
 * its text selected) — the submit button it was on is disabled while signing in.
 */
export function SignInForm(props: {
  onSignedIn(s: Session): void;
  fixedLogin?: string;
  submitLabel?: string;
}) {
  const [login, setLogin] = useState(props.fixedLogin ?? '');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [invalid, setInvalid] = useState<'login' | 'password' | null>(null);
  const focusAfter = useFocusAfterRender();
  const ids = useId();
  const loginId = `${ids}-login`;
  const passwordId = `${ids}-password`;
  const errorId = `${ids}-error`;

  async function submit(e: Event) {
    e.preventDefault();
    if (!login || !password) {
      setError(
        !login && !password
          ? 'Enter your login and your password.'
          : !login
            ? 'Enter your login.'
            : 'Enter your password.',
      );
      const missing = !login ? 'login' : 'password';
      setInvalid(missing);
      focusAfter(`#${CSS.escape(missing === 'login' ? loginId : passwordId)}`);
      return;
    }
    setBusy(true);
    setError(null);
    setInvalid(null);
    try {
      const s = await api.signIn(login, password);
      setPassword('');
      props.onSignedIn(s);
    } catch (err) {
      setError(signInProblem(err));
      setInvalid('password');
      focusAfter(() => {
        const field = document.getElementById(passwordId) as HTMLInputElement | null;
        field?.select();
        return field;
      });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate>
      <Field
        id={loginId}
        label="Login"
        invalid={invalid === 'login'}
        describedBy={invalid === 'login' ? errorId : undefined}
        value={login}
        onValue={setLogin}
        autocomplete="username"
        readOnly={props.fixedLogin !== undefined}
        data-autofocus={props.fixedLogin === undefined ? true : undefined}
        required
      />
      <Field
        id={passwordId}
        label="Password"
        invalid={invalid === 'password'}
        describedBy={invalid === 'password' ? errorId : undefined}
        type="password"
        value={password}
        onValue={setPassword}
        autocomplete="current-password"
        data-autofocus={props.fixedLogin !== undefined ? true : undefined}
        required
      />
      <FormError message={error} id={errorId} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : (props.submitLabel ?? 'Sign in')}
        </button>
      </div>
    </form>
  );
}

/**
 * Where to go after signing in when a page outside the app sent the visitor here (Jupyter's notebook
 * page): only a notebook page of this server, never another site.
 */
function nextPage(): string | undefined {
  const next = new URLSearchParams(location.search).get('next');
  return next && /^\/jupyter\/notebooks\/[^/]/.test(next) && !next.includes('//') ? next : undefined;
}

export function LoginPage({ onSignedIn }: { onSignedIn(s: Session): void }) {
  useTitle('Sign in');
  const card = useRef<HTMLDivElement>(null);
  // The page is the sign-in form: typing starts in Login without a click.
  useEffect(() => card.current?.querySelector<HTMLElement>('[data-autofocus]')?.focus(), []);
  return (
    <main class="login" id="main">
      <div class="card login-card" ref={card}>
        <h1>
          <img src="/favicon.svg" alt="" width="28" height="28" /> Coffer
        </h1>
        <p class="muted">Your personal, encrypted credentials, for the code that runs as you.</p>
        <SignInForm
          onSignedIn={(s) => {
            const next = nextPage();
            if (next) return location.assign(next);
            if (location.pathname === '/login' || location.pathname === '/')
              history.replaceState(null, '', '/profile');
            onSignedIn(s);
          }}
        />
      </div>
    </main>
  );
}
