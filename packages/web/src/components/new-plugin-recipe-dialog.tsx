import type { PluginDetail, PluginSummary } from '@coffer/client';
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, messageOf } from '../api';
import { useCall } from '../session';
import { Dialog } from './dialog';
import { Field } from './field';
import { FormError } from './form-error';

interface Props {
  project: string;
  /** Names of the project's recipes: a new one may not take them. */
  takenNames: ReadonlySet<string>;
  onCancel(): void;
}

/**
 * A new recipe from an installed plugin: the plugin, one of its recipes and a name. Nothing is saved
 * here: the recipe page opens with the plugin's form, and its first Save creates the recipe.
 */
export function NewPluginRecipeDialog({ project, takenNames, onCancel }: Props) {
  const call = useCall();
  const { route } = useLocation();
  const [plugins, setPlugins] = useState<PluginSummary[] | null>(null);
  const [pluginId, setPluginId] = useState('');
  const [detail, setDetail] = useState<PluginDetail | null>(null);
  const [component, setComponent] = useState('');
  const [name, setName] = useState('');
  const [nameError, setNameError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    call(() => api.listPlugins()).then(
      (list) => {
        setPlugins(list);
        if (list.length === 1) setPluginId(list[0]!.id);
      },
      (e: unknown) => setError(messageOf(e)),
    );
  }, [call]);

  useEffect(() => {
    setDetail(null);
    setComponent('');
    if (!pluginId) return;
    call(() => api.getPlugin(pluginId)).then(
      (d) => {
        setDetail(d);
        if (d.recipes.length === 1) setComponent(d.recipes[0]!.id);
      },
      (e: unknown) => setError(messageOf(e)),
    );
  }, [call, pluginId]);

  const chosen = detail?.recipes.find((r) => r.id === component);

  function submit(e: Event) {
    e.preventDefault();
    const n = name.trim();
    const problem = !n
      ? 'Give the recipe a name.'
      : takenNames.has(n)
        ? `This project already has a recipe named ${n}.`
        : null;
    setNameError(problem);
    if (problem) return document.getElementById('plugin-recipe-name')?.focus();
    if (!pluginId || !component) return setError('Choose a plugin and one of its recipes.');
    const q = new URLSearchParams({ plugin: pluginId, component });
    route(`/projects/${project}/recipes/${encodeURIComponent(n)}?${q}`);
  }

  return (
    <Dialog title="New plugin recipe" onCancel={onCancel}>
      <form onSubmit={submit} noValidate>
        {plugins?.length === 0 ? (
          <p class="empty">No plugins are installed. An administrator installs them under Administration.</p>
        ) : (
          <>
            <div class="field">
              <label for="plugin-recipe-plugin">Plugin</label>
              <select
                id="plugin-recipe-plugin"
                value={pluginId}
                data-autofocus
                onChange={(e) => setPluginId(e.currentTarget.value)}
              >
                <option value="">{plugins ? 'Choose a plugin…' : 'Loading…'}</option>
                {plugins?.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.label} ({p.version})
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="plugin-recipe-component">Recipe of the plugin</label>
              <select
                id="plugin-recipe-component"
                value={component}
                disabled={!detail}
                aria-describedby={chosen?.description ? 'plugin-recipe-component-hint' : undefined}
                onChange={(e) => setComponent(e.currentTarget.value)}
              >
                <option value="">Choose one…</option>
                {detail?.recipes.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.label}
                  </option>
                ))}
              </select>
              {chosen?.description && (
                <p class="hint" id="plugin-recipe-component-hint">
                  {chosen.description}
                </p>
              )}
            </div>
            <Field
              id="plugin-recipe-name"
              label="Name"
              value={name}
              onValue={setName}
              autocomplete="off"
              spellcheck={false}
              error={nameError}
            />
          </>
        )}
        <FormError message={error} />
        <div class="actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={!plugins?.length}>
            Continue
          </button>
        </div>
      </form>
    </Dialog>
  );
}
