import { ApprovalRequired, type ProjectRole, type Recipe, type RecipeLanguage } from '@coffer/client';
import { useEffect, useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { api, messageOf } from '../api';
import { ApprovalDialog } from '../components/approval-dialog';
import { JobLog } from '../components/job-log';
import { formatTime } from '../format';
import { useCall, useSession } from '../session';
import { LANGUAGES } from './project-page';

/**
 * Edit a recipe, run it as yourself and follow its log live. Run saves first, so what runs is what is
 * on screen. When someone else changed the code since you last ran it, Run first shows who changed what
 * and the diff, and runs only once you approve that revision (ADR 0015). Readers see the code but can
 * neither change nor run it.
 */
export function RecipePage() {
  const { params } = useRoute();
  const key = params.key!;
  const name = decodeURIComponent(params.name!);
  const call = useCall();
  const { session } = useSession();
  const [recipe, setRecipe] = useState<Recipe | null>(null);
  const [role, setRole] = useState<ProjectRole | null>(null);
  const [code, setCode] = useState('');
  const [language, setLanguage] = useState<RecipeLanguage>('python');
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [approval, setApproval] = useState<ApprovalRequired | null>(null);

  useEffect(() => {
    void (async () => {
      try {
        const [r, p] = await Promise.all([
          call(() => api.getRecipe(key, name)),
          call(() => api.getProject(key)),
        ]);
        setRecipe(r);
        setCode(r.code);
        setLanguage(r.language);
        setRole(p.role);
      } catch (e) {
        setError(messageOf(e));
      }
    })();
  }, [call, key, name]);

  const dirty = recipe !== null && (code !== recipe.code || language !== recipe.language);
  const canEdit = role === 'owner' || role === 'contributor';

  async function save(): Promise<boolean> {
    setError(null);
    try {
      // Based on the revision on screen: a save by someone else since is refused, not overwritten.
      const r = await call(() =>
        api.putRecipe(key, name, { language, code, baseRevision: recipe?.revision ?? 0 }),
      );
      setRecipe(r);
      setStatus(`Saved at ${formatTime(r.updatedAt)}.`);
      return true;
    } catch (e) {
      setError(messageOf(e));
      return false;
    }
  }

  async function run(approvedRevision?: number) {
    setBusy(true);
    setError(null);
    try {
      if (dirty && !(await save())) return;
      const job = await call(() =>
        api.runRecipe(key, name, approvedRevision === undefined ? {} : { approvedRevision }),
      );
      setApproval(null);
      setJobId(job.id);
      setStatus(`Running revision ${job.revision ?? '?'} as ${session.user.login}…`);
      // An approved run may be of code this page had not loaded: show what runs.
      if (approvedRevision !== undefined) {
        const r = await call(() => api.getRecipe(key, name));
        setRecipe(r);
        setCode(r.code);
        setLanguage(r.language);
      }
    } catch (e) {
      // Asked again after approving means the code changed meanwhile: the dialog shows the new diff.
      if (e instanceof ApprovalRequired) setApproval(e);
      else {
        setApproval(null);
        setError(messageOf(e));
      }
    } finally {
      setBusy(false);
    }
  }

  if (!recipe)
    return error ? (
      <section class="card">
        <h1>{name}</h1>
        <p class="error" role="alert">
          {error}
        </p>
      </section>
    ) : (
      <p class="loading">Loading…</p>
    );

  return (
    <>
      <p class="crumbs">
        <a href="/projects">Projects</a> / <a href={`/projects/${key}`}>{key}</a> /
      </p>
      <h1>{recipe.name}</h1>
      <section class="card" aria-labelledby="code-heading">
        <div class="card-head">
          <h2 id="code-heading">Code</h2>
          <div class="toolbar">
            <label for="recipe-language" class="visually-hidden">
              Language
            </label>
            <select
              id="recipe-language"
              value={language}
              disabled={!canEdit}
              onChange={(e) => setLanguage(e.currentTarget.value as RecipeLanguage)}
            >
              {LANGUAGES.map((l) => (
                <option key={l.value} value={l.value}>
                  {l.label}
                </option>
              ))}
            </select>
            {canEdit && (
              <>
                <button type="button" onClick={() => void save()} disabled={!dirty || busy}>
                  Save
                </button>
                <button
                  type="button"
                  class="primary"
                  onClick={() => void run()}
                  disabled={busy || approval !== null}
                >
                  Run
                </button>
              </>
            )}
          </div>
        </div>
        <textarea
          class="code"
          aria-label="Recipe code"
          spellcheck={false}
          autocapitalize="off"
          readOnly={!canEdit}
          value={code}
          onInput={(e) => setCode(e.currentTarget.value)}
          onKeyDown={(e) => {
            // Tab inserts indentation; Escape then Tab leaves the editor (keyboard users are not trapped).
            if (e.key === 'Tab' && !e.shiftKey && !e.currentTarget.dataset.leaving) {
              e.preventDefault();
              const t = e.currentTarget;
              const at = t.selectionStart;
              setCode(code.slice(0, at) + '    ' + code.slice(t.selectionEnd));
              requestAnimationFrame(() => t.setSelectionRange(at + 4, at + 4));
            }
            if (e.key === 'Escape') e.currentTarget.dataset.leaving = '1';
          }}
          onBlur={(e) => delete e.currentTarget.dataset.leaving}
          rows={18}
        />
        <p class="muted small">
          {canEdit
            ? 'Runs as you, with your credentials: values of your secrets are masked (*****) in the log. Tab indents; Escape then Tab leaves the editor.'
            : 'You are a reader in this project: you can read this recipe but not change or run it.'}{' '}
          Revision {recipe.revision}, last changed {formatTime(recipe.updatedAt)} by {recipe.updatedBy}.
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <p role="status" class="success">
          {status}
        </p>
      </section>
      {approval && (
        <ApprovalDialog
          recipe={recipe.name}
          approval={approval}
          busy={busy}
          onConfirm={() => void run(approval.revision)}
          onCancel={() => {
            setApproval(null);
            setStatus('Not run: you did not approve the changes.');
          }}
        />
      )}
      {jobId && (
        <div class="card">
          <JobLog jobId={jobId} onFinished={(j) => setStatus(`Job ${j.state.replace('_', ' ')}.`)} />
        </div>
      )}
    </>
  );
}

export function JobPage() {
  const { params } = useRoute();
  return (
    <>
      <p class="crumbs">
        <a href="/projects">Projects</a> /
      </p>
      <h1>Job</h1>
      <div class="card">
        <JobLog jobId={params.id!} />
      </div>
    </>
  );
}
