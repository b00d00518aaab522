import { sql, type Kysely } from 'kysely';

/*
 * Frozen. DSS-style plugins kept in the store, so every replica has them and backups hold them
 * (docs/adr/0021): the checked manifest as JSON, the archive's files, the administrators' presets, and
 * each user's own credentials for presets, sealed like secrets. Recipes and jobs name the plugin and
 * component they run; a recipe outlives its plugin (it is then shown broken), so no foreign key.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const blob = sql.raw(dialect === 'postgres' ? 'bytea' : 'blob');
  const millis = 'bigint';
  await db.schema
    .createTable('plugins')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('manifest', 'text', (c) => c.notNull())
    .addColumn('config', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('installed_by', 'text', (c) => c.notNull())
    .addColumn('installed_at', millis, (c) => c.notNull())
    .addColumn('updated_at', millis, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('plugin_files')
    .addColumn('plugin_id', 'text', (c) => c.notNull().references('plugins.id').onDelete('cascade'))
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('content', blob, (c) => c.notNull())
    .addPrimaryKeyConstraint('plugin_files_pk', ['plugin_id', 'path'])
    .execute();
  await db.schema
    .createTable('plugin_presets')
    .addColumn('plugin_id', 'text', (c) => c.notNull().references('plugins.id').onDelete('cascade'))
    .addColumn('parameter_set', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('config', 'text', (c) => c.notNull())
    .addColumn('plugin_config', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('created_at', millis, (c) => c.notNull())
    .addColumn('updated_at', millis, (c) => c.notNull())
    .addPrimaryKeyConstraint('plugin_presets_pk', ['plugin_id', 'parameter_set', 'name'])
    .execute();
  await db.schema
    .createTable('plugin_credentials')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('plugin_id', 'text', (c) => c.notNull().references('plugins.id').onDelete('cascade'))
    .addColumn('parameter_set', 'text', (c) => c.notNull())
    .addColumn('preset', 'text', (c) => c.notNull())
    .addColumn('param', 'text', (c) => c.notNull())
    .addColumn('ciphertext', blob, (c) => c.notNull())
    .addColumn('key_version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', millis, (c) => c.notNull())
    .addPrimaryKeyConstraint('plugin_credentials_pk', [
      'user_id',
      'plugin_id',
      'parameter_set',
      'preset',
      'param',
    ])
    .execute();
  for (const table of ['recipes', 'jobs']) {
    await db.schema.alterTable(table).addColumn('plugin_id', 'text').execute();
    await db.schema.alterTable(table).addColumn('plugin_recipe', 'text').execute();
  }
  await db.schema.createIndex('recipes_plugin').on('recipes').column('plugin_id').execute();
}
