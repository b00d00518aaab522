/*
 * Plugins end to end through HTTP against a real server: an administrator installs the sample plugin
 * (examples/plugins/api-connect) and makes a preset; each user enters their own token for it; a plugin
 * recipe made from the generated form runs in the sandbox as whoever runs it, with that runner's own
 * credential and secrets, masked in the log. Bad archives install nothing; a plugin in use is removed
 * only by force and leaves its recipes broken; nobody reads another user's credential.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApprovedJob, startJob, waitForJob } from './support/jobs.js';
import { filesOf, zipDirectory, zipEntries } from './support/plugin-zips.js';
import { TestServer, type TestUser } from './support/test-server.js';

const MiB = 1024 * 1024;
const SAMPLE = path.resolve(import.meta.dirname, '../examples/plugins/api-connect');
const ALICE_TOKEN = 'alice-api-token-5b7e1f0c93';
// Of another length than Alice's: the log shows a token only masked, and its length is what tells
// whose token a run got.
const BOB_TOKEN = 'bob-api-token-c4d2a8e61f77-0d9e3b';
/** The line the sample prints for the token it got: its length (the token itself is masked). */
const tokenLength = (token: string) => new RegExp(`^token length: ${token.length}$`, 'm');
const CREDENTIAL = '/api/v1/me/plugin-credentials/api-connect/api-credentials/default/token';
const FETCH_CONFIG = {
  endpoint: '/v1/orders',
  page_size: 25,
  format: 'csv',
  show_raw: false,
  credentials: { mode: 'PRESET', name: 'default' },
  secret_name: 'credential-for-my-api',
};

describe('plugins', () => {
  let server: TestServer;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  let zip: Buffer;

  const install = (who: TestUser, bytes: Buffer) =>
    server.request('POST', '/api/v1/admin/plugins', {
      key: who.key,
      rawBody: bytes,
      headers: { 'content-type': 'application/zip' },
    });
  const installed = async () =>
    (await server.request('GET', '/api/v1/plugins', { key: alice.key })).json.plugins as { id: string }[];

  beforeAll(async () => {
    server = await TestServer.start();
    admin = await server.createUser('root', { admin: true });
    alice = await server.createUser('alice');
    bob = await server.createUser('bob');
    zip = await zipDirectory(SAMPLE);
    for (const [who, value] of [
      [alice, 'alice-secret-value-77aa'],
      [bob, 'bob-secret-value-88bb'],
    ] as const)
      await server.request('PUT', '/api/v1/me/secrets/credential-for-my-api', {
        key: who.key,
        body: { value },
      });
    await server.request('POST', '/api/v1/projects', {
      key: alice.key,
      body: { key: 'SALES', name: 'Sales' },
    });
    await server.request('PUT', '/api/v1/projects/SALES/members/bob', {
      key: alice.key,
      body: { role: 'contributor' },
    });
  });
  afterAll(() => server.close());

  describe('a bad archive gets an error naming the file and field, and installs nothing', () => {
    const cases: [string, () => Promise<Buffer>, number, RegExp][] = [
      [
        'a path that climbs out',
        () => zipEntries([{ path: '../evil.py', content: 'x' }]),
        400,
        /\.\.\/evil\.py/,
      ],
      ['an absolute path', () => zipEntries([{ path: '/etc/evil', content: 'x' }]), 400, /\/etc\/evil/],
      [
        'a symlink',
        () =>
          zipEntries([
            { path: 'plugin.json', content: '{"id":"x","version":"1"}' },
            { path: 'python-lib/link', symlinkTo: '/etc/passwd' },
          ]),
        400,
        /python-lib\/link.*link/i,
      ],
      ['no plugin.json', () => zipEntries([{ path: 'README.md', content: 'hi' }]), 400, /plugin\.json/],
      [
        'malformed JSON',
        () => zipEntries([{ path: 'plugin.json', content: '{"id": "x", ' }]),
        400,
        /plugin\.json.*\d+:\d+/,
      ],
      [
        'an id with illegal characters',
        () => zipEntries([{ path: 'plugin.json', content: '{"id": "../x", "version": "1"}' }]),
        400,
        /plugin\.json.*\bid\b/,
      ],
      [
        'a recipe without its code',
        () =>
          zipEntries([
            { path: 'plugin.json', content: '{"id": "x", "version": "1"}' },
            { path: 'custom-recipes/go/recipe.json', content: '{"params": []}' },
          ]),
        400,
        /custom-recipes\/go.*recipe\.py/,
      ],
      [
        'a dataset parameter',
        () =>
          zipEntries([
            { path: 'plugin.json', content: '{"id": "x", "version": "1"}' },
            {
              path: 'custom-recipes/go/recipe.json',
              content: '{"params": [{"name": "input", "type": "DATASET"}]}',
            },
            { path: 'custom-recipes/go/recipe.py', content: 'print(1)' },
          ]),
        400,
        /recipe\.json.*input.*datasets/i,
      ],
      ['not a zip at all', async () => Buffer.from('hello, not a zip'), 400, /zip/i],
      [
        'an unknown parameter type',
        () =>
          zipEntries([
            { path: 'plugin.json', content: '{"id": "x", "version": "1"}' },
            {
              path: 'custom-recipes/go/recipe.json',
              content: '{"params": [{"name": "shade", "type": "COLOR"}]}',
            },
            { path: 'custom-recipes/go/recipe.py', content: 'print(1)' },
          ]),
        400,
        /custom-recipes\/go\/recipe\.json: params\[0\]\.type "COLOR" is not a parameter type Coffer knows/,
      ],
      [
        // A recipe's id is its folder's name, so two recipes with one id are two folders that differ in case.
        'a duplicate recipe id',
        () =>
          zipEntries([
            { path: 'plugin.json', content: '{"id": "x", "version": "1"}' },
            ...['go', 'Go'].flatMap((id) => [
              { path: `custom-recipes/${id}/recipe.json`, content: '{"params": []}' },
              { path: `custom-recipes/${id}/recipe.py`, content: 'print(1)' },
            ]),
          ]),
        400,
        /custom-recipes\/go: has the same id as custom-recipes\/Go/,
      ],
      [
        'the same file twice',
        () =>
          zipEntries([
            { path: 'plugin.json', content: '{"id": "x", "version": "1"}' },
            { path: 'plugin.json', content: '{"id": "y", "version": "1"}' },
          ]),
        400,
        /"plugin\.json": appears twice/,
      ],
      // The limits (plugin.model.ts DEFAULT_ARCHIVE_LIMITS) cheaply: zeros deflate a thousandfold.
      [
        'a file over 10 MiB',
        () => zipEntries([{ path: 'resource/big.bin', content: Buffer.alloc(10 * MiB + 1) }]),
        413,
        /resource\/big\.bin: is larger than 10485760 bytes, the limit for one file/,
      ],
      [
        'files over 50 MiB in all',
        () => {
          const nine = Buffer.alloc(9 * MiB);
          return zipEntries([0, 1, 2, 3, 4, 5].map((i) => ({ path: `resource/${i}.bin`, content: nine })));
        },
        413,
        /files add up to more than 52428800 bytes uncompressed, the limit \(at resource\/5\.bin\)/,
      ],
      [
        // Folders count as entries, and are much quicker to write than 2001 deflated files.
        'more than 2000 entries',
        () => zipEntries(Array.from({ length: 2001 }, (_, i) => ({ path: `resource/${i}/` }))),
        413,
        /the archive has 2001 entries; a plugin may have at most 2000/,
      ],
      // Over the request's own limit, refused before it is read: what the bytes are does not matter.
      [
        'an archive over 20 MiB',
        async () => Buffer.alloc(20 * MiB + 1),
        413,
        /^the plugin archive is larger than 20971520 bytes \(20 MiB\)/,
      ],
    ];
    it.each(cases)('%s', async (_name, make, status, message) => {
      const r = await install(admin, await make());
      expect(r.status, r.text).toBe(status);
      expect(r.json.error.message).toMatch(message);
      expect(await installed()).toEqual([]);
    });
  });

  it('only an administrator installs; the sample installs and every user sees its forms', async () => {
    expect((await install(alice, zip)).status).toBe(403);
    const r = await install(admin, zip);
    expect(r.status, r.text).toBe(201);
    expect(r.json.id).toBe('api-connect');
    expect(r.json.recipes.map((x: { id: string }) => x.id).sort()).toEqual(['fetch', 'fetch-r']);
    const detail = (await server.request('GET', '/api/v1/plugins/api-connect', { key: alice.key })).json;
    const fetch = detail.recipes.find((x: { id: string }) => x.id === 'fetch');
    expect(fetch.params.find((p: { name: string }) => p.name === 'endpoint')).toMatchObject({
      type: 'STRING',
      mandatory: true,
      label: 'Endpoint',
    });
    expect(fetch.params.find((p: { name: string }) => p.name === 'raw_note').visibilityCondition).toBe(
      'model.show_raw == true',
    );
  });

  it('a preset is the instance’s, and cannot hold a credential for everybody', async () => {
    const url = '/api/v1/admin/plugins/api-connect/presets/api-credentials/default';
    expect((await server.request('PUT', url, { key: alice.key, body: { config: {} } })).status).toBe(403);
    const withToken = await server.request('PUT', url, {
      key: admin.key,
      body: { config: { base_url: 'https://api.example.com', token: 'shared-token' } },
    });
    expect(withToken.status).toBe(400);
    expect(withToken.json.error.message).toMatch(/token.*each user enters/);
    const ok = await server.request('PUT', url, {
      key: admin.key,
      body: { config: { base_url: 'https://api.example.com' } },
    });
    expect(ok.status, ok.text).toBe(200);
  });

  it('each user enters their own token; it is never shown again', async () => {
    const before = await server.request('GET', '/api/v1/me/plugin-credentials', { key: alice.key });
    expect(before.json.credentials).toEqual([
      expect.objectContaining({
        plugin: 'api-connect',
        parameterSet: 'api-credentials',
        preset: 'default',
        param: 'token',
        type: 'SINGLE_FIELD',
        set: false,
      }),
    ]);
    expect((await server.request('PUT', CREDENTIAL, { key: alice.key, body: { value: '' } })).status).toBe(
      400,
    );
    const put = await server.request('PUT', CREDENTIAL, { key: alice.key, body: { value: ALICE_TOKEN } });
    expect(put.status, put.text).toBe(204);
    const after = await server.request('GET', '/api/v1/me/plugin-credentials', { key: alice.key });
    expect(after.json.credentials[0].set).toBe(true);
    expect(after.text).not.toContain(ALICE_TOKEN);
  });

  it('the generated form is checked on save: a mandatory field left empty is refused, naming it', async () => {
    const url = '/api/v1/projects/SALES/recipes/fetch';
    const plugin = { id: 'api-connect', recipe: 'fetch' };
    const empty = await server.request('PUT', url, {
      key: alice.key,
      body: { plugin, config: { ...FETCH_CONFIG, endpoint: '' } },
    });
    expect(empty.status).toBe(400);
    expect(empty.json.error.message).toMatch(/endpoint/i);
    const badPreset = await server.request('PUT', url, {
      key: alice.key,
      body: { plugin, config: { ...FETCH_CONFIG, credentials: { mode: 'PRESET', name: 'nope' } } },
    });
    expect(badPreset.status).toBe(400);
    expect(badPreset.json.error.message).toMatch(/nope/);
    const ok = await server.request('PUT', url, { key: alice.key, body: { plugin, config: FETCH_CONFIG } });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.json.plugin).toEqual({ ...plugin, config: FETCH_CONFIG });
    expect(ok.json.broken).toBeNull();
  });

  it('runs as Alice with her token, masked in the log, and her own secrets', async () => {
    const job = await waitForJob(server, alice, await startJob(server, alice, 'SALES', 'fetch'));
    expect(job.state, job.log).toBe('succeeded');
    expect(job.log).toContain('endpoint: /v1/orders');
    expect(job.log).toContain('page size: 25');
    expect(job.log).toContain('token: *****');
    expect(job.log).toMatch(tokenLength(ALICE_TOKEN));
    expect(job.log).toContain('secret credential-for-my-api: present');
    // The plugin-level setting nobody has saved yet: plugin.json's default, through get_plugin_config().
    expect(job.log).toMatch(/^user agent: coffer-api-connect\/1\.0$/m);
    expect(job.log).not.toContain(ALICE_TOKEN);

    // Her activity names the code that read her secret: this run of the plugin recipe, in its project.
    const activity = await server.request('GET', '/api/v1/me/activity', { key: alice.key });
    const read = (activity.json.events as { action: string; jobId: string | null; job: unknown }[]).find(
      (e) => e.action === 'secret.read' && e.jobId === job.id,
    );
    expect(read?.job).toEqual({
      id: job.id,
      projectKey: 'SALES',
      recipe: 'fetch',
      plugin: { id: 'api-connect', recipe: 'fetch' },
    });
  });

  it('Bob without a token is refused before the run starts, told which preset and where to enter it', async () => {
    const ready = await server.request('GET', '/api/v1/projects/SALES/recipes/fetch/readiness', {
      key: bob.key,
    });
    expect(ready.json.ready).toBe(false);
    expect(ready.json.missing[0]).toMatchObject({ kind: 'credential', preset: 'default', param: 'token' });
    const r = await server.request('POST', '/api/v1/projects/SALES/recipes/fetch/run', {
      key: bob.key,
      body: {},
    });
    expect(r.status).toBe(409);
    expect(r.json.error.message).toMatch(/default/);
    expect(r.json.error.message).toContain('/profile/credentials');
  });

  it('Bob with his own token gets his, never Alice’s', async () => {
    await server.request('PUT', CREDENTIAL, { key: bob.key, body: { value: BOB_TOKEN } });
    const job = await waitForJob(server, bob, await startApprovedJob(server, bob, 'SALES', 'fetch'));
    expect(job.state, job.log).toBe('succeeded');
    expect(BOB_TOKEN.length, 'equal lengths would prove nothing').not.toBe(ALICE_TOKEN.length);
    expect(job.log).toMatch(tokenLength(BOB_TOKEN));
    expect(job.log).not.toContain(BOB_TOKEN);
    expect(job.log).not.toContain(ALICE_TOKEN);
  });

  it('the R twin reads its config with dkuCustomRecipeConfig()', async () => {
    const put = await server.request('PUT', '/api/v1/projects/SALES/recipes/fetch-r', {
      key: alice.key,
      body: { plugin: { id: 'api-connect', recipe: 'fetch-r' }, config: FETCH_CONFIG },
    });
    expect(put.status, put.text).toBe(201);
    const job = await waitForJob(server, alice, await startJob(server, alice, 'SALES', 'fetch-r'));
    expect(job.state, job.log).toBe('succeeded');
    expect(job.log).toContain('/v1/orders');
    expect(job.log).toMatch(/^user agent: coffer-api-connect\/1\.0 ?$/m); // dkuPluginConfig()
    expect(job.log).not.toContain(ALICE_TOKEN);
  });

  it('no route shows a credential to anyone, administrators included, and none is at rest in clear', async () => {
    for (const url of [
      '/api/v1/me/plugin-credentials',
      '/api/v1/plugins/api-connect',
      '/public/api/plugins/api-connect/settings',
      '/public/api/admin/users/alice',
      '/api/v1/admin/users/alice',
    ]) {
      const r = await server.request('GET', url, { key: admin.key });
      expect(r.text).not.toContain(ALICE_TOKEN);
      expect(r.text).not.toContain(BOB_TOKEN);
    }
    const mine = await server.request('GET', '/public/api/current-user', { key: alice.key });
    const entry = mine.json.credentials['"PLUGIN", "api-connect", "api-credentials", "default", "token"'];
    expect(entry.password).toMatch(/^e:AES:/);
    expect(mine.text).not.toContain(ALICE_TOKEN);
    const token = Buffer.from(ALICE_TOKEN);
    if (server.store.kind === 'sqlite') {
      for (const file of ['coffer.db', 'coffer.db-wal'].map((f) => path.join(server.dataDir, f)))
        if (existsSync(file)) expect(readFileSync(file).includes(token)).toBe(false);
    } else {
      const rows = await server.store.db.selectFrom('plugin_credentials').select('ciphertext').execute();
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) expect(Buffer.from(r.ciphertext).includes(token)).toBe(false);
    }
  });

  it('DSS user settings round-trip the credential as a marker; an administrator cannot change it', async () => {
    const mine = (await server.request('GET', '/public/api/current-user', { key: alice.key })).json;
    const back = await server.request('PUT', '/public/api/current-user', { key: alice.key, body: mine });
    expect(back.status, back.text).toBe(200);
    const job = await waitForJob(server, alice, await startJob(server, alice, 'SALES', 'fetch'));
    expect(job.log).toMatch(tokenLength(ALICE_TOKEN));
    const asAdmin = (await server.request('GET', '/public/api/admin/users/alice', { key: admin.key })).json;
    const key = '"PLUGIN", "api-connect", "api-credentials", "default", "token"';
    asAdmin.credentials[key] = { type: 'SINGLE_FIELD', password: 'admin-chosen' };
    const refused = await server.request('PUT', '/public/api/admin/users/alice', {
      key: admin.key,
      body: asAdmin,
    });
    expect(refused.status).toBe(403);
  });

  it('the DSS calls of dataikuapi: list, settings, usages, install from a multipart upload', async () => {
    const list = await server.request('GET', '/public/api/plugins/', { key: admin.key });
    expect(list.json.map((p: { id: string }) => p.id)).toEqual(['api-connect']);
    const settings = await server.request('GET', '/public/api/plugins/api-connect/settings', {
      key: admin.key,
    });
    expect(settings.json.presets.map((p: { name: string }) => p.name)).toEqual(['default']);
    const saved = await server.request('POST', '/public/api/plugins/api-connect/settings', {
      key: admin.key,
      body: settings.json,
    });
    expect(saved.status, saved.text).toBe(200);
    const usages = await server.request('GET', '/public/api/plugins/api-connect/actions/listUsages', {
      key: admin.key,
    });
    expect(usages.json.usages.map((u: { objectId: string }) => u.objectId).sort()).toEqual([
      'fetch',
      'fetch-r',
    ]);
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(zip)]), 'api-connect.zip');
    const up = await fetch(`${server.url}/public/api/plugins/actions/installFromZip`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${admin.key}:`).toString('base64')}` },
      body: form,
    });
    expect(up.status, await up.clone().text()).toBe(200);
    const big = new FormData();
    big.append('file', new Blob([new Uint8Array(20 * MiB + 1)]), 'big.zip');
    const tooBig = await fetch(`${server.url}/public/api/plugins/actions/installFromZip`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${admin.key}:`).toString('base64')}` },
      body: big,
    });
    expect(tooBig.status).toBe(413);
    expect(((await tooBig.json()) as { message: string }).message).toMatch(
      /^the plugin archive is larger than 20971520 bytes \(20 MiB\)/,
    );
    // The update kept the preset and the users' credentials.
    const job = await waitForJob(server, alice, await startJob(server, alice, 'SALES', 'fetch'));
    expect(job.state, job.log).toBe('succeeded');
  });

  it('plugin-level settings saved through the DSS settings reach get_plugin_config(); the admin route’s save is judged against its read', async () => {
    const detail = (who: TestUser) => server.request('GET', '/api/v1/plugins/api-connect', { key: who.key });
    const read = (await detail(admin)).json;
    expect(read.params).toEqual([
      expect.objectContaining({ name: 'user_agent', type: 'STRING', defaultValue: 'coffer-api-connect/1.0' }),
    ]);
    expect(read.config).toEqual({});
    expect(read.settingsRevision).toEqual(expect.any(Number));
    const asUser = (await detail(alice)).json;
    expect(asUser.params).toHaveLength(1);
    expect(asUser).not.toHaveProperty('config');
    expect(asUser).not.toHaveProperty('settingsRevision');

    const url = '/public/api/plugins/api-connect/settings';
    const settings = (await server.request('GET', url, { key: admin.key })).json;
    settings.config.user_agent = 'sales-team-bot/2.1';
    const saved = await server.request('POST', url, { key: admin.key, body: settings });
    expect(saved.status, saved.text).toBe(200);
    // The plugin's settings decide what its code does with a runner's token: a change to approve.
    const job = await waitForJob(server, alice, await startApprovedJob(server, alice, 'SALES', 'fetch'));
    expect(job.state, job.log).toBe('succeeded');
    expect(job.log).toMatch(/^user agent: sales-team-bot\/2\.1$/m);

    // Another administrator saving from a page read before that change would undo it unseen: refused.
    const other = await server.createUser('root2', { admin: true });
    const configUrl = '/api/v1/admin/plugins/api-connect/config';
    const stale = await server.request('PUT', configUrl, {
      key: other.key,
      body: { config: { user_agent: 'stale-bot/1' }, settingsRevision: read.settingsRevision },
    });
    expect(stale.status, stale.text).toBe(409);
    expect(stale.json.error.message).toMatch(/the plugin config was changed after these settings were read/);
    const wrongType = await server.request('PUT', configUrl, {
      key: other.key,
      body: { config: { user_agent: 7 }, settingsRevision: (await detail(other)).json.settingsRevision },
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json.error.message).toMatch(/user_agent/);
    expect((await server.request('GET', url, { key: admin.key })).json.config).toEqual({
      user_agent: 'sales-team-bot/2.1',
    });
    const fresh = await server.request('PUT', configUrl, {
      key: other.key,
      body: {
        config: { user_agent: 'ops-bot/3' },
        settingsRevision: (await detail(other)).json.settingsRevision,
      },
    });
    expect(fresh.status, fresh.text).toBe(200);
    expect(fresh.json.config).toEqual({ user_agent: 'ops-bot/3' });
    // Presets are kept as they were.
    const after = (await server.request('GET', url, { key: admin.key })).json;
    expect(after.config).toEqual({ user_agent: 'ops-bot/3' });
    expect(after.presets.map((x: { name: string }) => x.name)).toEqual(['default']);
    expect(fresh.json.settingsRevision).toBe(Number(after.cofferReadVersion));
  });

  it('an administrator repointing a preset cannot send a runner’s token elsewhere unseen: the runner approves the change first', async () => {
    const url = '/api/v1/admin/plugins/api-connect/presets/api-credentials/default';
    const moved = await server.request('PUT', url, {
      key: admin.key,
      body: { config: { base_url: 'https://collector.example.net' } },
    });
    expect(moved.status, moved.text).toBe(200);
    const asked = await server.request('POST', '/api/v1/projects/SALES/recipes/fetch/run', {
      key: alice.key,
      body: {},
    });
    expect(asked.status, asked.text).toBe(409);
    expect(asked.json.error.code).toBe('approval_required');
    expect(asked.json.error.message).toMatch(/root changed recipe fetch/);
    expect(asked.json.error.diff).toContain('-        "base_url": "https://api.example.com"');
    expect(asked.json.error.diff).toContain('+        "base_url": "https://collector.example.net"');
    const job = await waitForJob(
      server,
      alice,
      await startJob(server, alice, 'SALES', 'fetch', { approvedRevision: asked.json.error.revision }),
    );
    expect(job.state, job.log).toBe('succeeded');
    expect(job.log).toContain('https://collector.example.net');
    // Updating the plugin's code is a change to approve too.
    const updated = await install(
      admin,
      await zipEntries([
        ...(await filesOf(SAMPLE)),
        { path: 'resource/extra.txt', content: 'new in this version' },
      ]),
    );
    expect(updated.status, updated.text).toBe(201);
    const again = await server.request('POST', '/api/v1/projects/SALES/recipes/fetch/run', {
      key: alice.key,
      body: {},
    });
    expect(again.status, again.text).toBe(409);
    expect(again.json.error.diff).toMatch(/^- {2}"files": "sha256:/m);
  });

  it('a plugin in use is removed only by force; its recipes stay, broken, with a clear message', async () => {
    const refused = await server.request('DELETE', '/api/v1/admin/plugins/api-connect', { key: admin.key });
    expect(refused.status).toBe(409);
    expect(refused.json.error.message).toMatch(/SALES\/fetch/);
    const forced = await server.request('DELETE', '/api/v1/admin/plugins/api-connect?force=true', {
      key: admin.key,
    });
    expect(forced.status, forced.text).toBe(200);
    expect(forced.json.brokenRecipes).toBe(2);
    const recipe = await server.request('GET', '/api/v1/projects/SALES/recipes/fetch', { key: alice.key });
    expect(recipe.json.broken).toMatch(/no longer installed/);
    const run = await server.request('POST', '/api/v1/projects/SALES/recipes/fetch/run', {
      key: alice.key,
      body: {},
    });
    expect(run.status).toBe(409);
    expect(run.json.error.message).toMatch(/no longer installed/);
    const creds = await server.request('GET', '/api/v1/me/plugin-credentials', { key: alice.key });
    expect(creds.json.credentials).toEqual([]);
  });

  it('a runner without a secret the plugin declares (userSecrets) or the form names (USER_SECRET) is refused, told which and where; with them it runs', async () => {
    const plugin = await zipEntries([
      {
        path: 'plugin.json',
        content: JSON.stringify({
          id: 'needs-secret',
          version: '1.0.0',
          userSecrets: [{ name: 'X', description: 'The warehouse password' }],
        }),
      },
      {
        path: 'custom-recipes/go/recipe.json',
        content: JSON.stringify({ params: [{ name: 'extra', label: 'Extra secret', type: 'USER_SECRET' }] }),
      },
      {
        path: 'custom-recipes/go/recipe.py',
        content: [
          'import dataiku',
          'names = [s["key"] for s in dataiku.api_client().get_auth_info(with_secrets=True)["secrets"]]',
          'print("has X:", "X" in names)',
          'print("has Y:", "Y" in names)',
        ].join('\n'),
      },
    ]);
    expect((await install(admin, plugin)).status).toBe(201);
    const recipe = '/api/v1/projects/SALES/recipes/go';
    const put = await server.request('PUT', recipe, {
      key: alice.key,
      body: { plugin: { id: 'needs-secret', recipe: 'go' }, config: { extra: 'Y' } },
    });
    expect(put.status, put.text).toBe(201);

    const ready = await server.request('GET', `${recipe}/readiness`, { key: alice.key });
    expect(ready.json.ready).toBe(false);
    expect(ready.json.missing).toEqual([
      expect.objectContaining({ kind: 'secret', name: 'X', description: 'The warehouse password' }),
      expect.objectContaining({ kind: 'secret', name: 'Y', description: 'Extra secret' }),
    ]);
    const refused = await server.request('POST', `${recipe}/run`, { key: alice.key, body: {} });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.json.error.message).toMatch(/a secret named X\b.*Other credentials \(\/profile\)/);
    expect(refused.json.error.message).toMatch(/a secret named Y\b/);
    const jobs = await server.request('GET', '/api/v1/jobs?project=SALES', { key: alice.key });
    expect(jobs.json.jobs.filter((j: { recipe: string }) => j.recipe === 'go')).toEqual([]);

    for (const name of ['X', 'Y'])
      await server.request('PUT', `/api/v1/me/secrets/${name}`, {
        key: alice.key,
        body: { value: `value-of-${name}` },
      });
    expect((await server.request('GET', `${recipe}/readiness`, { key: alice.key })).json).toMatchObject({
      ready: true,
      missing: [],
    });
    const job = await waitForJob(server, alice, await startJob(server, alice, 'SALES', 'go'));
    expect(job.state, job.log).toBe('succeeded');
    expect(job.log).toContain('has X: True');
    expect(job.log).toContain('has Y: True');
  });

  it('a BASIC credential request: each user enters a user and a password, a run gets {user, password} masked, DSS settings show a marker for each', async () => {
    const plugin = await zipEntries([
      { path: 'plugin.json', content: JSON.stringify({ id: 'basic-auth', version: '1.0.0' }) },
      {
        path: 'parameter-sets/login/parameter-set.json',
        content: JSON.stringify({
          params: [
            { name: 'base_url', type: 'STRING', mandatory: true },
            {
              name: 'account',
              label: 'Account',
              type: 'CREDENTIAL_REQUEST',
              credentialRequestSettings: { type: 'BASIC' },
              mandatory: true,
            },
          ],
        }),
      },
      {
        path: 'custom-recipes/go/recipe.json',
        content: JSON.stringify({
          params: [{ name: 'conn', type: 'PRESET', parameterSetId: 'login', mandatory: true }],
        }),
      },
      {
        path: 'custom-recipes/go/recipe.py',
        content: [
          'from dataiku.customrecipe import get_recipe_config',
          'conn = get_recipe_config()["conn"]',
          'account = conn["account"]',
          'print("base url:", conn["base_url"])',
          'print("account:", type(account).__name__, sorted(account))',
          'print("user: " + account["user"])',
          'print("password: " + account["password"])',
          'print("user length:", len(account["user"]))',
          'print("password length:", len(account["password"]))',
        ].join('\n'),
      },
    ]);
    expect((await install(admin, plugin)).status).toBe(201);
    const preset = await server.request('PUT', '/api/v1/admin/plugins/basic-auth/presets/login/main', {
      key: admin.key,
      body: { config: { base_url: 'https://db.example.com' } },
    });
    expect(preset.status, preset.text).toBe(200);

    const USER = 'svc-alice-reporting';
    const PASSWORD = 'alice-db-password-3c9d71e0b2a4f8';
    const url = '/api/v1/me/plugin-credentials/basic-auth/login/main/account';
    const single = await server.request('PUT', url, { key: alice.key, body: { value: PASSWORD } });
    expect(single.status).toBe(400);
    expect(single.json.error.message).toMatch(/user and a password/);
    const put = await server.request('PUT', url, {
      key: alice.key,
      body: { user: USER, password: PASSWORD },
    });
    expect(put.status, put.text).toBe(204);
    const listed = await server.request('GET', '/api/v1/me/plugin-credentials', { key: alice.key });
    expect(listed.json.credentials).toEqual([
      expect.objectContaining({ plugin: 'basic-auth', param: 'account', type: 'BASIC', set: true }),
    ]);
    expect(listed.text).not.toContain(PASSWORD);

    const recipe = await server.request('PUT', '/api/v1/projects/SALES/recipes/basic', {
      key: alice.key,
      body: {
        plugin: { id: 'basic-auth', recipe: 'go' },
        config: { conn: { mode: 'PRESET', name: 'main' } },
      },
    });
    expect(recipe.status, recipe.text).toBe(201);
    const job = await waitForJob(server, alice, await startJob(server, alice, 'SALES', 'basic'));
    expect(job.state, job.log).toBe('succeeded');
    expect(job.log).toContain('base url: https://db.example.com');
    expect(job.log).toContain("account: dict ['password', 'user']");
    expect(job.log).toMatch(/^user: \*{5}$/m);
    expect(job.log).toMatch(/^password: \*{5}$/m);
    expect(job.log).toMatch(new RegExp(`^user length: ${USER.length}$`, 'm'));
    expect(job.log).toMatch(new RegExp(`^password length: ${PASSWORD.length}$`, 'm'));
    expect(job.log).not.toContain(USER);
    expect(job.log).not.toContain(PASSWORD);

    const mine = await server.request('GET', '/public/api/current-user', { key: alice.key });
    expect(mine.json.credentials['"PLUGIN", "basic-auth", "login", "main", "account"']).toEqual({
      type: 'BASIC',
      user: expect.stringMatching(/^e:AES:/),
      password: expect.stringMatching(/^e:AES:/),
    });
    expect(mine.text).not.toContain(USER);
    expect(mine.text).not.toContain(PASSWORD);
  });
});
