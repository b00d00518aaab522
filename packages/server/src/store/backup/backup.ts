import { sql, type Transaction } from 'kysely';
import type { Database } from '../schema.js';
import type { Store } from '../store.js';
import { BackupWriter, FORMAT } from './backup-file.js';
import { BACKED_UP } from './tables.js';

const PAGE = 1000;

export type Progress = (done: number, total: number) => void;

/** The migrations a store has run, in order: a backup restores only into the same schema. */
export async function migrationsOf(db: Store['db'] | Transaction<Database>): Promise<string[]> {
  const r = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
  return r.rows.map((x) => x.name);
}

/**
 * Writes a consistent snapshot of the store to `file`: every table read in one read transaction
 * (repeatable read on PostgreSQL; on SQLite a read transaction sees one snapshot of the WAL), so the
 * file never holds a secret without its data key or half of a batch save. Servers keep serving meanwhile.
 */
export async function createBackup(
  store: Store,
  file: string,
  onProgress: Progress = () => {},
): Promise<{ rows: number }> {
  return store.snapshot(async (db) => {
    const rows: Record<string, number> = {};
    for (const { table } of BACKED_UP) {
      const c = await db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      rows[table] = Number(c.n);
    }
    const total = Object.values(rows).reduce((a, b) => a + b, 0);
    const out = await BackupWriter.create(file, {
      format: FORMAT,
      createdAt: Date.now(),
      store: store.kind,
      migrations: await migrationsOf(db),
      rows,
    });
    let done = 0;
    try {
      for (const { table, key } of BACKED_UP) {
        for (let offset = 0; offset < rows[table]!; offset += PAGE) {
          let q = db.selectFrom(table).selectAll();
          for (const k of key) q = q.orderBy(sql.ref(k));
          const page = (await q.limit(PAGE).offset(offset).execute()) as Record<string, unknown>[];
          for (const row of page) await out.row(table, row);
          done += page.length;
          onProgress(done, total);
        }
      }
      await out.finish();
    } catch (e) {
      await out.abort();
      throw e;
    }
    return { rows: done };
  });
}
