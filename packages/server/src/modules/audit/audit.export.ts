import type { LegacyAuditRow } from '../../store/schema.js';
import type { Store } from '../../store/store.js';
import { legacyEventsSince, recordsSince, type AuditRecordRow } from './audit.repo.js';

/*
 * The audit trail as an operator's log system takes it (`coffer audit export`): one flat object per
 * record, in the order records were committed (by id; their times follow it to within the moment two
 * servers' commits overlap). Records written before migration 0010 come first, in the same shape.
 * Like the trail itself it holds names, ids and addresses, never a secret value.
 */

export interface ExportedAuditRecord {
  /** Increases with every record; a later export can resume after the last one seen. */
  readonly id: number;
  /** ISO-8601, UTC, to the millisecond. */
  readonly at: string;
  readonly action: string;
  /** Whose account or secrets the record is about. */
  readonly target: { readonly userId: string; readonly login: string } | null;
  /** Who acted; null for a failed sign-in and for the operator's CLI. */
  readonly actor: { readonly userId: string; readonly login: string | null } | null;
  /** SESSION, PERSONAL_API_KEY, TICKET, or CLI; null for a failed sign-in. */
  readonly authSource: string | null;
  /** The session, API key or ticket (its id, never its secret). */
  readonly credentialId: string | null;
  /** The job whose ticket acted. */
  readonly jobId: string | null;
  /** The project a ticket acted in. */
  readonly projectKey: string | null;
  /** The notebook whose kernel's ticket acted, with its name at the time (null: already deleted). */
  readonly notebook: { readonly id: string; readonly name: string | null } | null;
  readonly ip: string | null;
  /** The secret names read or changed. */
  readonly names: readonly string[];
  /** What else a change records (e.g. the project of a job); null when nothing. */
  readonly detail: Readonly<Record<string, unknown>> | null;
}

const PAGE_ROWS = 1000;

/** Every record from `since` (epoch ms) on, oldest first, read a page at a time. */
export async function* exportAuditTrail(
  store: Store,
  opts: { since: number },
): AsyncGenerator<ExportedAuditRecord> {
  for (let afterId = 0; ;) {
    const page = await legacyEventsSince(store.db, { since: opts.since, afterId, limit: PAGE_ROWS });
    for (const row of page) yield fromLegacy(row);
    if (page.length < PAGE_ROWS) break;
    afterId = Number(page[page.length - 1]!.id);
  }
  for (let afterId = 0; ;) {
    const page = await recordsSince(store.db, { since: opts.since, afterId, limit: PAGE_ROWS });
    for (const row of page) yield fromRecord(row);
    if (page.length < PAGE_ROWS) break;
    afterId = Number(page[page.length - 1]!.id);
  }
}

const iso = (at: number | string) => new Date(Number(at)).toISOString();

function fromRecord(r: AuditRecordRow): ExportedAuditRecord {
  return {
    id: Number(r.id),
    at: iso(r.at),
    action: r.action,
    target: r.subject_user_id !== null ? { userId: r.subject_user_id, login: r.subject_login ?? '' } : null,
    actor: r.actor_user_id !== null ? { userId: r.actor_user_id, login: r.actor_login } : null,
    authSource: r.auth_source,
    credentialId: r.credential_id,
    jobId: r.job_id,
    projectKey: r.project_key,
    notebook: r.notebook_id !== null ? { id: r.notebook_id, name: r.notebook_name } : null,
    ip: r.ip,
    names: r.names !== null ? (JSON.parse(r.names) as string[]) : [],
    detail: r.detail !== null ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
  };
}

function fromLegacy(r: LegacyAuditRow): ExportedAuditRecord {
  // Reads kept their names, and a ticket's job, in the detail.
  const { names, viaJob, ...rest } = JSON.parse(r.detail) as Record<string, unknown>;
  return {
    id: Number(r.id),
    at: iso(r.at),
    action: r.action,
    target: r.target_user_id !== null ? { userId: r.target_user_id, login: r.target_login ?? '' } : null,
    actor: r.actor_user_id !== null ? { userId: r.actor_user_id, login: r.actor_login } : null,
    authSource: r.auth_source,
    credentialId: r.credential_id,
    jobId: typeof viaJob === 'string' ? viaJob : null,
    projectKey: null,
    notebook: null,
    ip: r.ip,
    names: r.secret_name !== null ? [r.secret_name] : Array.isArray(names) ? (names as string[]) : [],
    detail: Object.keys(rest).length > 0 ? rest : null,
  };
}
