import type { Job, ProjectRole, Recipe, RecipeLanguage } from '@coffer/client';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { api, messageOf } from '../api';
import { BreakableName } from '../components/breakable-name';
import { FormError } from '../components/form-error';
import { JobLog } from '../components/job-log';
import { useRecipeRun } from '../components/recipe-run';
import { formatTime, shortJobId } from '../format';
import { useCall } from '../session';
import { useTitle } from '../title';
import { PluginRecipeEditor } from './plugin-recipe-editor';
import { LANGUAGES } from './project-page';

/**
 * A recipe: loads it and the project role, then shows the code editor, or for a plugin recipe the form
 * generated from its component (`?plugin=&component=` opens a new, unsaved plugin recipe of that name).
 */
export function RecipePage() {
  const { params, query } = useRoute();
  const key = params.key!;
  const name = decodeURIComponent(params.name!);
  useTitle(`Recipe ${name}`);
  const call = useCall();
  const fresh = query.plugin && query.component ? { id: query.plugin, recipe: query.component } : null;
  const [recipe, setRecipe] = useState<Recipe | null>(null);
  const [role, setRole] = useState<ProjectRole | null>(null);
  const [error, setError] = useState<string | null>(null);

  const reload = useCallback(async () => {
    setRecipe(await call(() => api.getRecipe(key, name)));
  }, [call, key, name]);

  useEffect(() => {
    void (async () => {
      try {
        const [r, p] = await Promise.all([
          fresh ? null : call(() => api.getRecipe(key, name)),
          call(() => api.getProject(key)),
        ]);
        setRecipe(r);
        setRole(p.role);
      } catch (e) {
        setError(messageOf(e));
      }
    })();
  }, [call, key, name, fresh?.id, fresh?.recipe]);

  if (error)
    return (
      <section class="card">
        <h1>{name}</h1>
        <FormError message={error} />
      </section>
    );
  if (!role || (!recipe && !fresh)) return <p class="loading">Loading…</p>;

  return (
    <>
      <p class="crumbs">
        <a href="/projects">Projects</a> / <a href={`/projects/${key}`}>{key}</a> /
      </p>
      <h1>
        <BreakableName name={name} />
      </h1>
      {recipe?.plugin || fresh ? (
        <PluginRecipeEditor
          project={key}
          name={name}
          recipe={recipe}
          component={recipe?.plugin ?? fresh!}
          role={role}
          onSaved={setRecipe}
          reload={reload}
        />
      ) : (
        <CodeEditor project={key} recipe={recipe!} role={role} onSaved={setRecipe} />
      )}
    </>
  );
}

/**
 * Edit a recipe's code, run it as yourself and follow its log live. Run saves first, so what runs is
 * what is on screen. When someone else changed the code since you last ran it, Run first shows who
 * changed what and the diff, and runs only once you approve that revision (ADR 0014). Readers see the
 * code but can neither change nor run it.
 */
function CodeEditor(p: { project: string; recipe: Recipe; role: ProjectRole; onSaved(r: Recipe): void }) {
  const { project: key, recipe } = p;
  const call = useCall();
  const [code, setCode] = useState(recipe.code);
  const [language, setLanguage] = useState<RecipeLanguage>(recipe.language);
  const dirty = code !== recipe.code || language !== recipe.language;
  const canEdit = p.role === 'owner' || p.role === 'contributor';
  const runner = useRecipeRun(key, recipe.name, {
    prepare: async () => !dirty || (await save()),
    reload: async () => {
      const r = await call(() => api.getRecipe(key, recipe.name));
      p.onSaved(r);
      setCode(r.code);
      setLanguage(r.language);
    },
  });
  const { error, status } = runner;

  async function save(): Promise<boolean> {
    runner.setError(null);
    try {
      // Based on the revision on screen: a save by someone else since is refused, not overwritten.
      const r = await call(() =>
        api.putRecipe(key, recipe.name, { language, code, baseRevision: recipe.revision }),
      );
      p.onSaved(r);
      runner.setStatus(`Saved at ${formatTime(r.updatedAt)}.`);
      return true;
    } catch (e) {
      runner.setError(messageOf(e));
      return false;
    }
  }

  return (
    <>
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
                <button type="button" onClick={() => void save()} disabled={!dirty || runner.busy}>
                  Save
                </button>
                <button
                  type="button"
                  class="primary"
                  onClick={() => void runner.run()}
                  disabled={!runner.canRun}
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
        <FormError message={error} />
        <p role="status" class={runner.statusClass}>
          {status}
        </p>
      </section>
      {runner.output}
    </>
  );
}

/** A job on its own page: where it came from, and its log followed live. */
export function JobPage() {
  const { params } = useRoute();
  const id = params.id!;
  const call = useCall();
  const [job, setJob] = useState<Job | null>(null);
  useTitle(`Job ${shortJobId(id)}`);
  useEffect(() => {
    // Only for the breadcrumb: the log below says itself when the job cannot be read.
    call(() => api.getJob(id)).then(setJob, () => setJob(null));
  }, [call, id]);

  return (
    <>
      <p class="crumbs">
        <a href="/projects">Projects</a> /{' '}
        {job && (
          <>
            <a href={`/projects/${job.project}`}>{job.project}</a> /{' '}
            <a href={`/projects/${job.project}/recipes/${encodeURIComponent(job.recipe)}`}>{job.recipe}</a> /
          </>
        )}
      </p>
      <h1>
        Job <code>{shortJobId(id)}</code>
      </h1>
      <div class="card">
        <JobLog jobId={id} level={2} />
      </div>
    </>
  );
}
