import {
  driverErrorText,
  isConnectionRefused,
  isDiskFull,
  isStorageIoError,
  isStoreUnreachable,
} from './dialect/errors.js';

export { isStoreUnreachable, isUniqueViolation } from './dialect/errors.js';

/** host:port/database of a PostgreSQL URL, never its password. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || u.searchParams.get('host') || 'localhost';
    return `${host}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'the configured database (COFFER_DATABASE_URL is not a valid URL)';
  }
}

/** The innermost error a wrapper (the migrator, a pool) points at: the one that says what happened. */
function rootCause(err: unknown): unknown {
  let e = err;
  for (let i = 0; i < 5 && e instanceof Error && e.cause !== undefined; i++) e = e.cause;
  return e;
}

/**
 * The store could not be opened at start because PostgreSQL is unreachable (`refused` false: it may come
 * back) or turned the connection down (`refused` true: wrong credentials, no such database). Says where
 * and why, never with the password.
 */
export class StoreUnreachable extends Error {
  readonly refused: boolean;
  constructor(url: string, cause: unknown) {
    const root = rootCause(cause);
    const why =
      (root as Error | undefined)?.message || (root as { code?: string } | undefined)?.code || String(root);
    const refused = isConnectionRefused(root);
    super(
      `${refused ? 'PostgreSQL refused the connection' : 'cannot reach PostgreSQL'} at ${describeDatabaseUrl(url)}: ${why}. Check COFFER_DATABASE_URL and that the database is up.`,
    );
    this.name = 'StoreUnreachable';
    this.refused = refused;
  }

  /** Whether err (or what it wraps) means the database cannot be connected to. */
  static matches(err: unknown): boolean {
    const root = rootCause(err);
    return (
      isStoreUnreachable(err) ||
      isStoreUnreachable(root) ||
      isConnectionRefused(err) ||
      isConnectionRefused(root)
    );
  }
}

/**
 * The store could not be opened at start because SQLite could not write to its data directory (a new
 * store, a pending migration or the first master key on a full disk). Says where and why, in one line.
 */
export class StoreCannotWrite extends Error {
  constructor(dataDir: string, cause: unknown) {
    const root = rootCause(cause);
    const why = isDiskFull(root)
      ? `the disk holding the data directory ${dataDir} is full`
      : `the data directory ${dataDir} cannot be written to`;
    super(
      `cannot start: ${why} (${driverErrorText(root)}). Free space there and start again; nothing stored is lost.`,
    );
    this.name = 'StoreCannotWrite';
  }

  static matches(err: unknown): boolean {
    const root = rootCause(err);
    return isDiskFull(root) || isStorageIoError(root);
  }
}
