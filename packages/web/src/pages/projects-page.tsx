import type { Project } from '@coffer/client';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, messageOf } from '../api';
import { Dialog } from '../components/dialog';
import { Field } from '../components/field';
import { firstMissing, FormError } from '../components/form-error';
import { formatTime } from '../format';
import { useCall } from '../session';
import { useTitle } from '../title';

/** The projects you are a member of, and creating one. */
export function ProjectsPage() {
  useTitle('Projects');
  const call = useCall();
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);

  const load = useCallback(async () => {
    try {
      setProjects(await call(() => api.listProjects()));
    } catch (e) {
      setError(messageOf(e));
    }
  }, [call]);
  useEffect(() => void load(), [load]);

  return (
    <>
      <h1>Projects</h1>
      <section class="card" aria-labelledby="projects">
        <div class="card-head">
          <h2 id="projects">Your projects</h2>
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            New project
          </button>
        </div>
        <FormError message={error} />
        {projects && projects.length === 0 && <p class="empty">You are not in any project yet.</p>}
        {projects && projects.length > 0 && (
          <table>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Name</th>
                <th scope="col">Your role</th>
                <th scope="col">Changed</th>
              </tr>
            </thead>
            <tbody>
              {projects.map((p) => (
                <tr key={p.key}>
                  <th scope="row">
                    <a href={`/projects/${p.key}`}>{p.key}</a>
                  </th>
                  <td>{p.name}</td>
                  <td>{p.role}</td>
                  <td data-label="Changed">{formatTime(p.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {creating && <NewProjectDialog onCancel={() => setCreating(false)} />}
    </>
  );
}

function NewProjectDialog({ onCancel }: { onCancel(): void }) {
  const call = useCall();
  const { route } = useLocation();
  const [key, setKey] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    const missing = firstMissing([
      { id: 'new-project-key', value: key, message: 'Enter a key for the project, such as SALES.' },
    ]);
    if (missing) return setError(missing);
    try {
      const p = await call(() => api.createProject(key.trim(), name.trim() || key.trim()));
      route(`/projects/${p.key}`);
    } catch (err) {
      setError(messageOf(err));
    }
  }

  return (
    <Dialog title="New project" onCancel={onCancel}>
      <form onSubmit={submit} noValidate>
        <Field
          id="new-project-key"
          label="Key"
          value={key}
          onValue={(v) => setKey(v.toUpperCase())}
          hint="Upper-case letters, digits and _, e.g. SALES_FORECAST."
          autocomplete="off"
          spellcheck={false}
          data-autofocus
        />
        <Field label="Name" value={name} onValue={setName} autocomplete="off" />
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
