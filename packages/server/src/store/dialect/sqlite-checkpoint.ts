import { statSync } from 'node:fs';
import type SQLite from 'better-sqlite3';
import type { StoreLog } from '../store.js';
import { driverErrorText } from './errors.js';

const sizeOf = (file: string): number | undefined => {
  try {
    return statSync(file).size;
  } catch {
    return undefined;
  }
};

/**
 * At close, the WAL is copied into the database file and truncated to nothing. SQLite does that itself
 * when the last connection closes, but silently and only when it can: after a full disk, a WAL left as
 * large as it grew would take that room again at the next start. If the checkpoint cannot be done (the
 * disk is still full, or another process still uses the store), the WAL stays — it holds committed
 * writes, and SQLite replays it at the next open — and the log says so.
 */
export function checkpointAtClose(raw: SQLite.Database, file: string, log: StoreLog | undefined): void {
  const wal = `${file}-wal`;
  // No wait for another process's lock: a CLI command closing beside a running server would otherwise
  // wait out the busy timeout. Whichever connection closes last checkpoints anyway.
  raw.pragma('busy_timeout = 0');
  try {
    const [result] = raw.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    if (result?.busy)
      log?.info(
        { wal, walBytes: sizeOf(wal) },
        'the WAL was not truncated at close: another process is using the store (its last connection will)',
      );
  } catch (err) {
    log?.warn(
      { wal, walBytes: sizeOf(wal), cause: driverErrorText(err) },
      'the WAL could not be copied into the database at close; it is kept (nothing is lost) and copied at the next start once the disk has room',
    );
  }
}
