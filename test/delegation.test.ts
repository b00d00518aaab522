/**
 * Credentials an administrator sets for another user never read that user's secret values
 * (docs/adr/0005). Without this, "administrators never read values" would be one call away from false:
 * make a key for the user, or reset their password and sign in. The policy:
 *   1. An API key an administrator creates over HTTP for another user is delegated: it is that user's
 *      identity, but it cannot read values (auth/info?withSecrets=true), create API keys, or use the
 *      browser-header helpers; nor change code, membership or projects, nor run code (docs/adr/0013):
 *      otherwise the administrator could plant code that the user then runs with their own values.
 *      Keys the CLI operator creates are ordinary.
 *   2. Code run by the platform (a ticket) cannot create lasting API keys (ticket-scope.test.ts and the
 *      authorization matrix cover the rest of what a ticket may not do).
 *   3. An administrator's reset of another user's password is account recovery: the user's secrets and
 *      data key are destroyed, every credential of theirs ends, and they must choose a new password.
 *   4. A password an administrator set over HTTP (user creation or reset) opens only "who am I", sign-out
 *      and "change my password" until the user has chosen their own.
 * The test harness's createUser/createKey act as the CLI operator, so what they make is unrestricted.
 */
import type { Caller } from '@coffer/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type Reply, type RequestOptions, type TestUser } from './support/test-server.js';

const OP = { kind: 'operator', name: 'cli' } as const;
const DSS_PREFIXES = ['/dip/publicapi', '/public/api'] as const;

/** The only routes that return secret values. */
const VALUE_READS = ['/api/v1/auth/info', ...DSS_PREFIXES.map((p) => `${p}/auth/info`)];
/** Routes that make a key for the caller, and what they answer on success. */
const OWN_KEY_ROUTES = [
  ['/api/v1/me/api-keys', 201],
  ...DSS_PREFIXES.map((p) => [`${p}/personal-api-keys`, 200] as const),
] as const;
/** Routes where an administrator makes a key for any user. */
const ADMIN_KEY_ROUTES = DSS_PREFIXES.map((p) => `${p}/admin/personal-api-keys`);
/** The webapp helpers that act for the user whose browser headers they are given. */
const BROWSER_ROUTES = DSS_PREFIXES.flatMap((p) => [
  `${p}/auth/info-from-browser-headers?withSecrets=true`,
  `${p}/auth/ticket-from-browser-headers`,
]);
/** What a session whose password an administrator set may still call. */
const BEFORE_PASSWORD_CHANGE = [
  'GET /api/v1/session',
  'DELETE /api/v1/session',
  'GET /api/v1/me',
  'PUT /api/v1/me/password',
];

const DELEGATED = /created for you by an administrator/;
const MUST_CHANGE = /choose a new one first/;
const NO_KEYS_FROM_TICKETS = /^a job's ticket cannot create lasting API keys: code run by the platform/;
const NO_ADMIN_TICKETS =
  /^a job's ticket cannot use administrator rights, even when its user is an administrator/;

/** Every secret value stored in this file: none may show in a response but its owner's own read. */
const VALUES = new Set<string>();
let responsesChecked = 0;

/** The error message of a Coffer (`{error: {message}}`) or DSS (`{message}`) error body. */
const errorMessage = (r: Reply): string => String(r.json?.error?.message ?? r.json?.message ?? r.text);

interface Secret {
  key: string;
  value: string;
}
interface Person extends TestUser {
  secrets: Secret[];
}
type Session = { cookie: string; csrf: string };

class Harness {
  private n = 0;
  constructor(
    readonly s: TestServer,
    readonly tag: string,
  ) {}

  uniq(prefix: string): string {
    this.n += 1;
    return `${prefix}-${this.tag}-${this.n}`;
  }

  /** Sends a request; unless it is the owner's own code reading (`reveal`), no stored value may show. */
  async send(method: string, urlPath: string, opts: RequestOptions = {}, reveal = false): Promise<Reply> {
    const r = await this.s.request(method, urlPath, opts);
    responsesChecked += 1;
    if (!reveal) {
      const leaked = [...VALUES].filter((v) => r.text.includes(v));
      expect(leaked, `${method} ${urlPath} showed a secret value: ${r.text}`).toEqual([]);
    }
    return r;
  }

  /** A user made by the CLI operator (unrestricted): password, API key, and `secrets` secrets. */
  async person(prefix: string, opts: { admin?: boolean; secrets?: number } = {}): Promise<Person> {
    const u = await this.s.createUser(this.uniq(prefix), { admin: opts.admin });
    const secrets: Secret[] = [];
    for (let i = 0; i < (opts.secrets ?? 2); i++) {
      const secret = { key: `secret-${i}`, value: `plaintext-of-${u.login}-${i}-Qx7!` };
      VALUES.add(secret.value);
      const r = await this.send('PUT', `/api/v1/me/secrets/${secret.key}`, {
        key: u.key,
        body: { value: secret.value },
      });
      expect(r.status, r.text).toBe(201);
      secrets.push(secret);
    }
    return { ...u, secrets };
  }

  /** A user caller as the HTTP layer would make it for `login` (an ordinary, unrestricted credential). */
  async callerOf(login: string): Promise<Caller> {
    const user = await this.s.services.users.get(OP, login);
    return { kind: 'user', user, source: 'PERSONAL_API_KEY', credentialId: 'delegation-test' };
  }

  async liveKeyIds(): Promise<string[]> {
    return (await this.s.services.apiKeys.listAll(OP)).map((k) => k.id).sort();
  }

  /** The owner's own code reads their values with `auth`; they must be exactly `secrets`. */
  async expectReads(auth: RequestOptions, secrets: readonly Secret[]): Promise<void> {
    for (const p of VALUE_READS) {
      const r = await this.send('GET', `${p}?withSecrets=true`, auth, true);
      expect(r.status, `${p}: ${r.text}`).toBe(200);
      expect(sortSecrets(r.json.secrets as Secret[]), p).toEqual(sortSecrets(secrets));
    }
  }

  /** Signs in through the HTTP API; the password must be right. */
  async signIn(login: string, password: string): Promise<Session> {
    return this.s.login(login, password);
  }
}

const sortSecrets = (s: readonly Secret[]) => [...s].sort((a, b) => a.key.localeCompare(b.key));
const keyIdOf = (key: string) => /^cofk_([0-9a-f]+)\./.exec(key)![1]!;

// ---------------------------------------------------------------------------------------------------
// 1. Delegated keys
// ---------------------------------------------------------------------------------------------------

/** The ways an administrator makes a key for another user over HTTP (or through Coffer's key service). */
type Mint = (h: Harness, admin: Person, target: Person) => Promise<string>;
const MINTS: (readonly [string, Mint])[] = [
  ...DSS_PREFIXES.map(
    (prefix) =>
      [
        `POST ${prefix}/admin/personal-api-keys`,
        async (h: Harness, admin: Person, target: Person) => {
          const r = await h.send('POST', `${prefix}/admin/personal-api-keys`, {
            key: admin.key,
            body: { user: target.login, label: 'made-for-you' },
          });
          expect(r.status, r.text).toBe(200);
          expect(r.json.user).toBe(target.login);
          expect(r.json.createdBy).toBe(admin.login);
          return r.json.key as string;
        },
      ] as const,
  ),
  [
    "Coffer's API-key service (create with forLogin) called by an administrator",
    async (h, admin, target) => {
      const r = await h.s.services.apiKeys.create(await h.callerOf(admin.login), {
        forLogin: target.login,
        label: 'made-for-you',
      });
      expect(r.info.user).toBe(target.login);
      return r.key;
    },
  ],
];

const cross = <A, B>(as: readonly A[], bs: readonly B[]) => as.flatMap((a) => bs.map((b) => [a, b] as const));

describe('an API key an administrator makes for another user is delegated', () => {
  let server: TestServer;
  let h: Harness;
  let admin: Person;
  beforeAll(async () => {
    server = await TestServer.start();
    h = new Harness(server, 'dlg');
    admin = await h.person('admin', { admin: true, secrets: 1 });
  });
  afterAll(() => server.close());

  it.each(MINTS)('%s: the key authenticates as that user', async (_name, mint) => {
    const target = await h.person('target');
    const key = await mint(h, admin, target);
    const me = await h.send('GET', '/api/v1/me', { key });
    expect(me.status, me.text).toBe(200);
    expect(me.json.login).toBe(target.login);
    for (const p of VALUE_READS) {
      const r = await h.send('GET', p, { key });
      expect(r.status, `${p}: ${r.text}`).toBe(200);
      expect(r.json.associatedDSSUser).toBe(target.login);
      expect(r.json.authSource).toBe('PERSONAL_API_KEY');
      expect(r.json).not.toHaveProperty('secrets');
    }
  });

  it.each(cross(MINTS, VALUE_READS).map(([[name, mint], p]) => [name, p, mint] as const))(
    '%s: GET %s?withSecrets=true answers 403 saying the key was created by an administrator',
    async (_name, p, mint) => {
      const target = await h.person('target');
      const key = await mint(h, admin, target);
      const r = await h.send('GET', `${p}?withSecrets=true`, { key });
      expect(r.status, r.text).toBe(403);
      expect(errorMessage(r)).toMatch(DELEGATED);
      // The values are still there for the user's own key.
      await h.expectReads({ key: target.key }, target.secrets);
    },
  );

  it.each(
    cross(MINTS, OWN_KEY_ROUTES).map(([[name, mint], [route, ok]]) => [name, route, mint, ok] as const),
  )('%s: POST %s with the delegated key answers 403 and makes no key', async (_name, route, mint, ok) => {
    const target = await h.person('target');
    const key = await mint(h, admin, target);
    const before = await h.liveKeyIds();
    const r = await h.send('POST', route, { key, body: { label: 'made-with-a-delegated-key' } });
    expect(r.status, r.text).toBe(403);
    expect(errorMessage(r)).toMatch(DELEGATED);
    expect(await h.liveKeyIds()).toEqual(before);
    // The user's own key may.
    const own = await h.send('POST', route, { key: target.key, body: { label: 'own' } });
    expect(own.status, own.text).toBe(ok);
  });

  it.each(cross(MINTS, ADMIN_KEY_ROUTES).map(([[name, mint], route]) => [name, route, mint] as const))(
    '%s: a delegated key of another administrator cannot POST %s either (403, no key made)',
    async (_name, route, mint) => {
      const otherAdmin = await h.person('other-admin', { admin: true });
      const third = await h.person('third', { secrets: 0 });
      const key = await mint(h, admin, otherAdmin);
      const before = await h.liveKeyIds();
      const r = await h.send('POST', route, { key, body: { user: third.login, label: 'relayed' } });
      expect(r.status, r.text).toBe(403);
      expect(errorMessage(r)).toMatch(DELEGATED);
      expect(await h.liveKeyIds()).toEqual(before);
    },
  );

  it.each(cross(MINTS, BROWSER_ROUTES).map(([[name, mint], route]) => [name, route, mint] as const))(
    "%s: POST %s with the delegated key answers 403, even with the user's own browser session",
    async (_name, route, mint) => {
      const target = await h.person('target');
      const key = await mint(h, admin, target);
      const browser = await h.signIn(target.login, target.password);
      const r = await h.send('POST', route, { key, body: { Cookie: browser.cookie } });
      expect(r.status, r.text).toBe(403);
      expect(errorMessage(r)).toMatch(DELEGATED);
      // The same browser headers work for the user's own key.
      const own = await h.send('POST', route, { key: target.key, body: { Cookie: browser.cookie } }, true);
      expect(own.status, own.text).toBe(200);
    },
  );

  it.each(MINTS)('%s: calls that show no value work with the delegated key', async (_name, mint) => {
    const target = await h.person('target');
    const key = await mint(h, admin, target);
    const names = target.secrets.map((s) => s.key).sort();
    const session = await h.send('GET', '/api/v1/session', { key });
    expect(session.status, session.text).toBe(200);
    expect(session.json.user.login).toBe(target.login);
    const list = await h.send('GET', '/api/v1/me/secrets', { key });
    expect(list.status, list.text).toBe(200);
    expect((list.json.secrets as { name: string }[]).map((s) => s.name).sort()).toEqual(names);
    const keys = await h.send('GET', '/api/v1/me/api-keys', { key });
    expect(keys.status, keys.text).toBe(200);
    expect((keys.json.keys as { id: string }[]).map((k) => k.id)).toContain(keyIdOf(key));
    for (const prefix of DSS_PREFIXES) {
      const settings = await h.send('GET', `${prefix}/current-user`, { key });
      expect(settings.status, settings.text).toBe(200);
      expect(settings.json.login).toBe(target.login);
      const markers = settings.json.secrets as { name: string; value: string }[];
      expect(markers.map((s) => s.name).sort()).toEqual(names);
      for (const m of markers) expect(m.value).toMatch(/^e:AES:/);
      const users = await h.send('GET', `${prefix}/users`, { key });
      expect(users.status, users.text).toBe(200);
    }
  });

  it.each(MINTS)(
    '%s: the key is recorded as delegated and as created by the administrator',
    async (_name, mint) => {
      const target = await h.person('target', { secrets: 0 });
      const key = await mint(h, admin, target);
      const keys = await server.services.apiKeys.listOwn(await h.callerOf(target.login));
      const made = keys.find((k) => k.id === keyIdOf(key));
      expect(made).toMatchObject({ user: target.login, createdBy: admin.login, delegated: true });
      // The key the harness made for the user (the CLI operator) is an ordinary one.
      expect(keys.find((k) => k.id === keyIdOf(target.key))).toMatchObject({ delegated: false });
    },
  );

  it('a key the CLI operator makes for a user is not delegated: it reads values and makes keys', async () => {
    const target = await h.person('target');
    const { key } = await server.createKey(target.login);
    await h.expectReads({ key }, target.secrets);
    const made = await h.send('POST', '/api/v1/me/api-keys', { key, body: { label: 'by-an-operator-key' } });
    expect(made.status, made.text).toBe(201);
    const browser = await h.signIn(target.login, target.password);
    const viaBrowser = await h.send(
      'POST',
      `${DSS_PREFIXES[0]}/auth/info-from-browser-headers?withSecrets=true`,
      { key, body: { Cookie: browser.cookie } },
      true,
    );
    expect(viaBrowser.status, viaBrowser.text).toBe(200);
    expect(sortSecrets(viaBrowser.json.secrets as Secret[])).toEqual(sortSecrets(target.secrets));
  });

  it.each(DSS_PREFIXES)(
    'POST %s/admin/personal-api-keys for the administrator themself makes an ordinary key that reads their own values',
    async (prefix) => {
      const r = await h.send('POST', `${prefix}/admin/personal-api-keys`, {
        key: admin.key,
        body: { user: admin.login, label: 'my-own' },
      });
      expect(r.status, r.text).toBe(200);
      await h.expectReads({ key: r.json.key as string }, admin.secrets);
    },
  );

  it('the user replaces a delegated key with one of their own, which reads their values', async () => {
    const target = await h.person('target');
    const delegated = await MINTS[0]![1](h, admin, target);
    const session = await h.signIn(target.login, target.password);
    const made = await h.send('POST', '/api/v1/me/api-keys', { session, body: { label: 'mine' } });
    expect(made.status, made.text).toBe(201);
    await h.expectReads({ key: made.json.key as string }, target.secrets);
    const still = await h.send('GET', `${VALUE_READS[0]}?withSecrets=true`, { key: delegated });
    expect(still.status, still.text).toBe(403);
  });
});

// ---------------------------------------------------------------------------------------------------
// 1b. Delegated keys and code: no recipe, membership or project change, no run
// ---------------------------------------------------------------------------------------------------

/**
 * The threat: an administrator makes a key for Alice, rewrites a recipe in Alice's private project (or
 * adds themself to it, or runs it), and Alice's next run sends her values to the administrator.
 */
interface CodeChange {
  what: string;
  method: string;
  /** The request against Alice's project `key` (recipe `hello`, member `member`). */
  path: (key: string, member: string) => string;
  body?: unknown;
  limit: RegExp;
  /** What Alice's own key gets for the same request. */
  ok: number;
}

const CODE_CHANGES: CodeChange[] = [
  {
    what: 'rewrite a recipe',
    method: 'PUT',
    path: (key) => `/api/v1/projects/${key}/recipes/hello`,
    body: { language: 'python', code: 'print("planted")' },
    limit: /cannot change recipes \(code\)/,
    ok: 200,
  },
  {
    what: 'add a recipe',
    method: 'PUT',
    path: (key) => `/api/v1/projects/${key}/recipes/planted`,
    body: { language: 'python', code: 'print("planted")' },
    limit: /cannot change recipes \(code\)/,
    ok: 201,
  },
  {
    what: 'delete a recipe',
    method: 'DELETE',
    path: (key) => `/api/v1/projects/${key}/recipes/hello`,
    limit: /cannot change recipes \(code\)/,
    ok: 204,
  },
  {
    what: 'add a member',
    method: 'PUT',
    path: (key, member) => `/api/v1/projects/${key}/members/${member}`,
    body: { role: 'contributor' },
    limit: /cannot change project membership/,
    ok: 204,
  },
  {
    what: 'remove a member',
    method: 'DELETE',
    path: (key, member) => `/api/v1/projects/${key}/members/${member}`,
    limit: /cannot change project membership/,
    ok: 204,
  },
  {
    what: 'delete the project',
    method: 'DELETE',
    path: (key) => `/api/v1/projects/${key}`,
    limit: /cannot delete projects/,
    ok: 204,
  },
  {
    what: 'run a recipe',
    method: 'POST',
    path: (key) => `/api/v1/projects/${key}/recipes/hello/run`,
    body: {},
    limit: /cannot start jobs/,
    ok: 202,
  },
];

describe("a delegated key cannot change a project's code, membership or existence, nor run it", () => {
  let server: TestServer;
  let h: Harness;
  let admin: Person;
  beforeAll(async () => {
    // Jobs the owner's own key starts here need not run.
    server = await TestServer.start({ COFFER_JOBS_ENABLED: 'false' });
    h = new Harness(server, 'code');
    admin = await h.person('admin', { admin: true, secrets: 0 });
  });
  afterAll(() => server.close());

  /** Alice's private project with a recipe `hello`; `member` is a reader there. */
  const aliceProject = async (alice: Person) => {
    const key = h
      .uniq('P')
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, '_');
    const member = await h.person('member', { secrets: 0 });
    const steps: [string, string, unknown][] = [
      ['POST', '/api/v1/projects', { key, name: 'private' }],
      ['PUT', `/api/v1/projects/${key}/recipes/hello`, { language: 'python', code: 'print("mine")' }],
      ['PUT', `/api/v1/projects/${key}/members/${member.login}`, { role: 'reader' }],
    ];
    for (const [method, path, body] of steps) {
      const r = await h.send(method, path, { key: alice.key, body });
      expect(r.status, r.text).toBeLessThan(300);
    }
    return { key, member: member.login };
  };

  /** What the request could have changed: the project's recipes, members and jobs. */
  const projectState = async (key: string) => {
    const rows = server.store.db;
    const project = await rows.selectFrom('projects').select('id').where('key', '=', key).executeTakeFirst();
    if (!project) return null;
    const of = (table: 'recipes' | 'project_members' | 'jobs') =>
      rows.selectFrom(table).selectAll().where('project_id', '=', project.id).execute();
    const byJson = (a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b));
    return {
      recipes: (await of('recipes')).sort(byJson),
      members: (await of('project_members')).sort(byJson),
      jobs: (await of('jobs')).length,
    };
  };

  it.each(
    cross(MINTS, CODE_CHANGES).map(([[name, mint], change]) => [name, change.what, mint, change] as const),
  )(
    '%s: the delegated key cannot %s (403 naming the reason; nothing changes)',
    async (_n, _w, mint, change) => {
      const alice = await h.person('alice', { secrets: 1 });
      const { key, member } = await aliceProject(alice);
      const delegated = await mint(h, admin, alice);
      const before = await projectState(key);
      expect(before).not.toBeNull();

      const r = await h.send(change.method, change.path(key, member), { key: delegated, body: change.body });
      expect(r.status, r.text).toBe(403);
      expect(errorMessage(r)).toMatch(DELEGATED);
      expect(errorMessage(r)).toMatch(change.limit);
      expect(await projectState(key)).toEqual(before);

      // Alice's own key may: the refusal is the delegated key's.
      const own = await h.send(change.method, change.path(key, member), {
        key: alice.key,
        body: change.body,
      });
      expect(own.status, own.text).toBe(change.ok);
    },
  );

  it.each(MINTS)('%s: the delegated key still reads the project and its recipes', async (_name, mint) => {
    const alice = await h.person('alice', { secrets: 0 });
    const { key } = await aliceProject(alice);
    const delegated = await mint(h, admin, alice);
    for (const path of [`/api/v1/projects/${key}`, `/api/v1/projects/${key}/recipes/hello`]) {
      const r = await h.send('GET', path, { key: delegated });
      expect(r.status, `${path}: ${r.text}`).toBe(200);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// 2. Tickets cannot mint lasting keys
// ---------------------------------------------------------------------------------------------------

describe('code run by the platform (a ticket) cannot create lasting API keys', () => {
  let server: TestServer;
  let h: Harness;
  beforeAll(async () => {
    server = await TestServer.start();
    h = new Harness(server, 'tkt');
  });
  afterAll(() => server.close());

  it.each(OWN_KEY_ROUTES)(
    'POST %s with a ticket answers 403 and makes no key (the same user with an API key gets %i)',
    async (route, ok) => {
      const user = await h.person('user', { secrets: 0 });
      const { ticket } = await server.issueTicket(user.login);
      const before = await h.liveKeyIds();
      const r = await h.send('POST', route, { ticket, body: { label: 'from-a-job' } });
      expect(r.status, r.text).toBe(403);
      expect(errorMessage(r)).toMatch(NO_KEYS_FROM_TICKETS);
      expect(await h.liveKeyIds()).toEqual(before);
      const own = await h.send('POST', route, { key: user.key, body: { label: 'by-hand' } });
      expect(own.status, own.text).toBe(ok);
    },
  );

  it.each(ADMIN_KEY_ROUTES)(
    "POST %s with an administrator's ticket answers 403 and makes no key for anyone",
    async (route) => {
      const admin = await h.person('admin', { admin: true, secrets: 0 });
      const target = await h.person('target', { secrets: 0 });
      const { ticket } = await server.issueTicket(admin.login);
      const before = await h.liveKeyIds();
      for (const user of [target.login, admin.login]) {
        const r = await h.send('POST', route, { ticket, body: { user, label: 'from-a-job' } });
        expect(r.status, r.text).toBe(403);
        expect(errorMessage(r)).toMatch(NO_ADMIN_TICKETS);
      }
      expect(await h.liveKeyIds()).toEqual(before);
    },
  );

  it("a ticket still reads its owner's values for the owner's code", async () => {
    const user = await h.person('user');
    const { ticket } = await server.issueTicket(user.login);
    await h.expectReads({ ticket }, user.secrets);
  });
});

// ---------------------------------------------------------------------------------------------------
// 3. An administrator's password reset is account recovery
// ---------------------------------------------------------------------------------------------------

describe("an administrator's reset of another user's password is account recovery", () => {
  let server: TestServer;
  let h: Harness;
  let admin: Person;
  const NEW_PASSWORD = 'chosen-by-admin-0123456789';
  const OWN_PASSWORD = 'chosen-by-the-user-0123456789';

  beforeAll(async () => {
    server = await TestServer.start();
    h = new Harness(server, 'rst');
    admin = await h.person('admin', { admin: true, secrets: 1 });
  });
  afterAll(async () => {
    await server.close();
  });

  const reset = (login: string, by: Person = admin) =>
    h.send('PUT', `/api/v1/admin/users/${login}/password`, { key: by.key, body: { password: NEW_PASSWORD } });

  /** Signs in with the administrator's password and replaces it; returns the recovered session. */
  const recover = async (login: string): Promise<Session> => {
    const session = await h.signIn(login, NEW_PASSWORD);
    const r = await h.send('PUT', '/api/v1/me/password', {
      session,
      body: { currentPassword: NEW_PASSWORD, newPassword: OWN_PASSWORD },
    });
    expect(r.status, r.text).toBe(204);
    return session;
  };

  it('answers 200 with the number of secrets it deleted', async () => {
    for (const n of [3, 0]) {
      const target = await h.person('target', { secrets: n });
      const r = await reset(target.login);
      expect(r.status, r.text).toBe(200);
      expect(r.json).toEqual({ secretsDeleted: n });
    }
  });

  it("deletes the user's secrets and replaces their data key", async () => {
    const target = await h.person('target');
    const { id } = await server.services.users.get(OP, target.login);
    const keysOf = () =>
      server.store.db
        .selectFrom('data_keys')
        .select(['version', 'wrapped'])
        .where('user_id', '=', id)
        .execute();
    const secretCount = async () =>
      Number(
        (
          await server.store.db
            .selectFrom('secrets')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('user_id', '=', id)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await keysOf();
    expect(before).toHaveLength(1);
    expect(await secretCount()).toBe(2);

    expect((await reset(target.login)).status).toBe(200);

    const after = await keysOf();
    expect(await secretCount()).toBe(0);
    expect(after).toHaveLength(1);
    expect(after[0]!.version).toBe(before[0]!.version + 1);
    expect(Buffer.compare(Buffer.from(after[0]!.wrapped), Buffer.from(before[0]!.wrapped))).not.toBe(0);
    const values = await server.services.secrets.revealForOwnerCode(await h.callerOf(target.login));
    expect(values).toEqual([]);
  });

  it('ends every session, ticket and API key the user had', async () => {
    const target = await h.person('target');
    const second = await server.createKey(target.login);
    const { ticket } = await server.issueTicket(target.login);
    const session = await h.signIn(target.login, target.password);
    const credentials: RequestOptions[] = [{ key: target.key }, { key: second.key }, { ticket }, { session }];
    for (const auth of credentials) expect((await h.send('GET', '/api/v1/me', auth)).status).toBe(200);

    expect((await reset(target.login)).status).toBe(200);

    for (const auth of credentials) {
      const r = await h.send('GET', '/api/v1/me', auth);
      expect(r.status, `${JSON.stringify(Object.keys(auth))}: ${r.text}`).toBe(401);
    }
    expect(await server.services.apiKeys.listOwn(await h.callerOf(target.login))).toEqual([]);
    // The old password is gone too.
    const old = await h.send('POST', '/api/v1/session', {
      body: { login: target.login, password: target.password },
    });
    expect(old.status, old.text).toBe(401);
  });

  it('makes the user choose a new password at the next sign-in', async () => {
    const target = await h.person('target');
    expect((await reset(target.login)).status).toBe(200);
    expect((await server.services.users.get(OP, target.login)).passwordMustChange).toBe(true);
    const session = await h.signIn(target.login, NEW_PASSWORD);
    const r = await h.send('GET', '/api/v1/me/secrets', { session });
    expect(r.status, r.text).toBe(403);
    expect(errorMessage(r)).toMatch(MUST_CHANGE);
  });

  it('shows the recovered user a secret.deleted event per destroyed secret, by the administrator', async () => {
    const target = await h.person('target', { secrets: 3 });
    expect((await reset(target.login)).status).toBe(200);
    const session = await recover(target.login);
    const r = await h.send('GET', '/api/v1/me/activity', { session });
    expect(r.status, r.text).toBe(200);
    const deleted = (r.json.events as { action: string; secretNames: string[]; actorLogin: string | null }[])
      .filter((e) => e.action === 'secret.deleted')
      .map((e) => ({ names: e.secretNames, by: e.actorLogin }));
    expect(deleted.flatMap((e) => e.names).sort()).toEqual(target.secrets.map((s) => s.key).sort());
    for (const e of deleted) expect(e.by).toBe(admin.login);
  });

  it('lets the recovered user store and read new secrets', async () => {
    const target = await h.person('target');
    expect((await reset(target.login)).status).toBe(200);
    const session = await recover(target.login);
    await h.expectReads({ session }, []);
    const fresh = { key: 'after-recovery', value: `plaintext-after-recovery-${target.login}` };
    VALUES.add(fresh.value);
    const put = await h.send('PUT', `/api/v1/me/secrets/${fresh.key}`, {
      session,
      body: { value: fresh.value },
    });
    expect(put.status, put.text).toBe(201);
    await h.expectReads({ session }, [fresh]);
  });

  it('refuses an administrator resetting their own password with 400 pointing to PUT /api/v1/me/password, and changes nothing', async () => {
    const me = await h.person('self-admin', { admin: true });
    const r = await reset(me.login, me);
    expect(r.status, r.text).toBe(400);
    expect(errorMessage(r)).toContain('PUT /api/v1/me/password');
    await h.expectReads({ key: me.key }, me.secrets);
    const signIn = await h.send('POST', '/api/v1/session', {
      body: { login: me.login, password: me.password },
    });
    expect(signIn.status, signIn.text).toBe(200);
    expect((await server.services.users.get(OP, me.login)).passwordMustChange).toBe(false);
  });

  it('answers 404 for a login that does not exist', async () => {
    const r = await reset('nobody-by-that-name');
    expect(r.status, r.text).toBe(404);
  });

  it("by the CLI operator (which holds the master key already) keeps the user's secrets and asks for no change", async () => {
    const target = await h.person('target');
    const r = await server.services.users.resetPassword(OP, target.login, NEW_PASSWORD);
    expect(r).toEqual({ secretsDeleted: 0 });
    await h.expectReads({ key: target.key }, target.secrets);
    const session = await h.signIn(target.login, NEW_PASSWORD);
    const list = await h.send('GET', '/api/v1/me/secrets', { session });
    expect(list.status, list.text).toBe(200);
    expect((await server.services.users.get(OP, target.login)).passwordMustChange).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------
// 4. A password an administrator set must be replaced first
// ---------------------------------------------------------------------------------------------------

describe('a password an administrator set must be replaced before anything else', () => {
  let server: TestServer;
  let h: Harness;
  let admin: Person;
  const ADMIN_PASSWORD = 'set-by-admin-0123456789';
  const OWN_PASSWORD = 'chosen-by-the-user-0123456789';

  beforeAll(async () => {
    server = await TestServer.start();
    h = new Harness(server, 'mc');
    admin = await h.person('admin', { admin: true, secrets: 0 });
  });
  afterAll(() => server.close());

  /** The ways an administrator sets a user's password over HTTP; each returns the user's login. */
  const SOURCES: (readonly [string, () => Promise<string>])[] = [
    [
      'POST /api/v1/admin/users',
      async () => {
        const login = h.uniq('made');
        const r = await h.send('POST', '/api/v1/admin/users', {
          key: admin.key,
          body: { login, password: ADMIN_PASSWORD },
        });
        expect(r.status, r.text).toBe(201);
        return login;
      },
    ],
    ...DSS_PREFIXES.map(
      (prefix) =>
        [
          `POST ${prefix}/admin/users`,
          async () => {
            const login = h.uniq('made');
            const r = await h.send('POST', `${prefix}/admin/users`, {
              key: admin.key,
              body: { login, password: ADMIN_PASSWORD, groups: [] },
            });
            expect(r.status, r.text).toBe(200);
            return login;
          },
        ] as const,
    ),
    [
      'PUT /api/v1/admin/users/:login/password',
      async () => {
        const target = await h.person('reset', { secrets: 0 });
        const r = await h.send('PUT', `/api/v1/admin/users/${target.login}/password`, {
          key: admin.key,
          body: { password: ADMIN_PASSWORD },
        });
        expect(r.status, r.text).toBe(200);
        return target.login;
      },
    ],
  ];

  const changePassword = (session: Session, currentPassword: string, newPassword: string) =>
    h.send('PUT', '/api/v1/me/password', { session, body: { currentPassword, newPassword } });

  it.each(SOURCES)(
    'a user whose password came from %s signs in, but the session can only say who they are until they change it',
    async (_name, source) => {
      const login = await source();
      const session = await h.signIn(login, ADMIN_PASSWORD);
      for (const p of ['/api/v1/session', '/api/v1/me']) {
        const r = await h.send('GET', p, { session });
        expect(r.status, `${p}: ${r.text}`).toBe(200);
      }
      for (const p of ['/api/v1/me/secrets', ...VALUE_READS, `${DSS_PREFIXES[0]}/current-user`]) {
        const r = await h.send('GET', p, { session });
        expect(r.status, `${p}: ${r.text}`).toBe(403);
        expect(errorMessage(r)).toMatch(MUST_CHANGE);
      }
    },
  );

  it.each(SOURCES)(
    'a user whose password came from %s has no restriction once PUT /api/v1/me/password sets their own',
    async (_name, source) => {
      const login = await source();
      const session = await h.signIn(login, ADMIN_PASSWORD);
      expect((await changePassword(session, ADMIN_PASSWORD, OWN_PASSWORD)).status).toBe(204);
      // The same session now does everything its user may, keys and values included.
      const secret = { key: 'mine', value: `plaintext-own-${login}` };
      VALUES.add(secret.value);
      const put = await h.send('PUT', `/api/v1/me/secrets/${secret.key}`, {
        session,
        body: { value: secret.value },
      });
      expect(put.status, put.text).toBe(201);
      await h.expectReads({ session }, [secret]);
      const made = await h.send('POST', '/api/v1/me/api-keys', { session, body: { label: 'mine' } });
      expect(made.status, made.text).toBe(201);
      await h.expectReads({ key: made.json.key as string }, [secret]);
      // A new sign-in with the user's own password is unrestricted too.
      const again = await h.signIn(login, OWN_PASSWORD);
      expect((await h.send('GET', '/api/v1/me/secrets', { session: again })).status).toBe(200);
    },
  );

  it(`every route but ${BEFORE_PASSWORD_CHANGE.join(', ')} answers such a session 403 "choose a new one first"`, async () => {
    const login = await SOURCES[0]![1]();
    const session = await h.signIn(login, ADMIN_PASSWORD);
    const routes = server.routes.filter(
      (r) => r.access !== 'public' && !BEFORE_PASSWORD_CHANGE.includes(`${r.method} ${r.url}`),
    );
    expect(routes.length).toBeGreaterThan(40);
    const wrong: string[] = [];
    for (const route of routes) {
      const p = route.url.replace(':login', login).replace(':id', 'no-such-key').replace(':name', 'x');
      const r = await h.send(route.method, p, {
        session,
        body: route.method === 'GET' ? undefined : {},
      });
      if (r.status !== 403 || !MUST_CHANGE.test(errorMessage(r)))
        wrong.push(`${route.method} ${route.url}: ${r.status} ${r.text}`);
    }
    expect(wrong).toEqual([]);
    // The restriction held: still nothing but the password change is open.
    expect((await h.send('GET', '/api/v1/me', { session })).status).toBe(200);
  });

  it('DELETE /api/v1/session signs such a session out (204)', async () => {
    const login = await SOURCES[0]![1]();
    const session = await h.signIn(login, ADMIN_PASSWORD);
    const r = await h.send('DELETE', '/api/v1/session', { session });
    expect(r.status, r.text).toBe(204);
    expect((await h.send('GET', '/api/v1/me', { session })).status).toBe(401);
  });

  it("a wrong current password, or keeping the administrator's one, is refused (400) and the restriction stays", async () => {
    const login = await SOURCES[0]![1]();
    const session = await h.signIn(login, ADMIN_PASSWORD);
    expect((await changePassword(session, 'not-the-password-123', OWN_PASSWORD)).status).toBe(400);
    expect((await changePassword(session, ADMIN_PASSWORD, ADMIN_PASSWORD)).status).toBe(400);
    const r = await h.send('GET', '/api/v1/me/secrets', { session });
    expect(r.status, r.text).toBe(403);
    expect(errorMessage(r)).toMatch(MUST_CHANGE);
  });

  it('every sign-in is restricted until the change, and the change ends the other sessions', async () => {
    const login = await SOURCES[0]![1]();
    const first = await h.signIn(login, ADMIN_PASSWORD);
    const second = await h.signIn(login, ADMIN_PASSWORD);
    for (const session of [first, second])
      expect((await h.send('GET', '/api/v1/me/secrets', { session })).status).toBe(403);
    expect((await changePassword(second, ADMIN_PASSWORD, OWN_PASSWORD)).status).toBe(204);
    expect((await h.send('GET', '/api/v1/me', { session: first })).status).toBe(401);
    expect((await h.send('GET', '/api/v1/me/secrets', { session: second })).status).toBe(200);
  });

  it('a user the CLI operator created with a password is not restricted', async () => {
    const user = await h.person('by-operator');
    const session = await h.signIn(user.login, user.password);
    await h.expectReads({ session }, user.secrets);
    const made = await h.send('POST', '/api/v1/me/api-keys', { session, body: { label: 'mine' } });
    expect(made.status, made.text).toBe(201);
  });
});

describe('no response in this file showed a secret value outside its owner’s own reads', () => {
  it('checked every response received (runs last)', () => {
    expect(VALUES.size).toBeGreaterThan(20);
    expect(responsesChecked).toBeGreaterThan(300);
  });
});
