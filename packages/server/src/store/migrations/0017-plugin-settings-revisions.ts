import type { Kysely } from 'kysely';

/*
 * Frozen. A plugin's settings (its config and presets) get a revision, so that DSS's read-modify-write of
 * the settings object is judged against what its read saw, like a user's settings are (docs/adr/0015,
 * and docs/adr/0021): each save bumps the plugin's revision, and the config and each preset record the
 * revision that created and last wrote them, and the credential (session, API key or ticket) that did.
 * A deleted preset leaves a row saying when and by whom, so a save read before the deletion cannot
 * bring it back unseen. Existing rows start at revision 0, older than any read made after this migration.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  const revision = (t: string, column: string) =>
    db.schema
      .alterTable(t)
      .addColumn(column, 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  await revision('plugins', 'settings_revision');
  await revision('plugins', 'config_revision');
  await db.schema.alterTable('plugins').addColumn('config_written_by', 'text').execute();
  await revision('plugin_presets', 'created_revision');
  await revision('plugin_presets', 'updated_revision');
  await db.schema.alterTable('plugin_presets').addColumn('written_by', 'text').execute();
  await db.schema
    .createTable('plugin_preset_deletions')
    .addColumn('plugin_id', 'text', (c) => c.notNull().references('plugins.id').onDelete('cascade'))
    .addColumn('parameter_set', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('deleted_by', 'text')
    .addPrimaryKeyConstraint('plugin_preset_deletions_pk', ['plugin_id', 'parameter_set', 'name'])
    .execute();
}
