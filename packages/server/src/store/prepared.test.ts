import { DummyDriver, Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from 'kysely';
import { describe, expect, it } from 'vitest';
import { prepared, preparedWrite } from './prepared.js';
import type { Database } from './schema.js';

// Compiles only: no database behind it.
const db = new Kysely<Database>({
  dialect: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new SqliteIntrospector(k),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  },
});

describe('prepared queries', () => {
  it('refuses to keep rows of a table whose changes would not drop them', async () => {
    const sessionsKept = prepared(
      1,
      (d: Kysely<Database>, id: string) => d.selectFrom('sessions').selectAll().where('id', '=', id),
      { keep: true },
    );
    await expect(sessionsKept(db, 'x')).rejects.toThrow(/kept query reads "sessions"/);
  });

  it('keeps rows of the watched tables, joins included', async () => {
    const keyWithUser = prepared(
      1,
      (d: Kysely<Database>, id: string) =>
        d
          .selectFrom('api_keys')
          .innerJoin('users', 'users.id', 'api_keys.user_id')
          .selectAll('users')
          .where('api_keys.id', '=', id),
      { keep: true },
    );
    // The dummy driver answers no rows: what matters is that the query is accepted.
    await expect(keyWithUser(db, 'x')).resolves.toEqual([]);
  });

  it('compiles a write once and hands out its statement with each call’s parameters', () => {
    const stamp = preparedWrite(2, (d: Kysely<Database>, at: number, userId: string) =>
      d.updateTable('secrets').set({ last_used_at: at }).where('user_id', '=', userId),
    );
    expect(stamp(db, 1, 'u1')).toEqual({
      sql: 'update "secrets" set "last_used_at" = ? where "user_id" = ?',
      parameters: [1, 'u1'],
    });
    expect(stamp(db, 2, 'u2').parameters).toEqual([2, 'u2']);
  });
});
