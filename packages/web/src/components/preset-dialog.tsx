import type { PluginDetail, PluginParameterSetInfo, PluginPresetInfo } from '@coffer/client';
import { useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { defaultModel, formProblems, type FormModel } from '../plugin-rules';
import { useCall } from '../session';
import { Dialog } from './dialog';
import { Field } from './field';
import { FormError } from './form-error';
import { focusFirstProblem, isPersonal, PluginForm } from './plugin-form';

interface Props {
  plugin: PluginDetail;
  set: PluginParameterSetInfo;
  /** The preset to edit; none for a new one. */
  preset?: PluginPresetInfo;
  onCancel(): void;
  onSaved(p: PluginPresetInfo): void;
}

const NAME_ID = 'preset-name';

/**
 * New or Edit preset: a form generated from the parameter set's params (what every user of the preset
 * shares) and pluginParams (settings only administrators see). Credentials and passwords are not asked
 * here: each user enters their own on their Credentials tab.
 */
export function PresetDialog({ plugin, set, preset, onCancel, onSaved }: Props) {
  const call = useCall();
  const shared = set.params.filter((p) => !isPersonal(p));
  const [name, setName] = useState(preset?.name ?? '');
  const [config, setConfig] = useState<FormModel>(() => preset?.config ?? defaultModel(shared));
  const [pluginConfig, setPluginConfig] = useState<FormModel>(
    () => preset?.pluginConfig ?? defaultModel(set.pluginParams),
  );
  const [errors, setErrors] = useState<ReadonlyMap<string, string>>(new Map());
  const [adminErrors, setAdminErrors] = useState<ReadonlyMap<string, string>>(new Map());
  const [nameError, setNameError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    const n = name.trim();
    const nameProblem = !n
      ? 'Give the preset a name.'
      : !preset && set.presets.some((p) => p.name === n)
        ? `A preset named ${n} already exists: use its Edit button.`
        : null;
    const problems = new Map(formProblems(shared, config).map((p) => [p.param, p.message]));
    const adminProblems = new Map(
      formProblems(set.pluginParams, pluginConfig).map((p) => [p.param, p.message]),
    );
    setNameError(nameProblem);
    setErrors(problems);
    setAdminErrors(adminProblems);
    if (nameProblem) return document.getElementById(NAME_ID)?.focus();
    if (problems.size) return focusFirstProblem('preset', shared, problems);
    if (adminProblems.size) return focusFirstProblem('preset-admin', set.pluginParams, adminProblems);
    setSaving(true);
    try {
      const saved = await call(() =>
        api.admin.putPreset(plugin.id, set.id, n, {
          config: withoutPersonal(config, set),
          ...(set.pluginParams.length ? { pluginConfig } : {}),
        }),
      );
      onSaved(saved);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setSaving(false);
    }
  }

  return (
    <Dialog
      title={preset ? `Edit preset ${preset.name}` : `New preset of ${set.label}`}
      onCancel={onCancel}
      wide
    >
      <form onSubmit={submit} noValidate>
        <Field
          id={NAME_ID}
          label="Preset name"
          value={name}
          onValue={setName}
          readOnly={Boolean(preset)}
          autocomplete="off"
          spellcheck={false}
          data-autofocus={preset ? undefined : true}
          hint="Recipes pick a preset by this name."
          error={nameError}
        />
        {set.params.length > 0 && (
          <PluginForm
            params={set.params}
            model={config}
            onModel={setConfig}
            errors={errors}
            idPrefix="preset"
          />
        )}
        {set.pluginParams.length > 0 && (
          <fieldset class="admin-params">
            <legend>Administrator settings</legend>
            <p class="muted small">Only administrators see these; the plugin's code receives them.</p>
            <PluginForm
              params={set.pluginParams}
              model={pluginConfig}
              onModel={setPluginConfig}
              errors={adminErrors}
              idPrefix="preset-admin"
            />
          </fieldset>
        )}
        <FormError message={error && `Not saved: ${error}`} />
        <div class="actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={saving}>
            {saving ? 'Saving…' : 'Save preset'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function withoutPersonal(config: FormModel, set: PluginParameterSetInfo): FormModel {
  const out = { ...config };
  for (const p of set.params) if (isPersonal(p)) delete out[p.name];
  return out;
}
