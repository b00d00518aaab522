/*
 * The DSS public API wire facts the real dataikuapi client relies on (its requests are re-created in
 * test/python/test_dataikuapi_wire.py), proven through real HTTP. Requests are made with node:http
 * rather than fetch so the test controls every header: fetch adds a `text/plain;charset=UTF-8`
 * Content-Type to string bodies, and dataikuapi sends none at all.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type Reply, type TestUser } from './support/test-server.js';

const DSS = '/dip/publicapi';

interface RawOptions {
  /** Personal API key, sent as dataikuapi does: Basic base64("<key>:"). */
  key?: string;
  headers?: Record<string, string>;
  /** Sent as-is: no Content-Type is added. */
  body?: string;
}

const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;
const enc = encodeURIComponent;

/** One HTTP request with exactly the headers given (plus Host and, with a body, Content-Length). */
function raw(server: TestServer, method: string, path: string, opts: RawOptions = {}): Promise<Reply> {
  const target = new URL(server.url);
  const headers: Record<string, string> = { accept: '*/*', ...opts.headers };
  if (opts.key !== undefined) headers.authorization = basic(`${opts.key}:`);
  // requests sends Content-Length: 0 on bodiless POST/PUT/DELETE.
  if (opts.body !== undefined || !['GET', 'HEAD'].includes(method))
    headers['content-length'] = String(Buffer.byteLength(opts.body ?? ''));
  return new Promise((resolve, reject) => {
    const req = http.request({ host: target.hostname, port: target.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
        }
        resolve({ status: res.statusCode ?? 0, headers: h, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** A JSON body the way dataikuapi sends it: json.dumps(body) as data, no Content-Type header. */
const dumps = (body: unknown) => JSON.stringify(body);

interface DssSecret {
  name: string;
  value: string;
  secret: boolean;
}
interface DssSettings {
  secrets: DssSecret[];
  [k: string]: unknown;
}

/** dataikuapi DSSUserSettingsBase.add_secret: drop entries with that name, append the new one. */
function addSecret(settings: DssSettings, name: string, value: string): void {
  removeSecret(settings, name);
  settings.secrets.push({ name, value, secret: true });
}
/** dataikuapi DSSUserSettingsBase.remove_secret. */
function removeSecret(settings: DssSettings, name: string): void {
  settings.secrets = settings.secrets.filter((s) => s.name !== name);
}

function expectDssError(r: Reply, status: number): void {
  expect(r.status, r.text).toBe(status);
  expect(r.headers.get('content-type')).toBe('application/json');
  expect(r.json).toEqual(
    expect.objectContaining({
      errorType: expect.any(String),
      message: expect.any(String),
      detailedMessage: expect.any(String),
      code: expect.any(String),
    }),
  );
  expect((r.json as { message: string }).message.length).toBeGreaterThan(0);
}

function expectNoRedirect(r: Reply): void {
  expect(r.status).toBeLessThan(300);
  expect(r.headers.get('location')).toBeNull();
}

let server: TestServer;
let admin: TestUser;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  server = await TestServer.start();
  admin = await server.createUser('wire-admin', { admin: true });
  alice = await server.createUser('alice');
  bob = await server.createUser('bob');
});
afterAll(() => server.close());

/** Stores a secret through Coffer's own API (the web UI path), so DSS reads have something to show. */
async function putSecret(user: TestUser, name: string, value: string): Promise<void> {
  const r = await server.request('PUT', `/api/v1/me/secrets/${enc(name)}`, {
    key: user.key,
    body: { value },
  });
  expect([200, 201], r.text).toContain(r.status);
}

/** The caller's own secret values, as their code reads them: auth/info?withSecrets=True. */
async function valuesOf(user: TestUser): Promise<Record<string, string>> {
  const r = await raw(server, 'GET', `${DSS}/auth/info?withSecrets=True`, { key: user.key });
  expect(r.status, r.text).toBe(200);
  const out: Record<string, string> = {};
  for (const s of r.json.secrets as { key: string; value: string }[]) out[s.key] = s.value;
  return out;
}

async function ownSettings(user: TestUser): Promise<DssSettings> {
  const r = await raw(server, 'GET', `${DSS}/current-user`, { key: user.key });
  expect(r.status, r.text).toBe(200);
  return r.json as DssSettings;
}

async function adminSettings(login: string): Promise<Reply> {
  return raw(server, 'GET', `${DSS}/admin/users/${login}`, { key: admin.key });
}

describe('transport: prefixes, slashes, redirects', () => {
  it('serves the same routes under /dip/publicapi and /public/api', async () => {
    for (const path of ['/auth/info', '/current-user', '/personal-api-keys/', '/users', '/groups']) {
      const a = await raw(server, 'GET', `/dip/publicapi${path}`, { key: alice.key });
      const b = await raw(server, 'GET', `/public/api${path}`, { key: alice.key });
      expect(a.status, `${path}: ${a.text}`).toBe(200);
      expect(b.status, `${path}: ${b.text}`).toBe(200);
      expect(b.json, path).toEqual(a.json);
    }
    const a = await raw(server, 'GET', '/dip/publicapi/admin/users/alice', { key: admin.key });
    const b = await raw(server, 'GET', '/public/api/admin/users/alice', { key: admin.key });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.json).toEqual(a.json);
  });

  it('serves //dip/publicapi (base URL with a trailing slash) for GET, PUT and POST without redirecting', async () => {
    const get = await raw(server, 'GET', `/${DSS}/auth/info?withSecrets=False`, { key: alice.key });
    expectNoRedirect(get);
    expect(get.json.authIdentifier).toBe('alice');

    const settings = await ownSettings(alice);
    settings.displayName = 'Alice via double slash';
    const put = await raw(server, 'PUT', `/${DSS}/current-user`, { key: alice.key, body: dumps(settings) });
    expectNoRedirect(put);
    expect((await ownSettings(alice)).displayName).toBe('Alice via double slash');

    const post = await raw(server, 'POST', `/${DSS}/personal-api-keys/`, {
      key: alice.key,
      body: dumps({ label: 'double-slash', description: '' }),
    });
    expectNoRedirect(post);
    expect(post.json.label).toBe('double-slash');
    expect(post.json.id).toBeTruthy();

    const pub = await raw(server, 'GET', '//public/api/auth/info', { key: alice.key });
    expectNoRedirect(pub);
    expect(pub.json.authIdentifier).toBe('alice');
  });

  it('serves routes with and without a trailing slash for GET, PUT and POST without redirecting', async () => {
    for (const path of ['/current-user', '/current-user/', '/personal-api-keys', '/personal-api-keys/']) {
      const r = await raw(server, 'GET', `${DSS}${path}`, { key: alice.key });
      expectNoRedirect(r);
      expect(r.status, path).toBe(200);
    }
    for (const path of [
      '/admin/users',
      '/admin/users/',
      '/admin/users/alice/',
      '//dip/publicapi/admin/users/',
    ]) {
      const r = await raw(server, 'GET', path.startsWith('//') ? path : `${DSS}${path}`, { key: admin.key });
      expectNoRedirect(r);
      expect(r.status, path).toBe(200);
    }
    for (const path of ['/current-user', '/current-user/']) {
      const settings = await ownSettings(alice);
      settings.displayName = `Alice at ${path}`;
      const r = await raw(server, 'PUT', `${DSS}${path}`, { key: alice.key, body: dumps(settings) });
      expectNoRedirect(r);
      expect((await ownSettings(alice)).displayName).toBe(`Alice at ${path}`);
    }
    for (const path of ['/personal-api-keys', '/personal-api-keys/', '/personal-api-keys//']) {
      const r = await raw(server, 'POST', `/${DSS}${path}`, {
        key: alice.key,
        body: dumps({ label: `slash ${path}`, description: '' }),
      });
      expectNoRedirect(r);
      expect(r.json.label, path).toBe(`slash ${path}`);
    }
    const s = await adminSettings('bob');
    const put = await raw(server, 'PUT', `${DSS}/admin/users/bob/`, { key: admin.key, body: dumps(s.json) });
    expectNoRedirect(put);
  });
});

describe('transport: credentials', () => {
  it('accepts the API key as Basic "<key>:", Basic ":<key>" and Bearer', async () => {
    for (const authorization of [basic(`${alice.key}:`), basic(`:${alice.key}`), `Bearer ${alice.key}`]) {
      const r = await raw(server, 'GET', `${DSS}/auth/info`, { headers: { authorization } });
      expect(r.status, `${authorization.split(' ')[0]}: ${r.text}`).toBe(200);
      expect(r.json.authIdentifier).toBe('alice');
      expect(r.json.authSource).toBe('PERSONAL_API_KEY');
    }
  });

  it('accepts a ticket in X-DKU-APITicket, with no Authorization header', async () => {
    const { ticket } = await server.issueTicket('alice');
    const r = await raw(server, 'GET', `${DSS}/auth/info?withSecrets=False`, {
      headers: { 'X-DKU-APITicket': ticket },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.authIdentifier).toBe('alice');
    expect(r.json.authSource).toBe('TICKET');
  });

  it('refuses a missing or wrong key with 401 in the DSS error shape', async () => {
    expectDssError(await raw(server, 'GET', `${DSS}/auth/info`), 401);
    expectDssError(await raw(server, 'GET', `${DSS}/auth/info`, { key: `${alice.key}x` }), 401);
    expectDssError(
      await raw(server, 'GET', `${DSS}/auth/info`, { headers: { 'X-DKU-APITicket': 'nope' } }),
      401,
    );
  });
});

describe('transport: bodies and booleans', () => {
  it('parses a JSON body sent with no Content-Type header', async () => {
    const r = await raw(server, 'POST', `${DSS}/personal-api-keys/`, {
      key: alice.key,
      body: dumps({ label: 'no content type', description: 'caf\u00e9' }),
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.label).toBe('no content type');
    expect(r.json.description).toBe('caf\u00e9');
    // json.dumps escapes non-ASCII: the body arrives as pure ASCII with \uXXXX escapes.
    const escaped = await raw(server, 'POST', `${DSS}/personal-api-keys/`, {
      key: alice.key,
      body: '{"label": "escaped", "description": "caf\\u00e9"}',
    });
    expect(escaped.json.description).toBe('caf\u00e9');
  });

  it('parses a JSON body sent as text/plain', async () => {
    const r = await raw(server, 'POST', `${DSS}/personal-api-keys/`, {
      key: alice.key,
      headers: { 'content-type': 'text/plain' },
      body: dumps({ label: 'text plain', description: '' }),
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.label).toBe('text plain');
  });

  it('saves settings sent as a JSON body with no Content-Type header', async () => {
    await putSecret(alice, 'body-probe', 'old-value');
    const settings = await ownSettings(alice);
    addSecret(settings, 'body-probe', 'new-value');
    const r = await raw(server, 'PUT', `${DSS}/current-user`, { key: alice.key, body: dumps(settings) });
    expect(r.status, r.text).toBe(200);
    expect((await valuesOf(alice))['body-probe']).toBe('new-value');
  });

  it('accepts True/False, TRUE/FALSE and true/false for withSecrets', async () => {
    await putSecret(alice, 'bool-probe', 'b');
    for (const [v, expected] of [
      ['True', true],
      ['False', false],
      ['TRUE', true],
      ['FALSE', false],
      ['true', true],
      ['false', false],
    ] as const) {
      const r = await raw(server, 'GET', `${DSS}/auth/info?withSecrets=${v}`, { key: alice.key });
      expect(r.status, `${v}: ${r.text}`).toBe(200);
      expect('secrets' in r.json, v).toBe(expected);
    }
  });

  it('refuses any other boolean spelling with 400 naming the parameter', async () => {
    for (const v of ['yes', 'no', '1', '0', 'on', 'Tru', 'truex']) {
      const r = await raw(server, 'GET', `${DSS}/auth/info?withSecrets=${v}`, { key: alice.key });
      expectDssError(r, 400);
      expect(r.json.message, v).toContain('withSecrets');
      expect(r.json.detailedMessage, v).toContain('withSecrets');
    }
    const inc = await raw(server, 'GET', `${DSS}/admin/users/?includeSettings=maybe`, { key: admin.key });
    expectDssError(inc, 400);
    expect(inc.json.message).toContain('includeSettings');
    const del = await raw(server, 'DELETE', `${DSS}/admin/users/bob?allowSelfDeletion=sure`, {
      key: admin.key,
    });
    expectDssError(del, 400);
    expect(del.json.message).toContain('allowSelfDeletion');
    // bob was not deleted by the refused call
    expect((await raw(server, 'GET', `${DSS}/users/bob`, { key: alice.key })).status).toBe(200);
  });

  it('accepts includeSettings=True on the admin user list and returns full settings with markers only', async () => {
    await putSecret(alice, 'list-probe', 'alice-plain-in-list');
    const r = await raw(server, 'GET', `${DSS}/admin/users/?includeSettings=True`, { key: admin.key });
    expect(r.status, r.text).toBe(200);
    const a = (r.json as DssSettings[]).find((u) => u.login === 'alice')!;
    expect(a.secrets).toContainEqual({
      name: 'list-probe',
      value: expect.stringMatching(/^e:AES:/),
      secret: true,
    });
    expect(a.credentials).toEqual({});
    expect(r.text).not.toContain('alice-plain-in-list');
    const plain = await raw(server, 'GET', `${DSS}/admin/users/?includeSettings=False`, { key: admin.key });
    expect((plain.json as { login: string }[]).map((u) => u.login)).toEqual(
      expect.arrayContaining(['alice', 'bob']),
    );
  });
});

describe('transport: error bodies', () => {
  it('answers every error with errorType, message, detailedMessage, code and Content-Type exactly application/json', async () => {
    const cases: [string, Promise<Reply>, number][] = [
      ['no credentials', raw(server, 'GET', `${DSS}/current-user`), 401],
      ['non-admin on an admin route', raw(server, 'GET', `${DSS}/admin/users/`, { key: alice.key }), 403],
      ['unknown user', raw(server, 'GET', `${DSS}/admin/users/nobody-here`, { key: admin.key }), 404],
      ['unknown route', raw(server, 'GET', `${DSS}/no/such/route`, { key: alice.key }), 404],
      [
        'unknown route, public prefix',
        raw(server, 'GET', '/public/api/no/such/route', { key: alice.key }),
        404,
      ],
      ['unknown route, double slash', raw(server, 'GET', `/${DSS}/no/such/route`, { key: alice.key }), 404],
      ['bad boolean', raw(server, 'GET', `${DSS}/auth/info?withSecrets=maybe`, { key: alice.key }), 400],
      [
        'body not JSON',
        raw(server, 'POST', `${DSS}/personal-api-keys/`, { key: alice.key, body: '{not json' }),
        400,
      ],
      [
        'settings not an object',
        raw(server, 'PUT', `${DSS}/current-user`, { key: alice.key, body: '[1,2]' }),
        400,
      ],
      ['unknown key id', raw(server, 'GET', `${DSS}/personal-api-keys/nope`, { key: alice.key }), 404],
    ];
    for (const [what, pending, status] of cases) {
      const r = await pending;
      expect(r.status, `${what}: ${r.text}`).toBe(status);
      expectDssError(r, status);
    }
  });

  it('answers PUT admin/users/{login} with parseable JSON', async () => {
    const s = await adminSettings('bob');
    expect(s.status, s.text).toBe(200);
    const r = await raw(server, 'PUT', `${DSS}/admin/users/bob`, { key: admin.key, body: dumps(s.json) });
    expect(r.status, r.text).toBe(200);
    expect(() => JSON.parse(r.text) as unknown).not.toThrow();
    expect(typeof r.json).toBe('object');
  });
});

describe('auth/info', () => {
  it('has authIdentifier, authSource, via, groups, userProfile, associatedDSSUser and omits secrets when withSecrets=False', async () => {
    await putSecret(alice, 'info-probe', 'v');
    for (const q of ['?withSecrets=False', '']) {
      const r = await raw(server, 'GET', `${DSS}/auth/info${q}`, { key: alice.key });
      expect(r.status, r.text).toBe(200);
      expect(r.json).toEqual({
        authIdentifier: 'alice',
        authSource: 'PERSONAL_API_KEY',
        via: expect.any(Array),
        groups: expect.any(Array),
        userProfile: expect.any(String),
        associatedDSSUser: 'alice',
      });
      expect(r.text).not.toContain('secrets');
    }
  });

  it("lists the caller's own secrets as {key, value} with withSecrets=True", async () => {
    await putSecret(bob, 'bob-only', 'bob-plain-1');
    const r = await raw(server, 'GET', `${DSS}/auth/info?withSecrets=True`, { key: bob.key });
    expect(r.status, r.text).toBe(200);
    expect(r.json.secrets).toContainEqual({ key: 'bob-only', value: 'bob-plain-1' });
    const a = await raw(server, 'GET', `${DSS}/auth/info?withSecrets=True`, { key: alice.key });
    expect(a.text).not.toContain('bob-plain-1');
  });
});

describe('user settings: read view', () => {
  it('current-user always has secrets as {name, value: e:AES: marker, secret: true}, credentials {} and userProperties', async () => {
    const fresh = await server.createUser('fresh');
    const empty = await ownSettings(fresh);
    expect(empty.secrets).toEqual([]);
    expect(empty.credentials).toEqual({});
    expect(empty.userProperties).toEqual(expect.any(Object));

    await putSecret(fresh, 'api-token', 'plain-api-token-value');
    const r = await raw(server, 'GET', `${DSS}/current-user`, { key: fresh.key });
    expect(r.status).toBe(200);
    expect(r.json.secrets).toEqual([
      { name: 'api-token', value: expect.stringMatching(/^e:AES:./), secret: true },
    ]);
    expect(r.text).not.toContain('plain-api-token-value');
    expect(r.json.credentials).toEqual({});
    expect(r.json.userProperties).toEqual(expect.any(Object));
  });

  it('the admin view also has adminProperties, creationDate (epoch ms) and preferences, and markers only', async () => {
    await putSecret(alice, 'admin-view-probe', 'alice-plain-for-admin-view');
    const r = await adminSettings('alice');
    expect(r.status, r.text).toBe(200);
    expect(r.json.adminProperties).toEqual(expect.any(Object));
    expect(r.json.preferences).toEqual(expect.any(Object));
    expect(Number.isInteger(r.json.creationDate)).toBe(true);
    expect(r.json.creationDate).toBeGreaterThan(1_500_000_000_000);
    expect(r.json.secrets).toContainEqual({
      name: 'admin-view-probe',
      value: expect.stringMatching(/^e:AES:/),
      secret: true,
    });
    expect(r.json.credentials).toEqual({});
    expect(r.json.userProperties).toEqual(expect.any(Object));
    expect(r.json.enabled).toBe(true);
    expect(r.json.login).toBe('alice');
    expect(r.text).not.toContain('alice-plain-for-admin-view');
  });
});

describe('user settings: read-modify-write as dataikuapi does it', () => {
  let carol: TestUser;
  beforeAll(async () => {
    carol = await server.createUser('carol');
    await putSecret(carol, 'keep', 'keep-value');
    await putSecret(carol, 'replace', 'replace-old');
    await putSecret(carol, 'remove', 'remove-value');
  });

  it('add_secret + remove_secret + save keeps other secrets, replaces the value and deletes the removed one', async () => {
    const before = await ownSettings(carol);
    const keepMarker = before.secrets.find((s) => s.name === 'keep')!.value;
    const replaceMarker = before.secrets.find((s) => s.name === 'replace')!.value;
    addSecret(before, 'replace', 'replace-new');
    addSecret(before, 'added', 'added-value');
    removeSecret(before, 'remove');
    const put = await raw(server, 'PUT', `${DSS}/current-user`, { key: carol.key, body: dumps(before) });
    expect(put.status, put.text).toBe(200);

    const values = await valuesOf(carol);
    expect(values).toEqual({ keep: 'keep-value', replace: 'replace-new', added: 'added-value' });

    const after = await ownSettings(carol);
    expect(after.secrets.find((s) => s.name === 'keep')!.value).toBe(keepMarker);
    const newReplaceMarker = after.secrets.find((s) => s.name === 'replace')!.value;
    expect(newReplaceMarker).toMatch(/^e:AES:/);
    expect(newReplaceMarker).not.toBe(replaceMarker);
    expect(after.secrets.map((s) => s.name).sort()).toEqual(['added', 'keep', 'replace']);
    expect(JSON.stringify(after)).not.toMatch(/keep-value|replace-new|added-value/);
  });

  it('saving the settings unchanged keeps every value', async () => {
    const before = await valuesOf(carol);
    const settings = await ownSettings(carol);
    const r = await raw(server, 'PUT', `${DSS}/current-user`, { key: carol.key, body: dumps(settings) });
    expect(r.status, r.text).toBe(200);
    expect(await valuesOf(carol)).toEqual(before);
  });

  it("refuses with 400 a marker copied from another user's settings, and changes nothing", async () => {
    await putSecret(bob, 'keep', 'bob-keep-value');
    await putSecret(bob, 'bob-thing', 'bob-thing-value');
    const bobs = await ownSettings(bob);
    const beforeValues = await valuesOf(carol);
    const beforeSettings = await ownSettings(carol);

    // Same name as one of carol's secrets.
    const sameName = await ownSettings(carol);
    addSecret(sameName, 'keep', bobs.secrets.find((s) => s.name === 'keep')!.value);
    const r1 = await raw(server, 'PUT', `${DSS}/current-user`, { key: carol.key, body: dumps(sameName) });
    expectDssError(r1, 400);

    // A name carol does not have.
    const newName = await ownSettings(carol);
    addSecret(newName, 'bob-thing', bobs.secrets.find((s) => s.name === 'bob-thing')!.value);
    const r2 = await raw(server, 'PUT', `${DSS}/current-user`, { key: carol.key, body: dumps(newName) });
    expectDssError(r2, 400);

    expect(await valuesOf(carol)).toEqual(beforeValues);
    expect(await ownSettings(carol)).toEqual(beforeSettings);
    expect((await valuesOf(bob))['bob-thing']).toBe('bob-thing-value');
  });

  it("refuses with 400 a marker of this user's secret placed under a different name, and changes nothing", async () => {
    const beforeValues = await valuesOf(carol);
    const beforeSettings = await ownSettings(carol);
    const keepMarker = beforeSettings.secrets.find((s) => s.name === 'keep')!.value;

    const existing = await ownSettings(carol);
    addSecret(existing, 'replace', keepMarker);
    const r1 = await raw(server, 'PUT', `${DSS}/current-user`, { key: carol.key, body: dumps(existing) });
    expectDssError(r1, 400);

    const fresh = await ownSettings(carol);
    addSecret(fresh, 'copy-of-keep', keepMarker);
    const r2 = await raw(server, 'PUT', `${DSS}/current-user`, { key: carol.key, body: dumps(fresh) });
    expectDssError(r2, 400);

    expect(await valuesOf(carol)).toEqual(beforeValues);
    expect(await ownSettings(carol)).toEqual(beforeSettings);
  });

  it('a save with one invalid entry (control character in a name, or a value over 64 KiB) changes nothing at all', async () => {
    const beforeValues = await valuesOf(carol);
    const beforeSettings = await ownSettings(carol);

    const invalid: [string, (s: DssSettings) => void, RegExp][] = [
      ['control character in a name', (s) => addSecret(s, 'bad\u0007name', 'v'), /control character/],
      ['value over 64 KiB', (s) => addSecret(s, 'too-big', 'x'.repeat(64 * 1024 + 1)), /64 KiB|65536/],
    ];
    for (const [what, breakIt, message] of invalid) {
      const s = await ownSettings(carol);
      // Valid changes that must not be applied either.
      addSecret(s, 'replace', 'must-not-be-stored');
      addSecret(s, 'would-be-new', 'must-not-be-stored');
      removeSecret(s, 'keep');
      s.displayName = 'must not be stored';
      breakIt(s);
      const r = await raw(server, 'PUT', `${DSS}/current-user`, { key: carol.key, body: dumps(s) });
      expectDssError(r, 400);
      expect(r.json.message, what).toMatch(message);
      expect(r.text, what).not.toContain('must-not-be-stored');
      expect(await valuesOf(carol), what).toEqual(beforeValues);
      expect(await ownSettings(carol), what).toEqual(beforeSettings);
    }
  });
});

describe("user settings: an administrator writes another user's secrets", () => {
  let dave: TestUser;
  beforeAll(async () => {
    dave = await server.createUser('dave');
    await putSecret(dave, 'dave-own', 'dave-own-value');
  });

  it('sets a secret through PUT admin/users/{login}; the user reads it, the admin never sees a value', async () => {
    const s = await adminSettings('dave');
    expect(s.status).toBe(200);
    const settings = s.json as DssSettings;
    addSecret(settings, 'set-by-admin', 'admin-chosen-value');
    const put = await raw(server, 'PUT', `${DSS}/admin/users/dave`, {
      key: admin.key,
      body: dumps(settings),
    });
    expect(put.status, put.text).toBe(200);
    expect(typeof JSON.parse(put.text)).toBe('object');
    expect(put.text).not.toContain('admin-chosen-value');
    expect(put.text).not.toContain('dave-own-value');

    expect(await valuesOf(dave)).toEqual({
      'dave-own': 'dave-own-value',
      'set-by-admin': 'admin-chosen-value',
    });

    const again = await adminSettings('dave');
    expect(again.json.secrets).toContainEqual({
      name: 'set-by-admin',
      value: expect.stringMatching(/^e:AES:/),
      secret: true,
    });
    expect(again.text).not.toMatch(/admin-chosen-value|dave-own-value/);
    // The admin's own auth/info never carries dave's values.
    const mine = await raw(server, 'GET', `${DSS}/auth/info?withSecrets=True`, { key: admin.key });
    expect(mine.text).not.toMatch(/admin-chosen-value|dave-own-value/);
  });

  it('removes a secret through PUT admin/users/{login}, keeping the others', async () => {
    const settings = (await adminSettings('dave')).json as DssSettings;
    removeSecret(settings, 'set-by-admin');
    const put = await raw(server, 'PUT', `${DSS}/admin/users/dave`, {
      key: admin.key,
      body: dumps(settings),
    });
    expect(put.status, put.text).toBe(200);
    expect(await valuesOf(dave)).toEqual({ 'dave-own': 'dave-own-value' });
  });

  it("shows the admin's changes in the owner's /api/v1/me/activity", async () => {
    const r = await server.request('GET', '/api/v1/me/activity', { key: dave.key });
    expect(r.status, r.text).toBe(200);
    const events = r.json.events as { action: string; secretNames: string[]; actorLogin: string | null }[];
    expect(events).toContainEqual(
      expect.objectContaining({
        action: 'secret.created',
        secretNames: ['set-by-admin'],
        actorLogin: admin.login,
      }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        action: 'secret.deleted',
        secretNames: ['set-by-admin'],
        actorLogin: admin.login,
      }),
    );
    expect(r.text).not.toContain('admin-chosen-value');
  });

  it("refuses a non-admin's PUT admin/users/{login} with 403 and changes nothing", async () => {
    const settings = (await adminSettings('dave')).json as DssSettings;
    addSecret(settings, 'set-by-bob', 'bob-value');
    const r = await raw(server, 'PUT', `${DSS}/admin/users/dave`, { key: bob.key, body: dumps(settings) });
    expectDssError(r, 403);
    expect(await valuesOf(dave)).toEqual({ 'dave-own': 'dave-own-value' });
  });
});

describe('personal API keys', () => {
  it('POST returns a truthy id and a key that works at once', async () => {
    const r = await raw(server, 'POST', `${DSS}/personal-api-keys/`, {
      key: alice.key,
      body: dumps({ label: 'made by test', description: 'desc' }),
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.id).toBeTruthy();
    expect(r.json.key).toBeTruthy();
    expect(r.json).toEqual(
      expect.objectContaining({
        user: 'alice',
        label: 'made by test',
        description: 'desc',
        createdBy: 'alice',
      }),
    );
    const info = await raw(server, 'GET', `${DSS}/auth/info`, { key: r.json.key as string });
    expect(info.status, info.text).toBe(200);
    expect(info.json.authIdentifier).toBe('alice');
  });

  it('lists items with id, user, key, label, description, createdOn and createdBy, where key is not the real key', async () => {
    const made = await raw(server, 'POST', `${DSS}/personal-api-keys/`, {
      key: alice.key,
      body: dumps({ label: 'listed', description: 'd' }),
    });
    const r = await raw(server, 'GET', `${DSS}/personal-api-keys/`, { key: alice.key });
    expect(r.status, r.text).toBe(200);
    const item = (r.json as Record<string, unknown>[]).find((k) => k.id === made.json.id)!;
    expect(item).toEqual(
      expect.objectContaining({
        id: made.json.id,
        user: 'alice',
        key: expect.any(String),
        label: 'listed',
        description: 'd',
        createdOn: expect.any(Number),
        createdBy: 'alice',
      }),
    );
    expect(Number.isInteger(item.createdOn)).toBe(true);
    expect(item.key).not.toBe(made.json.key);
    expect(r.text).not.toContain(made.json.key as string);
    // The listed "key" does not authenticate.
    expect((await raw(server, 'GET', `${DSS}/auth/info`, { key: item.key as string })).status).toBe(401);
    // Only the caller's own keys are listed.
    expect((r.json as { user: string }[]).every((k) => k.user === 'alice')).toBe(true);
  });

  it('GET, PUT and DELETE by id; a deleted key is refused afterwards', async () => {
    const made = await raw(server, 'POST', `${DSS}/personal-api-keys/`, {
      key: alice.key,
      body: dumps({ label: 'to edit', description: '' }),
    });
    const id = made.json.id as string;
    const newKey = made.json.key as string;

    const def = await raw(server, 'GET', `${DSS}/personal-api-keys/${id}`, { key: alice.key });
    expect(def.status, def.text).toBe(200);
    expect(def.json).toEqual(expect.objectContaining({ id, user: 'alice', label: 'to edit' }));

    // dataikuapi set_definition: the whole definition back, with label/description changed.
    const edited = { ...def.json, label: 'edited', description: 'now described' };
    const put = await raw(server, 'PUT', `${DSS}/personal-api-keys/${id}`, {
      key: alice.key,
      body: dumps(edited),
    });
    expect(put.status, put.text).toBe(200);
    const after = await raw(server, 'GET', `${DSS}/personal-api-keys/${id}`, { key: alice.key });
    expect(after.json).toEqual(expect.objectContaining({ label: 'edited', description: 'now described' }));

    // Another user cannot see or delete it.
    expectDssError(await raw(server, 'GET', `${DSS}/personal-api-keys/${id}`, { key: bob.key }), 404);
    expectDssError(await raw(server, 'DELETE', `${DSS}/personal-api-keys/${id}`, { key: bob.key }), 404);
    expect((await raw(server, 'GET', `${DSS}/auth/info`, { key: newKey })).status).toBe(200);

    const del = await raw(server, 'DELETE', `${DSS}/personal-api-keys/${id}`, { key: alice.key });
    expect(del.status, del.text).toBe(200);
    expectDssError(await raw(server, 'GET', `${DSS}/auth/info`, { key: newKey }), 401);
    expectDssError(await raw(server, 'GET', `${DSS}/personal-api-keys/${id}`, { key: alice.key }), 404);
    const list = await raw(server, 'GET', `${DSS}/personal-api-keys/`, { key: alice.key });
    expect((list.json as { id: string }[]).map((k) => k.id)).not.toContain(id);
  });

  it('an admin creates a key for another user through admin/personal-api-keys/; a non-admin cannot', async () => {
    const r = await raw(server, 'POST', `${DSS}/admin/personal-api-keys/`, {
      key: admin.key,
      body: dumps({ user: 'bob', label: 'for bob', description: '' }),
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.id).toBeTruthy();
    expect(r.json.user).toBe('bob');
    expect(r.json.createdBy).toBe(admin.login);
    const info = await raw(server, 'GET', `${DSS}/auth/info`, { key: r.json.key as string });
    expect(info.json.authIdentifier).toBe('bob');
    const all = await raw(server, 'GET', `${DSS}/admin/personal-api-keys/`, { key: admin.key });
    expect(all.json).toContainEqual(expect.objectContaining({ id: r.json.id, user: 'bob' }));

    const refused = await raw(server, 'POST', `${DSS}/admin/personal-api-keys/`, {
      key: alice.key,
      body: dumps({ user: 'bob', label: 'sneaky', description: '' }),
    });
    expectDssError(refused, 403);
  });
});

describe('webapp helpers: auth from browser headers', () => {
  let cookie: string;
  beforeAll(async () => {
    await putSecret(alice, 'webapp-secret', 'webapp-value');
    cookie = (await server.login('alice', alice.password)).cookie;
  });

  const browserHeaders = () => ({
    Host: 'dss.example',
    'User-Agent': 'Mozilla/5.0',
    Cookie: `theme=dark; ${cookie}; other=1`,
  });

  it("info-from-browser-headers answers the browser user's identity (and secrets) when that user is the caller", async () => {
    const r = await raw(server, 'POST', `${DSS}/auth/info-from-browser-headers?withSecrets=True`, {
      key: alice.key,
      body: dumps(browserHeaders()),
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.authIdentifier).toBe('alice');
    expect(r.json.associatedDSSUser).toBe('alice');
    expect(r.json.secrets).toContainEqual({ key: 'webapp-secret', value: 'webapp-value' });
    const noSecrets = await raw(server, 'POST', `${DSS}/auth/info-from-browser-headers?withSecrets=False`, {
      key: alice.key,
      body: dumps(browserHeaders()),
    });
    expect(noSecrets.status, noSecrets.text).toBe(200);
    expect('secrets' in noSecrets.json).toBe(false);
  });

  it('ticket-from-browser-headers answers {"msg": ticket}, and the ticket authenticates as the browser user', async () => {
    const r = await raw(server, 'POST', `${DSS}/auth/ticket-from-browser-headers`, {
      key: alice.key,
      body: dumps(browserHeaders()),
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ msg: expect.any(String) });
    const info = await raw(server, 'GET', `${DSS}/auth/info?withSecrets=True`, {
      headers: { 'X-DKU-APITicket': r.json.msg as string },
    });
    expect(info.status, info.text).toBe(200);
    expect(info.json.authIdentifier).toBe('alice');
    expect(info.json.authSource).toBe('TICKET');
  });

  it("refuses both with 403 when the browser's user is not the caller", async () => {
    for (const path of [
      '/auth/info-from-browser-headers?withSecrets=True',
      '/auth/ticket-from-browser-headers',
    ]) {
      const r = await raw(server, 'POST', `${DSS}${path}`, { key: bob.key, body: dumps(browserHeaders()) });
      expectDssError(r, 403);
      expect(r.text).not.toContain('webapp-value');
      expect(r.text).not.toMatch(/coft_|"msg"/);
    }
  });
});

describe('impersonation', () => {
  it('refuses X-DKU-ProxyUser with 403 and a message naming the header', async () => {
    for (const path of ['/auth/info?withSecrets=True', '/auth/info?withSecrets=False', '/current-user']) {
      const r = await raw(server, 'GET', `${DSS}${path}`, {
        key: admin.key,
        headers: { 'X-DKU-ProxyUser': 'alice' },
      });
      expectDssError(r, 403);
      expect(r.json.message, path).toContain('X-DKU-ProxyUser');
      expect(r.json.message, path).toMatch(/impersonation/i);
      expect(r.text).not.toContain('webapp-value');
    }
  });
});
