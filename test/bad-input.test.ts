import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type Reply, type TestUser } from './support/test-server.js';

/*
 * Bad input through HTTP: each is refused with a 4xx whose message names the problem, and the store is
 * exactly as it was (revision, names and dates from GET /api/v1/me/secrets; values from auth/info).
 * lastUsedAt is left out of the comparison: reading values through auth/info is itself what sets it.
 */

const BODY_LIMIT = 128 * 1024;
const LOGIN_MAX_FAILURES = 3;
const SECRETS_LIMIT = 3;

interface Snapshot {
  revision: number;
  secrets: { name: string; createdAt: number; updatedAt: number }[];
  values: { key: string; value: string }[];
}

async function snapshot(server: TestServer, user: TestUser): Promise<Snapshot> {
  const list = await server.request('GET', '/api/v1/me/secrets', { key: user.key });
  expect(list.status).toBe(200);
  const info = await server.request('GET', '/dip/publicapi/auth/info?withSecrets=true', { key: user.key });
  expect(info.status).toBe(200);
  return {
    revision: list.json.revision,
    secrets: (list.json.secrets as Snapshot['secrets']).map(({ name, createdAt, updatedAt }) => ({
      name,
      createdAt,
      updatedAt,
    })),
    values: info.json.secrets,
  };
}

/** Coffer's own error shape, {"error": {"code", "message"}}, with a message matching `message`. */
function expectApiError(r: Reply, status: number | number[], message: RegExp): void {
  const statuses = [status].flat();
  expect(statuses, `status ${r.status}, body ${r.text.slice(0, 300)}`).toContain(r.status);
  expect(r.json, r.text.slice(0, 300)).toEqual({
    error: expect.objectContaining({ code: expect.any(String), message: expect.stringMatching(message) }),
  });
}

/** The DSS error shape, {errorType, message, detailedMessage, code}. */
function expectDssError(r: Reply, status: number, message: RegExp): void {
  expect(r.status, r.text.slice(0, 300)).toBe(status);
  expect(r.json).toMatchObject({
    errorType: expect.stringMatching(/^com\.dataiku\./),
    message: expect.stringMatching(message),
    detailedMessage: expect.stringMatching(message),
  });
}

describe('bad input is refused with a clear 4xx and changes nothing', () => {
  let server: TestServer;
  let alice: TestUser;

  /** Sends a request as alice and proves her store is unchanged by it. */
  async function refused(send: () => Promise<Reply>): Promise<Reply> {
    const before = await snapshot(server, alice);
    const r = await send();
    expect(await snapshot(server, alice)).toEqual(before);
    return r;
  }
  const put = (name: string, rawBody: string) =>
    server.request('PUT', `/api/v1/me/secrets/${name}`, {
      key: alice.key,
      rawBody,
      headers: { 'content-type': 'application/json' },
    });
  const patch = (rawBody: string) =>
    server.request('PATCH', '/api/v1/me/secrets', {
      key: alice.key,
      rawBody,
      headers: { 'content-type': 'application/json' },
    });
  const revision = async () =>
    (await server.request('GET', '/api/v1/me/secrets', { key: alice.key })).json.revision as number;

  beforeAll(async () => {
    server = await TestServer.start({
      COFFER_MAX_BODY_BYTES: String(BODY_LIMIT),
      COFFER_LOGIN_MAX_FAILURES: String(LOGIN_MAX_FAILURES),
    });
    alice = await server.createUser('alice');
    for (const [name, value] of [
      ['seed-one', 'first seeded value'],
      ['seed-two', 'second seeded välue 🔑'],
    ] as const) {
      const r = await server.request('PUT', `/api/v1/me/secrets/${encodeURIComponent(name)}`, {
        key: alice.key,
        body: { value },
      });
      expect(r.status).toBe(201);
    }
  });
  afterAll(() => server?.close());

  describe('values and bodies', () => {
    it('refuses a value over 64 KiB with 400/413 and a message stating the limit, without echoing the value', async () => {
      const value = 'Q'.repeat(64 * 1024 + 1);
      const r = await refused(() => put('seed-one', JSON.stringify({ value })));
      expectApiError(r, [400, 413], /65536 bytes|64 KiB/);
      expect(r.text).not.toContain('QQQQQQQQ');
    });

    it('refuses a value over 64 KiB counted in UTF-8 bytes (32769 two-byte characters)', async () => {
      const r = await refused(() => put('seed-one', JSON.stringify({ value: 'é'.repeat(32 * 1024 + 1) })));
      expectApiError(r, [400, 413], /65538 bytes; the limit is 65536 bytes/);
    });

    it('refuses a value over 64 KiB inside a batch', async () => {
      const rev = await revision();
      const r = await refused(() =>
        patch(
          JSON.stringify({ revision: rev, changes: [{ op: 'put', name: 'big', value: 'z'.repeat(65537) }] }),
        ),
      );
      expectApiError(r, [400, 413], /the limit is 65536 bytes/);
    });

    it('refuses a body over COFFER_MAX_BODY_BYTES with 413', async () => {
      const r = await refused(() => put('seed-one', JSON.stringify({ value: 'b'.repeat(BODY_LIMIT + 10) })));
      expectApiError(r, 413, /too large/);
    });

    it.each([
      ['truncated', '{"value": '],
      ['unquoted keys', "{value: 'x'}"],
      ['trailing comma', '{"value": "x",}'],
    ])('refuses malformed JSON (%s) with 400', async (_label, body) => {
      const r = await refused(() => put('seed-one', body));
      expectApiError(r, 400, /not valid JSON/);
    });

    it.each([
      ['an array', '[{"value": "x"}]'],
      ['a string', '"x"'],
      ['a number', '42'],
      ['null', 'null'],
      ['a boolean', 'true'],
    ])('refuses %s instead of a JSON object with 400', async (_label, body) => {
      const r = await refused(() => put('seed-one', body));
      expectApiError(r, 400, /JSON object is required/);
    });

    it.each([
      ['a number', 123],
      ['null', null],
      ['a boolean', false],
      ['an array', ['x']],
      ['an object', { text: 'x' }],
    ])('refuses a value that is %s with 400 naming the field and the type', async (_label, value) => {
      const r = await refused(() => put('seed-one', JSON.stringify({ value })));
      expectApiError(r, 400, /value.*string/);
    });

    it('refuses a body without a value with 400 naming the missing field', async () => {
      const r = await refused(() => put('seed-one', '{}'));
      expectApiError(r, 400, /missing required field "value"/);
    });

    it('refuses an empty body with 400', async () => {
      const r = await refused(() => put('seed-one', ''));
      expectApiError(r, 400, /body/);
    });

    it('refuses an empty value with 400', async () => {
      const r = await refused(() => put('seed-one', JSON.stringify({ value: '' })));
      expectApiError(r, 400, /must not be empty/);
    });

    it('refuses an unknown field with 400 naming it', async () => {
      const r = await refused(() => put('seed-one', JSON.stringify({ value: 'x', expiresAt: 5 })));
      expectApiError(r, 400, /unknown field "expiresAt"/);
    });

    it('refuses an unknown field in a batch change with 400 naming it', async () => {
      const rev = await revision();
      const r = await refused(() =>
        patch(JSON.stringify({ revision: rev, changes: [{ op: 'put', name: 'n', value: 'v', ttl: 1 }] })),
      );
      expectApiError(r, 400, /unknown field "ttl"/);
    });

    it('refuses a lone surrogate in a value (JSON escape "\\udfff") with 400', async () => {
      const r = await refused(() => put('seed-one', '{"value":"abc\\udfff"}'));
      expectApiError(r, 400, /valid Unicode text/);
    });
  });

  describe('secret names', () => {
    const putNamed = (encodedName: string) => refused(() => put(encodedName, JSON.stringify({ value: 'v' })));
    const batchNamed = async (jsonName: string) => {
      const rev = await revision();
      return refused(() =>
        patch(`{"revision":${rev},"changes":[{"op":"put","name":${jsonName},"value":"v"}]}`),
      );
    };

    it('refuses an empty name in a batch with 400', async () => {
      expectApiError(await batchNamed('""'), 400, /must not be empty/);
    });

    it('refuses an empty name in the URL with a 4xx', async () => {
      const r = await putNamed('');
      expect([400, 404, 405]).toContain(r.status);
    });

    it('refuses a 257-character name with 400 stating the limit', async () => {
      expectApiError(await putNamed('n'.repeat(257)), 400, /at most 256 characters/);
    });

    it('refuses a 257-character name made of astral characters (514 UTF-16 units) with 400', async () => {
      expectApiError(
        await putNamed(encodeURIComponent('🔑'.repeat(257))),
        400,
        /at most 256 characters long \(got 257\)/,
      );
    });

    it.each([
      ['NUL (%00)', 'nul%00'],
      ['newline (%0A)', 'line%0Abreak'],
      ['DEL (%7F)', 'del%7F'],
      ['tab (%09)', 'tab%09inside'],
    ])('refuses a name with a control character, %s, with 400', async (_label, encoded) => {
      expectApiError(await putNamed(encoded), 400, /control characters/);
    });

    it('refuses a name with a control character given as a JSON escape ("\\u0000") in a batch with 400', async () => {
      expectApiError(await batchNamed('"nul\\u0000"'), 400, /control characters/);
    });

    it.each([
      ['leading', '%20lead'],
      ['trailing', 'trail%20'],
      ['trailing no-break', 'trail%C2%A0'],
    ])('refuses a name with %s white space with 400', async (_label, encoded) => {
      expectApiError(await putNamed(encoded), 400, /white space/);
    });

    it('refuses a name that is a lone surrogate (JSON escape "\\ud800") with 400', async () => {
      expectApiError(await batchNamed('"\\ud800"'), 400, /valid Unicode/);
    });

    it('refuses a lone surrogate in a DSS current-user save with 400 in the DSS error shape', async () => {
      const r = await refused(() =>
        server.request('PUT', '/dip/publicapi/current-user', {
          key: alice.key,
          rawBody: '{"secrets":[{"name":"seed-one","value":"x"},{"name":"\\ud800","value":"y"}]}',
        }),
      );
      expectDssError(r, 400, /valid Unicode/);
    });

    it('refuses a URL name that is not percent-encoded UTF-8 (%ED%A0%80, a lone surrogate) with 400 in the {"error": {code, message}} shape', async () => {
      const r = await putNamed('%ED%A0%80');
      expectApiError(r, 400, /url|encod|Unicode/i);
    });

    it('stores, lists, reads and deletes names with "/", "%", unicode and inner spaces through URL encoding', async () => {
      const names = [
        'a/b/c',
        '100%',
        '%2F literally',
        'with inner  spaces',
        'Ünïcødé 🔑 名前',
        'q?x=1#frag&y+z',
        '..dots..',
      ];
      const values = names.map((n, i) => `value ${i} of ${n}`);
      for (const [i, name] of names.entries()) {
        const r = await server.request('PUT', `/api/v1/me/secrets/${encodeURIComponent(name)}`, {
          key: alice.key,
          body: { value: values[i] },
        });
        expect({ name, status: r.status, stored: r.json?.secret?.name }).toEqual({
          name,
          status: 201,
          stored: name,
        });
      }
      const list = await server.request('GET', '/api/v1/me/secrets', { key: alice.key });
      expect((list.json.secrets as { name: string }[]).map((s) => s.name)).toEqual(
        expect.arrayContaining(names),
      );
      const info = await server.request('GET', '/dip/publicapi/auth/info?withSecrets=true', {
        key: alice.key,
      });
      for (const [i, name] of names.entries()) {
        expect(info.json.secrets).toContainEqual({ key: name, value: values[i] });
      }
      // Replacing through the encoded URL replaces the same secret.
      const again = await server.request('PUT', `/api/v1/me/secrets/${encodeURIComponent(names[0]!)}`, {
        key: alice.key,
        body: { value: 'replaced' },
      });
      expect(again.status).toBe(200);
      for (const name of names) {
        const r = await server.request('DELETE', `/api/v1/me/secrets/${encodeURIComponent(name)}`, {
          key: alice.key,
        });
        expect({ name, status: r.status }).toEqual({ name, status: 200 });
      }
      const after = await server.request('GET', '/api/v1/me/secrets', { key: alice.key });
      expect((after.json.secrets as { name: string }[]).map((s) => s.name)).toEqual(['seed-one', 'seed-two']);
    });

    it('accepts the boundary cases: a 256-character name and a value of exactly 65536 UTF-8 bytes', async () => {
      const name = 'é'.repeat(256);
      const value = 'é'.repeat(32 * 1024);
      const r = await server.request('PUT', `/api/v1/me/secrets/${encodeURIComponent(name)}`, {
        key: alice.key,
        body: { value },
      });
      expect(r.status).toBe(201);
      const info = await server.request('GET', '/dip/publicapi/auth/info?withSecrets=true', {
        key: alice.key,
      });
      expect(info.json.secrets).toContainEqual({ key: name, value });
      expect(
        (await server.request('DELETE', `/api/v1/me/secrets/${encodeURIComponent(name)}`, { key: alice.key }))
          .status,
      ).toBe(200);
    });
  });

  describe('batches, deletes and limits', () => {
    it('refuses a batch with one bad entry among good ones with 400 and applies none of it', async () => {
      const rev = await revision();
      const r = await refused(() =>
        patch(
          JSON.stringify({
            revision: rev,
            changes: [
              { op: 'put', name: 'brand-new', value: 'new value' },
              { op: 'put', name: 'seed-one', value: 'replacement' },
              { op: 'delete', name: 'seed-two' },
              { op: 'put', name: 'bad\nname', value: 'x' },
              { op: 'put', name: 'another-new', value: 'another value' },
            ],
          }),
        ),
      );
      expectApiError(r, 400, /control characters/);
    });

    it('refuses a batch whose only bad entry is an empty value, after good ones, and applies none of it', async () => {
      const rev = await revision();
      const r = await refused(() =>
        patch(
          JSON.stringify({
            revision: rev,
            changes: [
              { op: 'put', name: 'brand-new', value: 'new value' },
              { op: 'delete', name: 'seed-one' },
              { op: 'put', name: 'seed-two', value: '' },
            ],
          }),
        ),
      );
      expectApiError(r, 400, /"seed-two" must not be empty/);
    });

    it('refuses a batch deleting a missing secret after good changes with 404 and applies none of it', async () => {
      const rev = await revision();
      const r = await refused(() =>
        patch(
          JSON.stringify({
            revision: rev,
            changes: [
              { op: 'put', name: 'brand-new', value: 'new value' },
              { op: 'delete', name: 'seed-one' },
              { op: 'delete', name: 'never-existed' },
            ],
          }),
        ),
      );
      expectApiError(r, 404, /"never-existed" does not exist/);
    });

    it('refuses a batch naming the same secret twice with 400', async () => {
      const rev = await revision();
      const r = await refused(() =>
        patch(
          JSON.stringify({
            revision: rev,
            changes: [
              { op: 'put', name: 'dup', value: 'one' },
              { op: 'put', name: 'dup', value: 'two' },
            ],
          }),
        ),
      );
      expectApiError(r, 400, /"dup" appears more than once/);
    });

    it('refuses a batch based on a stale revision with 409, reporting the current revision, and applies none of it', async () => {
      const stale = await revision();
      const moved = await server.request('PUT', '/api/v1/me/secrets/seed-one', {
        key: alice.key,
        body: { value: 'changed elsewhere' },
      });
      expect(moved.status).toBe(200);
      const r = await refused(() =>
        patch(
          JSON.stringify({
            revision: stale,
            changes: [
              { op: 'put', name: 'seed-one', value: 'from a stale page' },
              { op: 'put', name: 'brand-new', value: 'new value' },
            ],
          }),
        ),
      );
      expectApiError(r, 409, /changed elsewhere/);
      expect(r.json.error.details).toEqual({ currentRevision: moved.json.revision });
    });

    it.each([
      ['a negative revision', '{"revision":-1,"changes":[]}', /revision/],
      ['a missing revision', '{"changes":[]}', /missing required field "revision"/],
      ['an unknown op', '{"revision":0,"changes":[{"op":"rename","name":"a"}]}', /changes/],
      ['changes that are not a list', '{"revision":0,"changes":{"op":"put"}}', /changes/],
    ])('refuses a batch with %s with 400', async (_label, body, message) => {
      const r = await refused(() => patch(body));
      expectApiError(r, 400, message);
    });

    it('refuses deleting a missing secret with 404 naming it', async () => {
      const r = await refused(() =>
        server.request('DELETE', '/api/v1/me/secrets/no-such-secret', { key: alice.key }),
      );
      expectApiError(r, 404, /"no-such-secret" does not exist/);
    });

    it('refuses a DSS current-user save with one bad entry and keeps everything, including the profile fields saved with it', async () => {
      const current = await server.request('GET', '/dip/publicapi/current-user', { key: alice.key });
      expect(current.status).toBe(200);
      const r = await refused(() =>
        server.request('PUT', '/dip/publicapi/current-user', {
          key: alice.key,
          body: {
            ...current.json,
            displayName: 'Changed Name',
            secrets: [
              { name: 'brand-new', value: 'new value' },
              { name: 'seed-one', value: 'e:AES:not-its-marker' },
            ],
          },
        }),
      );
      expectDssError(r, 400, /marker/);
      const after = await server.request('GET', '/dip/publicapi/current-user', { key: alice.key });
      expect(after.json.displayName).toBe(current.json.displayName);
    });
  });

  describe('transport', () => {
    it('answers a 64 KiB cookie header with 431 (or another 4xx) and stays healthy', async () => {
      const before = await snapshot(server, alice);
      const r = await server.request('PUT', '/api/v1/me/secrets/seed-one', {
        key: alice.key,
        body: { value: 'via a huge header' },
        headers: { cookie: `junk=${'c'.repeat(64 * 1024)}` },
      });
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect((await server.request('GET', '/healthz')).status).toBe(200);
      expect((await server.request('GET', '/readyz')).status).toBe(200);
      expect(await snapshot(server, alice)).toEqual(before);
    });
  });

  describe('sign-in rate limiting', () => {
    it(`after COFFER_LOGIN_MAX_FAILURES (${LOGIN_MAX_FAILURES}) failures, answers 429 with Retry-After and a message, even for the right password`, async () => {
      const user = await server.createUser('rate-limited', { password: 'the-right-password-123' });
      const signIn = (password: string) =>
        server.request('POST', '/api/v1/session', { body: { login: user.login, password } });
      for (let i = 0; i < LOGIN_MAX_FAILURES; i++) {
        expectApiError(await signIn(`wrong-password-${i}`), 401, /incorrect/);
      }
      for (const password of ['the-right-password-123', 'wrong-again-xyz']) {
        const r = await signIn(password);
        expectApiError(r, 429, /too many failed sign-in attempts; try again in \d+ minute/);
        const retryAfter = r.headers.get('retry-after');
        expect(retryAfter).toMatch(/^\d+$/);
        expect(Number(retryAfter)).toBeGreaterThan(0);
        expect(r.headers.get('set-cookie')).toBeNull();
      }
      // The limit is per login: another user still signs in.
      const other = await server.createUser('not-limited', { password: 'other-password-123' });
      const ok = await server.request('POST', '/api/v1/session', {
        body: { login: other.login, password: 'other-password-123' },
      });
      expect(ok.status).toBe(200);
    });
  });
});

describe('the per-user secret limit (COFFER_MAX_SECRETS_PER_USER)', () => {
  let server: TestServer;
  let bob: TestUser;
  beforeAll(async () => {
    server = await TestServer.start({ COFFER_MAX_SECRETS_PER_USER: String(SECRETS_LIMIT) });
    bob = await server.createUser('bob');
    for (let i = 1; i <= SECRETS_LIMIT; i++) {
      const r = await server.request('PUT', `/api/v1/me/secrets/s${i}`, {
        key: bob.key,
        body: { value: `v${i}` },
      });
      expect(r.status).toBe(201);
    }
  });
  afterAll(() => server?.close());

  async function refusedForBob(send: () => Promise<Reply>): Promise<Reply> {
    const before = await snapshot(server, bob);
    const r = await send();
    expect(await snapshot(server, bob)).toEqual(before);
    return r;
  }

  it('refuses one secret more than the limit with 400 naming the limit', async () => {
    const r = await refusedForBob(() =>
      server.request('PUT', '/api/v1/me/secrets/s4', { key: bob.key, body: { value: 'v4' } }),
    );
    expectApiError(r, 400, new RegExp(`at most ${SECRETS_LIMIT}\\b`));
  });

  it('refuses a batch that would end above the limit (even with a deletion in it) with 400 naming the limit', async () => {
    const rev = (await server.request('GET', '/api/v1/me/secrets', { key: bob.key })).json.revision;
    const r = await refusedForBob(() =>
      server.request('PATCH', '/api/v1/me/secrets', {
        key: bob.key,
        body: {
          revision: rev,
          changes: [
            { op: 'delete', name: 's1' },
            { op: 'put', name: 'n1', value: 'x' },
            { op: 'put', name: 'n2', value: 'y' },
          ],
        },
      }),
    );
    expectApiError(
      r,
      400,
      new RegExp(`would leave ${SECRETS_LIMIT + 1} secrets; a user may have at most ${SECRETS_LIMIT}`),
    );
  });

  it('refuses a DSS current-user save that would go over the limit with 400 naming the limit', async () => {
    const r = await refusedForBob(() =>
      server.request('PUT', '/dip/publicapi/current-user', {
        key: bob.key,
        body: { secrets: ['s1', 's2', 's3', 's4'].map((name) => ({ name, value: `new ${name}` })) },
      }),
    );
    expectDssError(r, 400, new RegExp(`at most ${SECRETS_LIMIT}\\b`));
  });

  it('still allows replacing a secret, and swapping one for another, at the limit', async () => {
    expect(
      (await server.request('PUT', '/api/v1/me/secrets/s1', { key: bob.key, body: { value: 'replaced' } }))
        .status,
    ).toBe(200);
    const rev = (await server.request('GET', '/api/v1/me/secrets', { key: bob.key })).json.revision;
    const r = await server.request('PATCH', '/api/v1/me/secrets', {
      key: bob.key,
      body: {
        revision: rev,
        changes: [
          { op: 'delete', name: 's3' },
          { op: 'put', name: 's9', value: 'v9' },
        ],
      },
    });
    expect(r.status).toBe(200);
    expect((r.json.secrets as { name: string }[]).map((s) => s.name)).toEqual(['s1', 's2', 's9']);
  });
});
