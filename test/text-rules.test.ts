import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type Reply, type TestUser } from './support/test-server.js';

/*
 * The text rules (docs/adr/0018-text-rules.md) through HTTP, on every route that stores text: control
 * characters and lone surrogates, sent as JSON escapes in a raw body (how a client would send them), and
 * bytes that are not UTF-8. Each is refused with 400, a message naming the field, and nothing changed:
 * what the API shows after the request is what it showed before.
 */

/** Where the bad text goes in a body template. */
const HOLE = '<HOLE>';

/** Bad text as it appears inside a JSON string. */
const CONTROLS = {
  NUL: '\\u0000',
  SOH: '\\u0001',
  ESC: '\\u001b',
  DEL: '\\u007f',
  'NEL (C1)': '\\u0085',
};
const SURROGATES = { 'a lone high surrogate': '\\ud800', 'a lone low surrogate': '\\udc00' };
const LINE_BREAKS = { tab: '\\t', 'line feed': '\\n' };

type Kind = 'line' | 'multiline' | 'value';
/** What each kind of field refuses: single-line text refuses tabs and line breaks too; values only NUL. */
const REFUSED: Record<Kind, Record<string, string>> = {
  line: { ...CONTROLS, ...LINE_BREAKS, ...SURROGATES },
  multiline: { ...CONTROLS, ...SURROGATES },
  value: { NUL: CONTROLS.NUL, ...SURROGATES },
};

type Who = 'alice' | 'root';

interface Route {
  /** The field as the message names it. */
  field: string;
  kind: Kind;
  as: Who;
  method: string;
  path: string;
  /** A JSON body with HOLE inside one string, or a function of the current secrets revision. */
  body: string | ((revision: number) => string);
}

// prettier-ignore
const ROUTES: Route[] = [
  // Projects and recipes
  { field: 'project name', kind: 'line', as: 'alice', method: 'POST', path: '/api/v1/projects', body: `{"key":"NEWP","name":"New ${HOLE}"}` },
  { field: 'recipe code', kind: 'multiline', as: 'alice', method: 'PUT', path: '/api/v1/projects/PRJ/recipes/r1', body: `{"language":"python","code":"print(1)\\n${HOLE}"}` },
  { field: 'recipe code', kind: 'multiline', as: 'alice', method: 'PUT', path: '/api/v1/projects/PRJ/recipes/r2', body: `{"language":"python","code":"${HOLE}"}` },
  // API keys, Coffer's and DSS's
  { field: 'label', kind: 'line', as: 'alice', method: 'POST', path: '/api/v1/me/api-keys', body: `{"label":"k${HOLE}"}` },
  { field: 'description', kind: 'multiline', as: 'alice', method: 'POST', path: '/api/v1/me/api-keys', body: `{"description":"d${HOLE}"}` },
  { field: 'label', kind: 'line', as: 'alice', method: 'PATCH', path: '/api/v1/me/api-keys/{keyId}', body: `{"label":"k${HOLE}"}` },
  { field: 'description', kind: 'multiline', as: 'alice', method: 'PATCH', path: '/api/v1/me/api-keys/{keyId}', body: `{"description":"d${HOLE}"}` },
  { field: 'label', kind: 'line', as: 'alice', method: 'POST', path: '/dip/publicapi/personal-api-keys', body: `{"label":"k${HOLE}"}` },
  { field: 'description', kind: 'multiline', as: 'alice', method: 'POST', path: '/dip/publicapi/personal-api-keys', body: `{"description":"d${HOLE}"}` },
  { field: 'label', kind: 'line', as: 'alice', method: 'PUT', path: '/dip/publicapi/personal-api-keys/{keyId}', body: `{"label":"k${HOLE}"}` },
  { field: 'description', kind: 'multiline', as: 'alice', method: 'PUT', path: '/dip/publicapi/personal-api-keys/{keyId}', body: `{"description":"d${HOLE}"}` },
  { field: 'label', kind: 'line', as: 'root', method: 'POST', path: '/dip/publicapi/admin/personal-api-keys', body: `{"user":"alice","label":"k${HOLE}"}` },
  // Users, in Coffer's API
  { field: 'login', kind: 'line', as: 'root', method: 'POST', path: '/api/v1/admin/users', body: `{"login":"newu${HOLE}","password":"a-good-password"}` },
  { field: 'displayName', kind: 'line', as: 'root', method: 'POST', path: '/api/v1/admin/users', body: `{"login":"newu","password":"a-good-password","displayName":"N ${HOLE}"}` },
  { field: 'email', kind: 'line', as: 'root', method: 'POST', path: '/api/v1/admin/users', body: `{"login":"newu","password":"a-good-password","email":"n${HOLE}@example.com"}` },
  { field: 'userProfile', kind: 'line', as: 'root', method: 'POST', path: '/api/v1/admin/users', body: `{"login":"newu","password":"a-good-password","userProfile":"P${HOLE}"}` },
  { field: 'group name', kind: 'line', as: 'root', method: 'POST', path: '/api/v1/admin/users', body: `{"login":"newu","password":"a-good-password","groups":["g${HOLE}"]}` },
  { field: 'displayName', kind: 'line', as: 'root', method: 'PATCH', path: '/api/v1/admin/users/alice', body: `{"displayName":"A ${HOLE}"}` },
  { field: 'email', kind: 'line', as: 'root', method: 'PATCH', path: '/api/v1/admin/users/alice', body: `{"email":"a${HOLE}@example.com"}` },
  { field: 'userProfile', kind: 'line', as: 'root', method: 'PATCH', path: '/api/v1/admin/users/alice', body: `{"userProfile":"P${HOLE}"}` },
  // Users, in the DSS API
  { field: 'displayName', kind: 'line', as: 'root', method: 'POST', path: '/dip/publicapi/admin/users', body: `{"login":"newu","password":"a-good-password","displayName":"N ${HOLE}"}` },
  { field: 'email', kind: 'line', as: 'root', method: 'POST', path: '/dip/publicapi/admin/users', body: `{"login":"newu","password":"a-good-password","email":"n${HOLE}"}` },
  { field: 'displayName', kind: 'line', as: 'alice', method: 'PUT', path: '/dip/publicapi/current-user', body: `{"displayName":"A ${HOLE}"}` },
  { field: 'email', kind: 'line', as: 'alice', method: 'PUT', path: '/dip/publicapi/current-user', body: `{"email":"a${HOLE}"}` },
  { field: 'userProperties.team', kind: 'line', as: 'alice', method: 'PUT', path: '/dip/publicapi/current-user', body: `{"userProperties":{"team":"t${HOLE}"}}` },
  { field: 'a key in userProperties', kind: 'line', as: 'alice', method: 'PUT', path: '/dip/publicapi/current-user', body: `{"userProperties":{"te${HOLE}am":"t"}}` },
  { field: 'preferences.ui.note', kind: 'multiline', as: 'alice', method: 'PUT', path: '/dip/publicapi/current-user', body: `{"preferences":{"ui":{"note":"n${HOLE}"}}}` },
  { field: 'a key in preferences', kind: 'line', as: 'alice', method: 'PUT', path: '/dip/publicapi/current-user', body: `{"preferences":{"u${HOLE}i":true}}` },
  { field: 'displayName', kind: 'line', as: 'root', method: 'PUT', path: '/dip/publicapi/admin/users/alice', body: `{"displayName":"A ${HOLE}"}` },
  { field: 'adminProperties.level', kind: 'line', as: 'root', method: 'PUT', path: '/dip/publicapi/admin/users/alice', body: `{"adminProperties":{"level":"l${HOLE}"}}` },
  { field: 'logins[1]', kind: 'line', as: 'root', method: 'PUT', path: '/dip/publicapi/admin/users/actions/bulk', body: `{"logins":["alice","al${HOLE}"],"enabled":false}` },
  // Secrets
  { field: 'secret name', kind: 'line', as: 'alice', method: 'PATCH', path: '/api/v1/me/secrets', body: (rev) => `{"revision":${rev},"changes":[{"op":"put","name":"n${HOLE}","value":"v"}]}` },
  { field: 'value of secret "kept"', kind: 'value', as: 'alice', method: 'PUT', path: '/api/v1/me/secrets/kept', body: `{"value":"v${HOLE}"}` },
  { field: 'value of secret "new"', kind: 'value', as: 'alice', method: 'PATCH', path: '/api/v1/me/secrets', body: (rev) => `{"revision":${rev},"changes":[{"op":"put","name":"new","value":"v${HOLE}"}]}` },
  { field: 'value of secret "kept"', kind: 'value', as: 'alice', method: 'PUT', path: '/dip/publicapi/current-user', body: `{"secrets":[{"name":"kept","value":"v${HOLE}"}]}` },
  { field: 'secret name', kind: 'line', as: 'alice', method: 'PUT', path: '/dip/publicapi/current-user', body: `{"secrets":[{"name":"n${HOLE}","value":"v"}]}` },
  // Signing in: the login is kept in the failure counters and the audit trail
  { field: 'login', kind: 'line', as: 'alice', method: 'POST', path: '/api/v1/session', body: `{"login":"alice${HOLE}","password":"whatever-it-is"}` },
];

/** Path parameters and query values: percent-encoded UTF-8, which has no lone surrogates. */
// prettier-ignore
const URL_ROUTES: { field: string; as: Who; method: string; path: string; body?: string }[] = [
  { field: 'path parameter "login"', as: 'alice', method: 'PUT', path: `/api/v1/projects/PRJ/members/al${HOLE}`, body: '{"role":"reader"}' },
  { field: 'path parameter "login"', as: 'root', method: 'GET', path: `/api/v1/admin/users/al${HOLE}` },
  { field: 'path parameter "login"', as: 'root', method: 'PATCH', path: `/api/v1/admin/users/al${HOLE}`, body: '{"enabled":false}' },
  { field: 'path parameter "key"', as: 'alice', method: 'GET', path: `/api/v1/projects/PR${HOLE}` },
  { field: 'path parameter "name"', as: 'alice', method: 'PUT', path: `/api/v1/projects/PRJ/recipes/r${HOLE}`, body: '{"language":"python","code":"1"}' },
  { field: 'path parameter "name"', as: 'alice', method: 'PUT', path: `/api/v1/me/secrets/n${HOLE}`, body: '{"value":"v"}' },
  { field: 'path parameter "id"', as: 'alice', method: 'DELETE', path: `/api/v1/me/api-keys/k${HOLE}` },
  { field: 'query parameter "project"', as: 'alice', method: 'GET', path: `/api/v1/jobs?project=PR${HOLE}` },
  { field: 'path parameter "login"', as: 'alice', method: 'GET', path: `/dip/publicapi/users/al${HOLE}` },
  { field: 'path parameter "login"', as: 'root', method: 'PUT', path: `/dip/publicapi/admin/users/al${HOLE}`, body: '{}' },
];
const URL_CONTROLS = {
  NUL: '%00',
  SOH: '%01',
  tab: '%09',
  'line feed': '%0A',
  ESC: '%1B',
  DEL: '%7F',
  'NEL (C1)': '%C2%85',
};

const isDss = (path: string) => path.startsWith('/dip/');
const messageOf = (r: Reply): unknown => (r.json?.error ? r.json.error.message : r.json?.message);
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('text rules on every route that stores text', () => {
  let server: TestServer;
  let alice: TestUser;
  let root: TestUser;
  let keyId: string;

  const keyOf = (as: Who) => (as === 'alice' ? alice : root).key;
  const fill = (path: string) => path.replace('{keyId}', keyId);
  const revision = async () =>
    (await server.request('GET', '/api/v1/me/secrets', { key: alice.key })).json.revision as number;

  /** Everything the routes above could change, as the API shows it; lastUsedOn moves with every call. */
  async function state() {
    const get = async (path: string, as: Who) => {
      const r = await server.request('GET', path, { key: keyOf(as) });
      expect(r.status, `${path}: ${r.text.slice(0, 200)}`).toBe(200);
      return r.json;
    };
    const withoutLastUse = (keys: Record<string, unknown>[]) => keys.map((k) => ({ ...k, lastUsedOn: null }));
    return {
      secrets: await get('/api/v1/me/secrets', 'alice'),
      settings: await get('/dip/publicapi/admin/users/alice', 'root'),
      users: await get('/api/v1/admin/users', 'root'),
      keys: withoutLastUse(await get('/dip/publicapi/admin/personal-api-keys', 'root')),
      projects: await get('/api/v1/projects', 'alice'),
      project: await get('/api/v1/projects/PRJ', 'alice'),
      recipes: await get('/api/v1/projects/PRJ/recipes', 'alice'),
    };
  }

  /**
   * Sends a request and expects 400 in the route's error shape, the message, and nothing changed. Cases
   * run one after another, so what the API showed after the last one is what it shows before this one.
   */
  let last: Awaited<ReturnType<typeof state>>;
  async function expectRefused(path: string, message: RegExp, send: () => Promise<Reply>) {
    const r = await send();
    const before = last;
    last = await state();
    expect(r.status, r.text.slice(0, 300)).toBe(400);
    if (isDss(path)) expect(r.json.errorType).toMatch(/^com\.dataiku\./);
    expect(messageOf(r), r.text.slice(0, 300)).toMatch(message);
    expect(last, 'something changed').toEqual(before);
  }

  beforeAll(async () => {
    server = await TestServer.start();
    root = await server.createUser('root', { admin: true });
    alice = await server.createUser('alice');
    const as = (method: string, path: string, body: unknown) =>
      server.request(method, path, { key: alice.key, body });
    expect((await as('POST', '/api/v1/projects', { key: 'PRJ', name: 'Project' })).status).toBe(201);
    expect(
      (await as('PUT', '/api/v1/projects/PRJ/recipes/r1', { language: 'python', code: 'print(1)\n' })).status,
    ).toBe(201);
    expect((await as('PUT', '/api/v1/me/secrets/kept', { value: 'kept value' })).status).toBe(201);
    const key = await as('POST', '/api/v1/me/api-keys', { label: 'mine', description: 'for scripts' });
    expect(key.status).toBe(201);
    keyId = key.json.id;
    expect(
      (
        await as('PUT', '/dip/publicapi/current-user', {
          userProperties: { team: 'blue' },
          preferences: { ui: { note: 'hello' } },
        })
      ).status,
    ).toBe(200);
    last = await state();
  });
  afterAll(() => server?.close());

  const cases = ROUTES.flatMap((route) =>
    Object.entries(REFUSED[route.kind]).map(([what, escape]) => ({ ...route, what, escape })),
  );

  it.each(cases)('$method $path refuses $what in $field', async (c) => {
    const template = typeof c.body === 'string' ? c.body : c.body(await revision());
    await expectRefused(c.path, new RegExp(`^${escapeRe(c.field)} (.* )?(must|is invalid)`), () =>
      server.request(c.method, fill(c.path), {
        key: keyOf(c.as),
        rawBody: template.replace(HOLE, c.escape),
        headers: { 'content-type': 'application/json' },
      }),
    );
  });

  it.each(ROUTES)('$method $path refuses a body that is not UTF-8 ($field)', async (c) => {
    const template = typeof c.body === 'string' ? c.body : c.body(await revision());
    const [head, tail] = template.split(HOLE) as [string, string];
    await expectRefused(c.path, /^request body is not valid UTF-8/, () =>
      server.request(c.method, fill(c.path), {
        key: keyOf(c.as),
        rawBody: Buffer.concat([Buffer.from(head), Buffer.from([0xff, 0xc3]), Buffer.from(tail)]),
        headers: { 'content-type': 'application/json' },
      }),
    );
  });

  const urlCases = URL_ROUTES.flatMap((route) =>
    Object.entries(URL_CONTROLS).map(([what, encoded]) => ({ ...route, what, encoded })),
  );

  it.each(urlCases)('$method $path refuses $what in the $field', async (c) => {
    await expectRefused(c.path, new RegExp(`^${escapeRe(c.field)} must not contain control characters`), () =>
      server.request(c.method, c.path.replace(HOLE, c.encoded), {
        key: keyOf(c.as),
        ...(c.body ? { rawBody: c.body, headers: { 'content-type': 'application/json' } } : {}),
      }),
    );
  });

  it('refuses a URL whose percent-encoding is not UTF-8 (a lone surrogate, %ED%A0%80) with 400', async () => {
    await expectRefused('/api/v1/projects/PRJ/members/', /./, () =>
      server.request('PUT', '/api/v1/projects/PRJ/members/%ED%A0%80', {
        key: alice.key,
        body: { role: 'reader' },
      }),
    );
  });
});

describe('what the rules still accept', () => {
  let server: TestServer;
  let alice: TestUser;
  beforeAll(async () => {
    server = await TestServer.start();
    alice = await server.createUser('alice');
  });
  afterAll(() => server?.close());
  const as = (method: string, path: string, body: unknown) =>
    server.request(method, path, { key: alice.key, body });

  it('keeps tabs and line breaks in recipe code, descriptions and preferences, as sent', async () => {
    const code = 'def f():\r\n\treturn "é 🔑"\r\n';
    expect((await as('POST', '/api/v1/projects', { key: 'PRJ', name: '  Ünïcødé 🔑  ' })).json.name).toBe(
      'Ünïcødé 🔑',
    );
    expect((await as('PUT', '/api/v1/projects/PRJ/recipes/r', { language: 'python', code })).status).toBe(
      201,
    );
    expect((await as('GET', '/api/v1/projects/PRJ/recipes/r', undefined)).json.code).toBe(code);
    const key = await as('POST', '/api/v1/me/api-keys', { label: 'k', description: 'line one\nline two' });
    expect(key.json.description).toBe('line one\nline two');
    const saved = await as('PUT', '/dip/publicapi/current-user', { preferences: { note: 'a\n\tb' } });
    expect(saved.json.preferences).toEqual({ note: 'a\n\tb' });
  });

  it('keeps every control character but NUL in a secret value: a credential is opaque', async () => {
    const value = '-----BEGIN KEY-----\r\nMIIB\tAA\u0001\u001b\u007f\u0085\n-----END KEY-----\n';
    expect((await as('PUT', '/api/v1/me/secrets/pem', { value })).status).toBe(201);
    const info = await as('GET', '/dip/publicapi/auth/info?withSecrets=true', undefined);
    expect(info.json.secrets).toContainEqual({ key: 'pem', value });
  });

  it('reads a body starting with a byte order mark as UTF-8: it is refused as JSON, as before', async () => {
    const r = await server.request('PUT', '/api/v1/me/secrets/bom', {
      key: alice.key,
      rawBody: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"value":"v"}')]),
    });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/not valid JSON/);
  });
});
