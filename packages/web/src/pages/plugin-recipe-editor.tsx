import type { PluginDetail, ProjectRole, Recipe, RecipeReadiness } from '@coffer/client';
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, messageOf } from '../api';
import { FormError } from '../components/form-error';
import { focusFirstProblem, PluginForm } from '../components/plugin-form';
import { useRecipeRun } from '../components/recipe-run';
import { formatTime } from '../format';
import { defaultModel, formProblems, isVisible, type FormModel } from '../plugin-rules';
import { useCall } from '../session';

interface Props {
  project: string;
  name: string;
  /** The saved recipe; null for a new one not saved yet. */
  recipe: Recipe | null;
  /** Which plugin and which of its recipes (components). */
  component: { id: string; recipe: string };
  role: ProjectRole;
  onSaved(r: Recipe): void;
  reload(): Promise<void>;
}

const ID_PREFIX = 'recipe-param';

/**
 * A plugin recipe: the form generated from its component's params instead of code. Save checks the
 * form first (mandatory fields, visible ones only) and sends nothing while a field is in error. Before
 * a run, the server says what the runner still lacks (a plugin credential, a secret), with links to
 * where to enter it; Run stays off until nothing is missing.
 */
export function PluginRecipeEditor(p: Props) {
  const call = useCall();
  const { route } = useLocation();
  const [plugin, setPlugin] = useState<PluginDetail | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [secretNames, setSecretNames] = useState<string[] | null>(null);
  const [model, setModel] = useState<FormModel | null>(null);
  const [errors, setErrors] = useState<ReadonlyMap<string, string>>(new Map());
  const [readiness, setReadiness] = useState<RecipeReadiness | null>(null);
  /** Changes when the recipe on screen is replaced by another revision, to reset the fields' own state. */
  const [formKey, setFormKey] = useState(0);
  const canEdit = p.role === 'owner' || p.role === 'contributor';
  const info = plugin?.recipes.find((r) => r.id === p.component.recipe) ?? null;
  const params = info?.params ?? [];

  useEffect(() => {
    void (async () => {
      try {
        const detail = await call(() => api.getPlugin(p.component.id));
        setPlugin(detail);
        const component = detail.recipes.find((r) => r.id === p.component.recipe);
        setModel((m) => m ?? p.recipe?.plugin?.config ?? defaultModel(component?.params ?? []));
        if (component?.params.some((x) => x.type === 'USER_SECRET'))
          setSecretNames((await call(() => api.listSecrets())).secrets.map((s) => s.name));
      } catch (e) {
        setLoadError(messageOf(e));
        setModel((m) => m ?? p.recipe?.plugin?.config ?? {});
      }
    })();
  }, [call, p.component.id, p.component.recipe]);

  const saved = p.recipe !== null;
  /** `justSaved`: the recipe exists now, even if this render still shows it as new. */
  async function checkReadiness(justSaved = false): Promise<RecipeReadiness | null> {
    if (!(saved || justSaved) || !canEdit) return null;
    try {
      const r = await call(() => api.recipeReadiness(p.project, p.name));
      setReadiness(r);
      return r;
    } catch (e) {
      runner.setError(`Could not check whether the recipe can run: ${messageOf(e)}`);
      return null;
    }
  }
  useEffect(() => void checkReadiness(), [p.recipe?.revision]);

  const dirty = model !== null && (!p.recipe || !sameJson(model, p.recipe.plugin?.config ?? {}));

  async function save(): Promise<boolean> {
    if (!model) return false;
    runner.setError(null);
    const problems = formProblems(
      params.filter((x) => isVisible(x.visibilityCondition, model)),
      model,
    );
    const byName = new Map(problems.map((x) => [x.param, x.message]));
    setErrors(byName);
    if (byName.size) {
      runner.setStatus(null);
      runner.setError(
        `Not saved: ${byName.size === 1 ? 'one field needs' : `${byName.size} fields need`} your attention.`,
      );
      focusFirstProblem(ID_PREFIX, params, byName);
      return false;
    }
    try {
      // Based on the revision on screen (0 for a new recipe): a save by someone else since is refused.
      const r = await call(() =>
        api.putPluginRecipe(p.project, p.name, {
          plugin: { id: p.component.id, recipe: p.component.recipe },
          config: model,
          baseRevision: p.recipe?.revision ?? 0,
        }),
      );
      p.onSaved(r);
      runner.setStatus(`Saved at ${formatTime(r.updatedAt)}.`);
      if (!saved) route(`/projects/${p.project}/recipes/${encodeURIComponent(p.name)}`, true);
      return true;
    } catch (e) {
      runner.setError(messageOf(e));
      return false;
    }
  }

  const runner = useRecipeRun(p.project, p.name, {
    prepare: async () => {
      if (dirty && !(await save())) return false;
      const r = await checkReadiness(true);
      if (r && !r.ready) runner.setStatus('Not run: something you need is missing (see above).');
      return r?.ready ?? true;
    },
    reload: async () => {
      await p.reload();
      setModel(null);
      setFormKey((k) => k + 1);
    },
  });
  // An approved run loaded another revision: show its values.
  useEffect(() => {
    if (model === null && p.recipe?.plugin) setModel(p.recipe.plugin.config);
  }, [model, p.recipe]);

  const broken = p.recipe?.broken ?? null;
  const notReady = readiness !== null && !readiness.ready;

  return (
    <>
      {broken && (
        <section class="notice error" role="alert" aria-labelledby="broken-heading">
          <h2 id="broken-heading">This recipe cannot run</h2>
          <p>{broken}</p>
        </section>
      )}
      <section class="card" aria-labelledby="settings-heading">
        <div class="card-head">
          <h2 id="settings-heading">Settings</h2>
          {canEdit && (
            <div class="toolbar">
              <button type="button" onClick={() => void save()} disabled={!dirty || runner.busy}>
                Save
              </button>
              <button
                type="button"
                class="primary"
                onClick={() => void runner.run()}
                disabled={!runner.canRun || broken !== null || notReady}
              >
                Run
              </button>
            </div>
          )}
        </div>
        <p class="muted">
          {info ? info.label : p.component.recipe}, a recipe of the plugin{' '}
          <strong>{plugin?.label ?? p.component.id}</strong>
          {plugin && ` (version ${plugin.version})`}.{info?.description && ` ${info.description}`}
        </p>
        {!saved && <p class="warning">Not saved yet: fill in the settings, then Save.</p>}
        <FormError message={loadError && `Could not load the plugin: ${loadError}`} />
        <FormError
          message={
            plugin && !info
              ? `The plugin ${plugin.label} has no recipe ${p.component.recipe} any more.`
              : null
          }
        />
        {info && model && (
          <form
            key={formKey}
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              void save();
            }}
          >
            <PluginForm
              params={params}
              model={model}
              onModel={(m) => {
                setModel(m);
                setErrors(new Map());
              }}
              errors={errors}
              idPrefix={ID_PREFIX}
              readOnly={!canEdit}
              choices={{
                presets: (setId) =>
                  plugin?.parameterSets.find((s) => s.id === setId)?.presets.map((x) => x.name) ?? [],
                secretNames,
              }}
            />
          </form>
        )}
        {canEdit && notReady && <Missing readiness={readiness} onCheck={() => void checkReadiness()} />}
        <p class="muted small">
          {canEdit
            ? 'Runs as you, with your own plugin credentials and secrets: their values are masked (*****) in the log.'
            : 'You are a reader in this project: you can read this recipe but not change or run it.'}
          {p.recipe &&
            ` Revision ${p.recipe.revision}, last changed ${formatTime(p.recipe.updatedAt)} by ${p.recipe.updatedBy}.`}
        </p>
        <FormError message={runner.error} />
        <p role="status" class={runner.statusClass}>
          {runner.status}
        </p>
      </section>
      {runner.output}
    </>
  );
}

/** What the runner lacks, each with a link to where to add it. */
function Missing({ readiness, onCheck }: { readiness: RecipeReadiness; onCheck(): void }) {
  return (
    <div class="notice" aria-labelledby="missing-heading">
      <h3 id="missing-heading">Before you can run this recipe</h3>
      <ul>
        {readiness.missing.map((m, i) => (
          <li key={i}>
            {m.message}{' '}
            {m.kind === 'credential' && <a href="/profile/credentials">Enter it on your Credentials tab</a>}
            {m.kind === 'secret' && <a href="/profile">Add it under Other credentials</a>}
          </li>
        ))}
      </ul>
      <button type="button" onClick={onCheck}>
        Check again
      </button>
    </div>
  );
}

/** Equal as JSON, whatever the order of object keys. */
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
    );
  return v;
}
