import type { PluginDetail, PluginParameterSetInfo, PluginPresetInfo, PluginUsage } from '@coffer/client';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, isConflict, messageOf } from '../api';
import { AdminTabs } from '../components/admin-tabs';
import { ConfirmDialog } from '../components/dialog';
import { FormError } from '../components/form-error';
import { PresetDialog } from '../components/preset-dialog';
import { focusFirstProblem, PluginForm } from '../components/plugin-form';
import { formatTime } from '../format';
import { defaultModel, formProblems, type FormModel } from '../plugin-rules';
import { useCall, useSession } from '../session';
import { useTitle } from '../title';

type Action =
  | { kind: 'remove'; plugin: PluginDetail }
  | { kind: 'preset'; plugin: PluginDetail; set: PluginParameterSetInfo; preset?: PluginPresetInfo }
  | { kind: 'delete-preset'; plugin: PluginDetail; set: PluginParameterSetInfo; preset: PluginPresetInfo };

/**
 * Plugins (DSS's custom recipes, docs/adr/0021): administrators install them from a zip, remove them,
 * and keep the presets of their parameter sets. Presets never hold anyone's credentials: each user
 * enters their own on their Credentials tab.
 */
export function AdminPluginsPage() {
  const { session } = useSession();
  useTitle('Plugins — Administration');
  const call = useCall();
  const [plugins, setPlugins] = useState<PluginDetail[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [action, setAction] = useState<Action | null>(null);

  const load = useCallback(async () => {
    try {
      const list = await call(() => api.listPlugins());
      setPlugins(await Promise.all(list.map((p) => call(() => api.getPlugin(p.id)))));
    } catch (e) {
      setError(messageOf(e));
    }
  }, [call]);
  useEffect(() => {
    if (session.user.admin) void load();
  }, [load, session.user.admin]);

  if (!session.user.admin)
    return (
      <section class="card">
        <h1>Administration</h1>
        <p role="alert">This page is for administrators only.</p>
      </section>
    );

  const done = async (message: string) => {
    setAction(null);
    setError(null);
    setNotice(message);
    await load();
  };

  return (
    <>
      <h1>Administration</h1>
      <AdminTabs />
      <InstallCard onInstalled={(p) => void done(`Installed ${p.label} (${p.id}), version ${p.version}.`)} />
      <p role="status" class="success">
        {notice}
      </p>
      <FormError message={error} />
      {plugins?.length === 0 && (
        <section class="card">
          <p class="empty">No plugins installed yet.</p>
        </section>
      )}
      {plugins?.map((p) => (
        <PluginCard
          key={p.id}
          plugin={p}
          onAction={setAction}
          onSettingsSaved={() => void done(`Saved the settings of ${p.label}.`)}
        />
      ))}

      {action?.kind === 'remove' && (
        <RemovePluginDialog
          plugin={action.plugin}
          onCancel={() => setAction(null)}
          onRemoved={() => void done(`Removed ${action.plugin.label}.`)}
        />
      )}
      {action?.kind === 'preset' && (
        <PresetDialog
          plugin={action.plugin}
          set={action.set}
          preset={action.preset}
          onCancel={() => setAction(null)}
          onSaved={(saved) => void done(`Saved preset ${saved.name} of ${action.set.label}.`)}
        />
      )}
      {action?.kind === 'delete-preset' && (
        <DeletePresetDialog
          {...action}
          onCancel={() => setAction(null)}
          onDeleted={() => void done(`Deleted preset ${action.preset.name}.`)}
        />
      )}
    </>
  );
}

/** Install from a .zip: the server checks the archive and names the file and field of any problem. */
function InstallCard({ onInstalled }: { onInstalled(p: PluginDetail): void }) {
  const call = useCall();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function install(file: File) {
    setBusy(true);
    setError(null);
    try {
      onInstalled(await call(() => api.admin.installPlugin(file)));
    } catch (e) {
      setError(`${file.name} was not installed: ${messageOf(e)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card" aria-labelledby="install-plugin">
      <h2 id="install-plugin">Plugins</h2>
      <p class="muted">
        A plugin is a DSS plugin folder zipped: <code>plugin.json</code>, <code>custom-recipes/</code>,{' '}
        <code>parameter-sets/</code>. Its recipes run as whoever runs them, with their own credentials.
        Installing a plugin whose id is already installed replaces that version.
      </p>
      <div class="field">
        <label for="plugin-zip">Install a plugin (.zip)</label>
        <input
          id="plugin-zip"
          type="file"
          accept=".zip,application/zip"
          disabled={busy}
          aria-describedby={error ? 'plugin-zip-error' : undefined}
          aria-invalid={error ? true : undefined}
          onChange={(e) => {
            const chosen = e.currentTarget.files?.[0];
            e.currentTarget.value = '';
            if (chosen) void install(chosen);
          }}
        />
        {busy && (
          <p class="muted small" role="status">
            Installing…
          </p>
        )}
        <FormError message={error} id="plugin-zip-error" />
      </div>
    </section>
  );
}

function PluginCard({
  plugin,
  onAction,
  onSettingsSaved,
}: {
  plugin: PluginDetail;
  onAction(a: Action): void;
  onSettingsSaved(): void;
}) {
  const headingId = `plugin-${plugin.id}`;
  return (
    <section class="card" aria-labelledby={headingId} data-plugin={plugin.id}>
      <div class="card-head">
        <h2 id={headingId}>{plugin.label}</h2>
        <button
          type="button"
          class="danger"
          aria-label={`Remove ${plugin.label}`}
          onClick={() => onAction({ kind: 'remove', plugin })}
        >
          Remove
        </button>
      </div>
      {plugin.description && <p>{plugin.description}</p>}
      <dl class="identity">
        <dt>Id</dt>
        <dd>
          <code>{plugin.id}</code>
        </dd>
        <dt>Version</dt>
        <dd>{plugin.version}</dd>
        {plugin.author && (
          <>
            <dt>Author</dt>
            <dd>{plugin.author}</dd>
          </>
        )}
        <dt>Installed</dt>
        <dd>
          {formatTime(plugin.installedAt)} by {plugin.installedBy}
          {plugin.updatedAt !== plugin.installedAt && `, updated ${formatTime(plugin.updatedAt)}`}
        </dd>
        <dt>Recipes</dt>
        <dd>{plugin.recipes.map((r) => r.label).join(', ') || '—'}</dd>
        {plugin.userSecrets.length > 0 && (
          <>
            <dt>Secrets it reads</dt>
            <dd>{plugin.userSecrets.map((s) => s.name).join(', ')}</dd>
          </>
        )}
      </dl>
      {plugin.params.length > 0 && (
        // A new version may ask for other settings: its form starts again from what is saved.
        <PluginSettings key={plugin.updatedAt} plugin={plugin} onSaved={onSettingsSaved} />
      )}
      {plugin.parameterSets.map((set) => (
        <ParameterSet key={set.id} plugin={plugin} set={set} onAction={onAction} />
      ))}
    </section>
  );
}

/**
 * The plugin-level settings (plugin.json `params`): one value for everybody, which the plugin's code
 * reads with get_plugin_config() / dkuPluginConfig(). Saved with the settings revision the page read
 * them at, so a change another administrator made since is refused (and shown), not undone.
 */
function PluginSettings({ plugin, onSaved }: { plugin: PluginDetail; onSaved(): void }) {
  const call = useCall();
  const prefix = `plugin-settings-${plugin.id}`;
  const headingId = `${prefix}-heading`;
  const [model, setModel] = useState<FormModel>(() => ({
    ...defaultModel(plugin.params),
    ...plugin.config,
  }));
  const [revision, setRevision] = useState(plugin.settingsRevision ?? 0);
  const [errors, setErrors] = useState<ReadonlyMap<string, string>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    const problems = new Map(formProblems(plugin.params, model).map((x) => [x.param, x.message]));
    setErrors(problems);
    if (problems.size) return focusFirstProblem(prefix, plugin.params, problems);
    setSaving(true);
    try {
      const saved = await call(() =>
        api.admin.putPluginConfig(plugin.id, { config: model, settingsRevision: revision }),
      );
      setRevision(saved.settingsRevision);
      onSaved();
    } catch (err) {
      setError(isConflict(err) ? `${messageOf(err)} (reload the page to read them)` : messageOf(err));
    } finally {
      setSaving(false);
    }
  }

  return (
    <section class="parameter-set" aria-labelledby={headingId} data-plugin-settings={plugin.id}>
      <h3 id={headingId}>Plugin settings</h3>
      <p class="muted small">
        One value for everybody who runs this plugin's recipes; its code reads them with{' '}
        <code>get_plugin_config()</code>.
      </p>
      <form onSubmit={submit} noValidate>
        <PluginForm
          params={plugin.params}
          model={model}
          onModel={setModel}
          errors={errors}
          idPrefix={prefix}
          choices={{
            presets: (setId) =>
              plugin.parameterSets.find((s) => s.id === setId)?.presets.map((x) => x.name) ?? [],
          }}
        />
        <FormError message={error && `Not saved: ${error}`} />
        <div class="actions">
          <button type="submit" disabled={saving}>
            {saving ? 'Saving…' : 'Save settings'}
            <span class="visually-hidden"> of {plugin.label}</span>
          </button>
        </div>
      </form>
    </section>
  );
}

function ParameterSet(p: { plugin: PluginDetail; set: PluginParameterSetInfo; onAction(a: Action): void }) {
  const { plugin, set } = p;
  const headingId = `set-${plugin.id}-${set.id}`;
  return (
    <section class="parameter-set" aria-labelledby={headingId} data-parameter-set={set.id}>
      <div class="card-head">
        <h3 id={headingId}>
          Parameter set {set.label} <span class="muted small">({set.id})</span>
        </h3>
        <button type="button" onClick={() => p.onAction({ kind: 'preset', plugin, set })}>
          New preset<span class="visually-hidden"> of {set.label}</span>
        </button>
      </div>
      {set.description && <p class="muted small">{set.description}</p>}
      {set.presets.length === 0 ? (
        <p class="empty">No presets yet. Recipes of this plugin need one to use this parameter set.</p>
      ) : (
        <table>
          <caption class="visually-hidden">Presets of {set.label}</caption>
          <thead>
            <tr>
              <th scope="col">Preset</th>
              <th scope="col">Changed</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {set.presets.map((preset) => (
              <tr key={preset.name} data-preset={preset.name}>
                <th scope="row">{preset.name}</th>
                <td data-label="Changed">{formatTime(preset.updatedAt)}</td>
                <td class="row-actions">
                  <button
                    type="button"
                    aria-label={`Edit preset ${preset.name}`}
                    onClick={() => p.onAction({ kind: 'preset', plugin, set, preset })}
                  >
                    Edit
                  </button>
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Delete preset ${preset.name}`}
                    onClick={() => p.onAction({ kind: 'delete-preset', plugin, set, preset })}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * Remove, confirmed. The server refuses while recipes use the plugin; the dialog then lists them and
 * offers to remove it anyway, which leaves those recipes broken until the plugin is installed again.
 */
function RemovePluginDialog(p: { plugin: PluginDetail; onCancel(): void; onRemoved(): void }) {
  const call = useCall();
  const [usages, setUsages] = useState<PluginUsage[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function remove(force: boolean) {
    setBusy(true);
    setError(null);
    try {
      await call(() => api.admin.removePlugin(p.plugin.id, { force }));
      p.onRemoved();
    } catch (e) {
      if (isConflict(e) && !force) {
        try {
          setUsages(await call(() => api.admin.pluginUsages(p.plugin.id)));
        } catch (e2) {
          setError(messageOf(e2));
        }
      } else setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  }

  if (usages)
    return (
      <ConfirmDialog
        title={`${p.plugin.label} is in use`}
        message={
          <>
            <p>
              {usages.length === 1 ? 'This recipe uses' : `These ${usages.length} recipes use`} the plugin:
            </p>
            <ul class="usages">
              {usages.map((u) => (
                <li key={`${u.projectKey}/${u.recipe}`}>
                  <a href={`/projects/${u.projectKey}/recipes/${encodeURIComponent(u.recipe)}`}>
                    {u.projectKey} / {u.recipe}
                  </a>{' '}
                  <span class="muted small">({u.component})</span>
                </li>
              ))}
            </ul>
            <p class="warning">
              If you remove it anyway, these recipes are marked broken and cannot run until the plugin is
              installed again.
            </p>
          </>
        }
        confirmLabel="Remove anyway"
        danger
        busy={busy}
        error={error}
        onCancel={p.onCancel}
        onConfirm={() => void remove(true)}
      />
    );
  return (
    <ConfirmDialog
      title={`Remove ${p.plugin.label}?`}
      message={
        <p>
          The plugin ({p.plugin.id}, version {p.plugin.version}), its presets and the credentials users
          entered for them are removed. Installing it again does not bring them back.
        </p>
      }
      confirmLabel="Remove"
      danger
      busy={busy}
      error={error}
      onCancel={p.onCancel}
      onConfirm={() => void remove(false)}
    />
  );
}

function DeletePresetDialog(p: {
  plugin: PluginDetail;
  set: PluginParameterSetInfo;
  preset: PluginPresetInfo;
  onCancel(): void;
  onDeleted(): void;
}) {
  const call = useCall();
  const [error, setError] = useState<string | null>(null);
  return (
    <ConfirmDialog
      title={`Delete preset ${p.preset.name}?`}
      message={
        <p>
          The credentials users entered for it are deleted too, and recipes that use this preset of{' '}
          {p.set.label} can no longer run until they pick another one.
        </p>
      }
      confirmLabel="Delete preset"
      danger
      error={error}
      onCancel={p.onCancel}
      onConfirm={() =>
        void call(() => api.admin.deletePreset(p.plugin.id, p.set.id, p.preset.name)).then(
          p.onDeleted,
          (e: unknown) => setError(messageOf(e)),
        )
      }
    />
  );
}
