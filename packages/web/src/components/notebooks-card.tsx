import type { NotebookInfo } from '@coffer/client';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { ConfirmDialog, Dialog } from './dialog';
import { Field } from './field';
import { formatTime } from '../format';
import { useCall } from '../session';
import { FormError } from './form-error';

const LANGUAGE_LABEL = { python: 'Python', r: 'R' } as const;

/** Jupyter's notebook page for a notebook, served by Coffer under its sign-in (docs/adr/0020). */
export const notebookPage = (project: string, name: string) =>
  `/jupyter/notebooks/${encodeURIComponent(project)}/${encodeURIComponent(name)}.ipynb`;

/**
 * A project's Jupyter notebooks (docs/adr/0020): new (Python or R), export as .ipynb, import an .ipynb,
 * rename, delete. Notebooks open in Jupyter's own page, which comes with the kernels' front end.
 */
export function NotebooksCard({ project, canEdit }: { project: string; canEdit: boolean }) {
  const call = useCall();
  const [notebooks, setNotebooks] = useState<NotebookInfo[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [renaming, setRenaming] = useState<string | null>(null);
  /** The notebook whose Rename button takes focus back once the list shows its new name. */
  const [refocus, setRefocus] = useState<string | null>(null);
  const file = useRef<HTMLInputElement>(null);
  const table = useRef<HTMLTableElement>(null);

  const load = useCallback(async () => {
    try {
      setNotebooks(await call(() => api.listNotebooks(project)));
    } catch (e) {
      setError(messageOf(e));
    }
  }, [call, project]);
  useEffect(() => void load(), [load]);

  // A renamed notebook's row is a new row: the button that opened the dialog is gone, so focus goes to
  // the same button of the row under its new name, where a keyboard user would expect to be.
  useEffect(() => {
    if (refocus === null) return;
    const button = [...(table.current?.querySelectorAll<HTMLElement>('[data-rename]') ?? [])].find(
      (b) => b.dataset.rename === refocus,
    );
    if (!button) return;
    button.focus();
    setRefocus(null);
  }, [notebooks, refocus]);

  async function act(what: () => Promise<string>) {
    setError(null);
    setStatus(null);
    try {
      setStatus(await what());
      await load();
    } catch (e) {
      setError(messageOf(e));
    }
  }

  const exportNotebook = (name: string) =>
    act(async () => {
      const { content } = await call(() => api.getNotebook(project, name));
      const metadata = (content.metadata as Record<string, unknown> | undefined) ?? {};
      delete metadata.coffer; // Coffer's revision stays here; the file is the notebook alone.
      const url = URL.createObjectURL(
        new Blob([JSON.stringify(content, null, 1)], { type: 'application/x-ipynb+json' }),
      );
      const a = document.createElement('a');
      a.href = url;
      a.download = `${name}.ipynb`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      return `Exported ${name}.ipynb.`;
    });

  const importNotebook = (file: File) =>
    act(async () => {
      const name = file.name.replace(/\.ipynb$/i, '');
      let content: unknown;
      try {
        content = JSON.parse(await file.text());
      } catch {
        throw new Error(`${file.name} is not a notebook: it is not JSON.`);
      }
      await call(() => api.putNotebook(project, name, { content, baseRevision: 0 }));
      return `Imported ${file.name} as ${name}.`;
    });

  const remove = (name: string) =>
    act(async () => {
      setDeleting(null);
      await call(() => api.deleteNotebook(project, name));
      return `Deleted ${name}.`;
    });

  return (
    <section class="card" aria-labelledby="notebooks">
      <div class="card-head">
        <h2 id="notebooks">Notebooks</h2>
        {canEdit && (
          <div class="toolbar">
            <input
              ref={file}
              type="file"
              accept=".ipynb,application/x-ipynb+json,application/json"
              class="visually-hidden"
              aria-label="Notebook file to import"
              tabIndex={-1}
              onChange={(e) => {
                const chosen = e.currentTarget.files?.[0];
                e.currentTarget.value = '';
                if (chosen) void importNotebook(chosen);
              }}
            />
            <button type="button" onClick={() => file.current?.click()}>
              Import .ipynb
            </button>
            <button type="button" class="primary" onClick={() => setCreating(true)}>
              New notebook
            </button>
          </div>
        )}
      </div>
      {notebooks.length === 0 && <p class="empty">No notebooks yet.</p>}
      {notebooks.length > 0 && (
        <table ref={table}>
          <thead>
            <tr>
              <th scope="col">Notebook</th>
              <th scope="col">Language</th>
              <th scope="col">Changed</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {notebooks.map((n) => (
              <tr key={n.name}>
                <th scope="row">
                  <a href={notebookPage(project, n.name)}>{n.name}</a>
                </th>
                <td>{LANGUAGE_LABEL[n.language]}</td>
                <td>
                  {formatTime(n.updatedAt)} <span class="muted small">by {n.updatedBy}</span>
                </td>
                <td class="row-actions">
                  <button
                    type="button"
                    aria-label={`Export ${n.name}`}
                    onClick={() => void exportNotebook(n.name)}
                  >
                    Export
                  </button>
                  {canEdit && (
                    <button
                      type="button"
                      aria-label={`Rename ${n.name}`}
                      data-rename={n.name}
                      onClick={() => setRenaming(n.name)}
                    >
                      Rename
                    </button>
                  )}
                  {canEdit && (
                    <button
                      type="button"
                      class="danger"
                      aria-label={`Delete ${n.name}`}
                      onClick={() => setDeleting(n.name)}
                    >
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <FormError message={error} />
      <p role="status" class="success">
        {status}
      </p>
      {deleting && (
        <ConfirmDialog
          title={`Delete ${deleting}?`}
          message={
            <p>
              The notebook and its outputs are deleted for every member of the project. This cannot be undone.
            </p>
          }
          confirmLabel={`Delete ${deleting}`}
          danger
          onConfirm={() => void remove(deleting)}
          onCancel={() => setDeleting(null)}
        />
      )}
      {renaming && (
        <RenameNotebookDialog
          project={project}
          name={renaming}
          onDone={(renamed) => {
            setRenaming(null);
            if (!renamed) return;
            setRefocus(renamed);
            void act(async () => `Renamed ${renaming} to ${renamed}.`);
          }}
        />
      )}
      {creating && (
        <NewNotebookDialog
          project={project}
          onDone={(message) => {
            setCreating(false);
            if (message) void act(async () => message);
          }}
        />
      )}
    </section>
  );
}

function NewNotebookDialog({ project, onDone }: { project: string; onDone(message?: string): void }) {
  const call = useCall();
  const [name, setName] = useState('');
  const [language, setLanguage] = useState<'python' | 'r'>('python');
  const [error, setError] = useState<string | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    try {
      const n = await call(() => api.putNotebook(project, name.trim(), { language, baseRevision: 0 }));
      // As in DSS, a new notebook opens at once, in Jupyter's page.
      window.location.assign(notebookPage(project, n.name));
      onDone(`Created ${n.name}.`);
    } catch (err) {
      setError(messageOf(err));
    }
  }

  return (
    <Dialog title="New notebook" onCancel={() => onDone()}>
      <form onSubmit={submit} noValidate>
        <Field
          label="Name"
          value={name}
          onValue={setName}
          autocomplete="off"
          spellcheck={false}
          data-autofocus
        />
        <div class="field">
          <label for="new-notebook-language">Language</label>
          <select
            id="new-notebook-language"
            value={language}
            onChange={(e) => setLanguage(e.currentTarget.value as 'python' | 'r')}
          >
            <option value="python">Python</option>
            <option value="r">R</option>
          </select>
        </div>
        <FormError message={error} />
        <div class="actions">
          <button type="button" onClick={() => onDone()}>
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

/** Renames a notebook in its project; the server's rule for names, or a name taken, shows here. */
function RenameNotebookDialog({
  project,
  name,
  onDone,
}: {
  project: string;
  name: string;
  /** With the new name once renamed; without, when cancelled or nothing changed. */
  onDone(renamed?: string): void;
}) {
  const call = useCall();
  const [newName, setNewName] = useState(name);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const to = newName.trim();
    if (to === name) return onDone();
    setBusy(true);
    try {
      const n = await call(() => api.renameNotebook(project, name, to));
      onDone(n.name);
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  }

  return (
    <Dialog title={`Rename ${name}`} onCancel={() => onDone()}>
      <form onSubmit={submit} noValidate>
        <Field
          label="Name"
          value={newName}
          onValue={setNewName}
          autocomplete="off"
          spellcheck={false}
          data-autofocus
        />
        <FormError message={error} />
        <div class="actions">
          <button type="button" onClick={() => onDone()}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            Rename
          </button>
        </div>
      </form>
    </Dialog>
  );
}
