import { useLocation } from 'preact-iso';
import { ChangePasswordForm } from '../components/change-password';
import { OtherCredentials } from '../components/other-credentials';
import { useSession } from '../session';
import { useTitle } from '../title';
import { ActivityTab } from './activity-tab';
import { ApiKeysTab } from './api-keys-tab';
import { CredentialsTab } from './credentials-tab';

const TABS = [
  { path: '/profile', label: 'My Account' },
  { path: '/profile/api-keys', label: 'API keys' },
  { path: '/profile/activity', label: 'Activity' },
  { path: '/profile/credentials', label: 'Credentials' },
] as const;

/** The profile page and its tabs; each tab has its own address so it can be bookmarked. */
export function ProfilePage() {
  const { path } = useLocation();
  const { session } = useSession();
  const current = TABS.find((t) => t.path === path) ?? TABS[0];
  useTitle(current === TABS[0] ? 'Profile' : `${current.label} — Profile`);
  return (
    <>
      <h1>{session.user.displayName || session.user.login}</h1>
      <nav class="tabs" aria-label="Profile">
        {TABS.map((t) => (
          <a key={t.path} href={t.path} aria-current={t === current ? 'page' : undefined}>
            {t.label}
          </a>
        ))}
      </nav>
      {current.path === '/profile' && <MyAccountTab />}
      {current.path === '/profile/api-keys' && <ApiKeysTab />}
      {current.path === '/profile/activity' && <ActivityTab />}
      {current.path === '/profile/credentials' && <CredentialsTab />}
    </>
  );
}

function MyAccountTab() {
  const { user } = useSession().session;
  return (
    <>
      <section class="card" aria-labelledby="identity">
        <h2 id="identity">Identity</h2>
        <dl class="identity">
          <dt>Login</dt>
          <dd>{user.login}</dd>
          <dt>Display name</dt>
          <dd>{user.displayName || '—'}</dd>
          <dt>Email</dt>
          <dd>{user.email || '—'}</dd>
          <dt>Groups</dt>
          <dd>{user.groups.length ? user.groups.join(', ') : '—'}</dd>
        </dl>
      </section>
      <OtherCredentials />
      <section class="card" aria-labelledby="password">
        <h2 id="password">Password</h2>
        <ChangePasswordForm />
      </section>
    </>
  );
}
