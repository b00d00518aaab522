import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/*
 * The tables as the application sees them. Times are epoch milliseconds in both dialects; booleans are
 * 0/1 integers and JSON is text, so one set of queries serves SQLite and PostgreSQL.
 */

type Millis = ColumnType<number, number, number>;
type Blob = ColumnType<Uint8Array, Uint8Array, Uint8Array>;

export interface UsersTable {
  id: string;
  login: string;
  display_name: string;
  email: string;
  groups: string;
  user_profile: string;
  source_type: string;
  enabled: number;
  password_hash: string | null;
  user_properties: string;
  admin_properties: string;
  preferences: string;
  secrets_revision: number;
  /** Counts writes of the user's plugin credentials (0018): what a DSS settings read saw of them. */
  credentials_revision: ColumnType<number, number | undefined, number>;
  password_must_change: ColumnType<number, number | undefined, number>;
  created_at: Millis;
  updated_at: Millis;
}

export interface DataKeysTable {
  user_id: string;
  version: number;
  wrapped: Blob;
  master_version: number;
  created_at: Millis;
}

export interface SecretsTable {
  user_id: string;
  name: string;
  ciphertext: Blob;
  key_version: number;
  tag: string;
  /** The user's secrets revision that created this row, and the one that last wrote its value. */
  created_revision: ColumnType<number, number | undefined, number>;
  revision: ColumnType<number, number | undefined, number>;
  /** The session, API key or ticket id that last wrote the value; null for the operator's CLI. */
  written_by: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Millis;
  updated_at: Millis;
  last_used_at: Millis | null;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  secret_hash: string;
  last4: string;
  label: string;
  description: string;
  created_at: Millis;
  created_by: string;
  last_used_at: Millis | null;
  expires_at: Millis | null;
  revoked_at: Millis | null;
  delegated: ColumnType<number, number | undefined, number>;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  secret_hash: string;
  csrf_token: string;
  created_at: Millis;
  expires_at: Millis;
  idle_expires_at: Millis;
  revoked_at: Millis | null;
}

export interface TicketsTable {
  id: string;
  user_id: string;
  job_id: string | null;
  /** The project the ticket's job runs in; null: no project access (docs/adr/0013). */
  project_id: string | null;
  /** The notebook whose kernel holds the ticket; null for a job's (0013). */
  notebook_id: string | null;
  secret_hash: string;
  created_at: Millis;
  expires_at: Millis;
  revoked_at: Millis | null;
}

/**
 * The audit trail as it was written before migration 0010. Nothing writes here any more; retention
 * empties it. New records are in audit_records (docs/adr/0016).
 */
export interface AuditEventsTable {
  id: Generated<number>;
  at: Millis;
  action: string;
  outcome: string;
  actor_user_id: string | null;
  actor_login: string | null;
  auth_source: string | null;
  credential_id: string | null;
  target_user_id: string | null;
  target_login: string | null;
  secret_name: string | null;
  ip: string | null;
  detail: string;
}

/** Whose trail a record is in: a user, by a small number (0010). */
export interface AuditSubjectsTable {
  id: Generated<number>;
  user_id: string;
  /** The login when the user was first named. */
  login: string;
  /** When a record last named it: once no record does, retention removes it. */
  last_at: Millis;
}

/** Who acted and how: user, auth source, credential, the ticket's job, the address (0010). */
export interface AuditCallersTable {
  id: Generated<number>;
  /** A digest of the other columns, which may be null and so cannot be a unique key themselves. */
  key: string;
  user_id: string | null;
  login: string | null;
  auth_source: string;
  credential_id: string | null;
  job_id: string | null;
  ip: string | null;
  /** For a ticket: the key of its project, and the notebook whose kernel held it, its name then (0013). */
  project_key: string | null;
  notebook_id: string | null;
  notebook_name: string | null;
  last_at: Millis;
}

/** A list of secret names that records share (0010). */
export interface AuditNameListsTable {
  id: Generated<number>;
  /** A digest of names. */
  key: string;
  /** JSON array of the names. */
  names: string;
  last_at: Millis;
}

/** One audited event (0010): a time, an action, and references to what it names. */
export interface AuditRecordsTable {
  id: Generated<number>;
  at: Millis;
  action: string;
  subject_id: number | null;
  caller_id: number | null;
  names_id: number | null;
  /** JSON details of a change; null for reads, whose names are all they hold. */
  detail: string | null;
}

export interface RateLimitsTable {
  key: string;
  window_start: Millis;
  count: number;
}

export interface MetaTable {
  key: string;
  value: string;
}

export type MasterKeyState = 'active' | 'retired';

/** One master key the store has known: identified by its key check, never stored itself. */
export interface MasterKeysTable {
  version: number;
  key_check: string;
  state: MasterKeyState;
  created_at: Millis;
  retired_at: Millis | null;
}

export type ProjectRole = 'owner' | 'contributor' | 'reader';
export type RecipeLanguage = 'python' | 'r' | 'javascript';
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'timed_out';

export interface ProjectsTable {
  id: string;
  key: string;
  name: string;
  created_by: string;
  created_at: Millis;
  updated_at: Millis;
}

export interface ProjectMembersTable {
  project_id: string;
  user_id: string;
  role: ProjectRole;
  added_at: Millis;
}

export interface RecipesTable {
  id: string;
  project_id: string;
  name: string;
  language: RecipeLanguage;
  code: string;
  created_by: string;
  updated_by: string;
  created_at: Millis;
  updated_at: Millis;
  /** The number of the current revision in recipe_revisions (0008). */
  revision: ColumnType<number, number | undefined, number>;
  /** A plugin recipe's plugin and component (0016); its `code` is then its config as JSON. */
  plugin_id: ColumnType<string | null, string | null | undefined, string | null>;
  plugin_recipe: ColumnType<string | null, string | null | undefined, string | null>;
}

/** The language a notebook's kernel speaks: ipykernel or IRkernel (0012). */
export type NotebookLanguage = 'python' | 'r';

/** A Jupyter notebook of a project (0012): its nbformat 4 document as JSON text. */
export interface NotebooksTable {
  id: string;
  project_id: string;
  name: string;
  language: NotebookLanguage;
  content: string;
  revision: number;
  created_by: string;
  updated_by: string;
  created_at: Millis;
  updated_at: Millis;
  /** The document as File → Save and Checkpoint last copied it (0014); null before the first. */
  checkpoint: string | null;
  checkpoint_at: Millis | null;
}

/** A notebook kernel running on some replica (0015); gone with its kernel. */
export interface KernelsTable {
  id: string;
  session_id: string;
  owner_id: string;
  owner_login: string;
  project_key: string;
  notebook: string;
  kernel_name: string;
  /** Where it runs: the holder's host name and port, as people and logs name a replica. */
  replica: string;
  started_at: Millis;
  heartbeat_at: Millis;
  /** Its ticket, revoked by whoever finds the kernel gone (0019); null in rows written before. */
  ticket_id: string | null;
  /** Its notebook's id, which a rename keeps (0019); null in rows written before. */
  notebook_id: string | null;
}

/** One save of a recipe's code (0008): what a runner is shown when someone else changed it. */
export interface RecipeRevisionsTable {
  recipe_id: string;
  revision: number;
  language: RecipeLanguage;
  code: string;
  /** Null once the author's account is deleted: then the change is nobody's own. */
  author_id: string | null;
  author_login: string;
  /** How the author signed in when it was not with a credential of their own; null when it was. */
  author_via: string | null;
  created_at: Millis;
}

export interface JobsTable {
  id: string;
  project_id: string;
  recipe_id: string | null;
  recipe_name: string;
  runner_id: string;
  language: RecipeLanguage;
  code: string;
  state: JobState;
  exit_code: number | null;
  error: string | null;
  timeout_ms: number;
  created_at: Millis;
  started_at: Millis | null;
  finished_at: Millis | null;
  cancel_requested_at: Millis | null;
  claimed_by: string | null;
  heartbeat_at: Millis | null;
  host: string | null;
  pid: number | null;
  /** The process's start time as /proc gives it, to tell it from a later process with the same pid. */
  pid_started: string | null;
  log_bytes: number;
  log_chunks: number;
  /** The recipe revision the job runs (0008); null for jobs queued before revisions were kept. */
  recipe_revision: ColumnType<number | null, number | null | undefined, number | null>;
  /** A plugin recipe's run (0016): its plugin and component; `code` is the recipe's config as JSON. */
  plugin_id: ColumnType<string | null, string | null | undefined, string | null>;
  plugin_recipe: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface JobLogsTable {
  job_id: string;
  seq: number;
  stream: 'stdout' | 'stderr' | 'system';
  at: Millis;
  text: string;
}

/** SQLite only: moved forward by triggers on every change to a table whose rows a server keeps (0005). */
export interface ChangeCounterTable {
  id: number;
  n: number;
}

/** The Unix account a user's code runs as when the server runs as root (0006). */
export interface SandboxAccountsTable {
  user_id: string;
  uid: number;
  created_at: Millis;
}

/** An installed plugin (0016): its checked manifest (plugin.model.ts) as JSON. */
export interface PluginsTable {
  id: string;
  version: string;
  label: string;
  manifest: string;
  /** JSON object: the plugin-level params administrators set (DSS's plugin settings `config`). */
  config: ColumnType<string, string | undefined, string>;
  /** A digest of the plugin's files (plugin-recipe-code.ts): what runners approve when it changes. */
  digest: string;
  installed_by: string;
  installed_at: Millis;
  updated_at: Millis;
  /** Bumped by every change of the config or a preset (0017): what a DSS settings read saw. */
  settings_revision: ColumnType<number, number | undefined, number>;
  /** The settings revision that last wrote `config`, and the credential (session, key, ticket id) that did. */
  config_revision: ColumnType<number, number | undefined, number>;
  config_written_by: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface PluginFilesTable {
  plugin_id: string;
  path: string;
  content: Buffer;
}

/** An instance-wide preset of a parameter set (0016); users' own credentials are not in it. */
export interface PluginPresetsTable {
  plugin_id: string;
  parameter_set: string;
  name: string;
  /** JSON object. */
  config: string;
  /** JSON object: the parameter set's pluginParams, set by administrators. */
  plugin_config: string;
  updated_by: string;
  created_at: Millis;
  updated_at: Millis;
  /** The plugin's settings revisions that created and last wrote this preset (0017), and who wrote it. */
  created_revision: ColumnType<number, number | undefined, number>;
  updated_revision: ColumnType<number, number | undefined, number>;
  written_by: ColumnType<string | null, string | null | undefined, string | null>;
}

/** A preset's deletion (0017): the settings revision and credential that deleted it. */
export interface PluginPresetDeletionsTable {
  plugin_id: string;
  parameter_set: string;
  name: string;
  revision: number;
  deleted_by: string | null;
}

/** One user's own value for one credential a preset asks for (0016), sealed like a secret. */
export interface PluginCredentialsTable {
  user_id: string;
  plugin_id: string;
  parameter_set: string;
  preset: string;
  param: string;
  ciphertext: Buffer;
  key_version: number;
  updated_at: Millis;
  /** The user's credentials revisions that created and last wrote this one (0018), and who wrote it. */
  created_revision: ColumnType<number, number | undefined, number>;
  revision: ColumnType<number, number | undefined, number>;
  written_by: string | null;
}

export interface Database {
  users: UsersTable;
  data_keys: DataKeysTable;
  secrets: SecretsTable;
  api_keys: ApiKeysTable;
  sessions: SessionsTable;
  tickets: TicketsTable;
  audit_events: AuditEventsTable;
  audit_subjects: AuditSubjectsTable;
  audit_callers: AuditCallersTable;
  audit_name_lists: AuditNameListsTable;
  audit_records: AuditRecordsTable;
  rate_limits: RateLimitsTable;
  meta: MetaTable;
  master_keys: MasterKeysTable;
  projects: ProjectsTable;
  project_members: ProjectMembersTable;
  recipes: RecipesTable;
  notebooks: NotebooksTable;
  kernels: KernelsTable;
  recipe_revisions: RecipeRevisionsTable;
  jobs: JobsTable;
  job_logs: JobLogsTable;
  change_counter: ChangeCounterTable;
  sandbox_accounts: SandboxAccountsTable;
  plugins: PluginsTable;
  plugin_files: PluginFilesTable;
  plugin_presets: PluginPresetsTable;
  plugin_preset_deletions: PluginPresetDeletionsTable;
  plugin_credentials: PluginCredentialsTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type SecretRow = Selectable<SecretsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type SessionRow = Selectable<SessionsTable>;
export type TicketRow = Selectable<TicketsTable>;
export type LegacyAuditRow = Selectable<AuditEventsTable>;
export type ProjectRow = Selectable<ProjectsTable>;
export type RecipeRow = Selectable<RecipesTable>;
export type NotebookRow = Selectable<NotebooksTable>;
export type RecipeRevisionRow = Selectable<RecipeRevisionsTable>;
export type JobRow = Selectable<JobsTable>;

/**
 * Tables whose ids the database hands out, which rows inserted with their ids (a restore) do not
 * advance; `after`: a table whose ids this one's must also follow (audit_records continues audit_events).
 */
export const SEQUENCED_TABLES: readonly { table: keyof Database; after?: keyof Database }[] = [
  { table: 'audit_events' },
  { table: 'audit_subjects' },
  { table: 'audit_callers' },
  { table: 'audit_name_lists' },
  { table: 'audit_records', after: 'audit_events' },
];
