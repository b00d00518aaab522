import {
  ApprovalRequired,
  CofferApiError,
  CofferUnreachable,
  SecretNotFound,
  type RecipeChange,
} from './errors.js';
import type {
  ActivityEvent,
  ApiKey,
  AuthInfo,
  Job,
  JobLogChunk,
  Project,
  ProjectDetail,
  ProjectRole,
  Recipe,
  RecipeLanguage,
  NewApiKey,
  NewUser,
  NotebookInfo,
  PluginConfig,
  PluginCredentialRequest,
  PluginCredentialValue,
  PluginDetail,
  PluginPresetInfo,
  PluginSummary,
  PluginUsage,
  RecipeReadiness,
  RunningKernel,
  SecretChange,
  SecretInfo,
  SecretList,
  SandboxStatus,
  Session,
  User,
  UserPatch,
} from './types.js';

export interface CofferClientOptions {
  /** Where Coffer answers, e.g. `http://127.0.0.1:11200`. Empty (the default) means this page's origin. */
  baseUrl?: string;
  /** A personal API key: for scripts and tools. */
  apiKey?: string;
  /** A job's ticket (`DKU_API_TICKET`): for code that Coffer runs as a user. */
  ticket?: string;
  /** The fetch to use; defaults to the global one (browsers, Node ≥ 18). */
  fetch?: typeof fetch;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const CSRF_HEADER = 'x-coffer-csrf';
const enc = encodeURIComponent;

/**
 * Coffer's own API, typed. In a browser with no key or ticket it rides the session cookie and echoes
 * the session's CSRF token on writes (kept from `signIn` / `session`). Every failure is a
 * `CofferApiError` carrying the server's status, code and message.
 */
export class CofferClient {
  readonly baseUrl: string;
  /** The CSRF token of the browser session this client signed in with, if any. */
  csrfToken: string | null = null;
  readonly #apiKey: string | undefined;
  readonly #ticket: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(opts: CofferClientOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? '').replace(/\/+$/, '');
    this.#apiKey = opts.apiKey;
    this.#ticket = opts.ticket;
    this.#fetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  // --- Session (browser) ----------------------------------------------------------------------------

  async signIn(login: string, password: string): Promise<Session> {
    return this.#remember(await this.#call<Session>('POST', '/api/v1/session', { login, password }));
  }

  /** Who is signed in; fails with status 401 when nobody is. */
  async session(): Promise<Session> {
    return this.#remember(await this.#call<Session>('GET', '/api/v1/session'));
  }

  async signOut(): Promise<void> {
    await this.#call('DELETE', '/api/v1/session');
    this.csrfToken = null;
  }

  // --- Your account ---------------------------------------------------------------------------------

  me(): Promise<User> {
    return this.#call('GET', '/api/v1/me');
  }

  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await this.#call('PUT', '/api/v1/me/password', { currentPassword, newPassword });
  }

  /** Who you are; with `withSecrets`, your own decrypted values (what your code uses). */
  authInfo(opts: { withSecrets?: boolean } = {}): Promise<AuthInfo> {
    return this.#call('GET', `/api/v1/auth/info${opts.withSecrets ? '?withSecrets=true' : ''}`);
  }

  /** The value of one of your secrets, for your code; throws SecretNotFound if there is none. */
  async getSecret(name: string): Promise<string> {
    const info = await this.authInfo({ withSecrets: true });
    const found = info.secrets?.find((s) => s.key === name);
    if (!found) throw new SecretNotFound(name, info.authIdentifier);
    return found.value;
  }

  // --- Your secrets (names and metadata; values only go in) -----------------------------------------

  listSecrets(): Promise<SecretList> {
    return this.#call('GET', '/api/v1/me/secrets');
  }

  putSecret(name: string, value: string): Promise<{ revision: number; secret: SecretInfo }> {
    return this.#call('PUT', `/api/v1/me/secrets/${enc(name)}`, { value });
  }

  deleteSecret(name: string): Promise<{ revision: number }> {
    return this.#call('DELETE', `/api/v1/me/secrets/${enc(name)}`);
  }

  /** Applies every change or none; refused with 409 if `revision` is not the current one. */
  saveSecrets(revision: number, changes: SecretChange[]): Promise<SecretList> {
    return this.#call('PATCH', '/api/v1/me/secrets', { revision, changes });
  }

  async activity(opts: { limit?: number; before?: number } = {}): Promise<ActivityEvent[]> {
    const q = new URLSearchParams();
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    if (opts.before !== undefined) q.set('before', String(opts.before));
    const qs = q.size ? `?${q}` : '';
    return (await this.#call<{ events: ActivityEvent[] }>('GET', `/api/v1/me/activity${qs}`)).events;
  }

  // --- Your personal API keys -----------------------------------------------------------------------

  async listApiKeys(): Promise<ApiKey[]> {
    return (await this.#call<{ keys: ApiKey[] }>('GET', '/api/v1/me/api-keys')).keys;
  }

  createApiKey(opts: { label?: string; description?: string; expiresOn?: number | null } = {}) {
    return this.#call<NewApiKey>('POST', '/api/v1/me/api-keys', opts);
  }

  updateApiKey(id: string, patch: { label?: string; description?: string }): Promise<ApiKey> {
    return this.#call('PATCH', `/api/v1/me/api-keys/${enc(id)}`, patch);
  }

  async revokeApiKey(id: string): Promise<void> {
    await this.#call('DELETE', `/api/v1/me/api-keys/${enc(id)}`);
  }

  // --- Projects, recipes and jobs -------------------------------------------------------------------

  async listProjects(): Promise<Project[]> {
    return (await this.#call<{ projects: Project[] }>('GET', '/api/v1/projects')).projects;
  }

  createProject(key: string, name: string): Promise<Project> {
    return this.#call('POST', '/api/v1/projects', { key, name });
  }

  getProject(key: string): Promise<ProjectDetail> {
    return this.#call('GET', `/api/v1/projects/${enc(key)}`);
  }

  async deleteProject(key: string): Promise<void> {
    await this.#call('DELETE', `/api/v1/projects/${enc(key)}`);
  }

  async setProjectMember(key: string, login: string, role: ProjectRole): Promise<void> {
    await this.#call('PUT', `/api/v1/projects/${enc(key)}/members/${enc(login)}`, { role });
  }

  async removeProjectMember(key: string, login: string): Promise<void> {
    await this.#call('DELETE', `/api/v1/projects/${enc(key)}/members/${enc(login)}`);
  }

  async listRecipes(key: string): Promise<Recipe[]> {
    return (await this.#call<{ recipes: Recipe[] }>('GET', `/api/v1/projects/${enc(key)}/recipes`)).recipes;
  }

  getRecipe(key: string, name: string): Promise<Recipe> {
    return this.#call('GET', `/api/v1/projects/${enc(key)}/recipes/${enc(name)}`);
  }

  /**
   * Creates or replaces a recipe. Pass `baseRevision`, the revision you edited (0 for a new recipe), to
   * be refused with a 409 CofferApiError, nothing saved, when someone else saved it since.
   */
  putRecipe(
    key: string,
    name: string,
    recipe: { language: RecipeLanguage; code: string; baseRevision?: number },
  ): Promise<Recipe> {
    return this.#call('PUT', `/api/v1/projects/${enc(key)}/recipes/${enc(name)}`, recipe);
  }

  /** Creates or replaces a recipe of a plugin: its component and the values of its generated form. */
  putPluginRecipe(
    key: string,
    name: string,
    recipe: {
      plugin: { id: string; recipe: string };
      config: Record<string, unknown>;
      baseRevision?: number;
    },
  ): Promise<Recipe> {
    return this.#call('PUT', `/api/v1/projects/${enc(key)}/recipes/${enc(name)}`, recipe);
  }

  /** What you lack to run a recipe (a plugin credential, a secret it needs); nothing for plain code. */
  recipeReadiness(key: string, name: string): Promise<RecipeReadiness> {
    return this.#call('GET', `/api/v1/projects/${enc(key)}/recipes/${enc(name)}/readiness`);
  }

  // --- Plugins --------------------------------------------------------------------------------------

  async listPlugins(): Promise<PluginSummary[]> {
    return (await this.#call<{ plugins: PluginSummary[] }>('GET', '/api/v1/plugins')).plugins;
  }

  /** A plugin's recipes, parameter sets and presets (administrators also see presets' pluginConfig). */
  getPlugin(id: string): Promise<PluginDetail> {
    return this.#call('GET', `/api/v1/plugins/${enc(id)}`);
  }

  /** The credentials presets ask you for, and which you have entered (never their values). */
  async listPluginCredentials(): Promise<PluginCredentialRequest[]> {
    return (
      await this.#call<{ credentials: PluginCredentialRequest[] }>('GET', '/api/v1/me/plugin-credentials')
    ).credentials;
  }

  /** Enters or replaces your own credential for one preset's parameter; encrypted, personal. */
  async setPluginCredential(
    c: { plugin: string; parameterSet: string; preset: string; param: string },
    value: PluginCredentialValue,
  ): Promise<void> {
    await this.#call('PUT', pluginCredentialPath(c), value);
  }

  async deletePluginCredential(c: {
    plugin: string;
    parameterSet: string;
    preset: string;
    param: string;
  }): Promise<void> {
    await this.#call('DELETE', pluginCredentialPath(c));
  }

  async listNotebooks(key: string): Promise<NotebookInfo[]> {
    return (await this.#call<{ notebooks: NotebookInfo[] }>('GET', `/api/v1/projects/${enc(key)}/notebooks`))
      .notebooks;
  }

  /** A notebook with its .ipynb document (what Export saves). */
  getNotebook(key: string, name: string): Promise<NotebookInfo & { content: Record<string, unknown> }> {
    return this.#call('GET', `/api/v1/projects/${enc(key)}/notebooks/${enc(name)}`);
  }

  /**
   * Creates an empty notebook (`language`) or imports one (`content`, an .ipynb document). With
   * `baseRevision` 0, a name already taken is refused with a 409 CofferApiError instead of replaced.
   */
  putNotebook(
    key: string,
    name: string,
    notebook: ({ language: 'python' | 'r' } | { content: unknown }) & { baseRevision?: number },
  ): Promise<NotebookInfo> {
    return this.#call('PUT', `/api/v1/projects/${enc(key)}/notebooks/${enc(name)}`, notebook);
  }

  /** Renames a notebook within its project; a name already taken is refused (409), nothing changed. */
  renameNotebook(key: string, name: string, newName: string): Promise<NotebookInfo> {
    return this.#call('PATCH', `/api/v1/projects/${enc(key)}/notebooks/${enc(name)}`, { name: newName });
  }

  /** Your running notebook kernels, on every replica (Jupyter's sessions). */
  async listKernels(): Promise<RunningKernel[]> {
    return (await this.#call<JupyterSession[]>('GET', '/jupyter/api/sessions')).map((s) => ({
      sessionId: s.id,
      kernelId: s.kernel.id,
      projectKey: s.path.slice(0, s.path.indexOf('/')),
      notebook: s.name.replace(/\.ipynb$/, ''),
      owner: null,
      lastActivity: Date.parse(s.kernel.last_activity),
      state: s.kernel.execution_state,
    }));
  }

  /** Stops a kernel (yours; an administrator's any): its ticket is refused from then on. */
  async stopKernel(sessionId: string): Promise<void> {
    await this.#call('DELETE', `/jupyter/api/sessions/${enc(sessionId)}`);
  }

  async deleteNotebook(key: string, name: string): Promise<void> {
    await this.#call('DELETE', `/api/v1/projects/${enc(key)}/notebooks/${enc(name)}`);
  }

  async deleteRecipe(key: string, name: string): Promise<void> {
    await this.#call('DELETE', `/api/v1/projects/${enc(key)}/recipes/${enc(name)}`);
  }

  /**
   * Queues a run of the recipe as you; follow it with jobLog. Throws ApprovalRequired when someone else
   * changed the code since you last ran it: show its diff, and run again with `approvedRevision` set to
   * its `revision` once the person running it agrees.
   */
  runRecipe(
    key: string,
    name: string,
    opts: { timeoutSeconds?: number; approvedRevision?: number } = {},
  ): Promise<Job> {
    return this.#call('POST', `/api/v1/projects/${enc(key)}/recipes/${enc(name)}/run`, opts);
  }

  async listJobs(opts: { project?: string; limit?: number } = {}): Promise<Job[]> {
    const q = new URLSearchParams();
    if (opts.project) q.set('project', opts.project);
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    const qs = q.size ? `?${q}` : '';
    return (await this.#call<{ jobs: Job[] }>('GET', `/api/v1/jobs${qs}`)).jobs;
  }

  getJob(id: string): Promise<Job> {
    return this.#call('GET', `/api/v1/jobs/${enc(id)}`);
  }

  /** The job's log chunks after sequence number `after` (all when omitted), and the job's state now. */
  jobLog(id: string, after?: number): Promise<{ job: Job; chunks: JobLogChunk[] }> {
    const qs = after === undefined ? '' : `?after=${after}`;
    return this.#call('GET', `/api/v1/jobs/${enc(id)}/log${qs}`);
  }

  cancelJob(id: string): Promise<Job> {
    return this.#call('POST', `/api/v1/jobs/${enc(id)}/cancel`);
  }

  // --- Administration -------------------------------------------------------------------------------

  readonly admin = {
    listUsers: async (): Promise<User[]> =>
      (await this.#call<{ users: User[] }>('GET', '/api/v1/admin/users')).users,
    createUser: (user: NewUser): Promise<User> => this.#call('POST', '/api/v1/admin/users', user),
    getUser: (login: string): Promise<User> => this.#call('GET', `/api/v1/admin/users/${enc(login)}`),
    updateUser: (login: string, patch: UserPatch): Promise<User> =>
      this.#call('PATCH', `/api/v1/admin/users/${enc(login)}`, patch),
    /** Account recovery: destroys the user's secrets and credentials; they must pick a new password. */
    resetPassword: (login: string, password: string): Promise<{ secretsDeleted: number }> =>
      this.#call('PUT', `/api/v1/admin/users/${enc(login)}/password`, { password }),
    deleteUser: async (login: string): Promise<void> => {
      await this.#call('DELETE', `/api/v1/admin/users/${enc(login)}`);
    },
    /** Installs a plugin from a zip (or replaces the installed version of the same id). */
    installPlugin: (zip: Uint8Array | Blob): Promise<PluginDetail> =>
      this.#call('POST', '/api/v1/admin/plugins', zip, 'application/zip'),
    /** Removes a plugin; refused while recipes use it unless `force` (they are then marked broken). */
    removePlugin: async (id: string, opts: { force?: boolean } = {}): Promise<void> => {
      await this.#call('DELETE', `/api/v1/admin/plugins/${enc(id)}${opts.force ? '?force=true' : ''}`);
    },
    pluginUsages: async (id: string): Promise<PluginUsage[]> =>
      (await this.#call<{ usages: PluginUsage[] }>('GET', `/api/v1/admin/plugins/${enc(id)}/usages`)).usages,
    /**
     * Saves a plugin's plugin-level settings; `settingsRevision` is the one they were read at (from
     * getPlugin). Refused (409, nothing saved) if another administrator changed them since.
     */
    putPluginConfig: (id: string, settings: PluginConfig): Promise<PluginConfig> =>
      this.#call('PUT', `/api/v1/admin/plugins/${enc(id)}/config`, settings),
    /** Creates or replaces an instance-wide preset of a parameter set. */
    putPreset: (
      id: string,
      parameterSet: string,
      name: string,
      preset: { config: Record<string, unknown>; pluginConfig?: Record<string, unknown> },
    ): Promise<PluginPresetInfo> =>
      this.#call('PUT', `/api/v1/admin/plugins/${enc(id)}/presets/${enc(parameterSet)}/${enc(name)}`, preset),
    deletePreset: async (id: string, parameterSet: string, name: string): Promise<void> => {
      await this.#call(
        'DELETE',
        `/api/v1/admin/plugins/${enc(id)}/presets/${enc(parameterSet)}/${enc(name)}`,
      );
    },
    /** How this server isolates users' code. */
    sandbox: (): Promise<SandboxStatus> => this.#call('GET', '/api/v1/admin/sandbox'),
    /** Every user's running notebook kernels: who runs which notebook where, never what one holds. */
    listKernels: async (): Promise<RunningKernel[]> =>
      (await this.#call<DssKernelSession[]>('GET', '/public/api/admin/notebooks/')).map((k) => ({
        sessionId: k.sessionId,
        kernelId: k.kernelId,
        projectKey: k.projectKey,
        notebook: k.notebookName,
        owner: k.sessionCreator,
        lastActivity: k.kernelLastActivityTime,
        state: k.kernelExecutionState,
      })),
  };

  // --- Transport ------------------------------------------------------------------------------------

  #remember(s: Session): Session {
    if (s.csrfToken) this.csrfToken = s.csrfToken;
    return s;
  }

  async #call<T>(method: Method, path: string, body?: unknown, contentType?: string): Promise<T> {
    const url = this.baseUrl + path;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = contentType ?? 'application/json';
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
    else if (this.#ticket) headers['x-dku-apiticket'] = this.#ticket;
    else if (method !== 'GET' && this.csrfToken) headers[CSRF_HEADER] = this.csrfToken;
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        headers,
        body:
          body === undefined
            ? undefined
            : contentType
              ? (body as Uint8Array<ArrayBuffer> | Blob)
              : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch (e) {
      throw new CofferUnreachable(this.baseUrl || 'this origin', e);
    }
    const text = await res.text();
    if (!res.ok) throw errorFrom(res.status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

function pluginCredentialPath(c: {
  plugin: string;
  parameterSet: string;
  preset: string;
  param: string;
}): string {
  return `/api/v1/me/plugin-credentials/${enc(c.plugin)}/${enc(c.parameterSet)}/${enc(c.preset)}/${enc(c.param)}`;
}

/** A session as Jupyter's API answers it. */
interface JupyterSession {
  id: string;
  path: string;
  name: string;
  kernel: { id: string; last_activity: string; execution_state: string };
}

/** A running notebook as DSS's admin/notebooks answers it. */
interface DssKernelSession {
  sessionId: string;
  kernelId: string;
  projectKey: string;
  notebookName: string;
  sessionCreator: string;
  kernelLastActivityTime: number;
  kernelExecutionState: string;
}

/** Reads either error shape the server speaks (Coffer's own, or DSS's) into one error. */
function errorFrom(status: number, text: string): CofferApiError {
  try {
    const b = JSON.parse(text) as {
      error?: {
        code?: string;
        message?: string;
        details?: Record<string, unknown>;
        revision?: number;
        changes?: RecipeChange[];
        diff?: string;
      };
      errorType?: string;
      message?: string;
    };
    if (b.error?.code === 'approval_required' && b.error.message && typeof b.error.revision === 'number')
      return new ApprovalRequired(
        b.error.message,
        b.error.revision,
        b.error.changes ?? [],
        b.error.diff ?? '',
      );
    if (b.error?.message)
      return new CofferApiError(status, b.error.code ?? 'error', b.error.message, b.error.details);
    if (b.message) return new CofferApiError(status, b.errorType ?? 'error', b.message);
  } catch {
    // not JSON: fall through to the status line
  }
  return new CofferApiError(status, 'http_error', `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`);
}
