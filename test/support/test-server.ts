import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import {
  buildApp,
  loadConfig,
  openRuntime,
  type AuditPruner,
  type Config,
  type Services,
  type Store,
} from '@coffer/server';
import { databaseFor, dropTestDatabase, testStore } from './test-store.js';

/** A clock tests can move forward, shared by the server and the test. */
export class TestClock {
  offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export interface Auth {
  key?: string;
  ticket?: string;
  session?: { cookie: string; csrf: string };
}

export interface RequestOptions extends Auth {
  body?: unknown;
  /** Sent as is: bytes for a body that is not valid UTF-8. */
  rawBody?: string | Uint8Array;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface TestUser {
  login: string;
  password: string;
  key: string;
}

/**
 * A real Coffer server on a random port with a fresh data directory, started in this process so tests
 * can use factories. Logs go to a file in the data dir (at debug level) so tests can scan them.
 */
export class TestServer {
  private constructor(
    readonly url: string,
    readonly dataDir: string,
    readonly logFile: string,
    readonly config: Config,
    readonly services: Services,
    readonly clock: TestClock,
    readonly routes: { method: string; url: string; access: string; ticket: string }[],
    /** The store this server runs on (SQLite or PostgreSQL, per the test run). */
    readonly store: Store,
    /** The server's own audit retention, which prunes at start and then every few minutes. */
    readonly auditPruner: AuditPruner,
    private readonly stop: () => Promise<void>,
  ) {}

  /** Which store this server runs on: the run's (COFFER_TEST_STORE), or the one a test gave it. */
  get storeKind(): Store['kind'] {
    return this.store.kind;
  }

  /** The PostgreSQL database made for this server's data directory, dropped with it. */
  private ownDatabase: string | undefined;

  /**
   * `hooks.store` may wrap the store the app is built on (say, to count what queries return); the
   * server's `store` stays the unwrapped one.
   */
  static async start(
    env: Record<string, string> = {},
    overrides: Partial<Config> = {},
    hooks: { store?: (s: Store) => Store; port?: number } = {},
  ): Promise<TestServer> {
    const dataDir = env.COFFER_DATA_DIR ?? mkdtempSync(path.join(tmpdir(), 'coffer-test-'));
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // On the PostgreSQL run each data directory gets a database of its own (the same one on a restart).
    const database =
      testStore === 'postgres' && !env.COFFER_DATABASE_URL
        ? { COFFER_DATABASE_URL: await databaseFor(dataDir) }
        : {};
    const config: Config = {
      ...loadConfig({
        COFFER_DATA_DIR: dataDir,
        COFFER_PORT: '0',
        COFFER_LOG_LEVEL: 'debug',
        ...database,
        ...env,
      }),
      ...overrides,
    };
    const logFile = path.join(dataDir, 'server.log');
    const logger = pino(
      {
        level: 'debug',
        redact: { paths: (await import('@coffer/server')).REDACT_PATHS, censor: '[redacted]' },
      },
      pino.destination({ dest: logFile, sync: true }),
    );
    const clock = new TestClock();
    const { store, keyring } = await openRuntime(config, clock);
    const { app, services, routes, auditPruner } = await buildApp({
      config,
      store: hooks.store ? hooks.store(store) : store,
      keyring,
      clock,
      logger,
    });
    // A restart may take the port it had, so a page open in a browser finds it again.
    const address = await app.listen({ host: '127.0.0.1', port: hooks.port ?? 0 });
    const server = new TestServer(
      address,
      dataDir,
      logFile,
      config,
      services,
      clock,
      routes,
      store,
      auditPruner,
      async () => {
        await app.close();
        await store.close();
      },
    );
    server.ownDatabase = database.COFFER_DATABASE_URL;
    return server;
  }

  async close(opts: { keepData?: boolean } = {}): Promise<void> {
    await this.stop();
    if (opts.keepData) return;
    rmSync(this.dataDir, { recursive: true, force: true });
    if (this.ownDatabase) await dropTestDatabase(this.ownDatabase);
  }

  /** Creates a user through the service layer (as the operator) and gives them a personal API key. */
  async createUser(login: string, opts: { admin?: boolean; password?: string } = {}): Promise<TestUser> {
    const password = opts.password ?? `pw-${login}-0123456789`;
    const operator = { kind: 'operator', name: 'cli' } as const;
    await this.services.users.create(operator, {
      login,
      password,
      groups: opts.admin ? ['administrators'] : [],
    });
    const { key } = await this.services.apiKeys.create(operator, { forLogin: login, label: 'test' });
    return { login, password, key };
  }

  async createKey(login: string, opts: { expiresOn?: number } = {}): Promise<{ key: string; id: string }> {
    const r = await this.services.apiKeys.create(
      { kind: 'operator', name: 'cli' },
      { forLogin: login, label: 'extra', expiresOn: opts.expiresOn },
    );
    return { key: r.key, id: r.info.id };
  }

  async revokeKey(id: string): Promise<void> {
    await this.services.apiKeys.revoke({ kind: 'operator', name: 'cli' }, id);
  }

  /**
   * Issues a ticket as the job runner would. With no scope it acts on no project; `project` (a key)
   * scopes it to that project, `job` (an id) binds it to that job and, unless `project` says otherwise,
   * to the job's project.
   */
  async issueTicket(
    login: string,
    ttlMs = 60_000,
    scope: { project?: string; job?: string } = {},
  ): Promise<{ ticket: string; id: string }> {
    const u = await this.services.users.get({ kind: 'operator', name: 'cli' }, login);
    const db = this.store.db;
    let projectId: string | undefined;
    if (scope.project !== undefined) {
      const p = await db
        .selectFrom('projects')
        .select('id')
        .where('key', '=', scope.project)
        .executeTakeFirst();
      if (!p) throw new Error(`issueTicket: no project ${scope.project}`);
      projectId = p.id;
    } else if (scope.job !== undefined) {
      const j = await db
        .selectFrom('jobs')
        .select('project_id')
        .where('id', '=', scope.job)
        .executeTakeFirst();
      if (!j) throw new Error(`issueTicket: no job ${scope.job}`);
      projectId = j.project_id;
    }
    const t = await this.services.tickets.issue(u.id, { jobId: scope.job, projectId, ttlMs });
    return { ticket: t.ticket, id: t.id };
  }

  /** Signs in through the HTTP API, as a browser would. */
  async login(login: string, password: string): Promise<{ cookie: string; csrf: string }> {
    const r = await this.request('POST', '/api/v1/session', { body: { login, password } });
    if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
    const setCookie = r.headers.get('set-cookie') ?? '';
    const cookie = setCookie.split(';')[0]!;
    return { cookie, csrf: r.json.csrfToken as string };
  }

  async request(method: string, urlPath: string, opts: RequestOptions = {}): Promise<Reply> {
    return httpRequest(this.url, method, urlPath, opts);
  }
}

/**
 * One HTTP request to a Coffer server, in-process or a child: `key` goes as HTTP Basic `key:` (what
 * dataikuapi sends), `ticket` as X-DKU-APITicket, `session` as the cookie plus its CSRF header on writes.
 */
export async function httpRequest(
  baseUrl: string,
  method: string,
  urlPath: string,
  opts: RequestOptions = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key !== undefined)
    headers.authorization = `Basic ${Buffer.from(`${opts.key}:`).toString('base64')}`;
  if (opts.ticket !== undefined) headers['x-dku-apiticket'] = opts.ticket;
  if (opts.session) {
    headers.cookie = opts.session.cookie;
    if (!['GET', 'HEAD'].includes(method)) headers['x-coffer-csrf'] ??= opts.session.csrf;
  }
  let body: string | Uint8Array | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(baseUrl + urlPath, {
    method,
    headers,
    body: body as BodyInit | undefined,
    signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
    // Redirects are answers to check (a page sends the anonymous to sign in), not to follow.
    redirect: 'manual',
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
