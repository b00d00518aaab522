/*
 * `coffer plugins install|list|remove` as an operator uses them: child processes of the real command
 * against a data dir, installing the sample plugin from its folder and from a zip, refusing a bad
 * archive with the server's message and a folder holding a link, and removing a plugin in use only
 * with --force. Every replica sees what the command installed (it lives in the store): a server
 * started on the same data dir lists it.
 */
import { mkdirSync, symlinkSync, writeFileSync, cpSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  killAllChildren,
  makeTempDir,
  removeTempDirs,
  request,
  runCli,
  startServe,
} from './helpers/coffer-process.js';
import { zipDirectory, zipEntries } from './support/plugin-zips.js';

const SAMPLE = path.resolve(import.meta.dirname, '../examples/plugins/api-connect');

afterAll(async () => {
  await killAllChildren();
  await removeTempDirs();
});

describe('coffer plugins', () => {
  let env: Record<string, string>;
  let work: string;

  beforeAll(() => {
    work = makeTempDir('coffer-cli-plugins-');
    env = { COFFER_DATA_DIR: path.join(work, 'data') };
  });

  it('installs from a folder, lists it, and a server on the same store serves it', async () => {
    const r = await runCli(['plugins', 'install', SAMPLE], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/installed plugin api-connect 1\.0\.0: 2 recipes, 1 parameter set/);
    const list = await runCli(['plugins', 'list', '--json'], { env });
    expect(JSON.parse(list.stdout).map((p: { id: string }) => p.id)).toEqual(['api-connect']);
    const admin = await runCli(['users', 'create', 'root', '--admin'], {
      env,
      input: 'pw-root-0123456789\n',
    });
    expect(admin.code, admin.stderr).toBe(0);
    const key = (await runCli(['api-keys', 'create', 'root'], { env })).stdout.trim();
    const server = await startServe(env);
    try {
      const seen = await request(server.url, 'GET', '/api/v1/plugins/api-connect', { key });
      expect(seen.status, seen.text).toBe(200);
      expect(seen.json.recipes.map((x: { id: string }) => x.id).sort()).toEqual(['fetch', 'fetch-r']);
    } finally {
      await server.stop();
    }
  });

  it('installs from a zip: an update of the same id', async () => {
    const zip = path.join(work, 'api-connect.zip');
    writeFileSync(zip, await zipDirectory(SAMPLE, { under: 'api-connect' }));
    const r = await runCli(['plugins', 'install', zip], { env });
    expect(r.code, r.stderr).toBe(0);
  });

  it('refuses a bad archive with the message naming the file, and a folder holding a link', async () => {
    const bad = path.join(work, 'bad.zip');
    writeFileSync(bad, await zipEntries([{ path: '../escape.py', content: 'x' }]));
    const r = await runCli(['plugins', 'install', bad], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\.\.\/escape\.py/);
    const linked = path.join(work, 'linked');
    cpSync(SAMPLE, linked, { recursive: true });
    mkdirSync(path.join(linked, 'resource'), { recursive: true });
    symlinkSync('/etc/passwd', path.join(linked, 'resource', 'passwd'));
    const l = await runCli(['plugins', 'install', linked], { env });
    expect(l.code).toBe(64);
    expect(l.stderr).toMatch(/resource\/passwd: a link/);
    const missing = await runCli(['plugins', 'install', path.join(work, 'nope')], { env });
    expect(missing.code).toBe(64);
    expect(missing.stderr).toMatch(/no such file or folder/);
  });

  it('removes a plugin in use only with --force, saying what it leaves broken', async () => {
    const key = (await runCli(['api-keys', 'create', 'root'], { env })).stdout.trim();
    const server = await startServe(env);
    try {
      await request(server.url, 'POST', '/api/v1/projects', { key, body: { key: 'OPS', name: 'Ops' } });
      const preset = await request(
        server.url,
        'PUT',
        '/api/v1/admin/plugins/api-connect/presets/api-credentials/default',
        { key, body: { config: { base_url: 'https://api.example.com' } } },
      );
      expect(preset.status, preset.text).toBe(200);
      const put = await request(server.url, 'PUT', '/api/v1/projects/OPS/recipes/fetch', {
        key,
        body: {
          plugin: { id: 'api-connect', recipe: 'fetch' },
          config: { endpoint: '/x', credentials: { mode: 'PRESET', name: 'default' } },
        },
      });
      expect(put.status, put.text).toBe(201);
    } finally {
      await server.stop();
    }
    const refused = await runCli(['plugins', 'remove', 'api-connect'], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/used by 1 recipe \(OPS\/fetch\)/);
    const forced = await runCli(['plugins', 'remove', 'api-connect', '--force'], { env });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/1 recipe that used it cannot run/);
    const gone = await runCli(['plugins', 'remove', 'api-connect'], { env });
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/not installed/);
  });
});
