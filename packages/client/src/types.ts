/*
 * The shapes of Coffer's API (`/api/v1`), as the server's OpenAPI document describes them. Times are
 * epoch milliseconds.
 */

export interface User {
  login: string;
  displayName: string;
  email: string;
  groups: string[];
  userProfile: string;
  enabled: boolean;
  admin: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface Session {
  user: User;
  /** SESSION, PERSONAL_API_KEY or TICKET. */
  authSource: string;
  /** The token a browser session echoes in `x-coffer-csrf` on writes; null for other credentials. */
  csrfToken: string | null;
  /** True when an administrator set the password: it must be changed before anything else. */
  mustChangePassword: boolean;
}

export interface SecretInfo {
  name: string;
  createdAt: number;
  updatedAt: number;
  lastUsedAt: number | null;
}

export interface SecretList {
  /** Changes with every change to the user's secrets; a batch save based on an older one is refused. */
  revision: number;
  secrets: SecretInfo[];
}

export type SecretChange = { op: 'put'; name: string; value: string } | { op: 'delete'; name: string };

export interface ActivityEvent {
  id: number;
  at: number;
  action: string;
  secretNames: string[];
  actorLogin: string | null;
  authSource: string | null;
  credentialId: string | null;
  /** The job whose ticket did it, when one did. */
  jobId: string | null;
  ip: string | null;
  /** The project a ticket acted in, when a ticket did. */
  projectKey: string | null;
  /**
   * The notebook whose kernel's ticket did it: its name then (null if already deleted), and where it
   * is now, while it exists in a project you are a member of.
   */
  notebook: { name: string | null; current: { projectKey: string; name: string } | null } | null;
  /**
   * The job whose ticket did it, while the job is kept: its project, the recipe it ran, and for a
   * plugin recipe the plugin and its component.
   */
  job: {
    id: string;
    projectKey: string;
    recipe: string;
    plugin: { id: string; recipe: string } | null;
  } | null;
}

export interface ApiKey {
  id: string;
  user: string;
  label: string;
  description: string;
  createdOn: number;
  createdBy: string;
  lastUsedOn: number | null;
  expiresOn: number | null;
  /** The last four characters of the key, to recognise it. */
  last4: string;
}

/** A key just created: `key` is shown this once and never again. */
export interface NewApiKey extends ApiKey {
  key: string;
}

export interface NewUser {
  login: string;
  password: string;
  displayName?: string;
  email?: string;
  groups?: string[];
  userProfile?: string;
}

export interface UserPatch {
  displayName?: string;
  email?: string;
  groups?: string[];
  userProfile?: string;
  enabled?: boolean;
}

export interface AuthInfo {
  authIdentifier: string;
  authSource: string;
  via: string[];
  groups: string[];
  userProfile: string;
  associatedDSSUser: string;
  /** Present only when asked for: the caller's own secrets, decrypted. */
  secrets?: { key: string; value: string }[];
}

export type ProjectRole = 'owner' | 'contributor' | 'reader';
export type RecipeLanguage = 'python' | 'r' | 'javascript';

export interface Project {
  key: string;
  name: string;
  /** The caller's role in it. */
  role: ProjectRole;
  createdAt: number;
  updatedAt: number;
}

export interface ProjectDetail extends Project {
  members: { login: string; displayName: string; role: ProjectRole }[];
}

/** A Jupyter notebook of a project (nbformat 4); its document comes with `getNotebook`. */
export interface NotebookInfo {
  name: string;
  language: 'python' | 'r';
  /** Moves on every save; a save based on an older one gets 409. */
  revision: number;
  createdBy: string;
  updatedBy: string;
  createdAt: number;
  updatedAt: number;
}

/** A notebook kernel running for someone, on any replica. */
export interface RunningKernel {
  sessionId: string;
  kernelId: string;
  projectKey: string;
  notebook: string;
  /** Whose it is: in an administrator's list; null in your own. */
  owner: string | null;
  lastActivity: number;
  /** idle, busy, starting; unknown for a kernel another replica holds. */
  state: string;
}

export interface Recipe {
  name: string;
  language: RecipeLanguage;
  /** The code; for a plugin recipe, its config as JSON text (what a runner approves when it changes). */
  code: string;
  /** Set for a recipe of a plugin: which plugin and component, and the form's values. */
  plugin: { id: string; recipe: string; config: Record<string, unknown> } | null;
  /** Why the recipe cannot run as it is (its plugin was removed, say); null when it can. */
  broken: string | null;
  /** The number of this code; a run of code someone else changed approves it by this number. */
  revision: number;
  createdBy: string;
  updatedBy: string;
  createdAt: number;
  updatedAt: number;
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'timed_out';

export interface Job {
  id: string;
  project: string;
  recipe: string;
  language: RecipeLanguage;
  /** Who clicked Run: the job ran as them. */
  runner: string;
  /** The recipe revision the job runs (null for jobs from before revisions were kept). */
  revision: number | null;
  state: JobState;
  exitCode: number | null;
  error: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  logBytes: number;
}

export interface JobLogChunk {
  seq: number;
  stream: 'stdout' | 'stderr' | 'system';
  at: number;
  /** Already masked: the runner's secret values appear as *****. */
  text: string;
}

/** How the server runs users' code (GET /api/v1/admin/sandbox, administrators only). */
export interface SandboxStatus {
  /** `bubblewrap`: sandboxed. `off`: the operator's opt-out. `unavailable`: code is refused. `starting`. */
  mode: 'bubblewrap' | 'off' | 'unavailable' | 'starting';
  accounts: string;
  network: 'host' | 'coffer-only';
  limits: { memoryBytes: number; processes: number; cpuSeconds: number; fileBytes: number };
  problem?: { cause: string; fix: string };
}

// --- Plugins (docs/adr/0021) ------------------------------------------------------------------------

/** DSS's parameter types Coffer supports, and its own USER_SECRET (the name of one of the runner's secrets). */
export type PluginParamType =
  | 'STRING'
  | 'STRINGS'
  | 'TEXTAREA'
  | 'INT'
  | 'DOUBLE'
  | 'BOOLEAN'
  | 'DATE'
  | 'SELECT'
  | 'MULTISELECT'
  | 'MAP'
  | 'KEY_VALUE_LIST'
  | 'PASSWORD'
  | 'SEPARATOR'
  | 'PRESET'
  | 'CREDENTIAL_REQUEST'
  | 'USER_SECRET';

/** One field of a generated form, as recipe.json or parameter-set.json declares it. */
export interface PluginParam {
  name: string;
  type: PluginParamType;
  label: string;
  description: string | null;
  /** A JSON value, absent when the descriptor gives none. */
  defaultValue?: unknown;
  mandatory: boolean;
  /** DSS's expression over `model` (the form's values): the field shows only while it holds. */
  visibilityCondition: string | null;
  selectChoices?: { value: string; label: string }[];
  /** PRESET: the parameter set whose presets it picks from. */
  parameterSetId?: string;
  /** CREDENTIAL_REQUEST: SINGLE_FIELD (one value) or BASIC (user and password). */
  credentialRequestType?: 'SINGLE_FIELD' | 'BASIC';
}

export interface PluginRecipeInfo {
  id: string;
  language: 'python' | 'r';
  label: string;
  description: string | null;
  params: PluginParam[];
}

export interface PluginPresetInfo {
  name: string;
  /** Values of the parameter set's params, without CREDENTIAL_REQUEST and PASSWORD (each user's own). */
  config: Record<string, unknown>;
  /** Administrators' parameters; present for administrators only. */
  pluginConfig?: Record<string, unknown>;
  updatedAt: number;
}

export interface PluginParameterSetInfo {
  id: string;
  label: string;
  description: string | null;
  params: PluginParam[];
  pluginParams: PluginParam[];
  presets: PluginPresetInfo[];
}

export interface PluginSummary {
  id: string;
  version: string;
  label: string;
  description: string | null;
  author: string | null;
  installedBy: string;
  installedAt: number;
  updatedAt: number;
  recipes: number;
}

export interface PluginDetail extends Omit<PluginSummary, 'recipes'> {
  recipes: PluginRecipeInfo[];
  parameterSets: PluginParameterSetInfo[];
  /** Secrets every runner of the plugin's recipes must have, by name (the code reads them itself). */
  userSecrets: { name: string; description: string | null }[];
  /** plugin.json `params`: the plugin-level settings, which administrators set for everyone. */
  params: PluginParam[];
  /** Administrators only: the plugin-level values saved (the code's get_plugin_config()). */
  config?: Record<string, unknown>;
  /** Administrators only: the settings revision `config` was read at, sent back when saving it. */
  settingsRevision?: number;
}

/** The plugin-level settings as saved, and the settings revision to send with the next save. */
export interface PluginConfig {
  config: Record<string, unknown>;
  settingsRevision: number;
}

/** A project recipe that uses a plugin. */
export interface PluginUsage {
  projectKey: string;
  recipe: string;
  component: string;
}

/** One credential a preset asks each user for, and whether you have entered yours. */
export interface PluginCredentialRequest {
  plugin: string;
  pluginLabel: string;
  parameterSet: string;
  parameterSetLabel: string;
  preset: string;
  param: string;
  paramLabel: string;
  /** SINGLE_FIELD and BASIC: CREDENTIAL_REQUEST parameters; PASSWORD: a password parameter of the set. */
  type: 'SINGLE_FIELD' | 'BASIC' | 'PASSWORD';
  /** Whether you have entered a value; values are never shown. */
  set: boolean;
  updatedAt: number | null;
}

/** A credential value: a single field, or BASIC's user and password. */
export type PluginCredentialValue = { value: string } | { user: string; password: string };

/** What stands between the caller and a run of a plugin recipe. */
export interface RecipeReadiness {
  ready: boolean;
  missing: (
    | {
        kind: 'credential';
        plugin: string;
        parameterSet: string;
        preset: string;
        param: string;
        message: string;
      }
    | { kind: 'secret'; name: string; description: string | null; message: string }
    | { kind: 'problem'; message: string }
  )[];
}
