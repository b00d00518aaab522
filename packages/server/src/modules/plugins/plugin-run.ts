import { isVisible } from '@coffer/client/rules';
import { Conflict } from '../../errors.js';
import type { Store } from '../../store/store.js';
import { requireUser, type Caller } from '../auth/caller.js';
import type { SecretService } from '../secrets/secret.service.js';
import type { PluginFile, PluginManifest, RecipeDesc } from './plugin.model.js';
import type { OpenedCredential, PluginCredentialService } from './plugin-credential.service.js';
import { credentialTypeOf } from './plugin-credential.service.js';
import { parsePluginRecipeCode, recode } from './plugin-recipe-code.js';
import * as repo from './plugin.repo.js';

/*
 * What a run of a plugin recipe needs, resolved for the user who runs it: the plugin's files, its code
 * file, and the config the DSS way (DKU_CUSTOM_RECIPE_CONFIG), where each PRESET parameter becomes the
 * preset's values with the runner's own credentials in it. Resolved when the run starts, on the replica
 * that runs it, so a credential is opened only there and only for the run; nothing resolved is stored.
 */

export interface PluginRun {
  readonly language: 'python' | 'r';
  readonly files: readonly PluginFile[];
  readonly codeFile: string;
  readonly env: Readonly<Record<string, string>>;
  /** The credential values handed to the run: masked in what it prints like secrets. */
  readonly maskValues: readonly string[];
}

/** One thing a user lacks to run a plugin recipe. */
export type Missing =
  | {
      kind: 'credential';
      plugin: string;
      parameterSet: string;
      preset: string;
      param: string;
      message: string;
    }
  | { kind: 'secret'; name: string; description: string | null; message: string }
  | { kind: 'problem'; message: string };

/** Where a user enters what a run lacks (the web UI's tabs). */
export const CREDENTIALS_TAB = '/profile/credentials';
export const SECRETS_TAB = '/profile';

export type PluginRunner = ReturnType<typeof createPluginRunner>;

export function createPluginRunner(deps: {
  store: Store;
  credentials: Pick<PluginCredentialService, 'entered' | 'openForRun'>;
  secrets: Pick<SecretService, 'list'>;
}) {
  const db = deps.store.db;

  /** Why a recipe cannot run at all, whoever runs it: its plugin or component is gone. */
  async function brokenReason(pluginId: string, recipeId: string) {
    const plugin = await repo.findPlugin(db, pluginId);
    if (!plugin)
      return {
        reason: `its plugin ${pluginId} is no longer installed; ask an administrator to install it again`,
      };
    const recipe = plugin.manifest.recipes.find((r) => r.id === recipeId);
    if (!recipe)
      return {
        reason: `plugin ${pluginId} (version ${plugin.version}) no longer has a recipe ${recipeId}`,
      };
    return { plugin: plugin.manifest, config: plugin.config, recipe };
  }

  /** The presets a recipe's config picks, among the parameters shown. */
  function presetsPicked(recipe: RecipeDesc, config: Record<string, unknown>) {
    return recipe.params
      .filter((p) => p.type === 'PRESET' && isVisible(p.visibilityCondition, config))
      .flatMap((p) => {
        const v = config[p.name] as { name?: unknown } | undefined;
        return typeof v?.name === 'string' ? [{ param: p, set: p.parameterSetId!, preset: v.name }] : [];
      });
  }

  return {
    /** Why a recipe of a plugin cannot run, whoever runs it; null when it can. */
    async broken(pluginId: string, recipeId: string): Promise<string | null> {
      const b = await brokenReason(pluginId, recipeId);
      return 'reason' in b ? `This recipe cannot run: ${b.reason}.` : null;
    },

    /** What the caller lacks to run a plugin recipe whose code (config JSON) this is. */
    async readiness(caller: Caller, code: string): Promise<Missing[]> {
      const me = requireUser(caller);
      const names = new Set((await deps.secrets.list(caller)).secrets.map((s) => s.name));
      return this.missing({ id: me.user.id, secretNames: names }, code);
    },

    /** What this user lacks to run the recipe: credentials for its presets, secrets the plugin needs. */
    async missing(user: { id: string; secretNames: ReadonlySet<string> }, code: string): Promise<Missing[]> {
      const { plugin: pluginId, recipe: recipeId, config } = parsePluginRecipeCode(code);
      const b = await brokenReason(pluginId, recipeId);
      if ('reason' in b) return [{ kind: 'problem', message: `This recipe cannot run: ${b.reason}.` }];
      const out: Missing[] = [];
      const entered = await deps.credentials.entered(user.id, pluginId);
      for (const pick of presetsPicked(b.recipe, config)) {
        const set = b.plugin.parameterSets.find((s) => s.id === pick.set);
        const preset = await repo.findPreset(db, pluginId, pick.set, pick.preset);
        if (!set || !preset) {
          out.push({
            kind: 'problem',
            message: `${pick.param.label}: preset ${pick.preset} of ${pick.set} no longer exists; pick another one and save.`,
          });
          continue;
        }
        for (const param of set.params) {
          const type = credentialTypeOf(param);
          if (!type || (type === 'PASSWORD' && !param.mandatory)) continue;
          const have = entered.some(
            (e) => e.parameter_set === set.id && e.preset === pick.preset && e.param === param.name,
          );
          if (!have)
            out.push({
              kind: 'credential',
              plugin: pluginId,
              parameterSet: set.id,
              preset: pick.preset,
              param: param.name,
              message: `Enter your ${param.label} for preset ${set.label} / ${pick.preset} on your Credentials tab (${CREDENTIALS_TAB}) first.`,
            });
        }
      }
      const needed = [
        ...b.plugin.userSecrets,
        ...b.recipe.params
          .filter((p) => p.type === 'USER_SECRET' && isVisible(p.visibilityCondition, config))
          .flatMap((p) =>
            typeof config[p.name] === 'string' && config[p.name] !== ''
              ? [{ name: config[p.name] as string, description: p.label }]
              : [],
          ),
      ];
      for (const s of needed)
        if (!user.secretNames.has(s.name) && !out.some((m) => m.kind === 'secret' && m.name === s.name))
          out.push({
            kind: 'secret',
            name: s.name,
            description: s.description,
            message: `This recipe needs a secret named ${s.name}; add it under Other credentials (${SECRETS_TAB}) first.`,
          });
      return out;
    },

    /**
     * Resolves a run for its user: refused (Conflict) when a credential it needs is missing, or the
     * plugin is gone. Credential values are opened here, for this run only.
     */
    async resolve(userId: string, code: string): Promise<PluginRun> {
      const { plugin: pluginId, recipe: recipeId, config } = parsePluginRecipeCode(code);
      const b = await brokenReason(pluginId, recipeId);
      if ('reason' in b) throw new Conflict(`This recipe cannot run: ${b.reason}.`);
      // What the runner approved is what runs: a change since (an update, a preset) waits for approval.
      if ((await recode(db, code)) !== code)
        throw new Conflict(
          `plugin ${pluginId} or a preset this recipe uses changed after the run was started; nothing ran. Run it again to review the change.`,
        );
      const [files, opened] = await Promise.all([
        repo.pluginFiles(db, pluginId),
        deps.credentials.openForRun(userId, pluginId),
      ]);
      const maskValues: string[] = [];
      const resolved: Record<string, unknown> = { ...config };
      for (const pick of presetsPicked(b.recipe, config)) {
        const set = b.plugin.parameterSets.find((s) => s.id === pick.set);
        const preset = await repo.findPreset(db, pluginId, pick.set, pick.preset);
        if (!set || !preset)
          throw new Conflict(`${pick.param.label}: preset ${pick.preset} of ${pick.set} no longer exists`);
        const values: Record<string, unknown> = {
          ...(JSON.parse(preset.config) as Record<string, unknown>),
          ...(JSON.parse(preset.plugin_config) as Record<string, unknown>),
        };
        for (const param of set.params) {
          const type = credentialTypeOf(param);
          if (!type) continue;
          const mine = opened.find(
            (o) =>
              o.key.parameter_set === set.id && o.key.preset === pick.preset && o.key.param === param.name,
          );
          if (!mine) {
            if (type === 'PASSWORD' && !param.mandatory) continue;
            throw new Conflict(
              `Enter your ${param.label} for preset ${set.label} / ${pick.preset} on your Credentials tab (${CREDENTIALS_TAB}) first; the run did not start.`,
            );
          }
          values[param.name] = mine.value;
          maskValues.push(...valuesOf(mine.value));
        }
        resolved[pick.param.name] = values;
      }
      return {
        language: b.recipe.language,
        files,
        codeFile: b.recipe.codeFile,
        env: {
          DKU_CUSTOM_RECIPE_CONFIG: JSON.stringify(resolved),
          DKU_CUSTOM_RECIPE_PLUGIN_CONFIG: JSON.stringify(pluginConfigOf(b.plugin, b.config)),
          DKU_CUSTOM_RECIPE_ID: `${pluginId}/${recipeId}`,
          DKU_PLUGIN_ID: pluginId,
        },
        maskValues,
      };
    },
  };
}

function valuesOf(v: OpenedCredential): string[] {
  return typeof v === 'string' ? [v] : [v.password, v.user];
}

/** The plugin-level params: what administrators saved, over the descriptor's defaults. */
function pluginConfigOf(manifest: PluginManifest, saved: string | undefined): Record<string, unknown> {
  const defaults = Object.fromEntries(
    manifest.params.filter((p) => p.defaultValue !== undefined).map((p) => [p.name, p.defaultValue]),
  );
  return { ...defaults, ...(saved ? (JSON.parse(saved) as Record<string, unknown>) : {}) };
}
