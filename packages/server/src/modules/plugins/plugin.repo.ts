import type { Insertable, Selectable } from 'kysely';
import type { PluginCredentialsTable, PluginPresetsTable } from '../../store/schema.js';
import type { Db } from '../../store/store.js';
import type { PluginFile, PluginManifest } from './plugin.model.js';

/** The rows of plugins, their files, presets and users' credentials. */

export interface PluginRecord {
  id: string;
  version: string;
  label: string;
  manifest: PluginManifest;
  /** JSON object: the plugin-level params administrators saved. */
  config: string;
  /** A digest of its files. */
  digest: string;
  installedBy: string;
  installedAt: number;
  updatedAt: number;
  /** The settings revision (0017) and the revision and credential that last wrote `config`. */
  settingsRevision: number;
  configRevision: number;
  configWrittenBy: string | null;
}

const record = (r: {
  id: string;
  version: string;
  label: string;
  manifest: string;
  config: string;
  digest: string;
  installed_by: string;
  installed_at: number | string;
  updated_at: number | string;
  settings_revision: number | string;
  config_revision: number | string;
  config_written_by: string | null;
}): PluginRecord => ({
  id: r.id,
  version: r.version,
  label: r.label,
  manifest: JSON.parse(r.manifest) as PluginManifest,
  config: r.config,
  digest: r.digest,
  installedBy: r.installed_by,
  installedAt: Number(r.installed_at),
  updatedAt: Number(r.updated_at),
  settingsRevision: Number(r.settings_revision),
  configRevision: Number(r.config_revision),
  configWrittenBy: r.config_written_by,
});

export async function listPlugins(db: Db): Promise<PluginRecord[]> {
  return (await db.selectFrom('plugins').selectAll().orderBy('id').execute()).map(record);
}

export async function findPlugin(db: Db, id: string): Promise<PluginRecord | undefined> {
  const r = await db.selectFrom('plugins').selectAll().where('id', '=', id).executeTakeFirst();
  return r && record(r);
}

/** Writes a plugin and its files, replacing a previous version's files; answers the previous version. */
export async function upsertPlugin(
  db: Db,
  p: { manifest: PluginManifest; files: readonly PluginFile[]; digest: string; by: string; at: number },
): Promise<string | null> {
  const { manifest } = p;
  const before = await db
    .selectFrom('plugins')
    .select('version')
    .where('id', '=', manifest.id)
    .executeTakeFirst();
  const row = {
    version: manifest.version,
    label: manifest.label,
    manifest: JSON.stringify(manifest),
    digest: p.digest,
    installed_by: p.by,
    updated_at: p.at,
  };
  if (before) await db.updateTable('plugins').set(row).where('id', '=', manifest.id).execute();
  else
    await db
      .insertInto('plugins')
      .values({ id: manifest.id, installed_at: p.at, ...row })
      .execute();
  await db.deleteFrom('plugin_files').where('plugin_id', '=', manifest.id).execute();
  // In slices: one statement per file would be slow, one for all may pass a driver's parameter limit.
  for (let i = 0; i < p.files.length; i += 100)
    await db
      .insertInto('plugin_files')
      .values(
        p.files.slice(i, i + 100).map((f) => ({ plugin_id: manifest.id, path: f.path, content: f.content })),
      )
      .execute();
  return before?.version ?? null;
}

export async function deletePlugin(db: Db, id: string): Promise<boolean> {
  const r = await db.deleteFrom('plugins').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function pluginFiles(db: Db, id: string): Promise<PluginFile[]> {
  const rows = await db
    .selectFrom('plugin_files')
    .select(['path', 'content'])
    .where('plugin_id', '=', id)
    .orderBy('path')
    .execute();
  return rows.map((r) => ({ path: r.path, content: Buffer.from(r.content) }));
}

/** Recipes of any project that use the plugin. */
export async function usagesOf(db: Db, pluginId: string, projectKey?: string) {
  let q = db
    .selectFrom('recipes')
    .innerJoin('projects', 'projects.id', 'recipes.project_id')
    .select(['projects.key as project_key', 'recipes.name', 'recipes.plugin_recipe'])
    .where('recipes.plugin_id', '=', pluginId);
  if (projectKey !== undefined) q = q.where('projects.key', '=', projectKey);
  return q.orderBy('projects.key').orderBy('recipes.name').execute();
}

export type PresetRow = Selectable<PluginPresetsTable>;

export async function presetsOf(db: Db, pluginId: string): Promise<PresetRow[]> {
  return db
    .selectFrom('plugin_presets')
    .selectAll()
    .where('plugin_id', '=', pluginId)
    .orderBy('parameter_set')
    .orderBy('name')
    .execute();
}

export async function allPresets(db: Db): Promise<PresetRow[]> {
  return db
    .selectFrom('plugin_presets')
    .selectAll()
    .orderBy('plugin_id')
    .orderBy('parameter_set')
    .orderBy('name')
    .execute();
}

export async function findPreset(db: Db, pluginId: string, set: string, name: string) {
  return db
    .selectFrom('plugin_presets')
    .selectAll()
    .where('plugin_id', '=', pluginId)
    .where('parameter_set', '=', set)
    .where('name', '=', name)
    .executeTakeFirst();
}

/**
 * Writes a preset at settings revision `revision` (from bumpSettingsRevision, in the same transaction):
 * a new preset is created at it, an existing one records it as its last write.
 */
export async function upsertPreset(
  db: Db,
  row: Omit<Insertable<PluginPresetsTable>, 'created_revision' | 'updated_revision'>,
  revision: number,
): Promise<void> {
  await db
    .insertInto('plugin_presets')
    .values({ ...row, created_revision: revision, updated_revision: revision })
    .onConflict((oc) =>
      oc.columns(['plugin_id', 'parameter_set', 'name']).doUpdateSet({
        config: row.config,
        plugin_config: row.plugin_config,
        updated_by: row.updated_by,
        updated_at: row.updated_at,
        updated_revision: revision,
        written_by: row.written_by ?? null,
      }),
    )
    .execute();
}

/**
 * Bumps a plugin's settings revision and answers the new one; undefined when the plugin is not there.
 * The first write of a settings change: on PostgreSQL it also takes the plugin's row lock, so the
 * change's checks and writes see no other change of the same settings in between.
 */
export async function bumpSettingsRevision(db: Db, id: string): Promise<number | undefined> {
  await db
    .updateTable('plugins')
    .set((eb) => ({ settings_revision: eb('settings_revision', '+', 1) }))
    .where('id', '=', id)
    .execute();
  const r = await db
    .selectFrom('plugins')
    .select('settings_revision')
    .where('id', '=', id)
    .executeTakeFirst();
  return r && Number(r.settings_revision);
}

/**
 * Deletes a preset and every user's credentials for it, recording the deletion at settings revision
 * `deleted.revision`; answers whether it existed.
 */
export async function deletePreset(
  db: Db,
  pluginId: string,
  set: string,
  name: string,
  deleted: { revision: number; by: string | null },
): Promise<boolean> {
  await db
    .deleteFrom('plugin_credentials')
    .where('plugin_id', '=', pluginId)
    .where('parameter_set', '=', set)
    .where('preset', '=', name)
    .execute();
  const r = await db
    .deleteFrom('plugin_presets')
    .where('plugin_id', '=', pluginId)
    .where('parameter_set', '=', set)
    .where('name', '=', name)
    .executeTakeFirst();
  const existed = Number(r.numDeletedRows) > 0;
  if (existed)
    await db
      .insertInto('plugin_preset_deletions')
      .values({
        plugin_id: pluginId,
        parameter_set: set,
        name,
        revision: deleted.revision,
        deleted_by: deleted.by,
      })
      .onConflict((oc) =>
        oc
          .columns(['plugin_id', 'parameter_set', 'name'])
          .doUpdateSet({ revision: deleted.revision, deleted_by: deleted.by }),
      )
      .execute();
  return existed;
}

export async function presetDeletionsOf(db: Db, pluginId: string) {
  return db.selectFrom('plugin_preset_deletions').selectAll().where('plugin_id', '=', pluginId).execute();
}

export type CredentialRow = Selectable<PluginCredentialsTable>;
export type CredentialKey = Pick<CredentialRow, 'plugin_id' | 'parameter_set' | 'preset' | 'param'>;

export async function credentialsOf(db: Db, userId: string, pluginId?: string): Promise<CredentialRow[]> {
  let q = db.selectFrom('plugin_credentials').selectAll().where('user_id', '=', userId);
  if (pluginId !== undefined) q = q.where('plugin_id', '=', pluginId);
  return q.execute();
}

export async function upsertCredential(db: Db, row: Insertable<PluginCredentialsTable>): Promise<void> {
  await db
    .insertInto('plugin_credentials')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['user_id', 'plugin_id', 'parameter_set', 'preset', 'param']).doUpdateSet({
        ciphertext: row.ciphertext,
        key_version: row.key_version,
        updated_at: row.updated_at,
        revision: row.revision ?? 0,
        written_by: row.written_by ?? null,
      }),
    )
    .execute();
}

export async function deleteCredential(db: Db, userId: string, k: CredentialKey): Promise<boolean> {
  const r = await db
    .deleteFrom('plugin_credentials')
    .where('user_id', '=', userId)
    .where('plugin_id', '=', k.plugin_id)
    .where('parameter_set', '=', k.parameter_set)
    .where('preset', '=', k.preset)
    .where('param', '=', k.param)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Writes the plugin-level config at settings revision `revision`, by credential `by`. */
export async function savePluginConfig(
  db: Db,
  id: string,
  config: string,
  revision: number,
  by: string | null,
): Promise<void> {
  await db
    .updateTable('plugins')
    .set({ config, config_revision: revision, config_written_by: by })
    .where('id', '=', id)
    .execute();
}

/**
 * The name a credential is sealed under (the associated data binds it to this): unlike any secret's,
 * so a credential's ciphertext cannot be passed off as a secret's, or another credential's.
 */
export function credentialSealName(k: CredentialKey): string {
  return ['\u0000plugin-credential', k.plugin_id, k.parameter_set, k.preset, k.param].join('\u0000');
}

/** Replaces one credential's ciphertext (a re-seal under a new data key). */
export async function replaceCredentialSealed(
  db: Db,
  userId: string,
  k: CredentialKey,
  ciphertext: Buffer,
  keyVersion: number,
): Promise<void> {
  await db
    .updateTable('plugin_credentials')
    .set({ ciphertext, key_version: keyVersion })
    .where('user_id', '=', userId)
    .where('plugin_id', '=', k.plugin_id)
    .where('parameter_set', '=', k.parameter_set)
    .where('preset', '=', k.preset)
    .where('param', '=', k.param)
    .execute();
}

/** Deletes all of a user's credentials (their data key is being destroyed). */
export async function deleteCredentialsOfUser(db: Db, userId: string): Promise<number> {
  const r = await db.deleteFrom('plugin_credentials').where('user_id', '=', userId).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/**
 * After an update: removes presets of parameter sets the plugin no longer has, and users' credentials
 * for parameters that no longer ask for one.
 */
export async function pruneToManifest(
  db: Db,
  manifest: PluginManifest,
  deleted: { revision: number; by: string | null },
): Promise<void> {
  for (const preset of await presetsOf(db, manifest.id))
    if (!manifest.parameterSets.some((s) => s.id === preset.parameter_set))
      await deletePreset(db, manifest.id, preset.parameter_set, preset.name, deleted);
  const asked = new Set(
    manifest.parameterSets.flatMap((s) =>
      s.params
        .filter((p) => p.type === 'CREDENTIAL_REQUEST' || p.type === 'PASSWORD')
        .map((p) => `${s.id}\u0000${p.name}`),
    ),
  );
  const rows = await db
    .selectFrom('plugin_credentials')
    .select(['user_id', 'plugin_id', 'parameter_set', 'preset', 'param'])
    .where('plugin_id', '=', manifest.id)
    .execute();
  for (const r of rows)
    if (!asked.has(`${r.parameter_set}\u0000${r.param}`)) await deleteCredential(db, r.user_id, r);
}
