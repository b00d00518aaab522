import type { Job, ProjectDetail, ProjectRole, Recipe, RecipeLanguage } from '@coffer/client';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { api, messageOf } from '../api';
import { BreakableName } from '../components/breakable-name';
import { ConfirmDialog, Dialog } from '../components/dialog';
import { Field } from '../components/field';
import { firstMissing, FormError } from '../components/form-error';
import { NewPluginRecipeDialog } from '../components/new-plugin-recipe-dialog';
import { NotebooksCard } from '../components/notebooks-card';
import { RunningKernels } from '../components/running-kernels';
import { useFocusAfterRender } from '../focus';
import { formatTime, shortJobId } from '../format';
import { useCall, useSession } from '../session';
import { useTitle } from '../title';

export const LANGUAGES: { value: RecipeLanguage; label: string }[] = [
  { value: 'python', label: 'Python' },
  { value: 'r', label: 'R' },
  { value: 'javascript', label: 'JavaScript' },
];

export const STARTERS: Record<RecipeLanguage, string> = {
  python: `import dataiku

client = dataiku.api_client()
auth_info = client.get_auth_info(with_secrets=True)
for secret in auth_info["secrets"]:
    print("found secret", secret["key"])
`,
  r: `library(dataiku)
auth_info = dkuGetAuthInfo(with_secrets = TRUE)
for (s in auth_info$secrets) print(paste("found secret", s$key))
`,
  javascript: `import { apiClient } from '@coffer/client/node';

const info = await apiClient().authInfo({ withSecrets: true });
for (const s of info.secrets ?? []) console.log('found secret', s.key);
`,
};

/** One project: its recipes, its notebooks, its members (owners manage them) and your jobs in it. */
export function ProjectPage() {
  const { params } = useRoute();
  const key = params.key!;
  useTitle(`Project ${key}`);
  const call = useCall();
  const [project, setProject] = useState<ProjectDetail | null>(null);
  const [recipes, setRecipes] = useState<Recipe[]>([]);
  const [jobs, setJobs] = useState<Job[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [creatingPlugin, setCreatingPlugin] = useState(false);

  const load = useCallback(async () => {
    try {
      const [p, r, j] = await Promise.all([
        call(() => api.getProject(key)),
        call(() => api.listRecipes(key)),
        call(() => api.listJobs({ project: key, limit: 20 })),
      ]);
      setProject(p);
      setRecipes(r);
      setJobs(j);
    } catch (e) {
      setError(messageOf(e));
    }
  }, [call, key]);
  useEffect(() => void load(), [load]);

  if (error)
    return (
      <section class="card">
        <h1>Project {key}</h1>
        <FormError message={error} />
      </section>
    );
  if (!project) return <p class="loading">Loading…</p>;
  const canEdit = project.role !== 'reader';

  return (
    <>
      <p class="crumbs">
        <a href="/projects">Projects</a> /
      </p>
      <h1>
        {project.name}{' '}
        <span class="muted small">
          ({project.key}, you are {project.role})
        </span>
      </h1>
      <section class="card" aria-labelledby="recipes">
        <div class="card-head">
          <h2 id="recipes">Recipes</h2>
          {canEdit && (
            <div class="toolbar">
              <button type="button" onClick={() => setCreatingPlugin(true)}>
                New plugin recipe
              </button>
              <button type="button" class="primary" onClick={() => setCreating(true)}>
                New recipe
              </button>
            </div>
          )}
        </div>
        {recipes.length === 0 && <p class="empty">No recipes yet.</p>}
        {recipes.length > 0 && (
          <table>
            <thead>
              <tr>
                <th scope="col">Recipe</th>
                <th scope="col">Kind</th>
                <th scope="col">Changed</th>
              </tr>
            </thead>
            <tbody>
              {recipes.map((r) => (
                <tr key={r.name}>
                  <th scope="row">
                    <a href={`/projects/${key}/recipes/${encodeURIComponent(r.name)}`}>
                      <BreakableName name={r.name} />
                    </a>
                  </th>
                  <td>
                    {r.plugin ? (
                      <>
                        Plugin {r.plugin.id}, {r.plugin.recipe}
                      </>
                    ) : (
                      LANGUAGES.find((l) => l.value === r.language)?.label
                    )}
                    {r.broken && <span class="badge">broken</span>}
                  </td>
                  <td data-label="Changed">
                    {formatTime(r.updatedAt)} <span class="muted small">by {r.updatedBy}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <NotebooksCard project={key} canEdit={canEdit} />

      <RunningKernels project={key} />

      <Members project={project} onChanged={load} />

      <section class="card" aria-labelledby="my-jobs">
        <h2 id="my-jobs">Your jobs here</h2>
        {jobs.length === 0 && <p class="empty">You have not run anything in this project yet.</p>}
        {jobs.length > 0 && (
          <table>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Recipe</th>
                <th scope="col">State</th>
                <th scope="col">Queued</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) => (
                <tr key={j.id}>
                  <th scope="row">
                    <a href={`/jobs/${j.id}`}>{shortJobId(j.id)}</a>
                  </th>
                  <td>
                    <BreakableName name={j.recipe} />
                  </td>
                  <td>
                    <span class={`state state-${j.state}`}>{j.state.replace('_', ' ')}</span>
                  </td>
                  <td data-label="Queued">{formatTime(j.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      {creating && <NewRecipeDialog project={key} onCancel={() => setCreating(false)} />}
      {creatingPlugin && (
        <NewPluginRecipeDialog
          project={key}
          takenNames={new Set(recipes.map((r) => r.name))}
          onCancel={() => setCreatingPlugin(false)}
        />
      )}
    </>
  );
}

function Members({ project, onChanged }: { project: ProjectDetail; onChanged(): Promise<void> }) {
  const call = useCall();
  const [login, setLogin] = useState('');
  const [role, setRole] = useState<ProjectRole>('contributor');
  const [error, setError] = useState<string | null>(null);
  const [removing, setRemoving] = useState<ProjectDetail['members'][number] | null>(null);
  const [removeError, setRemoveError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const { session } = useSession();
  const focusAfter = useFocusAfterRender();
  const owner = project.role === 'owner';

  async function act(fn: () => Promise<void>) {
    setError(null);
    try {
      await call(fn);
      await onChanged();
    } catch (e) {
      setError(messageOf(e));
    }
  }

  /** Removes after the owner confirmed; focus moves to the next member's Remove, or to the Login field. */
  async function remove() {
    if (!removing) return;
    const row = document.querySelector(`tr[data-member="${CSS.escape(removing.login)}"]`);
    const next = (row?.nextElementSibling ?? row?.previousElementSibling)?.getAttribute('data-member');
    setBusy(true);
    try {
      await call(() => api.removeProjectMember(project.key, removing.login));
      await onChanged();
      setRemoving(null);
      setRemoveError(null);
      focusAfter(
        () =>
          next ? document.querySelector<HTMLElement>(`tr[data-member="${CSS.escape(next)}"] button`) : null,
        '#member-login',
      );
    } catch (e) {
      setRemoveError(messageOf(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card" aria-labelledby="members">
      <h2 id="members">Members</h2>
      <p class="muted small">
        Readers see recipes; contributors also edit and run them; owners also manage members. A recipe always
        runs as the member who clicks Run, with their own credentials.
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">Member</th>
            <th scope="col">Role</th>
            {owner && (
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {project.members.map((m) => (
            <tr key={m.login} data-member={m.login}>
              <th scope="row">
                {m.displayName} <span class="muted small">({m.login})</span>
              </th>
              <td>{m.role}</td>
              {owner && (
                <td class="row-actions">
                  <button type="button" aria-label={`Remove ${m.login}`} onClick={() => setRemoving(m)}>
                    Remove
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {owner && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            const missing = firstMissing([
              { id: 'member-login', value: login, message: 'Enter the login of the person to add.' },
            ]);
            if (missing) return setError(missing);
            void act(() => api.setProjectMember(project.key, login.trim(), role)).then(() => setLogin(''));
          }}
        >
          <Field id="member-login" label="Login" value={login} onValue={setLogin} autocomplete="off" />
          <div class="field">
            <label for="member-role">Role</label>
            <select
              id="member-role"
              value={role}
              onChange={(e) => setRole(e.currentTarget.value as ProjectRole)}
            >
              <option value="reader">reader</option>
              <option value="contributor">contributor</option>
              <option value="owner">owner</option>
            </select>
          </div>
          <button type="submit">Add or change member</button>
        </form>
      )}
      <FormError message={error} />
      {removing && (
        <ConfirmDialog
          title={`Remove ${removing.login} from ${project.key}?`}
          message={
            <p>
              {removing.login === session.user.login ? (
                <>
                  You will no longer see this project&apos;s recipes and notebooks, nor run them. Another
                  owner can add you again.
                </>
              ) : (
                <>
                  <strong>{removing.displayName}</strong> ({removing.login}) will no longer see this
                  project&apos;s recipes and notebooks, nor run them. You can add them again later.
                </>
              )}
            </p>
          }
          confirmLabel="Remove"
          danger
          busy={busy}
          error={removeError}
          onConfirm={() => void remove()}
          onCancel={() => {
            setRemoving(null);
            setRemoveError(null);
          }}
        />
      )}
    </section>
  );
}

function NewRecipeDialog({ project, onCancel }: { project: string; onCancel(): void }) {
  const call = useCall();
  const { route } = useLocation();
  const [name, setName] = useState('');
  const [language, setLanguage] = useState<RecipeLanguage>('python');
  const [error, setError] = useState<string | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    const missing = firstMissing([
      { id: 'new-recipe-name', value: name, message: 'Enter a name for the recipe.' },
    ]);
    if (missing) return setError(missing);
    try {
      // baseRevision 0: a name already taken is refused instead of replacing that recipe's code.
      const r = await call(() =>
        api.putRecipe(project, name.trim(), { language, code: STARTERS[language], baseRevision: 0 }),
      );
      route(`/projects/${project}/recipes/${encodeURIComponent(r.name)}`);
    } catch (err) {
      setError(messageOf(err));
    }
  }

  return (
    <Dialog title="New recipe" onCancel={onCancel}>
      <form onSubmit={submit} noValidate>
        <Field
          id="new-recipe-name"
          label="Name"
          value={name}
          onValue={setName}
          autocomplete="off"
          spellcheck={false}
          data-autofocus
        />
        <div class="field">
          <label for="new-recipe-language">Language</label>
          <select
            id="new-recipe-language"
            value={language}
            onChange={(e) => setLanguage(e.currentTarget.value as RecipeLanguage)}
          >
            {LANGUAGES.map((l) => (
              <option key={l.value} value={l.value}>
                {l.label}
              </option>
            ))}
          </select>
        </div>
        <FormError message={error} />
        <div class="actions">
          <button type="button" onClick={onCancel}>
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
