import type { Keyring } from '../../crypto/index.js';
import type { Store } from '../store.js';
import { migrationsOf, type Progress } from './backup.js';
import { BackupFileError, readBackup, type BackupHeader, type Row } from './backup-file.js';
import { BACKED_UP } from './tables.js';

const BATCH = 200;

export class RestoreRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreRefused';
  }
}

/**
 * Restores a backup into an empty store, SQLite or PostgreSQL alike (so it is also how a deployment
 * moves from one to the other). All of it commits in one transaction, and only once the file's checksum
 * and the master key have been verified: a damaged file or the wrong key leaves the store as it was.
 */
export async function restoreBackup(
  store: Store,
  keyring: Keyring,
  file: string,
  onProgress: Progress = () => {},
): Promise<{ rows: number; header: BackupHeader }> {
  const order = new Map(BACKED_UP.map((t, i) => [t.table as string, i]));
  return store.transaction(async (db) => {
    for (const { table } of BACKED_UP) {
      // A server started once on the target registered its master key; that alone does not count.
      if (table === 'meta' || table === 'master_keys') continue;
      const c = await db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      if (Number(c.n) > 0)
        throw new RestoreRefused(
          `the target store is not empty (${table} has ${c.n} rows): restore only goes into a new, empty store`,
        );
    }
    const existing = await db.selectFrom('master_keys').select('key_check').execute();
    if (existing.some((k) => !keyring.matchesKeyCheck(k.key_check)))
      throw new RestoreRefused(
        'the target store was initialised with a different master key than the one configured',
      );
    // The backup's master key versions replace the target's own registration (verified below).
    await db.deleteFrom('master_keys').execute();

    let header: BackupHeader | undefined;
    let total = 0;
    let done = 0;
    let current = -1;
    let batch: Row[] = [];
    const counts: Record<string, number> = {};
    const flush = async () => {
      if (batch.length === 0) return;
      const table = BACKED_UP[current]!.table;
      if (table === 'meta')
        await db
          .deleteFrom('meta')
          .where(
            'key',
            'in',
            batch.map((r) => String(r.key)),
          )
          .execute();
      await db
        .insertInto(table)
        .values(batch as never)
        .execute();
      done += batch.length;
      batch = [];
      onProgress(done, total);
    };
    for await (const item of readBackup(file)) {
      if ('header' in item) {
        header = item.header;
        const here = await migrationsOf(db);
        if (JSON.stringify(here) !== JSON.stringify(header.migrations))
          throw new RestoreRefused(
            `${file} was made with schema migrations [${header.migrations.join(', ')}] but this Coffer has [${here.join(', ')}]: restore with the Coffer version that made the backup, then upgrade`,
          );
        total = Object.values(header.rows).reduce((a, b) => a + b, 0);
        continue;
      }
      const at = order.get(item.table);
      if (at === undefined)
        throw new BackupFileError(file, `holds rows of an unknown table ${JSON.stringify(item.table)}`);
      if (at < current) throw new BackupFileError(file, `has ${item.table} rows out of order`);
      if (at !== current || batch.length >= BATCH) {
        await flush();
        current = at;
      }
      batch.push(item.row);
      counts[item.table] = (counts[item.table] ?? 0) + 1;
    }
    await flush();
    for (const [table, n] of Object.entries(header!.rows))
      if ((counts[table] ?? 0) !== n)
        throw new BackupFileError(file, `announces ${n} ${table} rows but holds ${counts[table] ?? 0}`);

    const versions = await db.selectFrom('master_keys').select(['key_check', 'state']).execute();
    if (versions.length === 0 && done > 0)
      throw new BackupFileError(file, 'holds no master key check: it is not a complete backup');
    if (
      versions.length > 0 &&
      !versions.some((v) => v.state === 'active' && keyring.matchesKeyCheck(v.key_check))
    )
      throw new RestoreRefused(
        `${file} was made under a different master key: configure the key of the store it came from (its secrets cannot be read with any other)`,
      );
    await store.afterBulkInsert?.(db);
    return { rows: done, header: header! };
  });
}
