/*
 * What a driver error means, for both dialects, in one place: the rest of the code asks these
 * questions and never looks at SQLite or PostgreSQL error codes itself.
 */

const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The database cannot answer right now, rather than "this query is wrong": answered 503 (retry later)
 * instead of 500. PostgreSQL: network errors, SQLSTATE class 08 (connection exception), 57P01–57P03
 * (shut down, starting up), 57014 (statement timeout), 53300 (too many connections); the pool's own
 * connect timeout; a connection that died under a query. SQLite: still locked after the busy timeout.
 */
export function isStoreUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = codeOf(err);
  if (code !== undefined) {
    if (
      NETWORK.has(code) ||
      /^08/.test(code) ||
      /^57P0[123]$/.test(code) ||
      code === '57014' ||
      code === '53300' ||
      code === 'SQLITE_BUSY'
    )
      return true;
  }
  if (err instanceof AggregateError) return err.errors.some(isStoreUnreachable);
  return /Connection terminated|timeout exceeded when trying to connect|Connection ended unexpectedly|connection error|Query read timeout/i.test(
    err.message,
  );
}

/** SQLite: the write lock was still held by another connection after the busy timeout. */
export function isStoreLocked(err: unknown): boolean {
  const code = codeOf(err);
  return code !== undefined && /^SQLITE_BUSY/.test(code);
}

/**
 * The database cannot write because the disk under it is full. SQLite: SQLITE_FULL (what a write that
 * runs out of space answers; SQLite has then rolled the transaction back itself). PostgreSQL: 53100
 * (disk_full; the server has rolled the transaction back). Node: ENOSPC.
 */
export function isDiskFull(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'SQLITE_FULL' || code === '53100' || code === 'ENOSPC';
}

/**
 * SQLite could not read or write its own files: SQLITE_IOERR and its extended codes (SQLITE_IOERR_WRITE,
 * _FSYNC, _SHMSIZE…; where the file system does not say ENOSPC, this is how a full disk shows).
 */
export function isStorageIoError(err: unknown): boolean {
  const code = codeOf(err);
  return code !== undefined && /^SQLITE_IOERR/.test(code);
}

/** A driver error in one line, for the log: its code and the driver's own message, never a stack. */
export function driverErrorText(err: unknown): string {
  const code = codeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/**
 * PostgreSQL turned the connection down for good — wrong password or role (SQLSTATE class 28), no such
 * database (3D000) — rather than being unreachable for a while: retrying will not help.
 */
export function isConnectionRefused(err: unknown): boolean {
  const code = codeOf(err);
  return code !== undefined && (/^28/.test(code) || code === '3D000');
}

/**
 * An insert or update ran into a unique index: another transaction made the same name first.
 * SQLite: SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY; PostgreSQL: SQLSTATE 23505.
 */
export function isUniqueViolation(err: unknown): boolean {
  const code = codeOf(err);
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
