import { digestOf, sha256Digest } from '../../crypto/index.js';
import type { Db } from '../../store/store.js';
import type { PluginFile, RecipeDesc } from './plugin.model.js';
import * as repo from './plugin.repo.js';

/*
 * What a plugin recipe keeps as its code (docs/adr/0021): its plugin, component and form values, and
 * beside them what else decides what its run does with the runner's credentials — the plugin's version
 * and files, the plugin's settings, and the shared values of the presets it picks. All of it is text
 * in the recipe's revisions, so a change of any of it, by a colleague or by an administrator, is a new
 * revision its runners approve before their next run, as they would a change of code (ADR 0014).
 * Nothing in it is secret: presets hold no credential.
 */

export interface PluginRecipeCode {
  plugin: string;
  recipe: string;
  config: Record<string, unknown>;
}

/** The preset a PRESET parameter picks, as the recipe's runners approve it. */
interface PickedPreset {
  name: string;
  config: Record<string, unknown>;
  /** Administrators' parameters are not shown to users: a digest says when they change. */
  adminSettings: string;
}

interface PluginContext {
  version: string;
  files: string;
  settings: string;
  presets: Record<string, PickedPreset | null>;
}

/** A digest of a plugin's files, by path and content. */
export function filesDigest(files: readonly PluginFile[]): string {
  const d = sha256Digest();
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : 1)))
    d.update(`${f.path}\u0000${digestOf(f.content.toString('base64'))}\n`);
  return `sha256:${d.hex()}`;
}

const sorted = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

/** The context of a recipe's form values, read now. */
async function contextOf(
  db: Db,
  plugin: repo.PluginRecord,
  recipe: RecipeDesc,
  config: Record<string, unknown>,
): Promise<PluginContext> {
  const presets: Record<string, PickedPreset | null> = {};
  for (const param of recipe.params.filter((p) => p.type === 'PRESET')) {
    const picked = config[param.name] as { name?: unknown } | undefined;
    if (typeof picked?.name !== 'string') continue;
    const row = await repo.findPreset(db, plugin.id, param.parameterSetId!, picked.name);
    presets[param.name] = row
      ? {
          name: row.name,
          config: sorted(JSON.parse(row.config) as Record<string, unknown>),
          adminSettings: `sha256:${digestOf(row.plugin_config)}`,
        }
      : null;
  }
  return {
    version: plugin.version,
    files: plugin.digest,
    settings: `sha256:${digestOf(plugin.config)}`,
    presets,
  };
}

/** The code of a plugin recipe with these form values, as of now. */
export async function pluginRecipeCode(
  db: Db,
  plugin: repo.PluginRecord,
  recipe: RecipeDesc,
  config: Record<string, unknown>,
): Promise<string> {
  const context = await contextOf(db, plugin, recipe, config);
  return `${JSON.stringify({ plugin: plugin.id, recipe: recipe.id, config: sorted(config), ...context }, null, 2)}\n`;
}

/** The plugin, component and form values a plugin recipe's code holds. */
export function parsePluginRecipeCode(code: string): PluginRecipeCode {
  return JSON.parse(code) as PluginRecipeCode;
}

/**
 * A recipe's code again, with its plugin and presets as they are now; null when its plugin or
 * component is gone (the recipe is then broken, and left as it was).
 */
export async function recode(db: Db, code: string): Promise<string | null> {
  const { plugin: pluginId, recipe: recipeId, config } = parsePluginRecipeCode(code);
  const plugin = await repo.findPlugin(db, pluginId);
  const recipe = plugin?.manifest.recipes.find((r) => r.id === recipeId);
  if (!plugin || !recipe) return null;
  return pluginRecipeCode(db, plugin, recipe, config);
}
