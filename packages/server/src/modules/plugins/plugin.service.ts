import { canonicalJson } from '../../canonical-json.js';
import type { Clock } from '../../clock.js';
import { Conflict, Invalid, NotFound } from '../../errors.js';
import type { Db, Store } from '../../store/store.js';
import type { AuditLog } from '../audit/audit.service.js';
import { READ_VERSION_FIELD } from '../dss/read-version.js';
import { isAdminCaller, requireAdmin, requireUser, type Caller } from '../auth/caller.js';
import { formProblems } from '@coffer/client/rules';
import { readPluginArchive } from './plugin-archive.js';
import type { ParamDesc, ParameterSetDesc, PluginManifest, RecipeDesc } from './plugin.model.js';
import * as repo from './plugin.repo.js';
import { filesDigest, pluginRecipeCode, recode } from './plugin-recipe-code.js';
import { judgeSettingsSave, type StoredPart } from './plugin-settings-judge.js';

/*
 * Installed plugins: administrators install, update and remove them, and create the instance-wide
 * presets of their parameter sets; every user sees what is installed, to add its recipes to projects.
 * What each user enters for a preset's credentials is theirs alone (plugin-credential.service.ts).
 */

/** Parameters of a parameter set that each user fills in for themselves, never a preset. */
export const PERSONAL_TYPES: ReadonlySet<string> = new Set(['CREDENTIAL_REQUEST', 'PASSWORD']);

export interface PluginSummaryView {
  id: string;
  version: string;
  label: string;
  description: string | null;
  author: string | null;
  installedBy: string;
  installedAt: number;
  updatedAt: number;
  recipes: number;
}

export interface PresetView {
  name: string;
  config: Record<string, unknown>;
  pluginConfig?: Record<string, unknown>;
  updatedAt: number;
}

/** The plugin-level config (plugin.json `params`) and the settings revision it was read at. */
export interface PluginConfigView {
  config: Record<string, unknown>;
  settingsRevision: number;
}

/** A preset as a settings save sends it, checked against its parameter set. */
interface SentPreset {
  set: string;
  name: string;
  config: Record<string, unknown>;
  pluginConfig: Record<string, unknown>;
}

/** A save of a plugin's settings, judged against the read it comes from. */
interface SettingsSave {
  /** The settings revision the save was read at; undefined for a body not read from Coffer. */
  readRevision: number | undefined;
  /** The field that carried it, as refusals name it. */
  readField: string;
  config: Record<string, unknown>;
  /** Every preset, as the save leaves them (one left out is deleted); absent, the presets are kept. */
  presets?: readonly SentPreset[];
}

export type PluginService = ReturnType<typeof createPluginService>;

const paramView = ({ selectChoices, ...p }: ParamDesc) => ({
  ...p,
  ...(selectChoices ? { selectChoices: selectChoices.map((c) => ({ ...c })) } : {}),
});

/** What plugins need from projects: rewriting their recipes' code when the plugin or a preset changes. */
export interface PluginRecipesOfProjects {
  restampPluginRecipes(
    trx: Db,
    caller: Caller,
    pluginId: string,
    recode: (code: string) => Promise<string | null>,
  ): Promise<number>;
}

export function createPluginService(deps: {
  store: Store;
  clock: Clock;
  audit: AuditLog;
  recipes: PluginRecipesOfProjects;
}) {
  const { store, clock, audit, recipes } = deps;

  /** The plugin's recipes again, with what changed in it for their runners to approve. */
  const restamp = (trx: Db, caller: Caller, pluginId: string) =>
    recipes.restampPluginRecipes(trx, caller, pluginId, (code) => recode(trx, code));
  const db = store.db;

  const summary = (p: repo.PluginRecord): PluginSummaryView => ({
    id: p.id,
    version: p.version,
    label: p.label,
    description: p.manifest.description,
    author: p.manifest.author,
    installedBy: p.installedBy,
    installedAt: p.installedAt,
    updatedAt: p.updatedAt,
    recipes: p.manifest.recipes.length,
  });

  /**
   * Bumps a plugin's settings revision, the first write of every change of its settings (on PostgreSQL
   * the row lock that keeps two changes apart); answers the new revision.
   */
  async function bumpRevision(trx: Db, id: string): Promise<number> {
    const revision = await repo.bumpSettingsRevision(trx, id);
    if (revision === undefined) throw new NotFound(`plugin ${JSON.stringify(id)} is not installed`);
    return revision;
  }

  async function load(id: string): Promise<repo.PluginRecord> {
    const p = await repo.findPlugin(db, id);
    if (!p) throw new NotFound(`plugin ${JSON.stringify(id)} is not installed`);
    return p;
  }

  function parameterSetOf(p: repo.PluginRecord, set: string): ParameterSetDesc {
    const s = p.manifest.parameterSets.find((x) => x.id === set);
    if (!s) throw new NotFound(`plugin ${p.id} has no parameter set ${JSON.stringify(set)}`);
    return s;
  }

  async function detail(caller: Caller, p: repo.PluginRecord) {
    const admin = isAdminCaller(caller);
    const presets = await repo.presetsOf(db, p.id);
    return {
      ...summary(p),
      recipes: p.manifest.recipes.map((r) => ({
        id: r.id,
        language: r.language,
        label: r.label,
        description: r.description,
        params: r.params.map(paramView),
      })),
      parameterSets: p.manifest.parameterSets.map((s) => ({
        id: s.id,
        label: s.label,
        description: s.description,
        params: s.params.map(paramView),
        pluginParams: s.pluginParams.map(paramView),
        presets: presets.filter((x) => x.parameter_set === s.id).map((x) => presetView(x, admin)),
      })),
      userSecrets: p.manifest.userSecrets.map((s) => ({ name: s.name, description: s.description })),
      params: p.manifest.params.map(paramView),
      // The values are administrators' (as a preset's pluginConfig is), with the revision they were read at.
      ...(admin
        ? {
            config: JSON.parse(p.config) as Record<string, unknown>,
            settingsRevision: p.settingsRevision,
          }
        : {}),
    };
  }

  /** Checks a preset's values against its parameter set; answers them with only the set's own params. */
  function checkPreset(
    set: ParameterSetDesc,
    input: { config: Record<string, unknown>; pluginConfig?: Record<string, unknown> | undefined },
  ) {
    const where = `preset of parameter set ${set.id}`;
    for (const p of set.params)
      if (PERSONAL_TYPES.has(p.type) && input.config[p.name] !== undefined)
        throw new Invalid(
          `${where}: ${p.name} is a ${p.type === 'PASSWORD' ? 'password' : 'credential'} that each user enters for themselves on their Credentials tab; a preset cannot hold one for everybody`,
        );
    const known = new Set([...set.params, ...set.pluginParams].map((p) => p.name));
    for (const k of [...Object.keys(input.config), ...Object.keys(input.pluginConfig ?? {})])
      if (!known.has(k)) throw new Invalid(`${where}: unknown parameter ${JSON.stringify(k)}`);
    const shared = set.params.filter((p) => !PERSONAL_TYPES.has(p.type));
    const problem =
      formProblems(shared, input.config)[0] ?? formProblems(set.pluginParams, input.pluginConfig ?? {})[0];
    if (problem) throw new Invalid(`${where}: ${problem.param}: ${problem.message}`);
    return { config: input.config, pluginConfig: input.pluginConfig ?? {} };
  }

  /**
   * Writes a settings save judged against the read it comes from (plugin-settings-judge.ts), in one
   * transaction that starts by bumping the revision; a conflict saves nothing. The DSS settings save and
   * the Administration page's config save both come here. Answers the new settings revision.
   */
  async function saveJudged(caller: Caller, id: string, save: SettingsSave): Promise<number> {
    const { readRevision, config } = save;
    const now = clock.now();
    const by = caller.kind === 'user' ? caller.user.login : 'operator';
    const credential = credentialOf(caller);
    const sent = new Map((save.presets ?? []).map((x) => [presetKey(x.set, x.name), x]));
    return store.transaction(async (trx) => {
      // First: on PostgreSQL this locks the plugin's row, so what is judged is what gets written over.
      const revision = await bumpRevision(trx, id);
      const current = (await repo.findPlugin(trx, id))!; // the row just bumped, in this transaction
      if (readRevision !== undefined && readRevision >= revision)
        throw new Invalid(`${save.readField} is newer than the stored settings; send back what GET returned`);
      const stored = new Map(
        (await repo.presetsOf(trx, id)).map((x): [string, StoredPart] => [
          presetKey(x.parameter_set, x.name),
          {
            content: canonicalJson({
              config: JSON.parse(x.config),
              pluginConfig: JSON.parse(x.plugin_config),
            }),
            createdRevision: Number(x.created_revision),
            updatedRevision: Number(x.updated_revision),
            writtenBy: x.written_by,
          },
        ]),
      );
      const verdict = judgeSettingsSave({
        readRevision,
        by: credential,
        config: {
          sent: canonicalJson(config),
          stored: {
            content: canonicalJson(JSON.parse(current.config)),
            createdRevision: 0,
            updatedRevision: current.configRevision,
            writtenBy: current.configWrittenBy,
          },
        },
        // Presets kept: sent back exactly as stored, which the judge leaves alone.
        sentPresets: save.presets
          ? new Map(
              [...sent].map(([k, x]) => [
                k,
                canonicalJson({ config: x.config, pluginConfig: x.pluginConfig }),
              ]),
            )
          : new Map([...stored].map(([k, x]) => [k, x.content])),
        storedPresets: stored,
        deletedPresets: new Map(
          (await repo.presetDeletionsOf(trx, id)).map((x) => [
            presetKey(x.parameter_set, x.name),
            { revision: Number(x.revision), by: x.deleted_by },
          ]),
        ),
      });
      const named = (key: string) => {
        if (key === 'config') return 'the plugin config';
        const { set, name } = presetOfKey(key);
        return `preset ${JSON.stringify(name)} of ${set}`;
      };
      if (verdict.conflicts.length > 0)
        throw new Conflict(
          `${verdict.conflicts.map((c) => `${named(c.key)} ${c.reason}`).join('; ')}; nothing was saved. Read the settings again and repeat your change.`,
          { conflicts: verdict.conflicts.map((c) => named(c.key)) },
        );
      if (verdict.leftOutUnread.length > 0)
        throw new Invalid(
          `this save leaves out stored ${verdict.leftOutUnread.map(named).join(', ')} but does not say which settings it read (${save.readField}); nothing was saved. Send back the object GET returned, with ${save.readField} as it was.`,
        );
      if (verdict.writeConfig)
        await repo.savePluginConfig(trx, id, JSON.stringify(config), revision, credential);
      for (const key of verdict.remove) {
        const { set, name } = presetOfKey(key);
        await repo.deletePreset(trx, id, set, name, { revision, by: credential });
      }
      for (const key of verdict.upsert) {
        const x = sent.get(key)!;
        await repo.upsertPreset(
          trx,
          {
            plugin_id: id,
            parameter_set: x.set,
            name: x.name,
            config: JSON.stringify(x.config),
            plugin_config: JSON.stringify(x.pluginConfig),
            updated_by: by,
            created_at: now,
            updated_at: now,
            written_by: credential,
          },
          revision,
        );
      }
      await audit.record(trx, caller, [
        {
          action: 'plugin.settings_saved',
          detail: save.presets
            ? { plugin: id, presets: save.presets.length }
            : { plugin: id, config: true, presets: 'kept' },
        },
      ]);
      await restamp(trx, caller, id);
      return revision;
    });
  }

  return {
    /**
     * Installs a plugin from its zip, or replaces the installed version with the same id. The archive is
     * read and checked in full first, so a bad one installs nothing.
     */
    async install(caller: Caller, zip: Buffer, opts: { expectId?: string } = {}) {
      requireAdmin(caller);
      const pkg = await readPluginArchive(zip);
      const { manifest } = pkg;
      if (opts.expectId !== undefined && manifest.id !== opts.expectId)
        throw new Invalid(
          `plugin.json: id is ${JSON.stringify(manifest.id)}, but this updates plugin ${JSON.stringify(opts.expectId)}`,
        );
      const by = caller.kind === 'user' ? caller.user.login : 'operator';
      await store.transaction(async (trx) => {
        const previous = await repo.upsertPlugin(trx, {
          manifest,
          files: pkg.files,
          digest: filesDigest(pkg.files),
          by,
          at: clock.now(),
        });
        // What the new version no longer asks for goes: presets of parameter sets it dropped, and users'
        // credentials for parameters it dropped (sealed values nobody could see or remove otherwise).
        const revision = await bumpRevision(trx, manifest.id);
        await repo.pruneToManifest(trx, manifest, { revision, by: credentialOf(caller) });
        await restamp(trx, caller, manifest.id);
        await audit.record(trx, caller, [
          {
            action: 'plugin.installed',
            detail: { plugin: manifest.id, version: manifest.version, previousVersion: previous },
          },
        ]);
      });
      return detail(caller, await load(manifest.id));
    },

    async list(caller: Caller): Promise<PluginSummaryView[]> {
      requireUser(caller);
      return (await repo.listPlugins(db)).map(summary);
    },

    /** Administrators too, for the CLI (operator). */
    async listAll(caller: Caller): Promise<PluginSummaryView[]> {
      requireAdmin(caller);
      return (await repo.listPlugins(db)).map(summary);
    },

    /** Any user's (the operator's too): what a plugin offers, never anyone's credential. */
    async get(caller: Caller, id: string) {
      return detail(caller, await load(id));
    },

    /** The recipes of any project that use a plugin (administrators: every project). */
    async usages(caller: Caller, id: string, projectKey?: string) {
      requireAdmin(caller);
      await load(id);
      return (await repo.usagesOf(db, id, projectKey)).map((u) => ({
        projectKey: u.project_key,
        recipe: u.name,
        component: u.plugin_recipe ?? '',
      }));
    },

    /**
     * Removes a plugin, its presets and every user's credentials for them. Refused while recipes use it,
     * unless forced: they stay, and show that their plugin is gone.
     */
    async remove(caller: Caller, id: string, opts: { force?: boolean }) {
      requireAdmin(caller);
      return store.transaction(async (trx) => {
        if (!(await repo.findPlugin(trx, id)))
          throw new NotFound(`plugin ${JSON.stringify(id)} is not installed`);
        const used = await repo.usagesOf(trx, id);
        if (used.length > 0 && !opts.force)
          throw new Conflict(
            `plugin ${id} is used by ${used.length} recipe${used.length === 1 ? '' : 's'} (${used
              .slice(0, 5)
              .map((u) => `${u.project_key}/${u.name}`)
              .join(
                ', ',
              )}${used.length > 5 ? ', …' : ''}); nothing was removed. Remove it with force to leave those recipes broken.`,
            { usages: used.map((u) => ({ projectKey: u.project_key, recipe: u.name })) },
          );
        await repo.deletePlugin(trx, id);
        await audit.record(trx, caller, [
          { action: 'plugin.removed', detail: { plugin: id, brokenRecipes: used.length } },
        ]);
        return { brokenRecipes: used.length };
      });
    },

    async putPreset(
      caller: Caller,
      id: string,
      set: string,
      name: string,
      input: { config: Record<string, unknown>; pluginConfig?: Record<string, unknown> | undefined },
    ): Promise<PresetView> {
      requireAdmin(caller);
      checkPresetName(name);
      const p = await load(id);
      const values = checkPreset(parameterSetOf(p, set), input);
      const now = clock.now();
      const by = caller.kind === 'user' ? caller.user.login : 'operator';
      await store.transaction(async (trx) => {
        const revision = await bumpRevision(trx, id);
        await repo.upsertPreset(
          trx,
          {
            plugin_id: id,
            parameter_set: set,
            name,
            config: JSON.stringify(values.config),
            plugin_config: JSON.stringify(values.pluginConfig),
            updated_by: by,
            created_at: now,
            updated_at: now,
            written_by: credentialOf(caller),
          },
          revision,
        );
        await audit.record(trx, caller, [
          { action: 'plugin.preset_set', detail: { plugin: id, parameterSet: set, preset: name } },
        ]);
        await restamp(trx, caller, id);
      });
      return presetView((await repo.findPreset(db, id, set, name))!, true);
    },

    /** Deletes a preset, and with it every user's credentials for it. */
    async deletePreset(caller: Caller, id: string, set: string, name: string): Promise<void> {
      requireAdmin(caller);
      await store.transaction(async (trx) => {
        const revision = await repo.bumpSettingsRevision(trx, id);
        const deleted =
          revision !== undefined &&
          (await repo.deletePreset(trx, id, set, name, { revision, by: credentialOf(caller) }));
        if (!deleted)
          throw new NotFound(`plugin ${id} has no preset ${JSON.stringify(name)} of parameter set ${set}`);
        await audit.record(trx, caller, [
          { action: 'plugin.preset_deleted', detail: { plugin: id, parameterSet: set, preset: name } },
        ]);
        await restamp(trx, caller, id);
      });
    },

    /**
     * DSS's plugin settings object: the plugin-level config, every preset (shared values only, never a
     * user's credential) and the parameter sets' descriptors, as dataikuapi's DSSPluginSettings reads it.
     */
    async dssSettings(caller: Caller, id: string) {
      requireAdmin(caller);
      // The revision is read before the presets: a preset written in between counts as unseen.
      const p = await load(id);
      const presets = await repo.presetsOf(db, id);
      const sets = p.manifest.parameterSets;
      return {
        [READ_VERSION_FIELD]: String(p.settingsRevision),
        config: JSON.parse(p.config) as Record<string, unknown>,
        codeEnvName: null,
        presets: presets.map((x) => ({
          name: x.name,
          type: elementType(id, x.parameter_set),
          config: JSON.parse(x.config) as Record<string, unknown>,
          pluginConfig: JSON.parse(x.plugin_config) as Record<string, unknown>,
          owner: x.updated_by,
          defaultPermission: { use: true },
          permissions: [],
        })),
        parameterSets: sets.map((s) => ({
          name: s.id,
          type: elementType(id, s.id),
          defaultPermission: { definableInline: false, definableAtProjectLevel: false },
          permissions: [],
        })),
        accessibleParameterSetDescs: sets.map((s) => ({
          id: s.id,
          elementType: elementType(id, s.id),
          desc: { ...s.raw, params: s.raw.params ?? [], pluginParams: s.raw.pluginParams ?? [] },
        })),
      };
    },

    /**
     * Saves DSS's plugin settings object whole, as dataikuapi's save() sends it back: the plugin-level
     * config, and the presets (a preset left out is deleted, with every user's credentials for it),
     * judged against the read it comes from (plugin-settings-judge.ts). Everything is checked before
     * anything changes; a conflict saves nothing.
     */
    async saveDssSettings(caller: Caller, id: string, body: unknown): Promise<void> {
      requireAdmin(caller);
      const p = await load(id);
      if (!isObject(body)) throw new Invalid('the body must be the plugin settings object');
      const readRevision = parseSettingsVersion(body[READ_VERSION_FIELD]);
      const config = body.config === undefined || body.config === null ? {} : body.config;
      if (!isObject(config)) throw new Invalid('config must be a JSON object');
      checkPluginConfig(p.manifest, config);
      const byType = new Map(p.manifest.parameterSets.map((s) => [elementType(id, s.id), s]));
      const list = body.presets === undefined || body.presets === null ? [] : body.presets;
      if (!Array.isArray(list)) throw new Invalid('presets must be a list');
      const seen = new Set<string>();
      const presets = list.map((x: unknown, i): SentPreset => {
        if (!isObject(x)) throw new Invalid(`presets[${i}] must be an object`);
        const set = typeof x.type === 'string' ? byType.get(x.type) : undefined;
        if (!set)
          throw new Invalid(
            `presets[${i}].type ${JSON.stringify(x.type)} is none of this plugin's parameter sets (${[...byType.keys()].join(', ')})`,
          );
        if (typeof x.name !== 'string') throw new Invalid(`presets[${i}].name must be a string`);
        checkPresetName(x.name);
        const key = presetKey(set.id, x.name);
        if (seen.has(key)) throw new Invalid(`presets[${i}]: preset ${x.name} of ${set.id} appears twice`);
        seen.add(key);
        const cfg = x.config ?? {};
        const pcfg = x.pluginConfig ?? {};
        if (!isObject(cfg) || !isObject(pcfg))
          throw new Invalid(`presets[${i}]: config and pluginConfig must be JSON objects`);
        return { set: set.id, name: x.name, ...checkPreset(set, { config: cfg, pluginConfig: pcfg }) };
      });
      await saveJudged(caller, id, { readRevision, readField: READ_VERSION_FIELD, config, presets });
    },

    /**
     * Saves the plugin-level config (plugin.json `params`; what get_plugin_config() and dkuPluginConfig()
     * return) from Coffer's Administration page, judged as a DSS settings save is, so a change another
     * administrator made after `settingsRevision` (the revision GET /api/v1/plugins/{id} gave) is not
     * lost: refused (409), nothing saved. The presets are kept as they are.
     */
    async putConfig(
      caller: Caller,
      id: string,
      input: { config: Record<string, unknown>; settingsRevision: number },
    ): Promise<PluginConfigView> {
      requireAdmin(caller);
      checkPluginConfig((await load(id)).manifest, input.config);
      const revision = await saveJudged(caller, id, {
        readRevision: input.settingsRevision,
        readField: 'settingsRevision',
        config: input.config,
      });
      return { config: input.config, settingsRevision: revision };
    },

    /** A recipe's form values checked against its component; answers what a recipe row holds. */
    async checkRecipe(
      pluginId: string,
      recipeId: string,
      config: Record<string, unknown>,
    ): Promise<{ language: 'python' | 'r'; code: string }> {
      const p = await load(pluginId);
      const recipe = componentOf(p.manifest, recipeId);
      const known = new Set(recipe.params.map((x) => x.name));
      for (const k of Object.keys(config))
        if (!known.has(k))
          throw new Invalid(`recipe ${recipeId} of plugin ${pluginId} has no parameter ${JSON.stringify(k)}`);
      const problem = formProblems(recipe.params, config)[0];
      if (problem) throw new Invalid(`${problem.param}: ${problem.message}`);
      for (const param of recipe.params.filter((x) => x.type === 'PRESET')) {
        const v = config[param.name] as { name?: string } | undefined;
        if (v?.name && !(await repo.findPreset(db, pluginId, param.parameterSetId!, v.name)))
          throw new Invalid(
            `${param.name}: there is no preset ${JSON.stringify(v.name)} of parameter set ${param.parameterSetId}`,
          );
      }
      return { language: recipe.language, code: await pluginRecipeCode(db, p, recipe, config) };
    },
  };
}

/** Checks plugin-level config values against plugin.json's `params`, as a form does. */
function checkPluginConfig(manifest: PluginManifest, config: Record<string, unknown>): void {
  const problem = formProblems(manifest.params, config)[0];
  if (problem) throw new Invalid(`config: ${problem.param}: ${problem.message}`);
}

/** The component of a plugin, or NotFound. */
export function componentOf(manifest: PluginManifest, recipeId: string): RecipeDesc {
  const r = manifest.recipes.find((x) => x.id === recipeId);
  if (!r) throw new NotFound(`plugin ${manifest.id} has no recipe ${JSON.stringify(recipeId)}`);
  return r;
}

function presetView(r: repo.PresetRow, admin: boolean): PresetView {
  return {
    name: r.name,
    config: JSON.parse(r.config) as Record<string, unknown>,
    ...(admin ? { pluginConfig: JSON.parse(r.plugin_config) as Record<string, unknown> } : {}),
    updatedAt: Number(r.updated_at),
  };
}

/** How DSS's settings name a parameter set's kind of preset. */
const elementType = (plugin: string, set: string) => `parameter-set-${plugin}-${set}`;

/** A preset's key among a plugin's: its parameter set and name (a NUL is in neither). */
const presetKey = (set: string, name: string) => `${set}\u0000${name}`;
const presetOfKey = (key: string) => {
  const [set = '', name = ''] = key.split('\u0000');
  return { set, name };
};

/** The session, API key or ticket behind a change (none for the operator's CLI): a save knows its own. */
const credentialOf = (caller: Caller): string | null => (caller.kind === 'user' ? caller.credentialId : null);

/** The settings revision a DSS plugin settings object was read at, as GET gave it; absent is undefined. */
function parseSettingsVersion(raw: unknown): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw))
    throw new Invalid(
      `${READ_VERSION_FIELD} must be sent back exactly as the settings were read (GET plugins/{pluginId}/settings)`,
    );
  return Number(raw);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function checkPresetName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$/.test(name))
    throw new Invalid(
      `preset name ${JSON.stringify(name)}: use 1 to 100 letters, digits, spaces, dots, dashes or underscores, starting with a letter or digit`,
    );
}
