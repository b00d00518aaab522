/*
 * The DSS user-settings round trip (GET current-user, edit, PUT it back, as dataikuapi's get_settings()
 * … save() does) with plugin credentials in it: judged against what its read saw (docs/adr/0015), so
 * a stale object never stores a marker as a token, never deletes a token entered after its read, and
 * never overwrites one changed since by another session or key without saying so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJob, waitForJob } from './support/jobs.js';
import { zipEntries } from './support/plugin-zips.js';
import { TestServer, type TestUser } from './support/test-server.js';

const PLUGIN = 'login-check';
const SINGLE_KEY = `"PLUGIN", "${PLUGIN}", "service", "default", "token"`;
const BASIC_KEY = `"PLUGIN", "${PLUGIN}", "service", "default", "account"`;
const SETTINGS = '/public/api/current-user';
const TOKEN_URL = `/api/v1/me/plugin-credentials/${PLUGIN}/service/default/token`;
const ACCOUNT_URL = `/api/v1/me/plugin-credentials/${PLUGIN}/service/default/account`;

/** A plugin whose preset asks each user for a token and a user and password; its recipe prints lengths. */
function pluginArchive(): Promise<Buffer> {
  const json = (x: unknown) => JSON.stringify(x, null, 2);
  return zipEntries([
    { path: 'plugin.json', content: json({ id: PLUGIN, version: '1.0.0', meta: { label: 'Login check' } }) },
    {
      path: 'parameter-sets/service/parameter-set.json',
      content: json({
        meta: { label: 'Service' },
        defaultDefinableInline: false,
        params: [
          {
            name: 'token',
            type: 'CREDENTIAL_REQUEST',
            credentialRequestSettings: { type: 'SINGLE_FIELD' },
          },
          { name: 'account', type: 'CREDENTIAL_REQUEST', credentialRequestSettings: { type: 'BASIC' } },
        ],
      }),
    },
    {
      path: 'custom-recipes/show/recipe.json',
      content: json({
        meta: { label: 'Show' },
        kind: 'PYTHON',
        params: [{ name: 'service', type: 'PRESET', parameterSetId: 'service', mandatory: true }],
      }),
    },
    {
      path: 'custom-recipes/show/recipe.py',
      content: [
        'from dataiku.customrecipe import get_recipe_config',
        'service = get_recipe_config()["service"]',
        'print("token length:", len(service["token"]))',
        'print("user length:", len(service["account"]["user"]))',
        'print("password length:", len(service["account"]["password"]))',
        '',
      ].join('\n'),
    },
  ]);
}

describe('DSS user settings round trip with plugin credentials', () => {
  let server: TestServer;
  let admin: TestUser;
  let alice: TestUser;
  let web: { cookie: string; csrf: string };

  const read = async () => {
    const r = await server.request('GET', SETTINGS, { key: alice.key });
    expect(r.status, r.text).toBe(200);
    return r.json as { credentials: Record<string, Record<string, string>>; cofferReadVersion: string };
  };
  const save = (body: unknown) => server.request('PUT', SETTINGS, { key: alice.key, body });
  /** On the Credentials tab, in the browser: another credential (a session) than the script's key. */
  const enterOnTab = async (url: string, body: unknown) => {
    const r = await server.request('PUT', url, { session: web, body });
    expect(r.status, r.text).toBe(204);
  };
  const lengths = async () => {
    const job = await waitForJob(server, alice, await startJob(server, alice, 'OPS', 'show'));
    expect(job.state, job.log).toBe('succeeded');
    const n = (what: string) => Number(new RegExp(`${what} length: (\\d+)`).exec(job.log)?.[1]);
    return { token: n('token'), user: n('user'), password: n('password') };
  };

  beforeAll(async () => {
    server = await TestServer.start();
    admin = await server.createUser('root', { admin: true });
    alice = await server.createUser('alice');
    web = await server.login('alice', alice.password);
    const installed = await server.request('POST', '/api/v1/admin/plugins', {
      key: admin.key,
      rawBody: await pluginArchive(),
      headers: { 'content-type': 'application/zip' },
    });
    expect(installed.status, installed.text).toBe(201);
    const preset = await server.request('PUT', `/api/v1/admin/plugins/${PLUGIN}/presets/service/default`, {
      key: admin.key,
      body: { config: {} },
    });
    expect(preset.status, preset.text).toBe(200);
    await server.request('POST', '/api/v1/projects', { key: alice.key, body: { key: 'OPS', name: 'Ops' } });
    const recipe = await server.request('PUT', '/api/v1/projects/OPS/recipes/show', {
      key: alice.key,
      body: {
        plugin: { id: PLUGIN, recipe: 'show' },
        config: { service: { mode: 'PRESET', name: 'default' } },
      },
    });
    expect(recipe.status, recipe.text).toBe(201);
  });
  afterAll(() => server.close());

  it('a settings object read before a token was replaced keeps the new token: a marker is never stored as a value', async () => {
    await enterOnTab(TOKEN_URL, { value: 'first-token-1234' });
    await enterOnTab(ACCOUNT_URL, { user: 'svc-user', password: 'first-password-99' });
    const stale = await read();
    await enterOnTab(TOKEN_URL, { value: 'replaced-token-abcdefgh' });
    const now = (await read()).credentials[SINGLE_KEY];
    const saved = await save(stale);
    expect(saved.status, saved.text).toBe(200);
    expect((await read()).credentials[SINGLE_KEY]).toEqual(now);
    expect(await lengths()).toEqual({ token: 'replaced-token-abcdefgh'.length, user: 8, password: 17 });
  });

  it('a token entered after the read is kept, not deleted by a save that never saw it', async () => {
    await server.request('DELETE', TOKEN_URL, { session: web });
    const stale = await read();
    expect(stale.credentials[SINGLE_KEY]).toBeUndefined();
    await enterOnTab(TOKEN_URL, { value: 'entered-meanwhile-42' });
    const saved = await save(stale);
    expect(saved.status, saved.text).toBe(200);
    expect((await read()).credentials[SINGLE_KEY]).toBeDefined();
  });

  it('a new value over a token another session changed since the read is a 409 that saves nothing', async () => {
    const stale = await read();
    await enterOnTab(TOKEN_URL, { value: 'changed-on-the-tab-777' });
    const before = await read();
    stale.credentials[SINGLE_KEY] = { type: 'SINGLE_FIELD', password: 'from-the-stale-script' };
    const refused = await save(stale);
    expect(refused.status, refused.text).toBe(409);
    expect(refused.json.detailedMessage).toContain(SINGLE_KEY);
    expect(refused.json.detailedMessage).toMatch(/changed after these settings were read; nothing was saved/);
    expect(await read()).toEqual(before);
  });

  it('deleting by leaving out works on a fresh read, and is refused (400) without the read version', async () => {
    const body = await read();
    const unversioned: Partial<typeof body> = { ...body };
    delete unversioned.cofferReadVersion;
    delete body.credentials[SINGLE_KEY];
    const refused = await save(unversioned);
    expect(refused.status, refused.text).toBe(400);
    expect(refused.json.detailedMessage).toContain(SINGLE_KEY);
    expect((await read()).credentials[SINGLE_KEY]).toBeDefined();
    const fresh = await read();
    delete fresh.credentials[SINGLE_KEY];
    expect((await save(fresh)).status).toBe(200);
    expect((await read()).credentials[SINGLE_KEY]).toBeUndefined();
    await enterOnTab(TOKEN_URL, { value: 'back-again-token' });
  });

  it('a BASIC entry with only the password changed keeps the stored user', async () => {
    const body = await read();
    const marker = body.credentials[BASIC_KEY]!;
    expect(marker.user).toMatch(/^e:AES:/);
    body.credentials[BASIC_KEY] = { ...marker, password: 'a-new-password-of-31-characters' };
    const saved = await save(body);
    expect(saved.status, saved.text).toBe(200);
    expect(await lengths()).toEqual({
      token: 'back-again-token'.length,
      user: 'svc-user'.length,
      password: 31,
    });
  });

  it('an administrator’s stale save of the user’s settings hands the credentials back untouched', async () => {
    const asAdmin = (await server.request('GET', '/public/api/admin/users/alice', { key: admin.key })).json;
    await enterOnTab(TOKEN_URL, { value: 'after-the-admin-read' });
    const current = (await read()).credentials;
    const saved = await server.request('PUT', '/public/api/admin/users/alice', {
      key: admin.key,
      body: { ...asAdmin, displayName: 'Alice A.' },
    });
    expect(saved.status, saved.text).toBe(200);
    expect((await read()).credentials).toEqual(current);
  });
});
