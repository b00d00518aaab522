import { CompiledQuery, type Kysely } from 'kysely';
import { backgroundCommit, prepared, preparedWrite } from '../../store/prepared.js';
import type { Db } from '../../store/store.js';
import type { Database, LegacyAuditRow } from '../../store/schema.js';

/*
 * The audit trail's tables (migration 0010, docs/adr/0016): audit_records, and the rows they share —
 * audit_subjects (whose trail), audit_callers (who acted, and how) and audit_name_lists (which names).
 * A record refers to each shared row by a subquery on its key in its own insert, so no id is fetched
 * beforehand: SQLite's writer thread runs one prepared insert per record, a PostgreSQL transaction one
 * insert of many. audit_events holds the records written before 0010, read-only.
 */

/** A statement and the parameters of each row it writes (the shape the SQLite writer thread takes). */
export interface AuditStatement {
  readonly sql: string;
  readonly rows: readonly (readonly unknown[])[];
}

/** Who acted and how, as audit_callers keeps it. */
export interface CallerEntry {
  readonly key: string;
  readonly userId: string | null;
  readonly login: string | null;
  readonly authSource: string;
  readonly credentialId: string | null;
  readonly jobId: string | null;
  readonly ip: string | null;
  /** For a ticket: its project's key. */
  readonly projectKey: string | null;
  /** For a notebook kernel's ticket: the notebook, with its name at the time. */
  readonly notebookId: string | null;
  readonly notebookName: string | null;
}

/** A list of secret names, as audit_name_lists keeps it. */
export interface NameListEntry {
  readonly key: string;
  /** JSON array. */
  readonly json: string;
}

/** One record to write, with the shared rows it names. */
export interface NewAuditRecord {
  readonly at: number;
  readonly action: string;
  readonly subject: { readonly userId: string; readonly login: string } | null;
  readonly caller: CallerEntry | null;
  readonly names: NameListEntry | null;
  readonly detail: string | null;
}

/** Whether a write should make a shared row or move its last_at (see planRecords). */
export type StampDue = (sharedKey: string, at: number) => boolean;

// A shared row is written (made, or its last_at moved) at most once an hour by each server; a record
// finds it by its key.
const stampSubject = preparedWrite(3, (db: Kysely<Database>, userId: string, login: string, at: number) =>
  db
    .insertInto('audit_subjects')
    .values({ user_id: userId, login, last_at: at })
    .onConflict((oc) =>
      oc
        .column('user_id')
        .doUpdateSet({ last_at: (eb) => eb.ref('excluded.last_at') })
        .where('audit_subjects.last_at', '<', (eb) => eb.ref('excluded.last_at')),
    ),
);

type CallerArgs = [
  string,
  string | null,
  string | null,
  string,
  string | null,
  string | null,
  string | null,
  string | null,
  string | null,
  string | null,
  number,
];
const callerArgs = (c: CallerEntry, at: number): CallerArgs => [
  c.key,
  c.userId,
  c.login,
  c.authSource,
  c.credentialId,
  c.jobId,
  c.ip,
  c.projectKey,
  c.notebookId,
  c.notebookName,
  at,
];

const stampCaller = preparedWrite(
  11,
  (
    db: Kysely<Database>,
    ...[key, userId, login, source, credential, job, ip, project, notebookId, notebookName, at]: CallerArgs
  ) =>
    db
      .insertInto('audit_callers')
      .values({
        key,
        user_id: userId,
        login,
        auth_source: source,
        credential_id: credential,
        job_id: job,
        ip,
        project_key: project,
        notebook_id: notebookId,
        notebook_name: notebookName,
        last_at: at,
      })
      .onConflict((oc) =>
        oc
          .column('key')
          .doUpdateSet({ last_at: (eb) => eb.ref('excluded.last_at') })
          .where('audit_callers.last_at', '<', (eb) => eb.ref('excluded.last_at')),
      ),
);

const stampNames = preparedWrite(3, (db: Kysely<Database>, key: string, names: string, at: number) =>
  db
    .insertInto('audit_name_lists')
    .values({ key, names, last_at: at })
    .onConflict((oc) =>
      oc
        .column('key')
        .doUpdateSet({ last_at: (eb) => eb.ref('excluded.last_at') })
        .where('audit_name_lists.last_at', '<', (eb) => eb.ref('excluded.last_at')),
    ),
);

const insertRecord = preparedWrite(
  6,
  (
    db: Kysely<Database>,
    at: number,
    action: string,
    subjectUserId: string | null,
    callerKey: string | null,
    namesKey: string | null,
    detail: string | null,
  ) =>
    db.insertInto('audit_records').values({
      at,
      action,
      subject_id: (eb) => eb.selectFrom('audit_subjects').select('id').where('user_id', '=', subjectUserId),
      caller_id: (eb) => eb.selectFrom('audit_callers').select('id').where('key', '=', callerKey),
      names_id: (eb) => eb.selectFrom('audit_name_lists').select('id').where('key', '=', namesKey),
      detail,
    }),
);

/** Groups single statements by their SQL, in first-seen order. */
function grouped(statements: { sql: string; parameters: unknown[] }[]): AuditStatement[] {
  const bySql = new Map<string, unknown[][]>();
  for (const s of statements) {
    const rows = bySql.get(s.sql);
    if (rows) rows.push(s.parameters);
    else bySql.set(s.sql, [s.parameters]);
  }
  return [...bySql].map(([sql, rows]) => ({ sql, rows }));
}

/** The writes of a batch of records: the shared rows they name, then the records. */
export interface RecordPlan {
  readonly shared: readonly AuditStatement[];
  readonly records: readonly NewAuditRecord[];
}

/**
 * Plans the writes of `records`, with the upserts of the shared rows they name that `stampDue` asks
 * for, each once. A shared row that is not upserted must be known to exist: `stampDue` answers false
 * only for a row this server wrote less than an hour ago, and retention keeps a shared row for a day
 * after records stop naming it. Shared rows go first, each kind in key order, so that two
 * transactions taking the same rows (on PostgreSQL) take them in the same order.
 */
export function planRecords(
  db: Kysely<Database>,
  records: readonly NewAuditRecord[],
  stampDue: StampDue,
): RecordPlan {
  const subjects = new Map<string, { userId: string; login: string; at: number }>();
  const callers = new Map<string, { entry: CallerEntry; at: number }>();
  const names = new Map<string, { entry: NameListEntry; at: number }>();
  for (const r of records) {
    if (r.subject) {
      const at = Math.max(r.at, subjects.get(r.subject.userId)?.at ?? 0);
      subjects.set(r.subject.userId, { ...r.subject, at });
    }
    if (r.caller)
      callers.set(r.caller.key, { entry: r.caller, at: Math.max(r.at, callers.get(r.caller.key)?.at ?? 0) });
    if (r.names)
      names.set(r.names.key, { entry: r.names, at: Math.max(r.at, names.get(r.names.key)?.at ?? 0) });
  }
  const byKey = <V>(m: Map<string, V>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const shared: { sql: string; parameters: unknown[] }[] = [];
  for (const [userId, s] of byKey(subjects))
    if (stampDue(`subject:${userId}`, s.at)) shared.push(stampSubject(db, userId, s.login, s.at));
  for (const [key, c] of byKey(callers))
    if (stampDue(`caller:${key}`, c.at)) shared.push(stampCaller(db, ...callerArgs(c.entry, c.at)));
  for (const [key, n] of byKey(names))
    if (stampDue(`names:${key}`, n.at)) shared.push(stampNames(db, key, n.entry.json, n.at));
  return { shared: grouped(shared), records };
}

/** The records of a plan as one prepared statement run once per record (SQLite's writer thread). */
const recordStatements = (db: Kysely<Database>, records: readonly NewAuditRecord[]): AuditStatement[] =>
  grouped(
    records.map((r) =>
      insertRecord(
        db,
        r.at,
        r.action,
        r.subject?.userId ?? null,
        r.caller?.key ?? null,
        r.names?.key ?? null,
        r.detail,
      ),
    ),
  );

const RECORDS_PER_INSERT = 500;

/** Writes a plan on a database or inside the caller's transaction: many records per statement. */
export async function writePlan(db: Db, plan: RecordPlan): Promise<void> {
  await runStatements(db, plan.shared);
  for (let i = 0; i < plan.records.length; i += RECORDS_PER_INSERT) {
    await db
      .insertInto('audit_records')
      .values(
        plan.records.slice(i, i + RECORDS_PER_INSERT).map((r) => ({
          at: r.at,
          action: r.action,
          subject_id: (eb) =>
            eb
              .selectFrom('audit_subjects')
              .select('id')
              .where('user_id', '=', r.subject?.userId ?? null),
          caller_id: (eb) =>
            eb
              .selectFrom('audit_callers')
              .select('id')
              .where('key', '=', r.caller?.key ?? null),
          names_id: (eb) =>
            eb
              .selectFrom('audit_name_lists')
              .select('id')
              .where('key', '=', r.names?.key ?? null),
          detail: r.detail,
        })),
      )
      .execute();
  }
}

/** Runs statements on a database or inside the caller's transaction. */
async function runStatements(db: Db, statements: readonly AuditStatement[]): Promise<void> {
  for (const { sql, rows } of statements)
    for (const parameters of rows) await db.executeQuery(CompiledQuery.raw(sql, [...parameters]));
}

const stampSecretsUsed = (db: Kysely<Database>, at: number, userId: string) =>
  db.updateTable('secrets').set({ last_used_at: at }).where('user_id', '=', userId);

/** Marks all of a user's secrets used at a time (every read returns all of them). */
const markSecretsUsed = prepared(2, stampSecretsUsed);
const markSecretsUsedWrite = preparedWrite(2, stampSecretsUsed);

/**
 * Records audited reads and their last-used stamps in one transaction on SQLite's writer thread, off
 * the request thread (store/dialect/sqlite-writer.ts); resolves once durable. Answers undefined where
 * the store has no writer thread (PostgreSQL): the caller then uses recordReads in a transaction.
 * The last-used stamps go first, as in recordReads.
 */
export function recordReadsInBackground(
  db: Kysely<Database>,
  plan: RecordPlan,
  used: ReadonlyMap<string, number>,
): Promise<void> | undefined {
  const commit = backgroundCommit(db as Kysely<unknown>);
  if (!commit) return undefined;
  const stamps = grouped([...used].map(([userId, at]) => markSecretsUsedWrite(db, at, userId)));
  return commit([...stamps, ...plan.shared, ...recordStatements(db, plan.records)]).then(() => undefined);
}

/**
 * Records audited reads inside a transaction. The secrets' last-used stamps go first: a change to a
 * user's secrets locks those rows before it writes its own audit records, so taking them in the same
 * order keeps a read and a change from waiting on each other in a circle (PostgreSQL).
 */
export async function recordReads(
  trx: Db,
  plan: RecordPlan,
  used: ReadonlyMap<string, number>,
): Promise<void> {
  for (const [userId, at] of used) await markSecretsUsed(trx, at, userId);
  await writePlan(trx, plan);
}

/** A record with what it names, as activity and exports show it. */
export interface AuditRecordRow {
  id: number;
  at: number;
  action: string;
  detail: string | null;
  subject_user_id: string | null;
  subject_login: string | null;
  actor_user_id: string | null;
  actor_login: string | null;
  auth_source: string | null;
  credential_id: string | null;
  job_id: string | null;
  ip: string | null;
  project_key: string | null;
  notebook_id: string | null;
  notebook_name: string | null;
  names: string | null;
}

/**
 * A record as its subject's activity shows it: with where its notebook is now, if anywhere they see, and
 * the job that did it (its project and recipe), while that job, run by them, is still kept.
 */
export interface ActivityRecordRow extends AuditRecordRow {
  notebook_now_project: string | null;
  notebook_now_name: string | null;
  job_project: string | null;
  job_recipe: string | null;
  job_plugin_id: string | null;
  job_plugin_recipe: string | null;
}

const recordsWithShared = (db: Db) =>
  db
    .selectFrom('audit_records as r')
    .leftJoin('audit_subjects as s', 's.id', 'r.subject_id')
    .leftJoin('audit_callers as c', 'c.id', 'r.caller_id')
    .leftJoin('audit_name_lists as n', 'n.id', 'r.names_id')
    .select([
      'r.id',
      'r.at',
      'r.action',
      'r.detail',
      's.user_id as subject_user_id',
      's.login as subject_login',
      'c.user_id as actor_user_id',
      'c.login as actor_login',
      'c.auth_source',
      'c.credential_id',
      'c.job_id',
      'c.ip',
      'c.project_key',
      'c.notebook_id',
      'c.notebook_name',
      'n.names',
    ]);

/**
 * Records about a user's own secrets, newest first, paged by id. A read by a notebook's kernel comes
 * with where that notebook is now (renamed since, say), but only while it exists in a project the user
 * is still a member of: the trail tells no one the later name of a notebook they can no longer see.
 */
export async function listSecretRecordsForUser(
  db: Db,
  userId: string,
  opts: { limit: number; beforeId?: number | undefined },
): Promise<ActivityRecordRow[]> {
  let q = recordsWithShared(db)
    .leftJoin('notebooks as nb', 'nb.id', 'c.notebook_id')
    .leftJoin('project_members as pm', (join) =>
      join.onRef('pm.project_id', '=', 'nb.project_id').on('pm.user_id', '=', userId),
    )
    .leftJoin('projects as p', 'p.id', 'pm.project_id')
    .select(['p.key as notebook_now_project', 'nb.name as notebook_now_name'])
    // Only a job the user ran: their ticket read their secrets, so it is theirs, but the trail never
    // names the recipe of someone else's job even if a record were ever to point at one.
    .leftJoin('jobs as j', (join) => join.onRef('j.id', '=', 'c.job_id').on('j.runner_id', '=', userId))
    .leftJoin('projects as jp', 'jp.id', 'j.project_id')
    // The job's own record of what it ran: the recipe may have changed or gone since.
    .select([
      'jp.key as job_project',
      'j.recipe_name as job_recipe',
      'j.plugin_id as job_plugin_id',
      'j.plugin_recipe as job_plugin_recipe',
    ])
    .where('r.subject_id', '=', (eb) =>
      eb
        .selectFrom('audit_subjects')
        .select('audit_subjects.id')
        .where('audit_subjects.user_id', '=', userId),
    )
    .where('r.action', 'like', 'secret.%');
  if (opts.beforeId !== undefined) q = q.where('r.id', '<', opts.beforeId);
  return q.orderBy('r.id', 'desc').limit(opts.limit).execute();
}

/** Events about a user's own secrets in the table written before 0010, newest first, paged by id. */
export async function listLegacySecretEventsForUser(
  db: Db,
  userId: string,
  opts: { limit: number; beforeId?: number | undefined },
): Promise<LegacyAuditRow[]> {
  let q = db
    .selectFrom('audit_events')
    .selectAll()
    .where('target_user_id', '=', userId)
    .where('action', 'like', 'secret.%');
  if (opts.beforeId !== undefined) q = q.where('id', '<', opts.beforeId);
  return q.orderBy('id', 'desc').limit(opts.limit).execute();
}

/** Records from `since` on, after id `afterId`, oldest first: one page of an export. */
export async function recordsSince(
  db: Db,
  opts: { since: number; afterId: number; limit: number },
): Promise<AuditRecordRow[]> {
  return recordsWithShared(db)
    .where('r.id', '>', opts.afterId)
    .where('r.at', '>=', opts.since)
    .orderBy('r.id')
    .limit(opts.limit)
    .execute();
}

/** Rows of the table written before 0010 from `since` on, after id `afterId`, oldest first. */
export async function legacyEventsSince(
  db: Db,
  opts: { since: number; afterId: number; limit: number },
): Promise<LegacyAuditRow[]> {
  return db
    .selectFrom('audit_events')
    .selectAll()
    .where('id', '>', opts.afterId)
    .where('at', '>=', opts.since)
    .orderBy('id')
    .limit(opts.limit)
    .execute();
}

/*
 * Retention. Records are removed oldest first, a window of ids at a time: the end of the next `limit`
 * ids is read (by the primary key), then those of them older than the cutoff are removed in one range
 * delete. No batch looks at more than `limit` rows and no index on time is needed, because ids follow
 * the order records were committed and times nearly so (audit.pruner.ts says where a pass stops).
 * Removing what another server has just removed removes nothing, so replicas pruning at once do no
 * harm.
 */
type TrailTable = 'audit_records' | 'audit_events';
type SharedTable = 'audit_subjects' | 'audit_callers' | 'audit_name_lists';

export const TRAIL_TABLES: readonly TrailTable[] = ['audit_records', 'audit_events'];
export const SHARED_TABLES: readonly SharedTable[] = ['audit_subjects', 'audit_callers', 'audit_name_lists'];

const windowOf = (table: TrailTable) =>
  prepared(2, (db: Kysely<Database>, afterId: number, limit: number) =>
    db
      .selectFrom((eb) =>
        eb
          .selectFrom(table)
          .select(['id', 'at'])
          .where('id', '>', afterId)
          .orderBy('id')
          .limit(limit)
          .as('w'),
      )
      .select((eb) => [eb.fn.max('w.id').as('end'), eb.fn.max('w.at').as('newest')]),
  );

const removeOldInRange = (table: TrailTable) =>
  preparedWrite(3, (db: Kysely<Database>, afterId: number, lastId: number, before: number) =>
    db.deleteFrom(table).where('id', '>', afterId).where('id', '<=', lastId).where('at', '<', before),
  );

const removeUnused = (table: SharedTable) =>
  preparedWrite(2, (db: Kysely<Database>, before: number, limit: number) =>
    db
      .deleteFrom(table)
      .where('id', 'in', (eb) =>
        eb.selectFrom(table).select('id').where('last_at', '<', before).orderBy('id').limit(limit),
      ),
  );

const WINDOW = { audit_records: windowOf('audit_records'), audit_events: windowOf('audit_events') };
const REMOVE_OLD = {
  audit_records: removeOldInRange('audit_records'),
  audit_events: removeOldInRange('audit_events'),
};
const REMOVE_UNUSED = {
  audit_subjects: removeUnused('audit_subjects'),
  audit_callers: removeUnused('audit_callers'),
  audit_name_lists: removeUnused('audit_name_lists'),
};

/**
 * Runs one delete and answers how many rows went. On SQLite it is committed by the writer thread,
 * beside the records of reads, so the request thread never runs or waits for it and the two never
 * contend for the write lock; elsewhere it is one statement of its own.
 */
async function removeRows(
  db: Kysely<Database>,
  statement: { sql: string; parameters: unknown[] },
): Promise<number> {
  const commit = backgroundCommit(db as Kysely<unknown>);
  if (commit) return commit([{ sql: statement.sql, rows: [statement.parameters] }]);
  const result = await db.executeQuery(CompiledQuery.raw(statement.sql, statement.parameters));
  return Number(result.numAffectedRows ?? 0n);
}

/**
 * Removes the records older than `before` among the `limit` ids after `afterId`. Answers how many went,
 * the last id of the window (the next one starts after it) and the latest time in it; undefined past
 * the last record.
 */
export async function pruneTrailWindow(
  db: Kysely<Database>,
  table: TrailTable,
  opts: { afterId: number; before: number; limit: number },
): Promise<{ removed: number; lastId: number; newest: number } | undefined> {
  const [row] = await WINDOW[table](db, opts.afterId, opts.limit);
  if (row?.end === null || row?.end === undefined) return undefined;
  const lastId = Number(row.end);
  const removed = await removeRows(db, REMOVE_OLD[table](db, opts.afterId, lastId, opts.before));
  return { removed, lastId, newest: Number(row.newest) };
}

/** Removes at most `limit` shared rows last named before `before`; answers how many went. */
export async function pruneUnusedShared(
  db: Kysely<Database>,
  table: SharedTable,
  opts: { before: number; limit: number },
): Promise<number> {
  return removeRows(db, REMOVE_UNUSED[table](db, opts.before, opts.limit));
}
