import type { Session } from '@coffer/client';
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { api, isUnauthenticated, messageOf } from './api';
import { ChangePasswordForm } from './components/change-password';
import { Dialog } from './components/dialog';
import { FormError } from './components/form-error';
import { usePending, PendingSecretsProvider } from './pending';
import { AdminPluginsPage } from './pages/admin-plugins-page';
import { AdminUsersPage } from './pages/admin-users-page';
import { LoginPage, SignInForm } from './pages/login-page';
import { ProfilePage } from './pages/profile-page';
import { ProjectPage } from './pages/project-page';
import { ProjectsPage } from './pages/projects-page';
import { JobPage, RecipePage } from './pages/recipe-page';
import { SessionContext, useSession, type SessionContextValue } from './session';
import { useTitle } from './title';

/** Loads the session, then shows the sign-in page or the signed-in application. */
export function App() {
  const [session, setSession] = useState<Session | null | 'loading'>('loading');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.session().then(setSession, (e: unknown) => {
      if (isUnauthenticated(e)) setSession(null);
      else setError(messageOf(e));
    });
  }, []);

  if (error)
    return (
      <main class="login" id="main">
        <FormError message={`Coffer is not answering: ${error}`} />
      </main>
    );
  if (session === 'loading') return <p class="loading">Loading…</p>;
  if (session === null) return <LoginPage onSignedIn={setSession} />;
  return (
    <PendingSecretsProvider>
      <SignedIn session={session} setSession={setSession} />
    </PendingSecretsProvider>
  );
}

function SignedIn({ session, setSession }: { session: Session; setSession(s: Session): void }) {
  const [ended, setEnded] = useState(false);
  const pending = usePending();
  const sessionEnded = useCallback(() => setEnded(true), []);

  const signOut = useCallback(async () => {
    try {
      await api.signOut();
    } finally {
      // A fresh page: nothing of this session stays in memory.
      pending.discardAndLeave('/login');
    }
  }, [pending]);

  const ctx = useMemo<SessionContextValue>(
    () => ({ session, sessionEnded, signOut, setSession }),
    [session, sessionEnded, signOut, setSession],
  );

  return (
    <SessionContext.Provider value={ctx}>
      {/* Jupyter's pages are the server's, not this app's: a link to one is a real navigation. */}
      <LocationProvider scope={/^\/(?!jupyter\/)/}>
        <Header />
        <main id="main" class="page">
          {session.mustChangePassword ? (
            <MustChangePassword />
          ) : (
            <Router>
              <Route path="/profile" component={ProfilePage} />
              <Route path="/profile/api-keys" component={ProfilePage} />
              <Route path="/profile/activity" component={ProfilePage} />
              <Route path="/profile/credentials" component={ProfilePage} />
              <Route path="/projects" component={ProjectsPage} />
              <Route path="/projects/:key" component={ProjectPage} />
              <Route path="/projects/:key/recipes/:name" component={RecipePage} />
              <Route path="/jobs/:id" component={JobPage} />
              <Route path="/admin/users" component={AdminUsersPage} />
              <Route path="/admin/plugins" component={AdminPluginsPage} />
              <Route default component={Home} />
            </Router>
          )}
        </main>
        {ended && (
          <SignInAgain
            login={session.user.login}
            onSignedIn={(s) => {
              setSession(s);
              setEnded(false);
            }}
          />
        )}
      </LocationProvider>
    </SessionContext.Provider>
  );
}

function Header() {
  const { session, signOut } = useSession();
  const pending = usePending();
  const { path } = useLocation();
  const [confirming, setConfirming] = useState(false);
  const current = (p: string) => (path.startsWith(p) ? 'page' : undefined);

  return (
    <header class="top">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <a class="brand" href="/profile">
        <img src="/favicon.svg" alt="" width="22" height="22" /> Coffer
      </a>
      <nav aria-label="Main">
        <a href="/profile" aria-current={current('/profile')}>
          Profile
        </a>
        <a href="/projects" aria-current={current('/projects') ?? current('/jobs')}>
          Projects
        </a>
        {session.user.admin && (
          <a href="/admin/users" aria-current={current('/admin')}>
            Administration
          </a>
        )}
      </nav>
      <UnsavedMarker count={pending.changes.size} />
      <span class="who">
        Signed in as <strong>{session.user.login}</strong>
      </span>
      <button type="button" onClick={() => (pending.changes.size ? setConfirming(true) : void signOut())}>
        Sign out
      </button>
      {confirming && (
        <Dialog title="Sign out with unsaved changes?" onCancel={() => setConfirming(false)}>
          <p>You have unsaved credential changes. Signing out discards them.</p>
          <div class="actions">
            <button type="button" data-autofocus onClick={() => setConfirming(false)}>
              Stay
            </button>
            <button type="button" class="danger" onClick={() => void signOut()}>
              Discard and sign out
            </button>
          </div>
        </Dialog>
      )}
    </header>
  );
}

/**
 * Credential changes wait in the page until Save (pending.tsx), so on any page the top bar says some
 * are waiting and links back to where they can be saved or discarded: moving to a project must not make
 * them easy to forget, or to lose when the tab is closed.
 */
function UnsavedMarker({ count }: { count: number }) {
  if (count === 0) return null;
  return (
    <a class="unsaved-marker" href="/profile">
      {count} unsaved credential change{count === 1 ? '' : 's'}
    </a>
  );
}

/** Any address that is not a page of ours goes to the profile. */
function Home() {
  const { route } = useLocation();
  useEffect(() => route('/profile', true), [route]);
  return null;
}

/** An administrator set this password: the person picks their own before anything else. */
function MustChangePassword() {
  const { setSession } = useSession();
  useTitle('Choose a new password');
  return (
    <section class="card">
      <h1>Choose a new password</h1>
      <p>An administrator set your password. Choose one of your own to continue.</p>
      <ChangePasswordForm onChanged={() => void api.session().then(setSession)} />
    </section>
  );
}

/**
 * The session ended while the page was open (idle timeout, signed out elsewhere, password changed). The
 * page stays as it is behind this dialog, unsaved changes included; signing in again continues it.
 */
function SignInAgain({ login, onSignedIn }: { login: string; onSignedIn(s: Session): void }) {
  const pending = usePending();
  return (
    <Dialog title="Your session has ended" onCancel={() => undefined}>
      <p>
        Sign in again to continue.
        {pending.changes.size > 0 && ' Your unsaved changes are kept.'}
      </p>
      <SignInForm fixedLogin={login} onSignedIn={onSignedIn} submitLabel="Sign in again" />
      <p class="small">
        Not {login}?{' '}
        <a
          href="/login"
          onClick={(e) => {
            e.preventDefault();
            pending.discardAndLeave('/login');
          }}
        >
          Sign in as someone else
        </a>{' '}
        (discards unsaved changes).
      </p>
    </Dialog>
  );
}
