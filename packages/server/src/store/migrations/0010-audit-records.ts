import { sql, type Kysely } from 'kysely';

/*
 * Frozen. A compact audit trail (docs/adr/0016). The record of an event holds its time, its action and
 * three small numbers: whose trail it is in (audit_subjects), who acted and how — the user, the auth
 * source, the API key, session or ticket, the ticket's job and the address (audit_callers) — and which
 * secret names (audit_name_lists). Each of those is stored once and shared by every record that names
 * it: a user read ten thousand times with one key from one address costs one caller row, one subject
 * row and one name list, plus ten thousand small records. A change keeps its own detail as JSON.
 *
 * audit_events keeps the records written before this migration, unchanged; nothing writes there any
 * more, and retention empties it. New records take ids after its last one, so one id order runs through
 * both (activity pages and exports follow it).
 *
 * The shared rows carry last_at, the time a record last named them (stamped at most once an hour by
 * each server), so that once retention has removed every record naming one, it can be removed too. No
 * foreign keys: they would make every removal of a shared row scan the records for references.
 * Ids are never reused (AUTOINCREMENT on SQLite), so a record never points at a later row by mistake.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const millis = 'bigint';
  const pg = dialect === 'postgres';
  const smallId = pg ? 'serial' : 'integer';
  const bigId = pg ? 'bigserial' : 'integer';
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const primary = (c: any) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement());

  await db.schema
    .createTable('audit_subjects')
    .addColumn('id', smallId, primary)
    .addColumn('user_id', 'text', (c) => c.notNull().unique())
    .addColumn('login', 'text', (c) => c.notNull())
    .addColumn('last_at', millis, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('audit_callers')
    .addColumn('id', smallId, primary)
    // A digest of every column below: the columns that may be null cannot make a unique key themselves.
    .addColumn('key', 'text', (c) => c.notNull().unique())
    .addColumn('user_id', 'text')
    .addColumn('login', 'text')
    .addColumn('auth_source', 'text', (c) => c.notNull())
    .addColumn('credential_id', 'text')
    .addColumn('job_id', 'text')
    .addColumn('ip', 'text')
    .addColumn('last_at', millis, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('audit_name_lists')
    .addColumn('id', smallId, primary)
    // A digest of the names: a list can be longer than an index entry may be.
    .addColumn('key', 'text', (c) => c.notNull().unique())
    .addColumn('names', 'text', (c) => c.notNull())
    .addColumn('last_at', millis, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('audit_records')
    .addColumn('id', bigId, primary)
    .addColumn('at', millis, (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('subject_id', 'integer')
    .addColumn('caller_id', 'integer')
    .addColumn('names_id', 'integer')
    .addColumn('detail', 'text')
    .execute();
  await db.schema
    .createIndex('audit_records_subject')
    .on('audit_records')
    .columns(['subject_id', 'id'])
    .execute();

  // New ids follow the last of the records kept in audit_events.
  if (pg) {
    await sql`select setval(pg_get_serial_sequence('audit_records', 'id'), last.id)
              from (select max(id) as id from audit_events) last where last.id is not null`.execute(db);
  } else {
    await sql`insert into sqlite_sequence (name, seq)
              select 'audit_records', last.id
              from (select max(id) as id from audit_events) last where last.id is not null`.execute(db);
  }
}
