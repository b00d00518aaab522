import type { Kysely } from 'kysely';

/*
 * Frozen. A user's plugin credentials get a revision of their own, as their secrets have (0009), so a
 * DSS settings save (read-modify-write of the whole object) is judged against what its read saw
 * (docs/adr/0015): the user row counts credential writes, and each credential records the revision that
 * created and last wrote it and the credential (session, API key or ticket) that did. Kept apart from
 * the secrets revision so that entering a plugin token does not make an open secrets page stale.
 * Existing rows start at revision 0, older than any read made after this migration.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  const revision = (t: string, column: string) =>
    db.schema
      .alterTable(t)
      .addColumn(column, 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  await revision('users', 'credentials_revision');
  await revision('plugin_credentials', 'created_revision');
  await revision('plugin_credentials', 'revision');
  await db.schema.alterTable('plugin_credentials').addColumn('written_by', 'text').execute();
}
