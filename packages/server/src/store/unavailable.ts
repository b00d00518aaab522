/*
 * Whether a driver error means "the database cannot be reached right now" rather than "this query is
 * wrong": those become 503 (retry later) instead of 500, and a failed start says where it could not
 * connect. PostgreSQL: network errors, SQLSTATE class 08 (connection exception) and 57P01–57P03 (shut
 * down, starting up); the pool's own connect timeout. SQLite: still locked after the busy timeout.
 */

const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
]);

export function isStoreUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK.has(code) || /^08/.test(code) || /^57P0[123]$/.test(code) || code === 'SQLITE_BUSY')
      return true;
  }
  if (err instanceof AggregateError) return err.errors.some(isStoreUnreachable);
  return /Connection terminated|timeout exceeded when trying to connect|Connection ended unexpectedly|connection error/i.test(
    err.message,
  );
}

/** host:port/database of a PostgreSQL URL, never its password. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'the configured database (COFFER_DATABASE_URL is not a valid URL)';
  }
}

/** The database could not be reached when the server started: says where, never with the password. */
export class StoreUnreachable extends Error {
  constructor(url: string, cause: unknown) {
    super(
      `cannot reach PostgreSQL at ${describeDatabaseUrl(url)}: ${(cause as Error).message || (cause as { code?: string }).code || String(cause)}. Check COFFER_DATABASE_URL and that the database is up.`,
    );
    this.name = 'StoreUnreachable';
  }
}
