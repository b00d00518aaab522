/**
 * The authorization matrix. Project rule: "Authorization is checked in one place per kind of caller, and
 * tested for every route: each route has a test that another user, an admin, an anonymous caller, an
 * expired ticket and a revoked key are refused."
 *
 * ROUTES below has one entry per registered route (method + URL template, each DSS route under both
 * prefixes). Each entry says how to make a valid call for the allowed caller (the owner for user routes,
 * an administrator for admin routes), what success looks like, what another user and an admin get
 * when they aim at the owner's data, and what a job's ticket may do there (docs/adr/0013: 'allowed',
 * 'own-project', 'own-job' or 'refused', as the route declares it). From it the suite generates, per
 * route:
 *   - refusals: anonymous (also on the //doubled/ and trailing-slash/ forms, and HEAD twins), revoked /
 *     expired / forged keys, expired / revoked / garbage tickets, credentials of disabled and deleted
 *     users, idle-expired and signed-out sessions, garbage Bearer / Basic / cookie, credentials of the
 *     wrong kind, a demoted admin (admin routes), the X-DKU-ProxyUser header, and cookie writes without
 *     (or with a wrong) CSRF token;
 *   - success through every credential kind that applies (Basic key:, Basic :key, Bearer, cookie session
 *     with CSRF, and a job ticket where the route lets one in, scoped to the project or job the call
 *     names as a job's would be);
 *   - where tickets are refused, the allowed caller's job ticket (an administrator's, on admin routes)
 *     answered 403 with a message naming the ticket's limit, even scoped to the call's own project;
 *   - another (non-admin) user, an administrator, and an administrator's job ticket against the owner's
 *     data: the ticket has no administrator rights anywhere (admin routes refuse it; where tickets may
 *     go it gets what a non-admin gets, and the owner is left exactly as they were);
 *   - for routes a ticket reaches only in its own project or job: a ticket of another project, of no
 *     project, or of another job, refused with 403 naming the limit (and the rightly scoped one let in).
 *   Code a job runs may be someone else's, so its ticket may only read and update its user's secrets,
 *   make the DSS read calls, and read its own project; the end-to-end cases through real jobs are in
 *   ticket-scope.test.ts.
 * Every response body received in this file is checked for the owner's plaintext secret values (except
 * the owner's own code reading them), inline and once more at the end; and for the owner's own
 * credential for the sample plugin's preset, which no route returns to anyone, the owner included.
 *
 * Credentials an administrator sets for someone else never read values (docs/adr/0005): a key an admin
 * makes for another user is delegated, a password an admin sets must be changed first, and an admin
 * password reset is account recovery that destroys the user's secrets. The policy's own tests are in
 * delegation.test.ts; here, the escalation flows at the end of the admin section prove it end to end.
 * Users, keys and passwords made by the test harness come from the CLI operator and are unrestricted.
 */
import path from 'node:path';
import { UI_PAGES, type Caller } from '@coffer/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipDirectory, zipEntries } from './support/plugin-zips.js';
import { TestServer, type Auth, type Reply, type RequestOptions } from './support/test-server.js';

// ---------------------------------------------------------------------------------------------------
// Shared constants and leak bookkeeping
// ---------------------------------------------------------------------------------------------------

const OP = { kind: 'operator', name: 'cli' } as const;
/**
 * Jobs made here only need to exist: no server runs them. A runner ending a job revokes every ticket
 * bound to it, which would race with the tickets this file binds to jobs (Fixture.ticketFor).
 */
const NO_RUNNER = { COFFER_JOBS_ENABLED: 'false' };
const HOUR = 3_600_000;
const DSS_PREFIXES = ['/dip/publicapi', '/public/api'] as const;
const MARKER_PREFIX = 'e:AES:';

/** The owner's secrets. Their values must never appear in a response, except to the owner's own code. */
const OWNER_SECRETS = [
  { name: 'owner-warehouse-password', value: 'owner-plaintext-Zq7!warehouse-5b1e' },
  { name: 'owner-api-token', value: 'owner-plaintext-Kx9#token-c04d' },
] as const;
const OWNER_VALUES = OWNER_SECRETS.map((s) => s.value);
const OWNER_NAMES = OWNER_SECRETS.map((s) => s.name);
const OWNER_REVEAL = OWNER_SECRETS.map((s) => ({ key: s.name, value: s.value }));

/** Every response received in this file, for the final leak check. */
const SEEN: { what: string; text: string; reveal: boolean }[] = [];

function leakedValues(text: string): string[] {
  return OWNER_VALUES.filter((v) => text.includes(v));
}

/**
 * The sample plugin (examples/plugins/api-connect), installed on every server with its preset
 * `default`; each owner enters their own token for it. No entry removes or breaks it: entries that
 * remove a plugin or a preset make one of their own first.
 */
const SAMPLE_PLUGIN_DIR = path.resolve(import.meta.dirname, '../examples/plugins/api-connect');
const PLUGIN = 'api-connect';
const PARAMETER_SET = 'api-credentials';
const PRESET = 'default';
const PRESET_CONFIG = { config: { base_url: 'https://api.example.com' } };
/** The owner's credential for the sample's preset. No route returns it to anyone, the owner included. */
const OWNER_CREDENTIAL = 'owner-plaintext-Vt4%credential-9a3f';
const credentialPath = (preset = PRESET) =>
  `/api/v1/me/plugin-credentials/${PLUGIN}/${PARAMETER_SET}/${preset}/token`;
/** The sample's `fetch` recipe as a project saves it: the preset, and one of the owner's secrets. */
const FETCH = {
  plugin: { id: PLUGIN, recipe: 'fetch' },
  config: {
    endpoint: '/v1/orders',
    credentials: { mode: 'PRESET', name: PRESET },
    secret_name: OWNER_SECRETS[1].name,
  },
};

let sampleZipBytes: Promise<Buffer> | undefined;
const sampleZip = () => (sampleZipBytes ??= zipDirectory(SAMPLE_PLUGIN_DIR));
/** A plugin that is only its plugin.json. */
const bareZip = (id: string, version = '1.0.0') =>
  zipEntries([{ path: 'plugin.json', content: JSON.stringify({ id, version }) }]);
/** A plugin archive as dataikuapi uploads it: multipart/form-data, in a field named `file`. */
async function multipartZip(zip: Buffer): Promise<{ rawBody: Uint8Array; headers: Record<string, string> }> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(zip)]), 'plugin.zip');
  const encoded = new Request('http://multipart.invalid/', { method: 'POST', body: form });
  return {
    rawBody: new Uint8Array(await encoded.arrayBuffer()),
    headers: { 'content-type': encoded.headers.get('content-type')! },
  };
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

// ---------------------------------------------------------------------------------------------------
// Fixture: one per server
// ---------------------------------------------------------------------------------------------------

interface Principal {
  login: string;
  key: string;
  keyId?: string;
  password?: string;
  ticket?: string;
  session?: { cookie: string; csrf: string };
}

/** A concrete request. `auth` overrides the credential a test would otherwise use (columns only). */
interface Call {
  path: string;
  body?: unknown;
  /** A body that is not JSON (a plugin archive, a multipart upload), sent as is. */
  rawBody?: Uint8Array;
  headers?: Record<string, string>;
  auth?: RequestOptions;
  /** The owner's own code reads its values here: the response may (and must) carry them. */
  reveal?: boolean;
}

class Fixture {
  private n = 0;
  bystander!: Principal;
  /** An administrator of the fixture's own, who removes plugins to make futures. */
  private futureAdmin: Principal | undefined;

  constructor(
    readonly s: TestServer,
    readonly tag: string,
  ) {}

  uniq(prefix: string): string {
    this.n += 1;
    return `${prefix}-${this.tag}-${this.n}`;
  }

  /** Sends a request and records the response; outside reveals, the owner's values must be absent. */
  async send(method: string, path: string, opts: RequestOptions = {}, reveal = false): Promise<Reply> {
    const r = await this.s.request(method, path, opts);
    const what = `${method} ${path}`;
    SEEN.push({ what, text: r.text, reveal });
    if (!reveal) expect(leakedValues(r.text), `${what} leaked the owner's plaintext: ${r.text}`).toEqual([]);
    expect(r.text.includes(OWNER_CREDENTIAL), `${what} showed the owner's plugin credential`).toBe(false);
    return r;
  }

  /** A user without a password (no scrypt): an API key only; session and ticket on demand. */
  async quickUser(prefix: string, admin = false): Promise<Principal> {
    const login = this.uniq(prefix);
    await this.s.services.users.create(OP, { login, groups: admin ? ['administrators'] : [] });
    const { key, id } = await this.s.createKey(login);
    return { login, key, keyId: id };
  }

  /** A user with password, API key, ticket (1 h) and a signed-in cookie session. */
  async fullUser(prefix: string, admin = false): Promise<Principal> {
    const login = this.uniq(prefix);
    const u = await this.s.createUser(login, { admin });
    const { ticket } = await this.s.issueTicket(login, HOUR);
    const session = await this.s.login(login, u.password);
    return { ...u, ticket, session };
  }

  async withSession(p: Principal): Promise<{ cookie: string; csrf: string }> {
    if (!p.session) {
      if (!p.password) {
        p.password = `pw-${p.login}-0123456789`;
        // Set by the CLI operator: no "must change" restriction, and the user keeps their secrets.
        await this.s.services.users.resetPassword(OP, p.login, p.password);
      }
      p.session = await this.s.login(p.login, p.password);
    }
    return p.session;
  }

  async putSecret(p: Principal, name: string, value: string): Promise<void> {
    const r = await this.send('PUT', `/api/v1/me/secrets/${encodeURIComponent(name)}`, {
      key: p.key,
      body: { value },
    });
    expect([200, 201], r.text).toContain(r.status);
  }

  /** `p` enters their own credential for a preset of the sample plugin. */
  async putCredential(p: Principal, value: string, preset = PRESET): Promise<void> {
    await this.samplePlugin();
    const r = await this.send('PUT', credentialPath(preset), { key: p.key, body: { value } });
    expect(r.status, r.text).toBe(204);
  }

  /** OWNER_SECRETS, and the owner's own credential for the sample plugin's preset. */
  async giveOwnerSecrets(p: Principal): Promise<Principal> {
    for (const s of OWNER_SECRETS) await this.putSecret(p, s.name, s.value);
    await this.putCredential(p, OWNER_CREDENTIAL);
    return p;
  }

  /** The sample plugin, installed with its preset `default` (installed again if it is not). */
  async samplePlugin(): Promise<void> {
    const plugins = this.s.services.plugins;
    const installed = await plugins.get(OP, PLUGIN).catch(() => undefined);
    if (!installed) await plugins.install(OP, await sampleZip());
    const presets = (await plugins.get(OP, PLUGIN)).parameterSets.flatMap((s) => s.presets);
    if (!presets.some((x) => x.name === PRESET))
      await plugins.putPreset(OP, PLUGIN, PARAMETER_SET, PRESET, PRESET_CONFIG);
  }

  /** The id of the (finished) future that removing a plugin of its own answered. */
  async finishedFutureId(): Promise<string> {
    const id = await this.scratchPlugin();
    this.futureAdmin ??= await this.quickUser('future-admin', true);
    const removed = await this.send('POST', `/public/api/plugins/${id}/actions/delete`, {
      key: this.futureAdmin.key,
      body: { force: false },
    });
    expect(removed.status, removed.text).toBe(200);
    return removed.json.jobId as string;
  }

  /** The sample plugin's plugin-level values and settings revision, as its detail gives them to an administrator. */
  async pluginConfig(): Promise<{ config: Record<string, unknown>; settingsRevision: number }> {
    await this.samplePlugin();
    const { config, settingsRevision } = await this.s.services.plugins.get(OP, PLUGIN);
    return { config: config ?? {}, settingsRevision: settingsRevision ?? 0 };
  }

  /** A plugin of its own (only a plugin.json), for a call that removes one: answers its id. */
  async scratchPlugin(): Promise<string> {
    const id = this.uniq('scratch-plugin');
    await this.s.services.plugins.install(OP, await bareZip(id));
    return id;
  }

  /** A new preset of the sample's parameter set (it asks each user for their token): answers its name. */
  async scratchPreset(): Promise<string> {
    await this.samplePlugin();
    const name = this.uniq('preset');
    await this.s.services.plugins.putPreset(OP, PLUGIN, PARAMETER_SET, name, PRESET_CONFIG);
    return name;
  }

  /** The installed version of a plugin, or null. */
  async pluginVersion(id: string): Promise<string | null> {
    return (await this.s.services.plugins.get(OP, id).catch(() => undefined))?.version ?? null;
  }

  /** The names of the sample's presets. */
  async presetNames(): Promise<string[]> {
    const detail = await this.s.services.plugins.get(OP, PLUGIN);
    return detail.parameterSets.flatMap((s) => s.presets.map((x) => x.name));
  }

  /** A fresh owner holding OWNER_SECRETS. */
  async owner(opts: { session?: boolean } = {}): Promise<Principal> {
    const p = await this.giveOwnerSecrets(await this.quickUser('owner'));
    if (opts.session) await this.withSession(p);
    return p;
  }

  /** A fresh actor (another user or an admin) with one secret of their own. */
  async actor(admin: boolean): Promise<Principal> {
    const p = await this.quickUser(admin ? 'admin' : 'other', admin);
    await this.putSecret(p, 'own-secret', actorValue(p));
    return p;
  }

  projectKey(): string {
    return this.uniq('P')
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, '_');
  }

  /** A new project owned by `p`; answers its key. */
  async project(p: Principal): Promise<string> {
    const key = this.projectKey();
    const r = await this.send('POST', '/api/v1/projects', { key: p.key, body: { key, name: key } });
    expect(r.status, r.text).toBe(201);
    return key;
  }

  /** A recipe of the sample plugin (`fetch`, with the preset) in `project`. */
  async pluginRecipe(p: Principal, project: string): Promise<string> {
    await this.samplePlugin();
    const r = await this.send('PUT', `/api/v1/projects/${project}/recipes/fetch`, {
      key: p.key,
      body: FETCH,
    });
    expect(r.status, r.text).toBe(201);
    return 'fetch';
  }

  async recipe(p: Principal, project: string): Promise<string> {
    const r = await this.send('PUT', `/api/v1/projects/${project}/recipes/hello`, {
      key: p.key,
      body: { language: 'python', code: 'print("hello")' },
    });
    expect(r.status, r.text).toBe(201);
    return 'hello';
  }

  private readonly labs = new Map<string, string>();

  /** `p`'s running kernel for a notebook of theirs (the one they have, or a new one): session and kernel ids. */
  async kernelSession(p: Principal): Promise<{ session: string; kernel: string }> {
    let project = this.labs.get(p.login);
    if (!project) {
      project = await this.project(p);
      await this.notebook(p, project);
      this.labs.set(p.login, project);
    }
    const r = await this.send('POST', '/jupyter/api/sessions', {
      key: p.key,
      body: { path: `${project}/scratch.ipynb` },
    });
    expect(r.status, r.text).toBe(201);
    return { session: r.json.id, kernel: r.json.kernel.id };
  }

  /** `p`'s running session as DSS names it: `/projects/<KEY>/jupyter-notebooks/<name>/sessions/<id>`. */
  async dssSessionPath(p: Principal): Promise<string> {
    const { session } = await this.kernelSession(p);
    return `/projects/${this.labs.get(p.login)!}/jupyter-notebooks/scratch/sessions/${session}`;
  }

  /** A notebook of `p`'s in a project of their own: `<KEY>/<name>.ipynb`. */
  async notebookPath(p: Principal): Promise<string> {
    const project = await this.project(p);
    return `${project}/${await this.notebook(p, project)}.ipynb`;
  }

  /** A checkpoint of a notebook of `p`'s: `/jupyter/api/contents/<KEY>/<name>.ipynb/checkpoints/<id>`. */
  async checkpointPath(p: Principal): Promise<string> {
    const at = `/jupyter/api/contents/${await this.notebookPath(p)}/checkpoints`;
    const r = await this.send('POST', at, { key: p.key });
    expect(r.status, r.text).toBe(201);
    return `${at}/${r.json.id}`;
  }

  async notebook(p: Principal, project: string): Promise<string> {
    const r = await this.send('PUT', `/api/v1/projects/${project}/notebooks/scratch`, {
      key: p.key,
      body: { language: 'python' },
    });
    expect(r.status, r.text).toBe(201);
    return 'scratch';
  }

  /** A job of `p`'s (it may run or fail; only its existence matters here). */
  async job(p: Principal): Promise<string> {
    const project = await this.project(p);
    const recipe = await this.recipe(p, project);
    const r = await this.send('POST', `/api/v1/projects/${project}/recipes/${recipe}/run`, {
      key: p.key,
      body: {},
    });
    expect(r.status, r.text).toBe(202);
    return r.json.id as string;
  }

  /**
   * A ticket of `p`'s scoped as the job runner scopes one for this call: bound to the job the call
   * names, or to the project it names; otherwise to no project. So a refusal is about the route, not a
   * ticket that was missing scope; `scope` overrides it (to aim a ticket at the wrong project or job).
   */
  async ticketFor(p: Principal, call: Call, scope?: { project?: string; job?: string }): Promise<string> {
    const job = /^\/api\/v1\/jobs\/([^/?]+)/.exec(call.path)?.[1];
    const project =
      /^(?:\/api\/v1|\/dip\/publicapi|\/public\/api)\/projects\/([^/?]+)/.exec(call.path)?.[1] ??
      /^\/jupyter\/(?:api\/contents|nbconvert\/[^/]+)\/([^/?]+)/.exec(call.path)?.[1] ??
      /[?&]project=([^&]+)/.exec(call.path)?.[1];
    const own = job !== undefined ? { job } : project !== undefined ? { project } : {};
    return (await this.s.issueTicket(p.login, HOUR, scope ?? own)).ticket;
  }

  async projectOfJob(id: string): Promise<string> {
    const row = await this.s.store.db
      .selectFrom('jobs')
      .innerJoin('projects', 'projects.id', 'jobs.project_id')
      .select('projects.key')
      .where('jobs.id', '=', id)
      .executeTakeFirstOrThrow();
    return row.key;
  }

  async newKeyId(login: string): Promise<string> {
    return (await this.s.createKey(login)).id;
  }

  async revision(p: Principal): Promise<number> {
    const r = await this.send('GET', '/api/v1/me/secrets', { key: p.key });
    expect(r.status, r.text).toBe(200);
    return r.json.revision as number;
  }

  /** What the owner has: profile, secret values, live keys, and whether their credentials still work. */
  async ownerState(owner: Principal) {
    const user = await this.s.services.users.get(OP, owner.login);
    const caller: Caller = { kind: 'user', user, source: 'PERSONAL_API_KEY', credentialId: 'authz-probe' };
    const secrets = (await this.s.services.secrets.revealForOwnerCode(caller)).sort((a, b) =>
      a.key.localeCompare(b.key),
    );
    const keys = (await this.s.services.apiKeys.listOwn(caller)).map((k) => ({
      id: k.id,
      label: k.label,
      description: k.description,
    }));
    // The owner's plugin credentials, opened as for a run of their own code (never sent anywhere).
    const credentials = (await this.s.services.pluginCredentials.openForRun(user.id, PLUGIN)).map((c) => ({
      place: `${c.key.parameter_set}/${c.key.preset}/${c.key.param}`,
      value: c.value,
    }));
    const keyWorks = (await this.send('GET', '/api/v1/me', { key: owner.key })).status;
    const sessionWorks = owner.session
      ? (await this.send('GET', '/api/v1/me', { session: owner.session })).status
      : null;
    return {
      profile: {
        displayName: user.displayName,
        email: user.email,
        groups: [...user.groups],
        userProfile: user.userProfile,
        enabled: user.enabled,
      },
      secrets,
      credentials,
      keys,
      keyWorks,
      sessionWorks,
    };
  }
}

const actorValue = (p: Principal) => `actor-own-value-${p.login}`;

// ---------------------------------------------------------------------------------------------------
// The route table
// ---------------------------------------------------------------------------------------------------

type Access = 'user' | 'admin';
type Maybe<T> = T | Promise<T>;

/**
 * The caller's own DSS settings as dataikuapi saves them (read, then sent back with a secret added),
 * adding a secret named like one of the owner's.
 */
async function ownSettingsNaming(f: Fixture, actor: Principal, prefix: string, name: string): Promise<Call> {
  const read = (await f.send('GET', `${prefix}/current-user`, { key: actor.key })).json as {
    secrets: unknown[];
  };
  return {
    path: '/current-user',
    body: {
      ...read,
      secrets: [...read.secrets, { name, value: 'overwritten-by-someone-else', secret: true }],
    },
  };
}

interface Column {
  status: number;
  /** The request this caller makes against the owner's data; default: the entry's own call as them. */
  call?: (f: Fixture, actor: Principal, owner: Principal, prefix: string) => Maybe<Call>;
  check?: (r: Reply, actor: Principal, owner: Principal) => void;
  /** Extra proof that nothing happened to the owner. */
  after?: (f: Fixture, actor: Principal, owner: Principal, call: Call) => Promise<void>;
  /** The owner needs a signed-in browser session for this case. */
  ownerSession?: boolean;
  /**
   * Account recovery by an administrator: the owner's secrets are destroyed (and none is shown), so
   * afterwards the owner has no secret at all instead of the same ones.
   */
  destroysOwnerSecrets?: boolean;
}

interface Entry {
  method: string;
  route: string;
  access: Access;
  /** A valid request for the allowed caller `as` (fresh state is created here where the call consumes it). */
  call: (f: Fixture, as: Principal) => Maybe<Call>;
  ok: number;
  check?: (r: Reply, as: Principal) => void;
  /** Credential kinds the success test uses (default: all). */
  via?: readonly KindId[];
  /** The call consumes the caller's own credentials or password: use a fresh caller for each success. */
  fresh?: boolean;
  /** What a job's ticket may do here, as the route declares it (docs/adr/0013). */
  ticket: TicketSpec;
  /**
   * A page for a person: a caller without a valid credential is sent to sign in (303 to /login), and
   * other refusals are an HTML page that says why.
   */
  page?: true;
  other: Column;
  admin: Column;
}

/**
 * What a job's ticket may do on a route: 'allowed' — any ticket of the user; 'own-project' — a ticket of
 * the project the call names; 'own-job' — the ticket of the job the call names; 'refused' — none, with a
 * 403 naming the ticket's limit (`limit` is what it says the ticket cannot do). The suite proves each
 * with tickets scoped as a job's would be (see Fixture.ticketFor), an administrator's included.
 */
type TicketSpec =
  | {
      rule: 'allowed' | 'own-project' | 'own-job';
      /**
       * What an administrator's ticket gets with the admin column's call, where an administrator's key
       * uses administrator rights there (a ticket never has them).
       */
      admin?: Column;
    }
  | { rule: 'refused'; limit: RegExp };

const T_ALLOWED: TicketSpec = { rule: 'allowed' };
const T_OWN_PROJECT: TicketSpec = { rule: 'own-project' };
const T_OWN_JOB: TicketSpec = { rule: 'own-job' };
const noTicket = (limit: RegExp): TicketSpec => ({ rule: 'refused', limit });
/** Every admin route: an administrator's job ticket has no administrator rights. */
const T_ADMIN = noTicket(/use administrator rights, even when its user is an administrator/);

/** Every refusal of a ticket names the ticket's limit, and says what to use instead. */
const TICKET_LIMIT =
  /^a job's ticket cannot .+: code run by the platform may only read and update its user's secrets.*; use your session or an API key$/;
const expectTicketLimit = (r: Reply, limit: RegExp) => {
  expect(r.status, r.text).toBe(403);
  expect(errorMessage(r)).toMatch(TICKET_LIMIT);
  expect(errorMessage(r)).toMatch(limit);
};

const KINDS = {
  basicUser: {
    label: 'an API key as Basic user name (key:)',
    auth: (p: Principal): Auth => ({ key: p.key }),
  },
  basicPass: {
    label: 'an API key as Basic password (:key)',
    auth: (p: Principal): RequestOptions => ({ headers: { authorization: `Basic ${b64(`:${p.key}`)}` } }),
  },
  bearer: {
    label: 'a Bearer API key',
    auth: (p: Principal): RequestOptions => ({ headers: { authorization: `Bearer ${p.key}` } }),
  },
  ticket: { label: 'a ticket (X-DKU-APITicket)', auth: (p: Principal): Auth => ({ ticket: p.ticket! }) },
  session: {
    label: 'a cookie session with its CSRF header',
    auth: (p: Principal): Auth => ({ session: p.session! }),
  },
} as const;
type KindId = keyof typeof KINDS;
const ALL_KINDS = Object.keys(KINDS) as KindId[];

const STATUS_403 = { status: 403 } as const;

/** The text of an HTML error page's message (http/error-handler.ts). */
const pageMessage = (html: string) =>
  (/<p>(.*?)<\/p>/s.exec(html)?.[1] ?? html).replace(/&#(\d+);/g, (_m, c: string) =>
    String.fromCharCode(Number(c)),
  );
/** The error message of a Coffer (`{error: {message}}`), DSS or Jupyter (`{message}`) body, or a page's. */
const errorMessage = (r: Reply): string =>
  String(
    r.json?.error?.message ??
      r.json?.message ??
      (r.text.startsWith('<!doctype') ? pageMessage(r.text) : r.text),
  );

const secretNames = (r: Reply) => (r.json.secrets as { name: string }[]).map((s) => s.name).sort();
/** Every listed secret carries a marker, not a value; `names` are all of them (or, with `subset`, among them). */
const expectMarkers = (r: Reply, names: readonly string[], subset = false) => {
  const secrets = r.json.secrets as { name: string; value: string; secret: boolean }[];
  const got = secrets.map((s) => s.name).sort();
  if (subset) expect(got).toEqual(expect.arrayContaining([...names]));
  else expect(got).toEqual([...names].sort());
  for (const s of secrets) {
    expect(s.value.startsWith(MARKER_PREFIX), `${s.name} must be a marker, got ${s.value}`).toBe(true);
    expect(OWNER_VALUES).not.toContain(s.value);
  }
};
const expectOnlyOwnSecrets = (r: Reply, actor: Principal) =>
  expect(r.json.secrets).toEqual([{ key: 'own-secret', value: actorValue(actor) }]);
const expectUserGone = async (f: Fixture, login: string) =>
  expect(f.s.services.users.get(OP, login)).rejects.toThrow(/does not exist/);

/** Coffer's own API. */
const COFFER: Entry[] = [
  {
    method: 'GET',
    route: '/api/v1/session',
    access: 'user',
    ticket: noTicket(/use the sign-in session routes/),
    call: () => ({ path: '/api/v1/session' }),
    ok: 200,
    check: (r, as) => expect(r.json.user.login).toBe(as.login),
    other: { status: 200, check: (r, actor) => expect(r.json.user.login).toBe(actor.login) },
    admin: { status: 200, check: (r, actor) => expect(r.json.user.login).toBe(actor.login) },
  },
  {
    method: 'DELETE',
    route: '/api/v1/session',
    access: 'user',
    ticket: noTicket(/sign out/),
    call: () => ({ path: '/api/v1/session' }),
    ok: 204,
    via: ['session'],
    fresh: true,
    // Another user signing out ends their own session only; the owner's session keeps working.
    other: {
      status: 204,
      ownerSession: true,
      call: async (f, actor) => ({ path: '/api/v1/session', auth: { session: await f.withSession(actor) } }),
    },
    admin: {
      status: 204,
      ownerSession: true,
      call: async (f, actor) => ({ path: '/api/v1/session', auth: { session: await f.withSession(actor) } }),
    },
  },
  {
    method: 'GET',
    route: '/api/v1/me',
    access: 'user',
    ticket: T_ALLOWED,
    call: () => ({ path: '/api/v1/me' }),
    ok: 200,
    check: (r, as) => expect(r.json.login).toBe(as.login),
    other: { status: 200, check: (r, actor) => expect(r.json.login).toBe(actor.login) },
    admin: { status: 200, check: (r, actor) => expect(r.json.login).toBe(actor.login) },
  },
  {
    method: 'GET',
    route: '/api/v1/auth/info',
    access: 'user',
    ticket: T_ALLOWED,
    call: () => ({ path: '/api/v1/auth/info?withSecrets=true', reveal: true }),
    ok: 200,
    check: (r, as) => {
      expect(r.json.associatedDSSUser).toBe(as.login);
      expect(r.json.secrets).toEqual(expect.arrayContaining(OWNER_REVEAL));
    },
    other: { status: 200, check: (r, actor) => expectOnlyOwnSecrets(r, actor) },
    admin: { status: 200, check: (r, actor) => expectOnlyOwnSecrets(r, actor) },
  },
  {
    method: 'PUT',
    route: '/api/v1/me/password',
    access: 'user',
    ticket: noTicket(/change a password/),
    call: (_f, as) => ({
      path: '/api/v1/me/password',
      body: { currentPassword: as.password, newPassword: `${as.password}-changed` },
    }),
    ok: 204,
    fresh: true,
    // There is no target to aim at: the route changes the caller's own password and needs the current one.
    other: {
      status: 400,
      call: () => ({
        path: '/api/v1/me/password',
        body: { currentPassword: 'not-the-password-123', newPassword: 'attacker-chosen-123' },
      }),
    },
    admin: {
      status: 400,
      call: () => ({
        path: '/api/v1/me/password',
        body: { currentPassword: 'not-the-password-123', newPassword: 'attacker-chosen-123' },
      }),
    },
  },
  {
    method: 'GET',
    route: '/api/v1/admin/users',
    access: 'admin',
    ticket: T_ADMIN,
    call: () => ({ path: '/api/v1/admin/users' }),
    ok: 200,
    check: (r, as) => expect((r.json.users as { login: string }[]).map((u) => u.login)).toContain(as.login),
    other: STATUS_403,
    admin: {
      status: 200,
      check: (r, _a, owner) =>
        expect((r.json.users as { login: string }[]).map((u) => u.login)).toContain(owner.login),
    },
  },
  {
    method: 'GET',
    route: '/api/v1/admin/sandbox',
    access: 'admin',
    ticket: T_ADMIN,
    call: () => ({ path: '/api/v1/admin/sandbox' }),
    ok: 200,
    check: (r) => expect(r.json.mode).toBe('bubblewrap'),
    other: STATUS_403,
    admin: { status: 200, check: (r) => expect(r.json.limits.processes).toBeGreaterThan(0) },
  },
  {
    method: 'POST',
    route: '/api/v1/admin/users',
    access: 'admin',
    ticket: T_ADMIN,
    call: (f) => ({
      path: '/api/v1/admin/users',
      body: { login: f.uniq('created'), password: 'pw-created-0123456789' },
    }),
    ok: 201,
    other: {
      status: 403,
      call: (f) => ({
        path: '/api/v1/admin/users',
        body: { login: f.uniq('sneaky'), password: 'pw-sneaky-0123456789' },
      }),
      after: (f, _a, _o, call) => expectUserGone(f, (call.body as { login: string }).login),
    },
    admin: { status: 201 },
  },
  {
    method: 'GET',
    route: '/api/v1/admin/users/:login',
    access: 'admin',
    ticket: T_ADMIN,
    call: (f) => ({ path: `/api/v1/admin/users/${f.bystander.login}` }),
    ok: 200,
    other: { status: 403, call: (_f, _a, owner) => ({ path: `/api/v1/admin/users/${owner.login}` }) },
    admin: {
      status: 200,
      call: (_f, _a, owner) => ({ path: `/api/v1/admin/users/${owner.login}` }),
      check: (r, _a, owner) => {
        expect(r.json.login).toBe(owner.login);
        expect(r.json).not.toHaveProperty('secrets');
      },
    },
  },
  {
    method: 'PATCH',
    route: '/api/v1/admin/users/:login',
    access: 'admin',
    ticket: T_ADMIN,
    call: (f) => ({
      path: `/api/v1/admin/users/${f.bystander.login}`,
      body: { displayName: 'Renamed by admin' },
    }),
    ok: 200,
    other: {
      status: 403,
      call: (_f, _a, owner) => ({
        path: `/api/v1/admin/users/${owner.login}`,
        body: { displayName: 'pwned', enabled: false, groups: ['administrators'] },
      }),
    },
    admin: {
      status: 200,
      call: (_f, _a, owner) => ({
        path: `/api/v1/admin/users/${owner.login}`,
        body: { displayName: 'Renamed' },
      }),
    },
  },
  {
    method: 'PUT',
    route: '/api/v1/admin/users/:login/password',
    access: 'admin',
    ticket: T_ADMIN,
    // Account recovery: it destroys the target's secrets, so each call aims at a fresh owner.
    call: async (f) => ({
      path: `/api/v1/admin/users/${(await f.owner()).login}/password`,
      body: { password: 'pw-reset-0123456789' },
    }),
    ok: 200,
    check: (r) => expect(r.json).toEqual({ secretsDeleted: OWNER_SECRETS.length }),
    other: {
      status: 403,
      ownerSession: true,
      call: (_f, _a, owner) => ({
        path: `/api/v1/admin/users/${owner.login}/password`,
        body: { password: 'attacker-chosen-123' },
      }),
    },
    // The reset destroys the owner's secrets and ends their credentials; no value is shown.
    admin: {
      status: 200,
      destroysOwnerSecrets: true,
      ownerSession: true,
      call: (_f, _a, owner) => ({
        path: `/api/v1/admin/users/${owner.login}/password`,
        body: { password: 'pw-reset-0123456789' },
      }),
      check: (r) => expect(r.json).toEqual({ secretsDeleted: OWNER_SECRETS.length }),
      after: async (f, _a, owner) => {
        expect((await f.send('GET', '/api/v1/me', { key: owner.key })).status).toBe(401);
        expect((await f.send('GET', '/api/v1/me', { session: owner.session! })).status).toBe(401);
        expect((await f.s.services.users.get(OP, owner.login)).passwordMustChange).toBe(true);
      },
    },
  },
  {
    method: 'DELETE',
    route: '/api/v1/admin/users/:login',
    access: 'admin',
    ticket: T_ADMIN,
    call: async (f) => ({ path: `/api/v1/admin/users/${(await f.quickUser('doomed')).login}` }),
    ok: 204,
    other: { status: 403, call: (_f, _a, owner) => ({ path: `/api/v1/admin/users/${owner.login}` }) },
    admin: { status: 204 },
  },
  {
    method: 'GET',
    route: '/api/v1/me/secrets',
    access: 'user',
    ticket: T_ALLOWED,
    call: () => ({ path: '/api/v1/me/secrets' }),
    ok: 200,
    check: (r) =>
      expect((r.json.secrets as { name: string }[]).map((s) => s.name)).toEqual(
        expect.arrayContaining(OWNER_NAMES),
      ),
    other: { status: 200, check: (r) => expect(secretNames(r)).toEqual(['own-secret']) },
    admin: { status: 200, check: (r) => expect(secretNames(r)).toEqual(['own-secret']) },
  },
  {
    method: 'PUT',
    route: '/api/v1/me/secrets/:name',
    access: 'user',
    ticket: T_ALLOWED,
    call: (f) => ({ path: `/api/v1/me/secrets/${f.uniq('scratch')}`, body: { value: 'scratch-value' } }),
    ok: 201,
    // Writing a secret of the owner's name creates the caller's own; the owner's value is untouched.
    other: {
      status: 201,
      call: () => ({
        path: `/api/v1/me/secrets/${OWNER_NAMES[0]}`,
        body: { value: 'overwritten-by-someone-else' },
      }),
    },
    admin: {
      status: 201,
      call: () => ({
        path: `/api/v1/me/secrets/${OWNER_NAMES[0]}`,
        body: { value: 'overwritten-by-someone-else' },
      }),
    },
  },
  {
    method: 'DELETE',
    route: '/api/v1/me/secrets/:name',
    access: 'user',
    ticket: T_ALLOWED,
    call: async (f, as) => {
      const name = f.uniq('scratch');
      await f.putSecret(as, name, 'scratch-value');
      return { path: `/api/v1/me/secrets/${name}` };
    },
    ok: 200,
    other: { status: 404, call: () => ({ path: `/api/v1/me/secrets/${OWNER_NAMES[0]}` }) },
    admin: { status: 404, call: () => ({ path: `/api/v1/me/secrets/${OWNER_NAMES[0]}` }) },
  },
  {
    method: 'PATCH',
    route: '/api/v1/me/secrets',
    access: 'user',
    ticket: T_ALLOWED,
    call: async (f, as) => ({
      path: '/api/v1/me/secrets',
      body: {
        revision: await f.revision(as),
        changes: [{ op: 'put', name: f.uniq('scratch'), value: 'scratch-value' }],
      },
    }),
    ok: 200,
    other: {
      status: 404,
      call: async (f, actor) => ({
        path: '/api/v1/me/secrets',
        body: { revision: await f.revision(actor), changes: [{ op: 'delete', name: OWNER_NAMES[0] }] },
      }),
    },
    admin: {
      status: 404,
      call: async (f, actor) => ({
        path: '/api/v1/me/secrets',
        body: { revision: await f.revision(actor), changes: [{ op: 'delete', name: OWNER_NAMES[0] }] },
      }),
    },
  },
  {
    method: 'GET',
    route: '/api/v1/me/activity',
    access: 'user',
    ticket: noTicket(/read its user's activity/),
    call: () => ({ path: '/api/v1/me/activity' }),
    ok: 200,
    check: (r) => expect((r.json.events as unknown[]).length).toBeGreaterThan(0),
    other: { status: 200 },
    admin: { status: 200 },
  },
  {
    method: 'GET',
    route: '/api/v1/me/api-keys',
    access: 'user',
    ticket: T_ALLOWED,
    call: () => ({ path: '/api/v1/me/api-keys' }),
    ok: 200,
    check: (r, as) => {
      const keys = r.json.keys as { user: string }[];
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys) expect(k.user).toBe(as.login);
    },
    other: {
      status: 200,
      check: (r, actor) =>
        expect((r.json.keys as { user: string }[]).map((k) => k.user)).toEqual([actor.login]),
    },
    admin: {
      status: 200,
      check: (r, actor) =>
        expect((r.json.keys as { user: string }[]).map((k) => k.user)).toEqual([actor.login]),
    },
  },
  {
    method: 'POST',
    route: '/api/v1/me/api-keys',
    access: 'user',
    call: () => ({ path: '/api/v1/me/api-keys', body: { label: 'made-by-authz-test' } }),
    ok: 201,
    ticket: noTicket(/create lasting API keys/),
    check: (r, as) => {
      expect(r.json.user).toBe(as.login);
      expect(r.json.key).toMatch(/^cofk_/);
    },
    other: { status: 201, check: (r, actor) => expect(r.json.user).toBe(actor.login) },
    admin: { status: 201, check: (r, actor) => expect(r.json.user).toBe(actor.login) },
  },
  {
    method: 'PATCH',
    route: '/api/v1/me/api-keys/:id',
    access: 'user',
    ticket: noTicket(/change API keys/),
    call: async (f, as) => ({
      path: `/api/v1/me/api-keys/${await f.newKeyId(as.login)}`,
      body: { label: 'relabelled' },
    }),
    ok: 200,
    other: {
      status: 404,
      call: async (f, _a, owner) => ({
        path: `/api/v1/me/api-keys/${await f.newKeyId(owner.login)}`,
        body: { label: 'pwned' },
      }),
    },
    // Administrators manage any user's personal keys (DSS clients delete them through the same route).
    admin: {
      status: 200,
      call: async (f, _a, owner) => ({
        path: `/api/v1/me/api-keys/${await f.newKeyId(owner.login)}`,
        body: { label: 'relabelled' },
      }),
    },
  },
  {
    method: 'DELETE',
    route: '/api/v1/me/api-keys/:id',
    access: 'user',
    ticket: noTicket(/revoke API keys/),
    call: async (f, as) => ({ path: `/api/v1/me/api-keys/${await f.newKeyId(as.login)}` }),
    ok: 204,
    other: {
      status: 404,
      call: async (f, _a, owner) => ({ path: `/api/v1/me/api-keys/${await f.newKeyId(owner.login)}` }),
    },
    admin: {
      status: 204,
      call: async (f, _a, owner) => ({ path: `/api/v1/me/api-keys/${await f.newKeyId(owner.login)}` }),
    },
  },
];

/**
 * Plugins: every user reads what is installed; administrators install, remove and make presets; each
 * user enters their own credentials for presets, and only their own (`/me/`): whoever else aims at the
 * owner's credential addresses their own, and the owner's is unchanged (Fixture.ownerState opens it).
 */
type CredentialListing = {
  plugin: string;
  parameterSet: string;
  preset: string;
  param: string;
  set: boolean;
};
const credentialListing = (r: Reply) => r.json.credentials as CredentialListing[];
const isOwnerPlace = (c: CredentialListing) =>
  c.plugin === PLUGIN && c.parameterSet === PARAMETER_SET && c.preset === PRESET && c.param === 'token';
/** The caller has entered no credential at all: the owner's shows as not set, for them. */
const expectNoCredentialEntered = (r: Reply) => {
  expect(credentialListing(r).some(isOwnerPlace)).toBe(true);
  for (const c of credentialListing(r)) expect(c.set, `${c.preset}/${c.param}`).toBe(false);
};
const expectPluginInstalled = async (f: Fixture, id = PLUGIN) =>
  expect(await f.pluginVersion(id)).not.toBeNull();
/** No plugin that someone who is not an administrator tried to install (`sneaky-plugin-…`) is installed. */
const expectNoSneakyPlugin = async (f: Fixture) =>
  expect(
    (await f.s.services.plugins.listAll(OP)).map((p) => p.id).filter((id) => id.startsWith('sneaky-plugin')),
  ).toEqual([]);
const expectPresetKept = async (f: Fixture) => expect(await f.presetNames()).toContain(PRESET);
const sampleUsage = (r: Reply) =>
  expect(r.json.usages).toEqual(
    expect.arrayContaining([expect.objectContaining({ recipe: 'fetch', component: 'fetch' })]),
  );

const PLUGINS: Entry[] = [
  {
    method: 'GET',
    route: '/api/v1/plugins',
    access: 'user',
    ticket: noTicket(/cannot read the installed plugins:/),
    call: async (f) => {
      await f.samplePlugin();
      return { path: '/api/v1/plugins' };
    },
    ok: 200,
    check: (r) => expect((r.json.plugins as { id: string }[]).map((p) => p.id)).toContain(PLUGIN),
    other: { status: 200 },
    admin: { status: 200 },
  },
  {
    method: 'GET',
    route: '/api/v1/plugins/:id',
    access: 'user',
    ticket: noTicket(/cannot read the installed plugins:/),
    call: async (f) => {
      await f.samplePlugin();
      return { path: `/api/v1/plugins/${PLUGIN}` };
    },
    ok: 200,
    check: (r) => expect(r.json.id).toBe(PLUGIN),
    // A preset shows its shared values only; pluginConfig is for administrators.
    other: {
      status: 200,
      check: (r) => {
        const presets = (r.json.parameterSets as { presets: Record<string, unknown>[] }[]).flatMap(
          (s) => s.presets,
        );
        expect(presets.find((x) => x.name === PRESET)?.config).toEqual(PRESET_CONFIG.config);
        for (const x of presets) expect(x).not.toHaveProperty('pluginConfig');
      },
    },
    admin: { status: 200 },
  },
  {
    method: 'POST',
    route: '/api/v1/admin/plugins',
    access: 'admin',
    ticket: T_ADMIN,
    // Installing the sample again replaces it, and keeps its presets and users' credentials.
    call: async () => ({
      path: '/api/v1/admin/plugins',
      rawBody: await sampleZip(),
      headers: { 'content-type': 'application/zip' },
    }),
    ok: 201,
    check: (r) => expect(r.json.id).toBe(PLUGIN),
    other: {
      status: 403,
      call: async (f) => ({
        path: '/api/v1/admin/plugins',
        rawBody: await bareZip(f.uniq('sneaky-plugin')),
        headers: { 'content-type': 'application/zip' },
      }),
      after: (f) => expectNoSneakyPlugin(f),
    },
    admin: { status: 201 },
  },
  {
    method: 'DELETE',
    route: '/api/v1/admin/plugins/:id',
    access: 'admin',
    ticket: T_ADMIN,
    call: async (f) => ({ path: `/api/v1/admin/plugins/${await f.scratchPlugin()}` }),
    ok: 200,
    check: (r) => expect(r.json).toEqual({ brokenRecipes: 0 }),
    // Removing the sample would take the owner's credential with it: another user cannot.
    other: {
      status: 403,
      call: async (f, _a, owner) => {
        await f.pluginRecipe(owner, await f.project(owner));
        return { path: `/api/v1/admin/plugins/${PLUGIN}?force=true` };
      },
      after: (f) => expectPluginInstalled(f),
    },
    admin: { status: 200 },
  },
  {
    method: 'GET',
    route: '/api/v1/admin/plugins/:id/usages',
    access: 'admin',
    ticket: T_ADMIN,
    call: async (f) => {
      await f.samplePlugin();
      return { path: `/api/v1/admin/plugins/${PLUGIN}/usages` };
    },
    ok: 200,
    other: STATUS_403,
    // Administrators see which recipes use a plugin, in every project (DSS's listUsages does).
    admin: {
      status: 200,
      call: async (f, _a, owner) => {
        await f.pluginRecipe(owner, await f.project(owner));
        return { path: `/api/v1/admin/plugins/${PLUGIN}/usages` };
      },
      check: sampleUsage,
    },
  },
  {
    method: 'PUT',
    route: '/api/v1/admin/plugins/:id/config',
    access: 'admin',
    ticket: T_ADMIN,
    // Sent back as read: the plugin-level values and the settings revision they were read at.
    call: async (f) => ({
      path: `/api/v1/admin/plugins/${PLUGIN}/config`,
      body: await f.pluginConfig(),
    }),
    ok: 200,
    check: (r) => expect(r.json.settingsRevision).toEqual(expect.any(Number)),
    // The plugin's code runs with every runner's token, these values included: another user cannot.
    other: {
      status: 403,
      call: async (f) => ({
        path: `/api/v1/admin/plugins/${PLUGIN}/config`,
        body: { ...(await f.pluginConfig()), config: { user_agent: 'attacker-bot/1' } },
      }),
      after: async (f) =>
        expect((await f.s.services.plugins.dssSettings(OP, PLUGIN)).config).not.toHaveProperty(
          'user_agent',
          'attacker-bot/1',
        ),
    },
    admin: { status: 200 },
  },
  {
    method: 'PUT',
    route: '/api/v1/admin/plugins/:id/presets/:set/:name',
    access: 'admin',
    ticket: T_ADMIN,
    call: async (f) => {
      await f.samplePlugin();
      return {
        path: `/api/v1/admin/plugins/${PLUGIN}/presets/${PARAMETER_SET}/${f.uniq('preset')}`,
        body: PRESET_CONFIG,
      };
    },
    ok: 200,
    // Pointing the owner's preset elsewhere would send their token there: another user cannot.
    other: {
      status: 403,
      call: async (f) => {
        await f.samplePlugin();
        return {
          path: `/api/v1/admin/plugins/${PLUGIN}/presets/${PARAMETER_SET}/${PRESET}`,
          body: { config: { base_url: 'https://attacker.example.net' } },
        };
      },
      after: async (f) =>
        expect(
          (await f.s.services.plugins.get(OP, PLUGIN)).parameterSets
            .flatMap((s) => s.presets)
            .find((x) => x.name === PRESET)?.config,
        ).toEqual(PRESET_CONFIG.config),
    },
    admin: { status: 200 },
  },
  {
    method: 'DELETE',
    route: '/api/v1/admin/plugins/:id/presets/:set/:name',
    access: 'admin',
    ticket: T_ADMIN,
    call: async (f) => ({
      path: `/api/v1/admin/plugins/${PLUGIN}/presets/${PARAMETER_SET}/${await f.scratchPreset()}`,
    }),
    ok: 204,
    // Deleting the owner's preset would delete their credential for it: another user cannot.
    other: {
      status: 403,
      call: () => ({ path: `/api/v1/admin/plugins/${PLUGIN}/presets/${PARAMETER_SET}/${PRESET}` }),
      after: (f) => expectPresetKept(f),
    },
    admin: { status: 204 },
  },
  {
    method: 'GET',
    route: '/api/v1/me/plugin-credentials',
    access: 'user',
    ticket: noTicket(/manage your plugin credentials/),
    call: async (f) => {
      await f.samplePlugin();
      return { path: '/api/v1/me/plugin-credentials' };
    },
    ok: 200,
    check: (r) => expect(credentialListing(r).find(isOwnerPlace)?.set).toBe(true),
    other: { status: 200, check: expectNoCredentialEntered },
    admin: { status: 200, check: expectNoCredentialEntered },
  },
  {
    method: 'PUT',
    route: '/api/v1/me/plugin-credentials/:plugin/:set/:preset/:param',
    access: 'user',
    ticket: noTicket(/manage your plugin credentials/),
    call: async (f) => ({
      path: credentialPath(await f.scratchPreset()),
      body: { value: 'scratch-credential' },
    }),
    ok: 204,
    // Entering a credential at the owner's place enters the caller's own; the owner's is unchanged.
    other: {
      status: 204,
      call: () => ({ path: credentialPath(), body: { value: 'overwritten-by-someone-else' } }),
    },
    admin: {
      status: 204,
      call: () => ({ path: credentialPath(), body: { value: 'overwritten-by-someone-else' } }),
    },
  },
  {
    method: 'DELETE',
    route: '/api/v1/me/plugin-credentials/:plugin/:set/:preset/:param',
    access: 'user',
    ticket: noTicket(/manage your plugin credentials/),
    call: async (f, as) => {
      const preset = await f.scratchPreset();
      await f.putCredential(as, 'scratch-credential', preset);
      return { path: credentialPath(preset) };
    },
    ok: 204,
    other: { status: 404, call: () => ({ path: credentialPath() }) },
    admin: { status: 404, call: () => ({ path: credentialPath() }) },
  },
];

/** Projects, recipes and jobs: anyone outside a project (administrators too) finds nothing in it. */
/** The path of a kernel's session, from Fixture.kernelSession. */
const ownSession = (k: { session: string }) => `/jupyter/api/sessions/${k.session}`;
const notMember = (path: (f: Fixture, owner: Principal) => Promise<string>, body?: unknown): Column => ({
  status: 404,
  call: async (f, _a, owner) => ({ path: await path(f, owner), body }),
});
const ownerProject = async (f: Fixture, owner: Principal) => `/api/v1/projects/${await f.project(owner)}`;
const ownerRecipe = async (f: Fixture, owner: Principal) => {
  const key = await f.project(owner);
  return `/api/v1/projects/${key}/recipes/${await f.recipe(owner, key)}`;
};
const ownerPluginRecipe = async (f: Fixture, owner: Principal) => {
  const key = await f.project(owner);
  return `/api/v1/projects/${key}/recipes/${await f.pluginRecipe(owner, key)}`;
};
const ownerJob = async (f: Fixture, owner: Principal) => `/api/v1/jobs/${await f.job(owner)}`;
/** A notebook of the owner's: `/projects/<KEY>/…/<name>` under Coffer's API (`notebooks`) or DSS's. */
const NOTEBOOK = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
  cells: [{ cell_type: 'code', source: 'print(1)', metadata: {}, outputs: [], execution_count: null }],
};
const ownerNotebook =
  (prefix = '/api/v1', kind = 'notebooks') =>
  async (f: Fixture, owner: Principal) => {
    const key = await f.project(owner);
    return `${prefix}/projects/${key}/${kind}/${await f.notebook(owner, key)}`;
  };

const PROJECTS: Entry[] = [
  {
    method: 'GET',
    route: '/api/v1/projects',
    access: 'user',
    ticket: noTicket(/list projects beyond its own/),
    call: () => ({ path: '/api/v1/projects' }),
    ok: 200,
    other: { status: 200, check: (r) => expect(r.json.projects).toEqual([]) },
    admin: { status: 200, check: (r) => expect(r.json.projects).toEqual([]) },
  },
  {
    method: 'POST',
    route: '/api/v1/projects',
    access: 'user',
    ticket: noTicket(/create projects/),
    call: (f) => ({ path: '/api/v1/projects', body: { key: f.projectKey(), name: 'scratch' } }),
    ok: 201,
    other: {
      status: 201,
      call: (f) => ({ path: '/api/v1/projects', body: { key: f.projectKey(), name: 'x' } }),
    },
    admin: {
      status: 201,
      call: (f) => ({ path: '/api/v1/projects', body: { key: f.projectKey(), name: 'x' } }),
    },
  },
  {
    method: 'GET',
    route: '/api/v1/projects/:key',
    access: 'user',
    ticket: T_OWN_PROJECT,
    call: async (f, as) => ({ path: await ownerProject(f, as) }),
    ok: 200,
    other: notMember(ownerProject),
    admin: notMember(ownerProject),
  },
  {
    method: 'DELETE',
    route: '/api/v1/projects/:key',
    access: 'user',
    ticket: noTicket(/delete projects/),
    call: async (f, as) => ({ path: await ownerProject(f, as) }),
    ok: 204,
    other: notMember(ownerProject),
    admin: notMember(ownerProject),
  },
  {
    method: 'PUT',
    route: '/api/v1/projects/:key/members/:login',
    access: 'user',
    ticket: noTicket(/change project membership/),
    call: async (f, as) => ({
      path: `${await ownerProject(f, as)}/members/${(await f.quickUser('member')).login}`,
      body: { role: 'reader' },
    }),
    ok: 204,
    // Nobody adds themself to someone else's project.
    other: {
      status: 404,
      call: async (f, actor, owner) => ({
        path: `${await ownerProject(f, owner)}/members/${actor.login}`,
        body: { role: 'owner' },
      }),
    },
    admin: {
      status: 404,
      call: async (f, actor, owner) => ({
        path: `${await ownerProject(f, owner)}/members/${actor.login}`,
        body: { role: 'owner' },
      }),
    },
  },
  {
    method: 'DELETE',
    route: '/api/v1/projects/:key/members/:login',
    access: 'user',
    ticket: noTicket(/change project membership/),
    call: async (f, as) => {
      const project = await ownerProject(f, as);
      const member = (await f.quickUser('member')).login;
      await f.send('PUT', `${project}/members/${member}`, { key: as.key, body: { role: 'reader' } });
      return { path: `${project}/members/${member}` };
    },
    ok: 204,
    other: notMember(async (f, owner) => `${await ownerProject(f, owner)}/members/${owner.login}`),
    admin: notMember(async (f, owner) => `${await ownerProject(f, owner)}/members/${owner.login}`),
  },
  {
    method: 'GET',
    route: '/api/v1/projects/:key/recipes',
    access: 'user',
    ticket: T_OWN_PROJECT,
    call: async (f, as) => ({ path: `${await ownerProject(f, as)}/recipes` }),
    ok: 200,
    other: notMember(async (f, owner) => `${await ownerProject(f, owner)}/recipes`),
    admin: notMember(async (f, owner) => `${await ownerProject(f, owner)}/recipes`),
  },
  {
    method: 'GET',
    route: '/api/v1/projects/:key/recipes/:name',
    access: 'user',
    ticket: T_OWN_PROJECT,
    call: async (f, as) => ({ path: await ownerRecipe(f, as) }),
    ok: 200,
    other: notMember(ownerRecipe),
    admin: notMember(ownerRecipe),
  },
  {
    method: 'PUT',
    route: '/api/v1/projects/:key/recipes/:name',
    access: 'user',
    ticket: noTicket(/change recipes \(code\)/),
    call: async (f, as) => ({
      path: `${await ownerProject(f, as)}/recipes/new-recipe`,
      body: { language: 'python', code: 'print(1)' },
    }),
    ok: 201,
    // Nobody outside the project rewrites its code (which its members then run as themselves).
    other: notMember(ownerRecipe, { language: 'python', code: 'print("injected")' }),
    admin: notMember(ownerRecipe, { language: 'python', code: 'print("injected")' }),
  },
  {
    method: 'DELETE',
    route: '/api/v1/projects/:key/recipes/:name',
    access: 'user',
    ticket: noTicket(/change recipes \(code\)/),
    call: async (f, as) => ({ path: await ownerRecipe(f, as) }),
    ok: 204,
    other: notMember(ownerRecipe),
    admin: notMember(ownerRecipe),
  },
  {
    method: 'POST',
    route: '/api/v1/projects/:key/recipes/:name/run',
    access: 'user',
    call: async (f, as) => ({ path: `${await ownerRecipe(f, as)}/run`, body: {} }),
    ok: 202,
    ticket: noTicket(/start jobs/),
    other: notMember(async (f, owner) => `${await ownerRecipe(f, owner)}/run`, {}),
    admin: notMember(async (f, owner) => `${await ownerRecipe(f, owner)}/run`, {}),
  },
  {
    method: 'GET',
    route: '/api/v1/projects/:key/recipes/:name/readiness',
    access: 'user',
    ticket: noTicket(/check what running a recipe needs/),
    // The owner entered their token for the recipe's preset and has the secret it names.
    call: async (f, as) => ({ path: `${await ownerPluginRecipe(f, as)}/readiness` }),
    ok: 200,
    check: (r) => expect(r.json).toEqual({ ready: true, missing: [] }),
    other: notMember(async (f, owner) => `${await ownerPluginRecipe(f, owner)}/readiness`),
    admin: notMember(async (f, owner) => `${await ownerPluginRecipe(f, owner)}/readiness`),
  },
  {
    method: 'GET',
    route: '/api/v1/projects/:key/notebooks',
    access: 'user',
    ticket: T_OWN_PROJECT,
    call: async (f, as) => ({ path: `${await ownerProject(f, as)}/notebooks` }),
    ok: 200,
    other: notMember(async (f, owner) => `${await ownerProject(f, owner)}/notebooks`),
    admin: notMember(async (f, owner) => `${await ownerProject(f, owner)}/notebooks`),
  },
  {
    method: 'GET',
    route: '/api/v1/projects/:key/notebooks/:name',
    access: 'user',
    ticket: T_OWN_PROJECT,
    call: async (f, as) => ({ path: await ownerNotebook()(f, as) }),
    ok: 200,
    other: notMember(ownerNotebook()),
    admin: notMember(ownerNotebook()),
  },
  {
    method: 'PUT',
    route: '/api/v1/projects/:key/notebooks/:name',
    access: 'user',
    ticket: noTicket(/change notebooks \(code\)/),
    call: async (f, as) => ({
      path: `${await ownerProject(f, as)}/notebooks/new-notebook`,
      body: { content: NOTEBOOK },
    }),
    ok: 201,
    // Nobody outside the project rewrites its notebooks (which its members then run as themselves).
    other: notMember(ownerNotebook(), { content: NOTEBOOK }),
    admin: notMember(ownerNotebook(), { content: NOTEBOOK }),
  },
  {
    method: 'PATCH',
    route: '/api/v1/projects/:key/notebooks/:name',
    access: 'user',
    ticket: noTicket(/change notebooks \(code\)/),
    call: async (f, as) => ({ path: await ownerNotebook()(f, as), body: { name: 'renamed' } }),
    ok: 200,
    other: notMember(ownerNotebook(), { name: 'renamed' }),
    admin: notMember(ownerNotebook(), { name: 'renamed' }),
  },
  {
    method: 'DELETE',
    route: '/api/v1/projects/:key/notebooks/:name',
    access: 'user',
    ticket: noTicket(/change notebooks \(code\)/),
    call: async (f, as) => ({ path: await ownerNotebook()(f, as) }),
    ok: 204,
    other: notMember(ownerNotebook()),
    admin: notMember(ownerNotebook()),
  },
  {
    method: 'POST',
    route: '/jupyter/api/sessions',
    access: 'user',
    ticket: noTicket(/run notebook kernels/),
    call: async (f, as) => ({ path: '/jupyter/api/sessions', body: { path: await f.notebookPath(as) } }),
    ok: 201,
    // Nobody outside the project runs its notebooks, administrators included.
    other: {
      status: 404,
      call: async (f, _a, owner) => ({
        path: '/jupyter/api/sessions',
        body: { path: await f.notebookPath(owner) },
      }),
    },
    admin: {
      status: 404,
      call: async (f, _a, owner) => ({
        path: '/jupyter/api/sessions',
        body: { path: await f.notebookPath(owner) },
      }),
    },
  },
  {
    method: 'GET',
    route: '/jupyter/api/sessions',
    access: 'user',
    ticket: noTicket(/run notebook kernels/),
    call: () => ({ path: '/jupyter/api/sessions' }),
    ok: 200,
    other: {
      status: 200,
      call: async (f, _a, owner) => (await f.kernelSession(owner), { path: '/jupyter/api/sessions' }),
      check: (r) => expect(r.json).toEqual([]),
    },
    admin: {
      status: 200,
      call: async (f, _a, owner) => (await f.kernelSession(owner), { path: '/jupyter/api/sessions' }),
      check: (r) => expect(r.json).toEqual([]),
    },
  },
  {
    method: 'GET',
    route: '/jupyter/api/sessions/:id',
    access: 'user',
    ticket: noTicket(/run notebook kernels/),
    call: async (f, as) => ({ path: `/jupyter/api/sessions/${(await f.kernelSession(as)).session}` }),
    ok: 200,
    other: {
      status: 404,
      call: async (f, _a, owner) => ({
        path: `/jupyter/api/sessions/${(await f.kernelSession(owner)).session}`,
      }),
    },
    admin: {
      status: 404,
      call: async (f, _a, owner) => ({
        path: `/jupyter/api/sessions/${(await f.kernelSession(owner)).session}`,
      }),
    },
  },
  {
    method: 'DELETE',
    route: '/jupyter/api/sessions/:id',
    access: 'user',
    ticket: noTicket(/run notebook kernels/),
    call: async (f, as) => ({ path: `/jupyter/api/sessions/${(await f.kernelSession(as)).session}` }),
    ok: 204,
    other: {
      status: 404,
      call: async (f, _a, owner) => ({
        path: `/jupyter/api/sessions/${(await f.kernelSession(owner)).session}`,
      }),
    },
    // Administrators stop anyone's kernel (a runaway one, say); they never see into it.
    admin: {
      status: 204,
      call: async (f, _a, owner) => ({
        path: `/jupyter/api/sessions/${(await f.kernelSession(owner)).session}`,
      }),
    },
  },
  {
    method: 'GET',
    route: '/jupyter/api/kernels/:id/channels',
    access: 'user',
    ticket: noTicket(/run notebook kernels/),
    // Without an Upgrade the owner is told to use a WebSocket; anyone else finds no kernel.
    call: async (f, as) => ({ path: `/jupyter/api/kernels/${(await f.kernelSession(as)).kernel}/channels` }),
    ok: 426,
    other: {
      status: 404,
      call: async (f, _a, owner) => ({
        path: `/jupyter/api/kernels/${(await f.kernelSession(owner)).kernel}/channels`,
      }),
    },
    admin: {
      status: 404,
      call: async (f, _a, owner) => ({
        path: `/jupyter/api/kernels/${(await f.kernelSession(owner)).kernel}/channels`,
      }),
    },
  },
  {
    method: 'PATCH',
    route: '/jupyter/api/sessions/:id',
    access: 'user',
    ticket: noTicket(/run notebook kernels/),
    call: async (f, as) => ({ path: ownSession(await f.kernelSession(as)), body: {} }),
    ok: 200,
    other: {
      status: 404,
      call: async (f, _a, owner) => ({ path: ownSession(await f.kernelSession(owner)), body: {} }),
    },
    admin: {
      status: 404,
      call: async (f, _a, owner) => ({ path: ownSession(await f.kernelSession(owner)), body: {} }),
    },
  },
  {
    method: 'GET',
    route: '/jupyter/api/kernels',
    access: 'user',
    ticket: noTicket(/run notebook kernels/),
    call: () => ({ path: '/jupyter/api/kernels' }),
    ok: 200,
    other: {
      status: 200,
      call: async (f, _a, owner) => (await f.kernelSession(owner), { path: '/jupyter/api/kernels' }),
      check: (r) => expect(r.json).toEqual([]),
    },
    admin: {
      status: 200,
      call: async (f, _a, owner) => (await f.kernelSession(owner), { path: '/jupyter/api/kernels' }),
      check: (r) => expect(r.json).toEqual([]),
    },
  },
  ...(
    [
      ['GET', '', 200, 404],
      // Administrators stop anyone's kernel, as they close anyone's session; they never use one.
      ['DELETE', '', 204, 204],
      ['POST', '/interrupt', 204, 404],
      ['POST', '/restart', 200, 404],
    ] as const
  ).map(([method, action, ok, admin]): Entry => ({
    method,
    route: `/jupyter/api/kernels/:id${action}`,
    access: 'user',
    ticket: noTicket(/run notebook kernels/),
    call: async (f, as) => ({ path: `/jupyter/api/kernels/${(await f.kernelSession(as)).kernel}${action}` }),
    ok,
    other: {
      status: 404,
      call: async (f, _a, owner) => ({
        path: `/jupyter/api/kernels/${(await f.kernelSession(owner)).kernel}${action}`,
      }),
    },
    admin: {
      status: admin,
      call: async (f, _a, owner) => ({
        path: `/jupyter/api/kernels/${(await f.kernelSession(owner)).kernel}${action}`,
      }),
    },
  })),
  {
    method: 'GET',
    route: '/jupyter/api/contents/:key/:file/checkpoints',
    access: 'user',
    ticket: T_OWN_PROJECT,
    call: async (f, as) => ({ path: `/jupyter/api/contents/${await f.notebookPath(as)}/checkpoints` }),
    ok: 200,
    other: notMember(async (f, owner) => `/jupyter/api/contents/${await f.notebookPath(owner)}/checkpoints`),
    admin: notMember(async (f, owner) => `/jupyter/api/contents/${await f.notebookPath(owner)}/checkpoints`),
  },
  {
    method: 'POST',
    route: '/jupyter/api/contents/:key/:file/checkpoints',
    access: 'user',
    ticket: noTicket(/change notebooks \(code\)/),
    call: async (f, as) => ({ path: `/jupyter/api/contents/${await f.notebookPath(as)}/checkpoints` }),
    ok: 201,
    other: notMember(async (f, owner) => `/jupyter/api/contents/${await f.notebookPath(owner)}/checkpoints`),
    admin: notMember(async (f, owner) => `/jupyter/api/contents/${await f.notebookPath(owner)}/checkpoints`),
  },
  ...(['POST', 'DELETE'] as const).map((method): Entry => ({
    method,
    route: '/jupyter/api/contents/:key/:file/checkpoints/:id',
    access: 'user',
    ticket: noTicket(/change notebooks \(code\)/),
    call: async (f, as) => ({ path: await f.checkpointPath(as) }),
    ok: 204,
    other: notMember((f, owner) => f.checkpointPath(owner)),
    admin: notMember((f, owner) => f.checkpointPath(owner)),
  })),
  // What Jupyter's front end reads besides notebooks: the same for everyone, nothing of anyone's.
  ...(
    [
      ['GET', '/jupyter/api/kernelspecs', '/jupyter/api/kernelspecs', undefined],
      ['GET', '/jupyter/api/config/:section', '/jupyter/api/config/notebook', undefined],
      ['PATCH', '/jupyter/api/config/:section', '/jupyter/api/config/notebook', { Cell: {} }],
    ] as const
  ).map(([method, route, path, body]): Entry => ({
    method,
    route,
    access: 'user',
    ticket: noTicket(/use Jupyter's front end/),
    call: () => ({ path, body }),
    ok: 200,
    other: { status: 200 },
    admin: { status: 200 },
  })),
  {
    method: 'GET',
    route: '/jupyter/nbconvert/:format/:key/:file',
    access: 'user',
    ticket: T_OWN_PROJECT,
    call: async (f, as) => ({ path: `/jupyter/nbconvert/notebook/${await f.notebookPath(as)}` }),
    ok: 200,
    other: notMember(async (f, owner) => `/jupyter/nbconvert/notebook/${await f.notebookPath(owner)}`),
    admin: notMember(async (f, owner) => `/jupyter/nbconvert/notebook/${await f.notebookPath(owner)}`),
  },
  {
    method: 'GET',
    route: '/jupyter/notebooks/:key/:file',
    access: 'user',
    page: true,
    ticket: noTicket(/open notebooks/),
    call: async (f, as) => ({ path: `/jupyter/notebooks/${await f.notebookPath(as)}` }),
    ok: 200,
    check: (r) => expect(r.text).toContain('data-notebook-path="'),
    other: notMember(async (f, owner) => `/jupyter/notebooks/${await f.notebookPath(owner)}`),
    admin: notMember(async (f, owner) => `/jupyter/notebooks/${await f.notebookPath(owner)}`),
  },
  {
    method: 'GET',
    route: '/jupyter/api/contents',
    access: 'user',
    ticket: noTicket(/list projects beyond its own/),
    call: () => ({ path: '/jupyter/api/contents' }),
    ok: 200,
    other: {
      status: 200,
      call: async (f, _a, owner) => (await f.project(owner), { path: '/jupyter/api/contents' }),
      check: (r) => expect(r.json.content).toEqual([]),
    },
    admin: {
      status: 200,
      call: async (f, _a, owner) => (await f.project(owner), { path: '/jupyter/api/contents' }),
      check: (r) => expect(r.json.content).toEqual([]),
    },
  },
  {
    method: 'GET',
    route: '/jupyter/api/contents/:key',
    access: 'user',
    ticket: T_OWN_PROJECT,
    call: async (f, as) => ({ path: `/jupyter/api/contents/${await f.project(as)}` }),
    ok: 200,
    other: notMember(async (f, owner) => `/jupyter/api/contents/${await f.project(owner)}`),
    admin: notMember(async (f, owner) => `/jupyter/api/contents/${await f.project(owner)}`),
  },
  {
    method: 'POST',
    route: '/jupyter/api/contents/:key',
    access: 'user',
    ticket: noTicket(/change notebooks \(code\)/),
    call: async (f, as) => ({
      path: `/jupyter/api/contents/${await f.project(as)}`,
      body: { type: 'notebook' },
    }),
    ok: 201,
    other: notMember(async (f, owner) => `/jupyter/api/contents/${await f.project(owner)}`, {
      type: 'notebook',
    }),
    admin: notMember(async (f, owner) => `/jupyter/api/contents/${await f.project(owner)}`, {
      type: 'notebook',
    }),
  },
  {
    method: 'GET',
    route: '/jupyter/api/contents/:key/:file',
    access: 'user',
    ticket: T_OWN_PROJECT,
    call: async (f, as) => ({ path: `/jupyter/api/contents/${await f.notebookPath(as)}` }),
    ok: 200,
    other: notMember(async (f, owner) => `/jupyter/api/contents/${await f.notebookPath(owner)}`),
    admin: notMember(async (f, owner) => `/jupyter/api/contents/${await f.notebookPath(owner)}`),
  },
  {
    method: 'PUT',
    route: '/jupyter/api/contents/:key/:file',
    access: 'user',
    ticket: noTicket(/change notebooks \(code\)/),
    call: async (f, as) => ({
      path: `/jupyter/api/contents/${await f.project(as)}/fresh.ipynb`,
      body: { type: 'notebook', content: NOTEBOOK },
    }),
    ok: 201,
    other: notMember(async (f, owner) => `/jupyter/api/contents/${await f.notebookPath(owner)}`, {
      type: 'notebook',
      content: NOTEBOOK,
    }),
    admin: notMember(async (f, owner) => `/jupyter/api/contents/${await f.notebookPath(owner)}`, {
      type: 'notebook',
      content: NOTEBOOK,
    }),
  },
  {
    method: 'PATCH',
    route: '/jupyter/api/contents/:key/:file',
    access: 'user',
    ticket: noTicket(/change notebooks \(code\)/),
    call: async (f, as) => {
      const path = await f.notebookPath(as);
      return { path: `/jupyter/api/contents/${path}`, body: { path: path.replace('scratch', 'renamed') } };
    },
    ok: 200,
    other: {
      status: 404,
      call: async (f, _a, owner) => {
        const path = await f.notebookPath(owner);
        return { path: `/jupyter/api/contents/${path}`, body: { path: path.replace('scratch', 'renamed') } };
      },
    },
    admin: {
      status: 404,
      call: async (f, _a, owner) => {
        const path = await f.notebookPath(owner);
        return { path: `/jupyter/api/contents/${path}`, body: { path: path.replace('scratch', 'renamed') } };
      },
    },
  },
  {
    method: 'DELETE',
    route: '/jupyter/api/contents/:key/:file',
    access: 'user',
    ticket: noTicket(/change notebooks \(code\)/),
    call: async (f, as) => ({ path: `/jupyter/api/contents/${await f.notebookPath(as)}` }),
    ok: 204,
    other: notMember(async (f, owner) => `/jupyter/api/contents/${await f.notebookPath(owner)}`),
    admin: notMember(async (f, owner) => `/jupyter/api/contents/${await f.notebookPath(owner)}`),
  },
  {
    method: 'GET',
    route: '/api/v1/jobs',
    access: 'user',
    ticket: T_OWN_PROJECT,
    // A ticket lists the jobs of its own project only, so the call names one.
    call: async (f, as) => ({ path: `/api/v1/jobs?project=${await f.project(as)}` }),
    ok: 200,
    other: { status: 200, check: (r) => expect(r.json.jobs).toEqual([]) },
    admin: { status: 200, check: (r) => expect(r.json.jobs).toEqual([]) },
  },
  {
    method: 'GET',
    route: '/api/v1/jobs/:id',
    access: 'user',
    ticket: T_OWN_JOB,
    call: async (f, as) => ({ path: await ownerJob(f, as) }),
    ok: 200,
    other: notMember(ownerJob),
    admin: notMember(ownerJob),
  },
  {
    method: 'GET',
    route: '/api/v1/jobs/:id/log',
    access: 'user',
    ticket: T_OWN_JOB,
    call: async (f, as) => ({ path: `${await ownerJob(f, as)}/log` }),
    ok: 200,
    other: notMember(async (f, owner) => `${await ownerJob(f, owner)}/log`),
    admin: notMember(async (f, owner) => `${await ownerJob(f, owner)}/log`),
  },
  {
    method: 'POST',
    route: '/api/v1/jobs/:id/cancel',
    access: 'user',
    ticket: noTicket(/cancel jobs/),
    call: async (f, as) => ({ path: `${await ownerJob(f, as)}/cancel` }),
    ok: 200,
    other: notMember(async (f, owner) => `${await ownerJob(f, owner)}/cancel`),
    admin: notMember(async (f, owner) => `${await ownerJob(f, owner)}/cancel`),
  },
];

/** The DSS public API, relative to a prefix; expanded for both prefixes below. */
const DSS: Entry[] = [
  {
    method: 'GET',
    route: '/projects/:key/jupyter-notebooks/:name/sessions',
    access: 'user',
    ticket: T_OWN_PROJECT,
    call: async (f, as) => ({ path: `${await ownerNotebook('', 'jupyter-notebooks')(f, as)}/sessions` }),
    ok: 200,
    other: notMember(
      async (f, owner) => `${await ownerNotebook('', 'jupyter-notebooks')(f, owner)}/sessions`,
    ),
    admin: notMember(
      async (f, owner) => `${await ownerNotebook('', 'jupyter-notebooks')(f, owner)}/sessions`,
    ),
  },
  {
    method: 'DELETE',
    route: '/projects/:key/jupyter-notebooks/:name/sessions/:sessionId',
    access: 'user',
    ticket: noTicket(/stop notebook kernels/),
    call: async (f, as) => ({ path: await f.dssSessionPath(as) }),
    ok: 200,
    other: { status: 404, call: async (f, _a, owner) => ({ path: await f.dssSessionPath(owner) }) },
    // Administrators unload anyone's notebook (DSS's admin monitoring does); they never see into it.
    admin: { status: 200, call: async (f, _a, owner) => ({ path: await f.dssSessionPath(owner) }) },
  },
  {
    method: 'GET',
    route: '/admin/notebooks',
    access: 'admin',
    ticket: T_ADMIN,
    call: () => ({ path: '/admin/notebooks/' }),
    ok: 200,
    other: { status: 403 },
    admin: { status: 200 },
  },
  {
    method: 'GET',
    route: '/projects/:key/jupyter-notebooks',
    access: 'user',
    ticket: T_OWN_PROJECT,
    call: async (f, as) => ({ path: `/projects/${await f.project(as)}/jupyter-notebooks/` }),
    ok: 200,
    other: notMember(async (f, owner) => `/projects/${await f.project(owner)}/jupyter-notebooks/`),
    admin: notMember(async (f, owner) => `/projects/${await f.project(owner)}/jupyter-notebooks/`),
  },
  {
    method: 'POST',
    route: '/projects/:key/jupyter-notebooks/:name',
    access: 'user',
    ticket: noTicket(/change notebooks \(code\)/),
    call: async (f, as) => ({
      path: `/projects/${await f.project(as)}/jupyter-notebooks/created`,
      body: NOTEBOOK,
    }),
    ok: 200,
    other: notMember(
      async (f, owner) => `/projects/${await f.project(owner)}/jupyter-notebooks/created`,
      NOTEBOOK,
    ),
    admin: notMember(
      async (f, owner) => `/projects/${await f.project(owner)}/jupyter-notebooks/created`,
      NOTEBOOK,
    ),
  },
  {
    method: 'GET',
    route: '/projects/:key/jupyter-notebooks/:name',
    access: 'user',
    ticket: T_OWN_PROJECT,
    call: async (f, as) => ({ path: await ownerNotebook('', 'jupyter-notebooks')(f, as) }),
    ok: 200,
    other: notMember(ownerNotebook('', 'jupyter-notebooks')),
    admin: notMember(ownerNotebook('', 'jupyter-notebooks')),
  },
  {
    method: 'PUT',
    route: '/projects/:key/jupyter-notebooks/:name',
    access: 'user',
    ticket: noTicket(/change notebooks \(code\)/),
    call: async (f, as) => ({ path: await ownerNotebook('', 'jupyter-notebooks')(f, as), body: NOTEBOOK }),
    ok: 200,
    other: notMember(ownerNotebook('', 'jupyter-notebooks'), NOTEBOOK),
    admin: notMember(ownerNotebook('', 'jupyter-notebooks'), NOTEBOOK),
  },
  {
    method: 'DELETE',
    route: '/projects/:key/jupyter-notebooks/:name',
    access: 'user',
    ticket: noTicket(/change notebooks \(code\)/),
    call: async (f, as) => ({ path: await ownerNotebook('', 'jupyter-notebooks')(f, as) }),
    ok: 200,
    other: notMember(ownerNotebook('', 'jupyter-notebooks')),
    admin: notMember(ownerNotebook('', 'jupyter-notebooks')),
  },
  {
    method: 'DELETE',
    route: '/projects/:key/jupyter-notebooks/:name/outputs',
    access: 'user',
    ticket: noTicket(/change notebooks \(code\)/),
    call: async (f, as) => ({ path: `${await ownerNotebook('', 'jupyter-notebooks')(f, as)}/outputs` }),
    ok: 200,
    other: notMember(async (f, owner) => `${await ownerNotebook('', 'jupyter-notebooks')(f, owner)}/outputs`),
    admin: notMember(async (f, owner) => `${await ownerNotebook('', 'jupyter-notebooks')(f, owner)}/outputs`),
  },
  {
    method: 'GET',
    route: '/auth/info',
    access: 'user',
    ticket: T_ALLOWED,
    call: () => ({ path: '/auth/info?withSecrets=True', reveal: true }),
    ok: 200,
    check: (r, as) => {
      expect(r.json.associatedDSSUser).toBe(as.login);
      expect(r.json.secrets).toEqual(expect.arrayContaining(OWNER_REVEAL));
    },
    other: { status: 200, check: (r, actor) => expectOnlyOwnSecrets(r, actor) },
    admin: { status: 200, check: (r, actor) => expectOnlyOwnSecrets(r, actor) },
  },
  {
    method: 'POST',
    route: '/auth/info-from-browser-headers',
    access: 'user',
    ticket: noTicket(/act for a browser's session/),
    call: (_f, as) => ({
      path: '/auth/info-from-browser-headers?withSecrets=true',
      body: { Cookie: as.session!.cookie, 'User-Agent': 'authz-test' },
      reveal: true,
    }),
    ok: 200,
    check: (r, as) => {
      expect(r.json.associatedDSSUser).toBe(as.login);
      expect(r.json.secrets).toEqual(expect.arrayContaining(OWNER_REVEAL));
    },
    // Someone else's code presenting the owner's browser headers gets nothing.
    other: {
      status: 403,
      ownerSession: true,
      call: (_f, _a, owner) => ({
        path: '/auth/info-from-browser-headers?withSecrets=true',
        body: { Cookie: owner.session!.cookie },
      }),
    },
    admin: {
      status: 403,
      ownerSession: true,
      call: (_f, _a, owner) => ({
        path: '/auth/info-from-browser-headers?withSecrets=true',
        body: { Cookie: owner.session!.cookie },
      }),
    },
  },
  {
    method: 'POST',
    route: '/auth/ticket-from-browser-headers',
    access: 'user',
    ticket: noTicket(/make tickets from a browser's session/),
    call: (_f, as) => ({ path: '/auth/ticket-from-browser-headers', body: { cookie: as.session!.cookie } }),
    ok: 200,
    check: (r) => expect(r.json.msg).toMatch(/^coft_/),
    other: {
      status: 403,
      ownerSession: true,
      call: (_f, _a, owner) => ({
        path: '/auth/ticket-from-browser-headers',
        body: { cookie: owner.session!.cookie },
      }),
    },
    admin: {
      status: 403,
      ownerSession: true,
      call: (_f, _a, owner) => ({
        path: '/auth/ticket-from-browser-headers',
        body: { cookie: owner.session!.cookie },
      }),
    },
  },
  {
    method: 'GET',
    route: '/current-user',
    access: 'user',
    ticket: T_ALLOWED,
    call: () => ({ path: '/current-user' }),
    ok: 200,
    check: (r, as) => {
      expect(r.json.login).toBe(as.login);
      expectMarkers(r, OWNER_NAMES, true);
    },
    other: {
      status: 200,
      check: (r, actor) => {
        expect(r.json.login).toBe(actor.login);
        expectMarkers(r, ['own-secret']);
      },
    },
    admin: {
      status: 200,
      check: (r, actor) => {
        expect(r.json.login).toBe(actor.login);
        expectMarkers(r, ['own-secret']);
      },
    },
  },
  {
    method: 'PUT',
    route: '/current-user',
    access: 'user',
    ticket: T_ALLOWED,
    call: () => ({ path: '/current-user', body: { displayName: 'Renamed through DSS' } }),
    ok: 200,
    check: (r, as) => expect(r.json.login).toBe(as.login),
    // A full round trip of the caller's own settings naming the owner's secret writes the caller's only.
    other: {
      status: 200,
      call: (f, actor, _owner, prefix) => ownSettingsNaming(f, actor, prefix, OWNER_SECRETS[0].name),
      check: (r, actor) => expect(r.json.login).toBe(actor.login),
    },
    admin: {
      status: 200,
      call: (f, actor, _owner, prefix) => ownSettingsNaming(f, actor, prefix, OWNER_SECRETS[0].name),
      check: (r, actor) => expect(r.json.login).toBe(actor.login),
    },
  },
  {
    method: 'GET',
    route: '/users',
    access: 'user',
    ticket: T_ALLOWED,
    call: () => ({ path: '/users' }),
    ok: 200,
    check: (r, as) => expect((r.json as { login: string }[]).map((u) => u.login)).toContain(as.login),
    other: { status: 200 },
    admin: { status: 200 },
  },
  {
    method: 'GET',
    route: '/users/:login',
    access: 'user',
    ticket: T_ALLOWED,
    call: (_f, as) => ({ path: `/users/${as.login}` }),
    ok: 200,
    // The directory entry (login, name, groups) is visible to every signed-in user, as in DSS; no secrets.
    other: {
      status: 200,
      call: (_f, _a, owner) => ({ path: `/users/${owner.login}` }),
      check: (r, _a, owner) => {
        expect(r.json.login).toBe(owner.login);
        expect(r.json).not.toHaveProperty('secrets');
      },
    },
    admin: {
      status: 200,
      call: (_f, _a, owner) => ({ path: `/users/${owner.login}` }),
      check: (r) => expect(r.json).not.toHaveProperty('secrets'),
    },
  },
  {
    method: 'GET',
    route: '/groups',
    access: 'user',
    ticket: T_ALLOWED,
    call: () => ({ path: '/groups' }),
    ok: 200,
    other: { status: 200 },
    admin: { status: 200 },
  },
  {
    method: 'GET',
    route: '/admin/users',
    access: 'admin',
    ticket: T_ADMIN,
    call: () => ({ path: '/admin/users' }),
    ok: 200,
    other: { status: 403, call: () => ({ path: '/admin/users?includeSettings=true' }) },
    admin: {
      status: 200,
      call: () => ({ path: '/admin/users?includeSettings=True' }),
      check: (r, _a, owner) => {
        const mine = (r.json as { login: string; secrets: { name: string; value: string }[] }[]).find(
          (u) => u.login === owner.login,
        );
        expect(mine).toBeDefined();
        expectMarkers({ ...r, json: mine }, OWNER_NAMES);
      },
    },
  },
  {
    method: 'POST',
    route: '/admin/users',
    access: 'admin',
    ticket: T_ADMIN,
    call: (f) => ({
      path: '/admin/users',
      body: {
        login: f.uniq('created'),
        displayName: 'Created',
        sourceType: 'LOCAL',
        groups: [],
        userProfile: 'DATA_SCIENTIST',
        email: '',
      },
    }),
    ok: 200,
    other: {
      status: 403,
      call: (f) => ({ path: '/admin/users', body: { login: f.uniq('sneaky'), groups: ['administrators'] } }),
      after: (f, _a, _o, call) => expectUserGone(f, (call.body as { login: string }).login),
    },
    admin: { status: 200 },
  },
  {
    method: 'GET',
    route: '/admin/users/:login',
    access: 'admin',
    ticket: T_ADMIN,
    call: (f) => ({ path: `/admin/users/${f.bystander.login}` }),
    ok: 200,
    other: { status: 403, call: (_f, _a, owner) => ({ path: `/admin/users/${owner.login}` }) },
    // The admin view of the owner's settings carries markers, never the values.
    admin: {
      status: 200,
      call: (_f, _a, owner) => ({ path: `/admin/users/${owner.login}` }),
      check: (r, _a, owner) => {
        expect(r.json.login).toBe(owner.login);
        expectMarkers(r, OWNER_NAMES);
      },
    },
  },
  {
    method: 'PUT',
    route: '/admin/users/:login',
    access: 'admin',
    ticket: T_ADMIN,
    call: (f) => ({ path: `/admin/users/${f.bystander.login}`, body: { displayName: 'Renamed by admin' } }),
    ok: 200,
    other: {
      status: 403,
      call: (_f, _a, owner) => ({
        path: `/admin/users/${owner.login}`,
        body: { secrets: [], enabled: false },
      }),
    },
    // Read-modify-write of the owner's settings by an admin: markers go back, values stay, none is shown.
    admin: {
      status: 200,
      call: async (f, actor, owner, prefix) => {
        const got = await f.send('GET', `${prefix}/admin/users/${owner.login}`, { key: actor.key });
        expect(got.status, got.text).toBe(200);
        return { path: `/admin/users/${owner.login}`, body: got.json };
      },
      check: (r) => expectMarkers(r, OWNER_NAMES),
    },
  },
  {
    method: 'DELETE',
    route: '/admin/users/:login',
    access: 'admin',
    ticket: T_ADMIN,
    call: async (f) => ({ path: `/admin/users/${(await f.quickUser('doomed')).login}` }),
    ok: 200,
    other: {
      status: 403,
      call: (_f, _a, owner) => ({ path: `/admin/users/${owner.login}?allowSelfDeletion=true` }),
    },
    admin: { status: 200 },
  },
  ...(['POST', 'PUT', 'DELETE'] as const).map((method): Entry => ({
    method,
    route: '/admin/users/actions/bulk',
    access: 'admin',
    ticket: T_ADMIN,
    call: async (f) => ({
      path: '/admin/users/actions/bulk',
      body: { logins: [(await f.quickUser('bulk')).login], enabled: false },
    }),
    ok: 200,
    check: (r) => {
      expect(r.json).toHaveLength(1);
      expect(r.json[0].status, JSON.stringify(r.json)).toBe('SUCCESS');
    },
    other: {
      status: 403,
      call: (_f, _a, owner) => ({
        path: '/admin/users/actions/bulk',
        body: { logins: [owner.login], enabled: false },
      }),
    },
    admin: { status: 200 },
  })),
  {
    method: 'GET',
    route: '/personal-api-keys',
    access: 'user',
    ticket: T_ALLOWED,
    call: () => ({ path: '/personal-api-keys/' }),
    ok: 200,
    check: (r, as) => {
      expect((r.json as unknown[]).length).toBeGreaterThan(0);
      for (const k of r.json as { user: string }[]) expect(k.user).toBe(as.login);
    },
    other: {
      status: 200,
      check: (r, actor) => expect((r.json as { user: string }[]).map((k) => k.user)).toEqual([actor.login]),
    },
    admin: {
      status: 200,
      check: (r, actor) => expect((r.json as { user: string }[]).map((k) => k.user)).toEqual([actor.login]),
    },
  },
  {
    method: 'POST',
    route: '/personal-api-keys',
    access: 'user',
    call: () => ({ path: '/personal-api-keys/', body: { label: 'made-by-authz-test', description: 'x' } }),
    ok: 200,
    ticket: noTicket(/create lasting API keys/),
    check: (r, as) => {
      expect(r.json.user).toBe(as.login);
      expect(r.json.key).toMatch(/^cofk_/);
    },
    other: { status: 200, check: (r, actor) => expect(r.json.user).toBe(actor.login) },
    admin: { status: 200, check: (r, actor) => expect(r.json.user).toBe(actor.login) },
  },
  ...(
    [
      // dataikuapi reads a key; an administrator's ticket cannot read another user's, as their key can.
      [
        'GET',
        200,
        undefined,
        {
          rule: 'allowed',
          admin: {
            status: 403,
            call: async (f, _a, owner) => ({ path: `/personal-api-keys/${await f.newKeyId(owner.login)}` }),
            check: (r) =>
              expectTicketLimit(r, /manage another user's API keys, even when its user is an administrator/),
          },
        },
      ],
      ['PUT', 200, { label: 'relabelled', description: 'changed' }, noTicket(/change API keys/)],
      ['DELETE', 200, undefined, noTicket(/revoke API keys/)],
    ] as const satisfies readonly (readonly [string, number, unknown, TicketSpec])[]
  ).map(([method, ok, body, ticket]): Entry => ({
    method,
    route: '/personal-api-keys/:id',
    access: 'user',
    ticket,
    call: async (f, as) => ({ path: `/personal-api-keys/${await f.newKeyId(as.login)}`, body }),
    ok,
    other: {
      status: 404,
      call: async (f, _a, owner) => ({ path: `/personal-api-keys/${await f.newKeyId(owner.login)}`, body }),
    },
    admin: {
      status: 200,
      call: async (f, _a, owner) => ({ path: `/personal-api-keys/${await f.newKeyId(owner.login)}`, body }),
    },
  })),
  {
    method: 'GET',
    route: '/admin/personal-api-keys',
    access: 'admin',
    ticket: T_ADMIN,
    call: () => ({ path: '/admin/personal-api-keys/' }),
    ok: 200,
    other: STATUS_403,
    // Keys are listed with an unusable hint, never the key itself.
    admin: {
      status: 200,
      check: (r, _a, owner) => {
        const keys = r.json as { user: string; key: string }[];
        expect(keys.some((k) => k.user === owner.login)).toBe(true);
        for (const k of keys) expect(k.key).toContain('…');
      },
    },
  },
  {
    method: 'POST',
    route: '/admin/personal-api-keys',
    access: 'admin',
    call: (f) => ({
      path: '/admin/personal-api-keys/',
      body: { user: f.bystander.login, label: 'issued-by-admin' },
    }),
    ok: 200,
    ticket: T_ADMIN,
    check: (r, as) => expect(r.json.createdBy).toBe(as.login),
    // A key for the owner would be the owner's identity: another user must not be able to mint one.
    other: {
      status: 403,
      call: (_f, _a, owner) => ({
        path: '/admin/personal-api-keys/',
        body: { user: owner.login, label: 'takeover' },
      }),
    },
    admin: { status: 200 },
  },
];

/** The plugin calls of dataikuapi (administrators only, as in DSS), relative to each DSS prefix. */
const DSS_PLUGINS: Entry[] = [
  {
    method: 'GET',
    route: '/plugins',
    access: 'admin',
    ticket: T_ADMIN,
    call: async (f) => {
      await f.samplePlugin();
      return { path: '/plugins/' };
    },
    ok: 200,
    check: (r) => expect((r.json as { id: string }[]).map((p) => p.id)).toContain(PLUGIN),
    other: STATUS_403,
    admin: { status: 200 },
  },
  {
    method: 'POST',
    route: '/plugins/actions/installFromZip',
    access: 'admin',
    ticket: T_ADMIN,
    call: async () => ({
      path: '/plugins/actions/installFromZip',
      ...(await multipartZip(await sampleZip())),
    }),
    ok: 200,
    check: (r) => expect(r.json).toEqual({ pluginId: PLUGIN, version: '1.0.0' }),
    other: {
      status: 403,
      call: async (f) => ({
        path: '/plugins/actions/installFromZip',
        ...(await multipartZip(await bareZip(f.uniq('sneaky-plugin')))),
      }),
      after: (f) => expectNoSneakyPlugin(f),
    },
    admin: { status: 200 },
  },
  {
    method: 'POST',
    route: '/plugins/:id/actions/updateFromZip',
    access: 'admin',
    ticket: T_ADMIN,
    call: async (f) => {
      await f.samplePlugin();
      return { path: `/plugins/${PLUGIN}/actions/updateFromZip`, ...(await multipartZip(await sampleZip())) };
    },
    ok: 200,
    check: (r) => expect(r.json).toEqual({ pluginId: PLUGIN, version: '1.0.0' }),
    // An update to a version without the owner's recipes and presets: another user cannot.
    other: {
      status: 403,
      call: async (f) => {
        await f.samplePlugin();
        return {
          path: `/plugins/${PLUGIN}/actions/updateFromZip`,
          ...(await multipartZip(await bareZip(PLUGIN, '6.6.6'))),
        };
      },
      after: async (f) => expect(await f.pluginVersion(PLUGIN)).toBe('1.0.0'),
    },
    admin: { status: 200 },
  },
  {
    method: 'GET',
    route: '/plugins/:id/settings',
    access: 'admin',
    ticket: T_ADMIN,
    call: async (f) => {
      await f.samplePlugin();
      return { path: `/plugins/${PLUGIN}/settings` };
    },
    ok: 200,
    check: (r) => expect((r.json.presets as { name: string }[]).map((x) => x.name)).toContain(PRESET),
    other: STATUS_403,
    // Presets hold shared values only: nothing of any user's credential.
    admin: {
      status: 200,
      check: (r) =>
        expect(
          (r.json.presets as { name: string; config: unknown }[]).find((x) => x.name === PRESET)?.config,
        ).toEqual(PRESET_CONFIG.config),
    },
  },
  {
    method: 'POST',
    route: '/plugins/:id/settings',
    access: 'admin',
    ticket: T_ADMIN,
    // Saved whole as dataikuapi's save() sends it back: read, then sent unchanged.
    call: async (f) => {
      await f.samplePlugin();
      return {
        path: `/plugins/${PLUGIN}/settings`,
        body: await f.s.services.plugins.dssSettings(OP, PLUGIN),
      };
    },
    ok: 200,
    // Settings without the owner's preset would delete it, and the owner's credential: another user cannot.
    other: {
      status: 403,
      call: async (f) => {
        await f.samplePlugin();
        return {
          path: `/plugins/${PLUGIN}/settings`,
          body: { ...(await f.s.services.plugins.dssSettings(OP, PLUGIN)), presets: [] },
        };
      },
      after: (f) => expectPresetKept(f),
    },
    admin: { status: 200 },
  },
  {
    method: 'GET',
    route: '/plugins/:id/actions/listUsages',
    access: 'admin',
    ticket: T_ADMIN,
    call: async (f) => {
      await f.samplePlugin();
      return { path: `/plugins/${PLUGIN}/actions/listUsages` };
    },
    ok: 200,
    other: STATUS_403,
    admin: {
      status: 200,
      call: async (f, _a, owner) => {
        await f.pluginRecipe(owner, await f.project(owner));
        return { path: `/plugins/${PLUGIN}/actions/listUsages` };
      },
      check: (r) =>
        expect(r.json.usages).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ objectId: 'fetch', elementType: `CustomCode_${PLUGIN}-fetch` }),
          ]),
        ),
    },
  },
  {
    method: 'POST',
    route: '/plugins/:id/actions/delete',
    access: 'admin',
    ticket: T_ADMIN,
    call: async (f) => ({
      path: `/plugins/${await f.scratchPlugin()}/actions/delete`,
      body: { force: false },
    }),
    ok: 200,
    check: (r) => expect(r.json.result).toEqual({ brokenRecipes: 0 }),
    other: {
      status: 403,
      call: async (f, _a, owner) => {
        await f.pluginRecipe(owner, await f.project(owner));
        return { path: `/plugins/${PLUGIN}/actions/delete`, body: { force: true } };
      },
      after: (f) => expectPluginInstalled(f),
    },
    admin: { status: 200 },
  },
  {
    method: 'GET',
    route: '/futures/:jobId',
    access: 'admin',
    ticket: T_ADMIN,
    // The future a plugin's removal answered, asked for again as DSSFuture.get_result() does.
    call: async (f) => ({ path: `/futures/${await f.finishedFutureId()}?peek=false` }),
    ok: 200,
    check: (r) => expect(r.json).toMatchObject({ hasResult: true, result: { brokenRecipes: 0 } }),
    other: STATUS_403,
    admin: { status: 200 },
  },
];

/** Expands a DSS entry (relative paths) under one prefix. */
function prefixed(prefix: string, e: Entry): Entry {
  const fix = (c: Call): Call => ({ ...c, path: prefix + c.path });
  const wrapCol = (col: Column): Column => {
    const call = col.call;
    return {
      ...col,
      call: call ? async (f, actor, owner) => fix(await call(f, actor, owner, prefix)) : undefined,
    };
  };
  const ticket: TicketSpec =
    e.ticket.rule !== 'refused' && e.ticket.admin
      ? { ...e.ticket, admin: wrapCol(e.ticket.admin) }
      : e.ticket;
  return {
    ...e,
    route: prefix + e.route,
    call: async (f, as) => fix(await e.call(f, as)),
    ticket,
    other: wrapCol(e.other),
    admin: wrapCol(e.admin),
  };
}

const ROUTES: Entry[] = [
  ...COFFER,
  ...PLUGINS,
  ...PROJECTS,
  ...DSS_PREFIXES.flatMap((p) => [...DSS, ...DSS_PLUGINS].map((e) => prefixed(p, e))),
];
const routeId = (e: { method: string; route: string }) => `${e.method} ${e.route}`;

/** Public routes: no credentials needed; each has its own tests below (the web UI's in web-ui.test.ts). */
const PUBLIC = [
  'GET /healthz',
  'GET /readyz',
  'GET /api/v1/openapi.json',
  'POST /api/v1/session',
  ...UI_PAGES.map((p) => `GET ${p}`),
  'GET /assets/:file',
  'GET /favicon.svg',
  // Jupyter's front end: the package's own files, Coffer's custom.js, the kernelspecs' logos; and the
  // file tree's addresses, sent on to Coffer's projects. Nothing of anyone's (test/jupyter-page.test.ts).
  'GET /jupyter/static/*',
  'GET /jupyter/nbextensions/*',
  'GET /jupyter/custom/custom.js',
  'GET /jupyter/custom/custom.css',
  'GET /jupyter/kernelspecs/:name/:file',
  'GET /jupyter/tree/*',
];

const isWrite = (method: string) => !['GET', 'HEAD'].includes(method);

/** Merges a call with the credential of a test. */
function opts(call: Call, auth: RequestOptions): RequestOptions {
  return {
    ...auth,
    body: call.body,
    rawBody: call.rawBody,
    headers: { ...call.headers, ...auth.headers },
  };
}

// ---------------------------------------------------------------------------------------------------
// Coverage: the table is the route registry
// ---------------------------------------------------------------------------------------------------

describe('the authorization table covers every route', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start(NO_RUNNER);
  });
  afterAll(() => server.close());

  it('has exactly one entry per registered non-public route', () => {
    const registered = server.routes.filter((r) => r.access !== 'public').map((r) => `${r.method} ${r.url}`);
    const table = ROUTES.map(routeId);
    expect(new Set(table).size, 'duplicate entries in the table').toBe(table.length);
    expect([...table].sort()).toEqual([...new Set(registered)].sort());
  });

  it("declares each route's access level as registered (user or admin)", () => {
    const access = new Map(server.routes.map((r) => [`${r.method} ${r.url}`, r.access]));
    for (const e of ROUTES)
      expect(`${routeId(e)}: ${access.get(routeId(e))}`).toBe(`${routeId(e)}: ${e.access}`);
  });

  it("declares what a job's ticket may do on each route as registered (default: refused)", () => {
    const ticket = new Map(server.routes.map((r) => [`${r.method} ${r.url}`, r.ticket]));
    for (const e of ROUTES)
      expect(`${routeId(e)}: ${ticket.get(routeId(e))}`).toBe(`${routeId(e)}: ${e.ticket.rule}`);
  });

  it('has only the known public routes', () => {
    const pub = server.routes.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`);
    expect(pub.sort()).toEqual([...PUBLIC].sort());
  });
});

// ---------------------------------------------------------------------------------------------------
// Public routes
// ---------------------------------------------------------------------------------------------------

describe('public routes', () => {
  let server: TestServer;
  let f: Fixture;
  let alice: Principal;
  let disabled: Principal;
  beforeAll(async () => {
    server = await TestServer.start(NO_RUNNER);
    f = new Fixture(server, 'pub');
    alice = await f.giveOwnerSecrets(await f.fullUser('alice'));
    const d = await server.createUser(f.uniq('disabled'));
    disabled = { ...d };
    await server.services.users.update(OP, d.login, { enabled: false });
  });
  afterAll(() => server.close());

  it.each(['/healthz', '/readyz', '/api/v1/openapi.json'])(
    'GET %s answers anonymous callers with 200',
    async (path) => {
      const r = await f.send('GET', path);
      expect(r.status, r.text).toBe(200);
    },
  );

  it.each(['/healthz', '/readyz', '/api/v1/openapi.json'])(
    'GET %s ignores garbage credentials and X-DKU-ProxyUser',
    async (path) => {
      const r = await f.send('GET', path, {
        headers: {
          authorization: 'Bearer garbage',
          'x-dku-apiticket': 'garbage',
          'x-dku-proxyuser': alice.login,
        },
      });
      expect(r.status, r.text).toBe(200);
    },
  );

  it('POST /api/v1/session signs in with the right password', async () => {
    const r = await f.send('POST', '/api/v1/session', {
      body: { login: alice.login, password: alice.password },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.user.login).toBe(alice.login);
    expect(r.headers.get('set-cookie')).toMatch(/coffer_session=.*HttpOnly/i);
  });

  it('POST /api/v1/session refuses a wrong password with 401', async () => {
    const r = await f.send('POST', '/api/v1/session', {
      body: { login: alice.login, password: 'wrong-password-123' },
    });
    expect(r.status, r.text).toBe(401);
    expect(r.headers.get('set-cookie')).toBeNull();
  });

  it('POST /api/v1/session refuses a disabled user with 401', async () => {
    const r = await f.send('POST', '/api/v1/session', {
      body: { login: disabled.login, password: disabled.password },
    });
    expect(r.status, r.text).toBe(401);
  });

  it('POST /api/v1/session refuses an unknown login with 401', async () => {
    const r = await f.send('POST', '/api/v1/session', {
      body: { login: 'nobody-here', password: 'whatever-123' },
    });
    expect(r.status, r.text).toBe(401);
  });
});

// ---------------------------------------------------------------------------------------------------
// Refusals: bad, dead or missing credentials, impersonation, CSRF
// ---------------------------------------------------------------------------------------------------

interface Creds {
  /** The caller the route allows (owner / admin); its own credentials work (checked in beforeAll). */
  allowed: Principal;
  revokedKey: string;
  expiredKey: string;
  forgedKey: string;
  expiredTicket: string;
  revokedTicket: string;
  idleSession: { cookie: string; csrf: string };
  signedOut: { cookie: string; csrf: string };
  /** Key, ticket and session made while enabled, then the user was disabled. */
  disabled: Principal;
  /** Key and ticket made, then the user was deleted. */
  deleted: Principal;
  /** Admin routes only: an administrator whose admin group was then removed (credentials stay live). */
  demoted: Principal;
}

interface RefusalCtx {
  f: Fixture;
  creds: Record<Access, Creds>;
  bystander: Principal;
}

interface Refusal {
  who: string;
  status: number;
  writesOnly?: boolean;
  adminOnly?: boolean;
  head?: boolean;
  path?: (path: string) => string;
  auth: (c: Creds, ctx: RefusalCtx) => RequestOptions;
}

/** `/x/y?q` → `//x/y/?q`: the forms clients send, served by the same route. */
const slashVariant = (path: string) => {
  const [p, q] = path.split('?', 2) as [string, string | undefined];
  return `/${p}/${q === undefined ? '' : `?${q}`}`;
};

const REFUSALS: Refusal[] = [
  { who: 'an anonymous caller', status: 401, auth: () => ({}) },
  {
    who: 'an anonymous caller on the doubled- and trailing-slash form',
    status: 401,
    path: slashVariant,
    auth: () => ({}),
  },
  { who: 'an anonymous HEAD request', status: 401, head: true, auth: () => ({}) },
  { who: 'a revoked API key', status: 401, auth: (c) => ({ key: c.revokedKey }) },
  {
    who: 'a revoked API key sent as Bearer',
    status: 401,
    auth: (c) => ({ headers: { authorization: `Bearer ${c.revokedKey}` } }),
  },
  { who: 'an expired API key', status: 401, auth: (c) => ({ key: c.expiredKey }) },
  { who: 'an API key with a forged secret', status: 401, auth: (c) => ({ key: c.forgedKey }) },
  { who: 'an expired ticket', status: 401, auth: (c) => ({ ticket: c.expiredTicket }) },
  { who: 'a revoked ticket', status: 401, auth: (c) => ({ ticket: c.revokedTicket }) },
  {
    who: 'a ticket of a user who has since been disabled',
    status: 401,
    auth: (c) => ({ ticket: c.disabled.ticket! }),
  },
  { who: 'an API key of a disabled user', status: 401, auth: (c) => ({ key: c.disabled.key }) },
  {
    who: 'a session of a user who has since been disabled',
    status: 401,
    auth: (c) => ({ session: c.disabled.session! }),
  },
  { who: 'an API key of a deleted user', status: 401, auth: (c) => ({ key: c.deleted.key }) },
  { who: 'a ticket of a deleted user', status: 401, auth: (c) => ({ ticket: c.deleted.ticket! }) },
  { who: 'an idle-expired session', status: 401, auth: (c) => ({ session: c.idleSession }) },
  { who: 'a signed-out session', status: 401, auth: (c) => ({ session: c.signedOut }) },
  {
    who: 'a garbage Bearer token',
    status: 401,
    auth: () => ({ headers: { authorization: 'Bearer not-a-real-key' } }),
  },
  {
    who: 'a garbage Basic credential',
    status: 401,
    auth: () => ({ headers: { authorization: `Basic ${b64('garbage:')}` } }),
  },
  {
    who: 'an unknown Authorization scheme',
    status: 401,
    auth: (c) => ({ headers: { authorization: `Digest ${c.allowed.key}` } }),
  },
  {
    who: 'a session token sent as an API key',
    status: 401,
    auth: (c) => ({ headers: { authorization: `Bearer ${sessionToken(c.allowed)}` } }),
  },
  { who: 'an API key sent as a ticket', status: 401, auth: (c) => ({ ticket: c.allowed.key }) },
  { who: 'a garbage ticket', status: 401, auth: () => ({ ticket: 'garbage-ticket' }) },
  // A bad ticket is refused even when a good key rides along: a bad credential is never skipped.
  {
    who: 'a garbage ticket next to a valid API key',
    status: 401,
    auth: (c) => ({ ticket: 'garbage-ticket', key: c.allowed.key }),
  },
  {
    who: 'a garbage session cookie',
    status: 401,
    auth: () => ({ headers: { cookie: 'coffer_session=garbage', 'x-coffer-csrf': 'x' } }),
  },
  {
    who: 'an API key of a demoted administrator',
    status: 403,
    adminOnly: true,
    auth: (c) => ({ key: c.demoted.key }),
  },
  {
    who: 'a ticket of a demoted administrator',
    status: 403,
    adminOnly: true,
    auth: (c) => ({ ticket: c.demoted.ticket! }),
  },
  {
    who: 'a session of a demoted administrator',
    status: 403,
    adminOnly: true,
    auth: (c) => ({ session: c.demoted.session! }),
  },
  {
    who: 'X-DKU-ProxyUser impersonation',
    status: 403,
    auth: (c, ctx) => ({ key: c.allowed.key, headers: { 'x-dku-proxyuser': ctx.bystander.login } }),
  },
  {
    who: 'a cookie session write without the CSRF header',
    status: 403,
    writesOnly: true,
    auth: (c) => ({ headers: { cookie: c.allowed.session!.cookie } }),
  },
  {
    who: 'a cookie session write with a wrong CSRF token',
    status: 403,
    writesOnly: true,
    auth: (c) => ({ session: c.allowed.session!, headers: { 'x-coffer-csrf': 'not-the-token' } }),
  },
];

/** The raw session token out of `coffer_session=<token>`. */
const sessionToken = (p: Principal) => p.session!.cookie.slice(p.session!.cookie.indexOf('=') + 1);

const REFUSAL_CASES = ROUTES.flatMap((e) =>
  REFUSALS.filter(
    (r) =>
      (!r.writesOnly || isWrite(e.method)) &&
      (!r.head || e.method === 'GET') &&
      (!r.adminOnly || e.access === 'admin'),
  ).map((r) => ({
    name: `${routeId(e)} refuses ${r.who} with ${r.status}`,
    entry: e,
    refusal: r,
  })),
);

describe('refusals', () => {
  let server: TestServer;
  let ctx: RefusalCtx;

  beforeAll(async () => {
    server = await TestServer.start(NO_RUNNER);
    const f = new Fixture(server, 'ref');
    f.bystander = await f.quickUser('bystander');
    const idleMs = server.config.limits.sessionIdleMinutes * 60_000;

    // Phase 1: credentials that must be dead once the clock moves past their expiry or idle time.
    const phase1 = async (admin: boolean) => {
      const allowed = await f.fullUser(admin ? 'admin' : 'owner', admin);
      if (!admin) await f.giveOwnerSecrets(allowed);
      const expiring = await server.createKey(allowed.login, { expiresOn: server.clock.now() + 5_000 });
      const expiringTicket = await server.issueTicket(allowed.login, 5_000);
      const idleSession = await server.login(allowed.login, allowed.password!);
      return { allowed, expiredKey: expiring.key, expiredTicket: expiringTicket.ticket, idleSession };
    };
    const early = { user: await phase1(false), admin: await phase1(true) };
    server.clock.advance(idleMs + 60_000);

    // Phase 2: everything else is made after the jump, with lifetimes of an hour or more.
    const phase2 = async (admin: boolean, p: Awaited<ReturnType<typeof phase1>>): Promise<Creds> => {
      const allowed = p.allowed;
      allowed.ticket = (await server.issueTicket(allowed.login, HOUR)).ticket;
      allowed.session = await server.login(allowed.login, allowed.password!);
      const revoked = await server.createKey(allowed.login);
      await server.revokeKey(revoked.id);
      const revokedTicket = await server.issueTicket(allowed.login, HOUR);
      await server.services.tickets.revoke(revokedTicket.id);
      const keyId = /^cofk_([0-9a-f]{16})\./.exec(allowed.key)![1]!;
      const signedOut = await server.login(allowed.login, allowed.password!);
      const out = await f.send('DELETE', '/api/v1/session', { session: signedOut });
      expect(out.status, out.text).toBe(204);

      const disabled = await f.fullUser(admin ? 'disabled-admin' : 'disabled', admin);
      await server.services.users.update(OP, disabled.login, { enabled: false });

      const deleted = await f.quickUser(admin ? 'deleted-admin' : 'deleted', admin);
      deleted.ticket = (await server.issueTicket(deleted.login, HOUR)).ticket;
      await server.services.users.delete(OP, deleted.login);

      const demoted = await f.fullUser('demoted-admin', true);
      await server.services.users.update(OP, demoted.login, { groups: [] });
      // Still a working identity, just no longer an administrator.
      for (const a of [{ key: demoted.key }, { ticket: demoted.ticket! }, { session: demoted.session! }]) {
        const me = await f.send('GET', '/api/v1/me', a);
        expect(me.status, me.text).toBe(200);
        expect(me.json.admin).toBe(false);
      }

      return {
        ...p,
        allowed,
        revokedKey: revoked.key,
        forgedKey: `cofk_${keyId}.${'A'.repeat(43)}`,
        revokedTicket: revokedTicket.ticket,
        signedOut,
        disabled,
        deleted,
        demoted,
      };
    };
    const creds = { user: await phase2(false, early.user), admin: await phase2(true, early.admin) };
    ctx = { f, creds, bystander: f.bystander };

    // The allowed credentials themselves work (so every refusal below is about the bad one); a ticket
    // never opens an admin route, so the admin's ticket shows it works where tickets may go.
    for (const [access, c] of Object.entries(creds)) {
      for (const kind of ALL_KINDS) {
        const path = access === 'admin' && kind !== 'ticket' ? '/api/v1/admin/users' : '/api/v1/me';
        const r = await f.send('GET', path, KINDS[kind].auth(c.allowed));
        expect(r.status, `${access} via ${kind}: ${r.text}`).toBe(200);
      }
    }
  });
  afterAll(() => server.close());

  it.each(REFUSAL_CASES.map((c) => [c.name, c] as const))('%s', async (_name, { entry, refusal }) => {
    const c = ctx.creds[entry.access];
    const call = await entry.call(ctx.f, c.allowed);
    const method = refusal.head ? 'HEAD' : entry.method;
    const path = refusal.path ? refusal.path(call.path) : call.path;
    const r = await ctx.f.send(method, path, opts(call, refusal.auth(c, ctx)));
    if (entry.page && refusal.status === 401) {
      expect(r.status, r.text).toBe(303);
      expect(r.headers.get('location')).toBe(`/login?next=${encodeURIComponent(path)}`);
      return;
    }
    expect(r.status, r.text).toBe(refusal.status);
    if (entry.page) {
      if (!refusal.head) expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    } else if (!refusal.head) {
      // Errors are JSON in the shape of the API they come from.
      expect(r.json, r.text).toBeDefined();
      if (entry.route.startsWith('/api/v1/')) expect(r.json.error?.code).toBeTypeOf('string');
      else expect(r.json.message).toBeTypeOf('string');
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// The owner (or, for admin routes, an administrator) succeeds through every credential kind
// ---------------------------------------------------------------------------------------------------

const allowedName = (e: Entry) => (e.access === 'admin' ? 'an admin' : 'the owner');

const ticketName = (t: TicketSpec) =>
  t.rule === 'own-project'
    ? 'a job ticket of its project'
    : t.rule === 'own-job'
      ? 'its job ticket'
      : 'a job ticket';

/** Every kind of credential on every route; a ticket only where the route lets one in. */
const SUCCESS_CASES = ROUTES.flatMap((e) =>
  (e.via ?? ALL_KINDS)
    .filter((kind) => kind !== 'ticket' || e.ticket.rule !== 'refused')
    .map((kind) => ({
      name: `${routeId(e)} lets ${allowedName(e)} succeed via ${kind === 'ticket' ? ticketName(e.ticket) : KINDS[kind].label} (${e.ok})`,
      entry: e,
      kind,
    })),
);

/**
 * A route closed to tickets refuses the allowed caller's (an admin's, on admin routes) job ticket,
 * scoped to the very project or job the call names, with a 403 that names the limit.
 */
const TICKET_REFUSAL_CASES = ROUTES.flatMap((e) =>
  e.ticket.rule === 'refused'
    ? [
        {
          name: `${routeId(e)} refuses ${allowedName(e)}'s job ticket with 403: it cannot ${e.ticket.limit.source.replace(/\\/g, '')}`,
          entry: e,
          limit: e.ticket.limit,
        },
      ]
    : [],
);

describe('the allowed caller succeeds', () => {
  let server: TestServer;
  let f: Fixture;
  let owner: Principal;
  let admin: Principal;

  beforeAll(async () => {
    server = await TestServer.start(NO_RUNNER);
    f = new Fixture(server, 'ok');
    f.bystander = await f.quickUser('bystander');
    owner = await f.giveOwnerSecrets(await f.fullUser('owner'));
    admin = await f.fullUser('admin', true);
  });
  afterAll(() => server.close());

  it.each(SUCCESS_CASES.map((c) => [c.name, c] as const))('%s', async (_name, { entry, kind }) => {
    let as = entry.access === 'admin' ? admin : owner;
    if (entry.fresh)
      as = await f.fullUser(entry.access === 'admin' ? 'fresh-admin' : 'fresh', entry.access === 'admin');
    const call = await entry.call(f, as);
    const reveal = call.reveal === true && as === owner;
    const auth = kind === 'ticket' ? { ticket: await f.ticketFor(as, call) } : KINDS[kind].auth(as);
    const r = await f.send(entry.method, call.path, opts(call, auth), reveal);
    expect(r.status, r.text).toBe(entry.ok);
    entry.check?.(r, as);
  });

  describe('except through a job ticket, where the route does not let one in', () => {
    it.each(TICKET_REFUSAL_CASES.map((c) => [c.name, c] as const))('%s', async (_name, { entry, limit }) => {
      const as = entry.access === 'admin' ? admin : owner;
      const call = await entry.call(f, as);
      const before = await f.ownerState(owner);
      const keysBefore = (await server.services.apiKeys.listAll(OP)).map((k) => k.id);
      const r = await f.send(entry.method, call.path, opts(call, { ticket: await f.ticketFor(as, call) }));
      expectTicketLimit(r, limit);
      // Nothing was made or changed: the live keys are the same ones, the owner's state too.
      expect((await server.services.apiKeys.listAll(OP)).map((k) => k.id)).toEqual(keysBefore);
      expect(await f.ownerState(owner)).toEqual(before);
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// Another (non-admin) user, and an administrator, against the owner's data
// ---------------------------------------------------------------------------------------------------

/** The owner's secret names and key ids must not show up for others, unless the request named them. */
function expectNoOwnerTokens(r: Reply, call: Call, tokens: readonly string[]) {
  const asked = call.path + JSON.stringify(call.body ?? null);
  for (const t of tokens) {
    if (!asked.includes(t)) expect(r.text, `the response shows the owner's ${t}`).not.toContain(t);
  }
}

/**
 * The actor (another user, or an administrator) makes the column's call against a fresh owner's data,
 * with their API key or, `viaTicket`, with a job ticket of theirs scoped to what the call names. An
 * administrator's ticket has no administrator rights, so it must leave the owner exactly as it was.
 */
async function runColumn(f: Fixture, entry: Entry, col: Column, actorIsAdmin: boolean, viaTicket = false) {
  const owner = await f.owner({ session: col.ownerSession === true });
  const actor = await f.actor(actorIsAdmin);
  const call = col.call ? await col.call(f, actor, owner, '') : await entry.call(f, actor);
  const before = await f.ownerState(owner);
  expect(before.secrets).toEqual([...OWNER_REVEAL].sort((a, b) => a.key.localeCompare(b.key)));
  expect(before.credentials).toEqual([
    { place: `${PARAMETER_SET}/${PRESET}/token`, value: OWNER_CREDENTIAL },
  ]);

  const auth = viaTicket ? { ticket: await f.ticketFor(actor, call) } : (call.auth ?? { key: actor.key });
  const r = await f.send(entry.method, call.path, opts(call, auth));
  expect(r.status, r.text).toBe(col.status);
  col.check?.(r, actor, owner);
  await col.after?.(f, actor, owner, call);

  const after = await f.ownerState(owner);
  if (actorIsAdmin && !viaTicket) {
    // An admin may manage accounts and keys, but no secret value or plugin credential changes or shows;
    // account recovery destroys them instead.
    expect(after.secrets).toEqual(col.destroysOwnerSecrets ? [] : before.secrets);
    expect(after.credentials).toEqual(col.destroysOwnerSecrets ? [] : before.credentials);
    if (entry.access === 'user' && !/:id$/.test(entry.route)) {
      expectNoOwnerTokens(r, call, [...OWNER_NAMES, ...before.keys.map((k) => k.id)]);
    }
  } else {
    expect(after).toEqual(before);
    expectNoOwnerTokens(r, call, [...OWNER_NAMES, ...before.keys.map((k) => k.id)]);
  }
}

const OTHER_CASES = ROUTES.map((e) => ({
  name:
    e.other.status >= 400
      ? `${routeId(e)} refuses another (non-admin) user with ${e.other.status}`
      : `${routeId(e)} shows and changes nothing of the owner's for another (non-admin) user (${e.other.status})`,
  entry: e,
}));

describe('another (non-admin) user', () => {
  let server: TestServer;
  let f: Fixture;
  beforeAll(async () => {
    server = await TestServer.start(NO_RUNNER);
    f = new Fixture(server, 'oth');
    f.bystander = await f.quickUser('bystander');
  });
  afterAll(() => server.close());

  it.each(OTHER_CASES.map((c) => [c.name, c] as const))('%s', async (_name, { entry }) => {
    await runColumn(f, entry, entry.other, false);
  });
});

const ADMIN_CASES = ROUTES.map((e) => ({
  name: e.admin.destroysOwnerSecrets
    ? `${routeId(e)} destroys another user's secrets and gives an admin none of their values (${e.admin.status})`
    : `${routeId(e)} gives an admin no secret value of another user (${e.admin.status})`,
  entry: e,
}));

describe('an administrator', () => {
  let server: TestServer;
  let f: Fixture;
  beforeAll(async () => {
    server = await TestServer.start(NO_RUNNER);
    f = new Fixture(server, 'adm');
    f.bystander = await f.quickUser('bystander');
  });
  afterAll(() => server.close());

  it.each(ADMIN_CASES.map((c) => [c.name, c] as const))('%s', async (_name, { entry }) => {
    await runColumn(f, entry, entry.admin, true);
  });
});

// ---------------------------------------------------------------------------------------------------
// Job tickets: an administrator's has no administrator rights; none reaches beyond its project or job
// ---------------------------------------------------------------------------------------------------

/**
 * What an administrator's job ticket gets with the admin column's call: the route's ticket refusal, or
 * where tickets may go, what the admin's key gets unless the entry says (admin rights are withheld).
 */
function adminTicketColumn(e: Entry): Column {
  if (e.ticket.rule === 'refused') {
    const limit = e.ticket.limit;
    return { ...e.admin, status: 403, check: (r) => expectTicketLimit(r, limit), after: undefined };
  }
  return e.ticket.admin ?? { ...e.admin, after: undefined };
}

const ADMIN_TICKET_CASES = ROUTES.map((e) => ({
  name:
    e.ticket.rule === 'refused'
      ? `${routeId(e)} refuses an administrator's job ticket with 403 naming the ticket's limit`
      : `${routeId(e)} gives an administrator's job ticket no administrator rights (${adminTicketColumn(e).status})`,
  entry: e,
}));

describe("an administrator's job ticket", () => {
  let server: TestServer;
  let f: Fixture;
  beforeAll(async () => {
    server = await TestServer.start(NO_RUNNER);
    f = new Fixture(server, 'admt');
    f.bystander = await f.quickUser('bystander');
  });
  afterAll(() => server.close());

  it.each(ADMIN_TICKET_CASES.map((c) => [c.name, c] as const))('%s', async (_name, { entry }) => {
    await runColumn(f, entry, adminTicketColumn(entry), true, true);
  });

  it.each(DSS_PREFIXES)(
    "GET %s/current-user: an administrator's key sees their admin properties, their job's ticket does not",
    async (prefix) => {
      const admin = await f.actor(true);
      const byKey = await f.send('GET', `${prefix}/current-user`, { key: admin.key });
      expect(byKey.status, byKey.text).toBe(200);
      expect(byKey.json).toHaveProperty('adminProperties');
      const ticket = (await server.issueTicket(admin.login, HOUR)).ticket;
      const byTicket = await f.send('GET', `${prefix}/current-user`, { ticket });
      expect(byTicket.status, byTicket.text).toBe(200);
      expect(byTicket.json.login).toBe(admin.login);
      expect(byTicket.json).not.toHaveProperty('adminProperties');
    },
  );

  it.each(
    DSS_PREFIXES.flatMap((prefix) =>
      (
        [
          ['groups', (g: string[]) => ({ groups: [...g, 'set-by-a-job'] })],
          ['userProfile', () => ({ userProfile: 'READER' })],
          ['adminProperties', () => ({ adminProperties: { 'set-by': 'a-job' } })],
        ] as const
      ).map(([field, body]) => [prefix, field, body] as const),
    ),
  )(
    "PUT %s/current-user: an administrator's job ticket cannot change their %s (403 naming the limit); their key can",
    async (prefix, field, body) => {
      const admin = await f.actor(true);
      const groups = [...(await server.services.users.get(OP, admin.login)).groups];
      const ticket = (await server.issueTicket(admin.login, HOUR)).ticket;
      const r = await f.send('PUT', `${prefix}/current-user`, { ticket, body: body(groups) });
      expectTicketLimit(r, new RegExp(`change ${field}, even when its user is an administrator`));
      const unchanged = await server.services.users.get(OP, admin.login);
      expect([...unchanged.groups]).toEqual(groups);
      expect(unchanged.userProfile).toBe('DATA_SCIENTIST');
      expect(unchanged.adminProperties).toEqual({});
      const byKey = await f.send('PUT', `${prefix}/current-user`, { key: admin.key, body: body(groups) });
      expect(byKey.status, byKey.text).toBe(200);
    },
  );
});

/** The ticket's scope, aimed wrong: the same owner's other project, no project, another job of theirs. */
interface ScopeMiss {
  why: string;
  limit: RegExp;
  /** The ticket's scope, given the call (as the owner makes it) and the owner. */
  scope: (f: Fixture, owner: Principal, call: Call) => Promise<{ project?: string; job?: string }>;
  /** Changes the call (drops the project it names). */
  path?: (path: string) => string;
}

const PROJECT_MISSES: ScopeMiss[] = [
  {
    why: "a ticket of another project of the owner's",
    limit: /act on project [A-Z]/,
    scope: async (f, owner) => ({ project: await f.project(owner) }),
  },
  {
    why: 'a ticket of no project',
    limit: /act on project [A-Z]/,
    scope: async () => ({}),
  },
];
const QUERY_MISS: ScopeMiss = {
  why: 'its own project’s ticket when the call does not name the project',
  limit: /act outside its own project \(name it: \?project=<key>\)/,
  scope: async (_f, _o, call) => ({ project: /[?&]project=([^&]+)/.exec(call.path)![1]! }),
  path: (path) => path.split('?')[0]!,
};
const JOB_MISSES: ScopeMiss[] = [
  {
    why: "the ticket of another job of the owner's",
    limit: /see job \S+, which is not its own/,
    scope: async (f, owner) => ({ job: await f.job(owner) }),
  },
  {
    why: "a ticket of the job's project but of no job",
    limit: /see job \S+, which is not its own/,
    scope: async (f, _o, call) => ({
      project: await f.projectOfJob(/^\/api\/v1\/jobs\/([^/?]+)/.exec(call.path)![1]!),
    }),
  },
];

const SCOPE_MISS_CASES = ROUTES.flatMap((e) => {
  const misses =
    e.ticket.rule === 'own-project'
      ? [...PROJECT_MISSES, ...(e.route === '/api/v1/jobs' ? [QUERY_MISS] : [])]
      : e.ticket.rule === 'own-job'
        ? JOB_MISSES
        : [];
  return misses.map((miss) => ({
    name: `${routeId(e)} refuses ${miss.why} with 403 naming the ticket's limit`,
    entry: e,
    miss,
  }));
});

describe('a job ticket reaches only its own project and job', () => {
  let server: TestServer;
  let f: Fixture;
  let owner: Principal;
  beforeAll(async () => {
    server = await TestServer.start(NO_RUNNER);
    f = new Fixture(server, 'scope');
    owner = await f.giveOwnerSecrets(await f.fullUser('owner'));
  });
  afterAll(() => server.close());

  it('covers every route a ticket reaches in a project or a job', () => {
    expect(new Set(SCOPE_MISS_CASES.map((c) => routeId(c.entry)))).toEqual(
      new Set(ROUTES.filter((e) => ['own-project', 'own-job'].includes(e.ticket.rule)).map(routeId)),
    );
  });

  it.each(SCOPE_MISS_CASES.map((c) => [c.name, c] as const))('%s', async (_name, { entry, miss }) => {
    const call = await entry.call(f, owner);
    const ticket = (await server.issueTicket(owner.login, HOUR, await miss.scope(f, owner, call))).ticket;
    const path = miss.path ? miss.path(call.path) : call.path;
    const r = await f.send(entry.method, path, opts(call, { ticket }));
    expectTicketLimit(r, miss.limit);
    // With the right scope the same call goes through: the refusal was the scope's.
    const right = await f.send(
      entry.method,
      call.path,
      opts(call, { ticket: await f.ticketFor(owner, call) }),
    );
    expect(right.status, right.text).toBe(entry.ok);
  });
});

// ---------------------------------------------------------------------------------------------------
// Administrators never read a value: the explicit cases
// ---------------------------------------------------------------------------------------------------

describe("administrators never read another user's secret values", () => {
  let server: TestServer;
  let f: Fixture;
  let owner: Principal;
  let admin: Principal;
  beforeAll(async () => {
    server = await TestServer.start(NO_RUNNER);
    f = new Fixture(server, 'never');
    owner = await f.owner();
    admin = await f.actor(true);
  });
  afterAll(() => server.close());

  it.each(['/api/v1/auth/info', ...DSS_PREFIXES.map((p) => `${p}/auth/info`)])(
    "%s?withSecrets=true by an admin returns only the admin's own secrets",
    async (path) => {
      const r = await f.send('GET', `${path}?withSecrets=true`, { key: admin.key });
      expect(r.status, r.text).toBe(200);
      expectOnlyOwnSecrets(r, admin);
    },
  );

  /*
   * An administrator must not get at a value by becoming the owner either. Each flow below uses only
   * routes an admin may call; no response may carry the owner's values (send() checks every response;
   * none of these is the owner's own code reading).
   */
  const VALUE_READS = ['/api/v1/auth/info', ...DSS_PREFIXES.map((p) => `${p}/auth/info`)];

  it.each(DSS_PREFIXES)(
    'POST %s/admin/personal-api-keys for another user makes a delegated key: auth/info?withSecrets=true answers it 403',
    async (prefix) => {
      const victim = await f.owner();
      const minted = await f.send('POST', `${prefix}/admin/personal-api-keys/`, {
        key: admin.key,
        body: { user: victim.login, label: 'minted-by-admin' },
      });
      expect(minted.status, minted.text).toBe(200);
      expect(minted.json.user).toBe(victim.login);
      const key = minted.json.key as string;
      // The key is the victim's identity ...
      const me = await f.send('GET', '/api/v1/me', { key });
      expect(me.status, me.text).toBe(200);
      expect(me.json.login).toBe(victim.login);
      // ... but it reads no value anywhere.
      for (const path of VALUE_READS) {
        const r = await f.send('GET', `${path}?withSecrets=true`, { key });
        expect(r.status, `${path}: ${r.text}`).toBe(403);
        expect(errorMessage(r)).toMatch(/created for you by an administrator/);
        expect(leakedValues(r.text), `${path} answered an admin-minted key with the owner's values`).toEqual(
          [],
        );
      }
      // The victim's values are still theirs, for their own code.
      const mine = await f.send('GET', '/api/v1/auth/info?withSecrets=true', { key: victim.key }, true);
      expect(mine.json.secrets).toEqual(expect.arrayContaining(OWNER_REVEAL));
    },
  );

  it("a key an administrator makes for a user cannot list, enter or delete the user's plugin credentials, nor check a recipe's readiness (403)", async () => {
    const victim = await f.owner();
    const recipe = await ownerPluginRecipe(f, victim);
    const minted = await f.send('POST', `${DSS_PREFIXES[1]}/admin/personal-api-keys/`, {
      key: admin.key,
      body: { user: victim.login, label: 'minted-by-admin' },
    });
    expect(minted.status, minted.text).toBe(200);
    const key = minted.json.key as string;
    const before = await f.ownerState(victim);
    for (const [method, at, body] of [
      ['GET', '/api/v1/me/plugin-credentials', undefined],
      ['PUT', credentialPath(), { value: 'admin-chosen-token' }],
      ['DELETE', credentialPath(), undefined],
      ['GET', `${recipe}/readiness`, undefined],
    ] as const) {
      const r = await f.send(method, at, { key, body });
      expect(r.status, `${method} ${at}: ${r.text}`).toBe(403);
      expect(errorMessage(r)).toMatch(/created for you by an administrator/);
    }
    expect(await f.ownerState(victim)).toEqual(before);
  });

  it("PUT /api/v1/admin/users/:login/password destroys the user's secrets: an admin who signs in as them must change the password, then finds none", async () => {
    const victim = await f.owner();
    const password = 'chosen-by-admin-0123456789';
    const reset = await f.send('PUT', `/api/v1/admin/users/${victim.login}/password`, {
      key: admin.key,
      body: { password },
    });
    expect(reset.status, reset.text).toBe(200);
    expect(reset.json).toEqual({ secretsDeleted: OWNER_SECRETS.length });
    // The victim's old credentials are gone with the secrets.
    expect((await f.send('GET', '/api/v1/me', { key: victim.key })).status).toBe(401);

    const signIn = await f.send('POST', '/api/v1/session', { body: { login: victim.login, password } });
    expect(signIn.status, signIn.text).toBe(200);
    const session = {
      cookie: signIn.headers.get('set-cookie')!.split(';')[0]!,
      csrf: signIn.json.csrfToken as string,
    };
    // Signed in, but the password is the administrator's: nothing but "choose a new one" is open.
    for (const path of VALUE_READS) {
      const r = await f.send('GET', `${path}?withSecrets=true`, { session });
      expect(r.status, `${path}: ${r.text}`).toBe(403);
      expect(errorMessage(r)).toMatch(/choose a new one first/);
    }
    const change = await f.send('PUT', '/api/v1/me/password', {
      session,
      body: { currentPassword: password, newPassword: 'chosen-by-the-user-0123456789' },
    });
    expect(change.status, change.text).toBe(204);
    // With a password of their own, whoever holds it finds the old secrets destroyed.
    for (const path of VALUE_READS) {
      const r = await f.send('GET', `${path}?withSecrets=true`, { session });
      expect(r.status, `${path}: ${r.text}`).toBe(200);
      expect(r.json.associatedDSSUser).toBe(victim.login);
      expect(r.json.secrets).toEqual([]);
    }
    // The owner, once recovered, sees in their activity that the reset deleted their secrets.
    const activity = await f.send('GET', '/api/v1/me/activity', { session });
    expect(activity.status, activity.text).toBe(200);
    const deleted = (activity.json.events as { action: string; secretNames: string[]; actorLogin: string }[])
      .filter((e) => e.action === 'secret.deleted')
      .flatMap((e) => {
        expect(e.actorLogin).toBe(admin.login);
        return e.secretNames;
      });
    expect(deleted.sort()).toEqual([...OWNER_NAMES].sort());
  });

  it.each(DSS_PREFIXES)('GET %s/admin/users/{login} returns markers, not values', async (prefix) => {
    const r = await f.send('GET', `${prefix}/admin/users/${owner.login}`, { key: admin.key });
    expect(r.status, r.text).toBe(200);
    expectMarkers(r, OWNER_NAMES);
  });

  it.each(DSS_PREFIXES)(
    '%s: X-DKU-ProxyUser on auth/info?withSecrets=true is refused with 403, even for an admin',
    async (prefix) => {
      const r = await f.send('GET', `${prefix}/auth/info?withSecrets=true`, {
        key: admin.key,
        headers: { 'x-dku-proxyuser': owner.login },
      });
      expect(r.status, r.text).toBe(403);
    },
  );

  it.each(DSS_PREFIXES)(
    "%s: an admin may set another user's secret (write-only); the answer and later reads carry only markers",
    async (prefix) => {
      const target = await f.owner();
      const got = await f.send('GET', `${prefix}/admin/users/${target.login}`, { key: admin.key });
      expect(got.status, got.text).toBe(200);
      const written = `admin-written-value-${target.login}`;
      const body = {
        ...got.json,
        secrets: [...got.json.secrets, { name: 'set-by-admin', value: written, secret: true }],
      };
      const put = await f.send('PUT', `${prefix}/admin/users/${target.login}`, { key: admin.key, body });
      expect(put.status, put.text).toBe(200);
      expect(put.text).not.toContain(written);
      expectMarkers(put, [...OWNER_NAMES, 'set-by-admin']);
      const again = await f.send('GET', `${prefix}/admin/users/${target.login}`, { key: admin.key });
      expect(again.text).not.toContain(written);
      // The owner's code reads the new value and keeps the old ones.
      const mine = await f.send('GET', `${prefix}/auth/info?withSecrets=true`, { key: target.key }, true);
      expect(mine.json.secrets).toEqual(
        expect.arrayContaining([...OWNER_REVEAL, { key: 'set-by-admin', value: written }]),
      );
    },
  );
});

// ---------------------------------------------------------------------------------------------------
// A non-admin cannot raise their own rights or act for someone else through the self-service routes
// ---------------------------------------------------------------------------------------------------

const ESCALATIONS: { what: string; status: number; body: (owner: Principal) => Record<string, unknown> }[] = [
  { what: 'join the administrators group', status: 403, body: () => ({ groups: ['administrators'] }) },
  { what: 'change their user profile', status: 403, body: () => ({ userProfile: 'ADMIN' }) },
  { what: 'set admin properties', status: 403, body: () => ({ adminProperties: { role: 'admin' } }) },
  { what: 'disable themself', status: 403, body: () => ({ enabled: false }) },
  {
    what: "save settings under another user's login",
    status: 400,
    body: (owner) => ({ login: owner.login }),
  },
];

describe('self-service routes give no extra rights', () => {
  let server: TestServer;
  let f: Fixture;
  let owner: Principal;
  beforeAll(async () => {
    server = await TestServer.start(NO_RUNNER);
    f = new Fixture(server, 'esc');
    owner = await f.owner();
  });
  afterAll(() => server.close());

  it.each(
    DSS_PREFIXES.flatMap((prefix) =>
      ESCALATIONS.map(
        (e) => [`PUT ${prefix}/current-user: a user cannot ${e.what} (${e.status})`, prefix, e] as const,
      ),
    ),
  )('%s', async (_name, prefix, e) => {
    const me = await f.actor(false);
    const before = await f.ownerState(owner);
    const r = await f.send('PUT', `${prefix}/current-user`, { key: me.key, body: e.body(owner) });
    expect(r.status, r.text).toBe(e.status);
    const user = await server.services.users.get(OP, me.login);
    expect(user.isAdmin).toBe(false);
    expect(user.enabled).toBe(true);
    expect(user.userProfile).toBe('DATA_SCIENTIST');
    expect(user.adminProperties).toEqual({});
    expect(await f.ownerState(owner)).toEqual(before);
  });

  it.each(DSS_PREFIXES)(
    'POST %s/personal-api-keys with a "user" field still makes the caller\'s own key',
    async (prefix) => {
      const me = await f.actor(false);
      const before = await f.ownerState(owner);
      const r = await f.send('POST', `${prefix}/personal-api-keys/`, {
        key: me.key,
        body: { user: owner.login, label: 'x' },
      });
      expect([200, 400], r.text).toContain(r.status);
      if (r.status === 200) expect(r.json.user).toBe(me.login);
      expect(await f.ownerState(owner)).toEqual(before);
    },
  );

  it('POST /api/v1/me/api-keys cannot make a key for another user (400)', async () => {
    const me = await f.actor(false);
    const before = await f.ownerState(owner);
    const r = await f.send('POST', '/api/v1/me/api-keys', {
      key: me.key,
      body: { forLogin: owner.login, user: owner.login },
    });
    expect(r.status, r.text).toBe(400);
    expect(await f.ownerState(owner)).toEqual(before);
  });

  it('PUT /api/v1/me/password by a key still needs the current password (400); a ticket cannot at all (403)', async () => {
    const me = await f.actor(false);
    const body = { currentPassword: '', newPassword: 'attacker-chosen-123' };
    const byKey = await f.send('PUT', '/api/v1/me/password', { key: me.key, body });
    expect(byKey.status, byKey.text).toBe(400);
    const ticket = (await server.issueTicket(me.login, HOUR)).ticket;
    expectTicketLimit(await f.send('PUT', '/api/v1/me/password', { ticket, body }), /change a password/);
  });
});

// ---------------------------------------------------------------------------------------------------
// The whole file: no response carried the owner's plaintext outside the owner's own reads
// ---------------------------------------------------------------------------------------------------

describe('no response in this file leaked the owner’s plaintext', () => {
  it('checked every response received (runs last)', () => {
    expect(SEEN.length).toBeGreaterThan(1000);
    const leaks = SEEN.filter((s) => !s.reveal && leakedValues(s.text).length > 0).map((s) => s.what);
    expect(leaks).toEqual([]);
    expect(SEEN.filter((s) => s.text.includes(OWNER_CREDENTIAL)).map((s) => s.what)).toEqual([]);
    // The owner's own code did read the values (the check above is not vacuous).
    expect(SEEN.some((s) => s.reveal && leakedValues(s.text).length === OWNER_VALUES.length)).toBe(true);
  });
});
