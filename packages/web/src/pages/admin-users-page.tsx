import type { User } from '@coffer/client';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { AdminTabs } from '../components/admin-tabs';
import { BreakableName } from '../components/breakable-name';
import { ConfirmDialog, Dialog } from '../components/dialog';
import { Field } from '../components/field';
import { firstMissing, FormError } from '../components/form-error';
import { RunningKernels } from '../components/running-kernels';
import { SandboxStatusCard } from '../components/sandbox-status';
import { useCall, useSession } from '../session';
import { useTitle } from '../title';

const ADMIN_GROUP = 'administrators';

type Action =
  | { kind: 'create' }
  | { kind: 'reset'; user: User }
  | { kind: 'delete'; user: User }
  | { kind: 'disable'; user: User };

/**
 * User administration. Administrators manage accounts, never credentials: nothing here shows a user's
 * secrets, and a password reset is account recovery that destroys them (see docs/adr/0005).
 */
export function AdminUsersPage() {
  const { session } = useSession();
  useTitle('Users — Administration');
  const call = useCall();
  const [users, setUsers] = useState<User[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [action, setAction] = useState<Action | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setUsers(await call(() => api.admin.listUsers()));
    } catch (e) {
      setError(messageOf(e));
    }
  }, [call]);
  useEffect(() => {
    if (session.user.admin) void load();
  }, [load, session.user.admin]);

  if (!session.user.admin) {
    return (
      <section class="card">
        <h1>Administration</h1>
        <p role="alert">This page is for administrators only.</p>
      </section>
    );
  }

  async function enable(u: User) {
    try {
      await call(() => api.admin.updateUser(u.login, { enabled: true }));
      setNotice(`${u.login} is enabled.`);
      await load();
    } catch (e) {
      setError(messageOf(e));
    }
  }

  const done = async (message: string) => {
    setAction(null);
    setNotice(message);
    await load();
  };

  return (
    <>
      <h1>Administration</h1>
      <AdminTabs />
      <section class="card" aria-labelledby="users">
        <div class="card-head">
          <h2 id="users">Users</h2>
          <button type="button" class="primary" onClick={() => setAction({ kind: 'create' })}>
            Create user
          </button>
        </div>
        <p role="status" class="success">
          {notice}
        </p>
        <FormError message={error} />
        {users && (
          <table class="users">
            <thead>
              <tr>
                <th scope="col">Login</th>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Groups</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.login} data-user={u.login}>
                  <th scope="row">
                    <BreakableName name={u.login} />
                  </th>
                  <td>{u.displayName}</td>
                  <td>
                    <BreakableName name={u.email} />
                  </td>
                  <td>{u.groups.join(', ')}</td>
                  <td>{u.enabled ? 'enabled' : <span class="badge">disabled</span>}</td>
                  <td class="row-actions">
                    {u.login !== session.user.login && (
                      <>
                        {u.enabled ? (
                          <button
                            type="button"
                            aria-label={`Disable ${u.login}`}
                            onClick={() => setAction({ kind: 'disable', user: u })}
                          >
                            Disable
                          </button>
                        ) : (
                          <button
                            type="button"
                            aria-label={`Enable ${u.login}`}
                            onClick={() => void enable(u)}
                          >
                            Enable
                          </button>
                        )}
                        <button
                          type="button"
                          aria-label={`Reset password for ${u.login}`}
                          onClick={() => setAction({ kind: 'reset', user: u })}
                        >
                          Reset password
                        </button>
                        <button
                          type="button"
                          class="danger"
                          aria-label={`Delete ${u.login}`}
                          onClick={() => setAction({ kind: 'delete', user: u })}
                        >
                          Delete
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <RunningKernels all />

      <SandboxStatusCard />

      {action?.kind === 'create' && (
        <CreateUserDialog
          onCancel={() => setAction(null)}
          onDone={(u) => void done(`${u.login} was created.`)}
        />
      )}
      {action?.kind === 'reset' && (
        <ResetPasswordDialog
          user={action.user}
          onCancel={() => setAction(null)}
          onDone={(n) =>
            void done(
              `${action.user.login}'s password was reset; ${n} secret${n === 1 ? '' : 's'} destroyed.`,
            )
          }
        />
      )}
      {action?.kind === 'delete' && (
        <DeleteUserDialog
          user={action.user}
          onCancel={() => setAction(null)}
          onDone={() => void done(`${action.user.login} was deleted.`)}
        />
      )}
      {action?.kind === 'disable' && (
        <DisableUserDialog
          user={action.user}
          onCancel={() => setAction(null)}
          onDone={() => void done(`${action.user.login} is disabled.`)}
        />
      )}
    </>
  );
}

function CreateUserDialog(p: { onCancel(): void; onDone(u: User): void }) {
  const call = useCall();
  const [login, setLogin] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [email, setEmail] = useState('');
  const [groups, setGroups] = useState('');
  const [admin, setAdmin] = useState(false);
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    const g = groups
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (admin && !g.includes(ADMIN_GROUP)) g.push(ADMIN_GROUP);
    const missing = firstMissing([
      { id: 'new-user-login', value: login, message: 'Enter a login for the user.' },
      { id: 'new-user-password', value: password, message: 'Enter an initial password for the user.' },
    ]);
    if (missing) return setError(missing);
    try {
      const u = await call(() =>
        api.admin.createUser({ login: login.trim(), password, displayName, email, groups: g }),
      );
      p.onDone(u);
    } catch (err) {
      setError(messageOf(err));
    }
  }

  return (
    <Dialog title="Create a user" onCancel={p.onCancel}>
      <form onSubmit={submit} noValidate>
        <Field
          id="new-user-login"
          label="Login"
          value={login}
          onValue={setLogin}
          autocomplete="off"
          data-autofocus
        />
        <Field label="Display name" value={displayName} onValue={setDisplayName} autocomplete="off" />
        <Field label="Email" type="email" value={email} onValue={setEmail} autocomplete="off" />
        <Field
          label="Groups"
          value={groups}
          onValue={setGroups}
          hint="Separated by commas."
          autocomplete="off"
        />
        <div class="field checkbox">
          <input
            id="new-user-admin"
            type="checkbox"
            checked={admin}
            onChange={(e) => setAdmin(e.currentTarget.checked)}
          />
          <label for="new-user-admin">Administrator</label>
        </div>
        <Field
          id="new-user-password"
          label="Initial password"
          type="password"
          value={password}
          onValue={setPassword}
          autocomplete="new-password"
          hint="The user must choose their own password when they first sign in."
        />
        <FormError message={error} />
        <div class="actions">
          <button type="button" onClick={p.onCancel}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Create
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function ResetPasswordDialog(p: { user: User; onCancel(): void; onDone(secretsDeleted: number): void }) {
  const call = useCall();
  const [password, setPassword] = useState('');
  const [understood, setUnderstood] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    if (!understood) return setError('Tick the box to confirm that the secrets will be destroyed.');
    try {
      const r = await call(() => api.admin.resetPassword(p.user.login, password));
      p.onDone(r.secretsDeleted);
    } catch (err) {
      setError(messageOf(err));
    }
  }

  return (
    <Dialog title={`Reset the password of ${p.user.login}`} onCancel={p.onCancel}>
      <form onSubmit={submit} noValidate>
        <p class="warning">
          This is account recovery. Because an administrator who sets a password could sign in as the user,
          all of {p.user.login}'s credentials (secrets) are destroyed, their API keys and sessions end, and
          they must choose a new password at their next sign-in.
        </p>
        <Field
          label="New password"
          type="password"
          value={password}
          onValue={setPassword}
          autocomplete="new-password"
          data-autofocus
        />
        <div class="field checkbox">
          <input
            id="reset-understood"
            type="checkbox"
            checked={understood}
            onChange={(e) => setUnderstood(e.currentTarget.checked)}
          />
          <label for="reset-understood">I understand that {p.user.login}'s secrets will be destroyed</label>
        </div>
        <FormError message={error} />
        <div class="actions">
          <button type="button" onClick={p.onCancel}>
            Cancel
          </button>
          <button type="submit" class="danger">
            Reset password
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteUserDialog(p: { user: User; onCancel(): void; onDone(): void }) {
  const call = useCall();
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<string | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    if (typed !== p.user.login) return setError(`Type ${p.user.login} to confirm.`);
    try {
      await call(() => api.admin.deleteUser(p.user.login));
      p.onDone();
    } catch (err) {
      setError(messageOf(err));
    }
  }

  return (
    <Dialog title={`Delete ${p.user.login}?`} onCancel={p.onCancel}>
      <form onSubmit={submit} noValidate>
        <p class="warning">
          The account, its API keys and all of its secrets are destroyed for good. This cannot be undone.
        </p>
        <Field
          label={`Type ${p.user.login} to confirm`}
          value={typed}
          onValue={setTyped}
          autocomplete="off"
          data-autofocus
        />
        <FormError message={error} />
        <div class="actions">
          <button type="button" onClick={p.onCancel}>
            Cancel
          </button>
          <button type="submit" class="danger">
            Delete user
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DisableUserDialog(p: { user: User; onCancel(): void; onDone(): void }) {
  const call = useCall();
  const [error, setError] = useState<string | null>(null);
  return (
    <ConfirmDialog
      title={`Disable ${p.user.login}?`}
      message={
        <p>
          Their sessions, job tickets and API keys end at once. Enabling the account later lets them sign in
          again; the ended API keys stay revoked.
        </p>
      }
      confirmLabel="Disable"
      danger
      error={error}
      onCancel={p.onCancel}
      onConfirm={() =>
        void call(() => api.admin.updateUser(p.user.login, { enabled: false })).then(p.onDone, (e: unknown) =>
          setError(messageOf(e)),
        )
      }
    />
  );
}
