import type { Session } from '@coffer/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { Field } from '../components/field';
import { useTitle } from '../title';

/** Sign-in form. Shows the server's own message: wrong credentials, a disabled account, or the rate limit. */
export function SignInForm(props: {
  onSignedIn(s: Session): void;
  fixedLogin?: string;
  submitLabel?: string;
}) {
  const [login, setLogin] = useState(props.fixedLogin ?? '');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    if (!login || !password) {
      setError('Enter your login and your password.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const s = await api.signIn(login, password);
      setPassword('');
      props.onSignedIn(s);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate>
      <Field
        label="Login"
        value={login}
        onValue={setLogin}
        autocomplete="username"
        readOnly={props.fixedLogin !== undefined}
        data-autofocus={props.fixedLogin === undefined ? true : undefined}
        required
      />
      <Field
        label="Password"
        type="password"
        value={password}
        onValue={setPassword}
        autocomplete="current-password"
        data-autofocus={props.fixedLogin !== undefined ? true : undefined}
        required
      />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
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
