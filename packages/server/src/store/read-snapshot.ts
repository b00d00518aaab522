import type SQLite from 'better-sqlite3';

/*
 * Rows of the hot read path kept between requests on SQLite: an API key with its user, a user's sealed
 * values, a user's wrapped data keys. All of it is what the database holds — ciphertext and metadata,
 * never a decrypted value — and it is kept only while the database is provably unchanged since it was
 * read:
 *  - this process's writes bump a generation (every statement that is not a pure read, counted when it
 *    runs, before its transaction commits; ROLLBACK too), except the two the read path itself makes and
 *    no cached query reads: audit inserts and `last_used_at` stamps on secrets;
 *  - every commit that changes a kept table, by any connection or process (the CLI, a rotation, this
 *    server's own), moves the store's change counter (migration 0005: triggers), checked before every
 *    use. SQLite's `PRAGMA data_version` would say "someone committed" — which the audit writer thread
 *    does many times a second — rather than "what you kept changed".
 * PostgreSQL has other replicas writing, so nothing is kept there (see prepared.ts).
 */

/** The tables that migration 0005 watches: a kept query may read these and no others. */
export const WATCHED_TABLES = ['users', 'api_keys', 'data_keys', 'secrets'];

const LIMIT = 10_000;

/** Writes that touch nothing a cached query reads (the audit trail, secrets.last_used_at). */
const NOT_READ_BY_CACHED_QUERIES = [
  // Transaction control changes nothing itself; the writes inside a transaction count as they run.
  /^(begin|begin immediate|commit|rollback)$/i,
  /^insert into "audit_(events|records|subjects|callers|name_lists)" /,
  /^update "secrets" set "last_used_at" = \? where "user_id" = \?$/,
];

export class ReadSnapshot {
  #generation = 0;
  #seenGeneration = -1;
  #seenCounter = -1;
  #lastCounter = -1;
  #checkedThisTurn = false;
  readonly #rows = new Map<string, unknown[]>();
  /** Prepared on first use, after the migrations have made the table. */
  #counter: SQLite.Statement<[], number> | undefined;

  constructor(private readonly raw: SQLite.Database) {}

  /** Called for every statement this process runs on the database. */
  noteStatement(sql: string, reader: boolean): void {
    if (reader) return;
    for (const re of NOT_READ_BY_CACHED_QUERIES) if (re.test(sql)) return;
    this.#generation++;
  }

  get<R>(key: string): R[] | undefined {
    // Another connection's commit is looked for once per turn of the event loop: a commit that lands
    // while this turn runs is one that happened just after it, which the next turn sees.
    if (!this.#checkedThisTurn) {
      this.#checkedThisTurn = true;
      setImmediate(() => (this.#checkedThisTurn = false));
      this.#counter ??= this.raw.prepare<[], number>('select n from change_counter where id = 1').pluck();
      this.#lastCounter = this.#counter.get()!;
    }
    const counter = this.#lastCounter;
    if (counter !== this.#seenCounter || this.#generation !== this.#seenGeneration) {
      this.#rows.clear();
      this.#seenCounter = counter;
      this.#seenGeneration = this.#generation;
      return undefined;
    }
    return this.#rows.get(key) as R[] | undefined;
  }

  /** Keeps rows read right after a get() that missed (no await in between: nothing could change). */
  set(key: string, rows: unknown[]): void {
    if (this.#rows.size >= LIMIT) this.#rows.clear();
    this.#rows.set(key, rows);
  }

  /** Every kept row, for tests that prove what is (and is not) kept. */
  rows(): unknown[] {
    return [...this.#rows.values()].flat();
  }
}
