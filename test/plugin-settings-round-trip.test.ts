/*
 * dataikuapi saves a plugin's settings by read-modify-write: GET /public/api/plugins/{id}/settings, edit
 * the object, POST it back whole. Deleting a preset deletes every user's credential for it, so a save
 * that never saw another administrator's change must not undo it: these tests make the change between
 * the GET and the POST, through HTTP against a real server, and check what survives (ADR 0021,
 * "Settings saves", after ADR 0015).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipDirectory } from './support/plugin-zips.js';
import { TestServer, type TestUser } from './support/test-server.js';

const SAMPLE = path.resolve(import.meta.dirname, '../examples/plugins/api-connect');
const SET = 'api-credentials';
const TYPE = `parameter-set-api-connect-${SET}`;
const SETTINGS = '/public/api/plugins/api-connect/settings';
const preset = (name: string) => `/api/v1/admin/plugins/api-connect/presets/${SET}/${name}`;
const ALICE_TOKEN = 'alice-eu-token-6f1d20c8b4';

interface Settings {
  cofferReadVersion: string;
  config: Record<string, unknown>;
  presets: {
    name: string;
    type: string;
    config: Record<string, unknown>;
    pluginConfig: Record<string, unknown>;
  }[];
}

describe('plugin settings saved by read-modify-write keep what others changed meanwhile', () => {
  let server: TestServer;
  let root: TestUser;
  let ops: TestUser;
  let alice: TestUser;

  const read = async (who: TestUser): Promise<Settings> => {
    const r = await server.request('GET', SETTINGS, { key: who.key });
    expect(r.status, r.text).toBe(200);
    return r.json as Settings;
  };
  const save = (who: TestUser, body: unknown) => server.request('POST', SETTINGS, { key: who.key, body });
  const putPreset = async (who: TestUser, name: string, baseUrl: string) => {
    const r = await server.request('PUT', preset(name), {
      key: who.key,
      body: { config: { base_url: baseUrl } },
    });
    expect(r.status, r.text).toBe(200);
  };
  const stored = async () =>
    Object.fromEntries((await read(root)).presets.map((p) => [p.name, p.config.base_url as string]));
  const aliceHasCredential = async (name: string) =>
    (
      (await server.request('GET', '/api/v1/me/plugin-credentials', { key: alice.key })).json.credentials as {
        preset: string;
        set: boolean;
      }[]
    ).some((c) => c.preset === name && c.set);

  beforeAll(async () => {
    server = await TestServer.start();
    root = await server.createUser('root', { admin: true });
    ops = await server.createUser('ops', { admin: true });
    alice = await server.createUser('alice');
    const installed = await server.request('POST', '/api/v1/admin/plugins', {
      key: root.key,
      rawBody: await zipDirectory(SAMPLE),
      headers: { 'content-type': 'application/zip' },
    });
    expect(installed.status, installed.text).toBe(201);
    await putPreset(root, 'default', 'https://api.example.com');
  });
  afterAll(() => server.close());

  it("a preset another administrator creates between the read and the save survives, with users' credentials", async () => {
    const settings = await read(root);
    await putPreset(ops, 'eu', 'https://eu.example.com');
    const cred = `/api/v1/me/plugin-credentials/api-connect/${SET}/eu/token`;
    expect((await server.request('PUT', cred, { key: alice.key, body: { value: ALICE_TOKEN } })).status).toBe(
      204,
    );
    // Root edits the preset they saw and saves the object they read, which has no "eu".
    settings.presets.find((p) => p.name === 'default')!.config.base_url = 'https://v2.example.com';
    const saved = await save(root, settings);
    expect(saved.status, saved.text).toBe(200);
    expect(await stored()).toEqual({ default: 'https://v2.example.com', eu: 'https://eu.example.com' });
    expect(await aliceHasCredential('eu')).toBe(true);
  });

  it('a preset changed by another after the read is not overwritten nor deleted: 409 naming it, nothing saved', async () => {
    const settings = await read(root);
    await putPreset(ops, 'eu', 'https://eu2.example.com');
    settings.presets.find((p) => p.name === 'eu')!.config.base_url = 'https://mine.example.com';
    settings.presets.find((p) => p.name === 'default')!.config.base_url = 'https://v3.example.com';
    const overwrite = await save(root, settings);
    expect(overwrite.status, overwrite.text).toBe(409);
    expect(overwrite.json.detailedMessage).toMatch(
      /preset "eu" of api-credentials was changed after these settings were read; nothing was saved/,
    );
    const leaveOut = await save(root, {
      ...settings,
      presets: settings.presets.filter((p) => p.name !== 'eu'),
    });
    expect(leaveOut.status, leaveOut.text).toBe(409);
    expect(await stored()).toEqual({ default: 'https://v2.example.com', eu: 'https://eu2.example.com' });
    expect(await aliceHasCredential('eu')).toBe(true);
  });

  it('a preset deleted by another after the read is not brought back by a save that sends it', async () => {
    await putPreset(root, 'old', 'https://old.example.com');
    const settings = await read(root);
    expect((await server.request('DELETE', preset('old'), { key: ops.key })).status).toBe(204);
    const r = await save(root, settings);
    expect(r.status, r.text).toBe(409);
    expect(r.json.detailedMessage).toMatch(
      /preset "old" of api-credentials was deleted after these settings were read/,
    );
    expect(Object.keys(await stored()).sort()).toEqual(['default', 'eu']);
  });

  it('read, delete a preset nobody touched since, save: it is deleted', async () => {
    await putPreset(root, 'gone', 'https://gone.example.com');
    const settings = await read(root);
    const r = await save(root, { ...settings, presets: settings.presets.filter((p) => p.name !== 'gone') });
    expect(r.status, r.text).toBe(200);
    expect(Object.keys(await stored()).sort()).toEqual(['default', 'eu']);
  });

  it("dataikuapi's create_preset twice on one object: the second save re-sends the first's, and both are kept", async () => {
    const settings = await read(root);
    const add = (name: string) =>
      settings.presets.push({
        name,
        type: TYPE,
        config: { base_url: `https://${name}.example.com` },
        pluginConfig: {},
      });
    add('one');
    expect((await save(root, settings)).status).toBe(200);
    add('two');
    const second = await save(root, settings);
    expect(second.status, second.text).toBe(200);
    expect(Object.keys(await stored()).sort()).toEqual(['default', 'eu', 'one', 'two']);
  });

  it('a body not read from Coffer deletes nothing on a guess; a malformed or future version is refused', async () => {
    const { cofferReadVersion, ...hand } = await read(root);
    const leftOut = await save(root, { ...hand, presets: hand.presets.filter((p) => p.name !== 'eu') });
    expect(leftOut.status, leftOut.text).toBe(400);
    expect(leftOut.json.detailedMessage).toMatch(
      /leaves out stored preset "eu" of api-credentials.*cofferReadVersion/,
    );
    for (const bad of ['x1', '-1', String(Number(cofferReadVersion) + 5)]) {
      const r = await save(root, { ...hand, cofferReadVersion: bad });
      expect(r.status, `${bad}: ${r.text}`).toBe(400);
      expect(r.json.detailedMessage).toMatch(/cofferReadVersion/);
    }
    expect(Object.keys(await stored()).sort()).toEqual(['default', 'eu', 'one', 'two']);
    // The whole object as read, version included, still saves.
    expect((await save(root, { ...hand, cofferReadVersion })).status).toBe(200);
  });
});
