import { sql, type Kysely } from 'kysely';

/*
 * Frozen. SQLite only (PostgreSQL records the migration and changes nothing, so both keep the same list
 * of migrations and a backup moves between them). A counter that every committed change to the rows a
 * server keeps between reads (users, API keys, data keys, and the sealed values of secrets) moves
 * forward, whichever connection or process makes it: a server sees that what it kept is stale by reading
 * one row. Stamping a secret's last use, and adding audit events, do not move it; they are what the
 * audit writer thread commits many times a second.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

const WATCHED: Record<string, string[]> = {
  users: ['insert', 'update', 'delete'],
  api_keys: ['insert', 'update', 'delete'],
  data_keys: ['insert', 'update', 'delete'],
  secrets: ['insert', 'update of user_id, name, ciphertext, key_version', 'delete'],
};

export async function up(db: AnyDb, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'sqlite') return;
  await sql`create table change_counter (id integer primary key check (id = 1), n integer not null)`.execute(
    db,
  );
  await sql`insert into change_counter (id, n) values (1, 0)`.execute(db);
  for (const [table, events] of Object.entries(WATCHED)) {
    for (const event of events) {
      const name = `${table}_${event.split(' ')[0]}_counts`;
      await sql
        .raw(
          `create trigger ${name} after ${event} on ${table} ` +
            `begin update change_counter set n = n + 1 where id = 1; end`,
        )
        .execute(db);
    }
  }
}
