/*
 * Rotating the master key while servers serve: the operator restarts the servers with the new key as
 * current and the old one as previous, runs `coffer keys rotate --reseal` (here: killed with SIGKILL half
 * way, then run again), and readers hammering auth/info never see an error or a wrong value. Afterwards
 * every value of every user opens under the new key alone, the old version is retired and refused, and
 * a key the store never knew is refused without a byte changing. Users' plugin credentials are sealed
 * under the same data keys (ADR 0021): they are re-sealed with the secrets, and open under the new key
 * alone too. Real `coffer serve` and `coffer` processes, on the store of the run (SQLite or PostgreSQL).
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, openRuntime, createServices } from '@coffer/server';
import {
  CLI,
  hashTree,
  killAllChildren,
  makeTempDir,
  removeTempDirs,
  request,
  runCli,
  startServe,
} from './helpers/coffer-process.js';
import { zipDirectory } from './support/plugin-zips.js';
import { databaseFor, testStore } from './support/test-store.js';

const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const BULK = 150;
const SAMPLE = path.resolve(import.meta.dirname, '../examples/plugins/api-connect');
/** Presets of the sample plugin's parameter set `api-credentials`, each asking every user for a token. */
const PRESETS = ['default', 'staging'];

describe('master key rotation, online', () => {
  const dataDir = makeTempDir('coffer-rotation-');
  const base: Record<string, string> = { COFFER_DATA_DIR: dataDir, COFFER_JOBS_ENABLED: 'false' };
  const withK1 = { ...base, COFFER_MASTER_KEY: K1 };
  const rotating = { ...base, COFFER_MASTER_KEY: K2, COFFER_PREVIOUS_MASTER_KEYS: K1 };
  const withK2 = { ...base, COFFER_MASTER_KEY: K2 };
  let readerKey: string;
  const readerValues: Record<string, string> = {};
  const bulkValues = new Map<string, Record<string, string>>();
  /** Per login: the token they entered for each preset. */
  const tokens = new Map<string, Record<string, string>>();
  /** Per login: the data key each of their tokens was sealed under before the rotation. */
  let credentialKeysBefore: Map<string, Record<string, string>>;
  let afterRotation: ReturnType<typeof openEverything> | undefined;
  /** Everything opened with the new key alone, once the rotation is done (read once, by the first asking). */
  const openedAfterRotation = () => (afterRotation ??= openEverything(withK2));

  /** The store's own view, in this process, with the given keys: every value of every user, opened. */
  async function openEverything(env: Record<string, string>): Promise<Map<string, Record<string, string>>> {
    const url = testStore === 'postgres' ? { COFFER_DATABASE_URL: await databaseFor(dataDir) } : {};
    const config = loadConfig({ ...env, ...url });
    const { store, keyring } = await openRuntime(config);
    try {
      const services = createServices({ config, store, keyring, clock: { now: () => Date.now() } });
      const out = new Map<string, Record<string, string>>();
      const users = await store.db.selectFrom('users').select(['id', 'login']).execute();
      for (const u of users) {
        const names = (
          await store.db
            .selectFrom('secrets')
            .select('name')
            .where('user_id', '=', u.id)
            .orderBy('name')
            .execute()
        ).map((r) => r.name);
        const values = await services.secrets.valuesForMasking(u.id);
        out.set(u.login, Object.fromEntries(names.map((n, i) => [n, values[i]!])));
      }
      const versions = await store.db.selectFrom('data_keys').select(['master_version', 'version']).execute();
      out.set(
        '#master versions',
        Object.fromEntries(versions.map((v, i) => [String(i), String(v.master_version)])),
      );
      // Plugin credentials, opened by the service a run uses (what fails to open says why), each beside
      // its row's data key version and the master key version that data key is wrapped under.
      for (const u of users) {
        const opened = await services.pluginCredentials.openForRun(u.id, 'api-connect').then(
          (all) => Object.fromEntries(all.map((c) => [c.key.preset, String(c.value)])),
          (e: unknown) => ({ 'cannot open': (e as Error).message }),
        );
        if (Object.keys(opened).length === 0) continue;
        out.set(`#plugin credentials ${u.login}`, opened);
        const rows = await store.db
          .selectFrom('plugin_credentials as c')
          .leftJoin('data_keys as k', (j) =>
            j.onRef('k.user_id', '=', 'c.user_id').onRef('k.version', '=', 'c.key_version'),
          )
          .select(['c.preset', 'c.key_version', 'k.master_version'])
          .where('c.user_id', '=', u.id)
          .execute();
        out.set(
          `#credential keys ${u.login}`,
          Object.fromEntries(
            rows.map((r) => [r.preset, `data key ${r.key_version} under ${r.master_version ?? 'missing'}`]),
          ),
        );
      }
      return out;
    } finally {
      await store.close();
    }
  }

  beforeAll(async () => {
    for (const [login, admin] of [
      ['root', true],
      ['reader', false],
    ] as const) {
      const c = await runCli(['users', 'create', login, ...(admin ? ['--admin'] : [])], {
        env: withK1,
        input: `pw-${login}-0123456789\n`,
      });
      expect(c, c.stderr).toMatchObject({ code: 0 });
    }
    const rootKey = (await runCli(['api-keys', 'create', 'root'], { env: withK1 })).stdout.trim();
    readerKey = (await runCli(['api-keys', 'create', 'reader'], { env: withK1 })).stdout.trim();
    const server = await startServe(withK1);
    try {
      for (let i = 0; i < 3; i++) {
        readerValues[`reader ${i}`] = `reader-value-${i}-${randomBytes(6).toString('hex')}`;
        await request(server.url, 'PUT', `/api/v1/me/secrets/reader ${i}`, {
          key: readerKey,
          body: { value: readerValues[`reader ${i}`] },
        });
      }
      // Many users, each with values an administrator set (so the re-seal has something to do).
      for (let i = 0; i < BULK; i += 10) {
        await Promise.all(
          Array.from({ length: 10 }, async (_, j) => {
            const login = `bulk-${i + j}`;
            const c = await request(server.url, 'POST', '/api/v1/admin/users', {
              key: rootKey,
              body: { login, password: `pw-${login}-0123456789` },
            });
            expect(c.status, c.text).toBe(201);
            const s = (
              await request(server.url, 'GET', `/dip/publicapi/admin/users/${login}`, { key: rootKey })
            ).json;
            const values = { a: `${login}-a-${randomBytes(4).toString('hex')}`, b: `${login}-b-Ü🔑` };
            s.secrets = Object.entries(values).map(([name, value]) => ({ name, value }));
            const put = await request(server.url, 'PUT', `/dip/publicapi/admin/users/${login}`, {
              key: rootKey,
              body: s,
            });
            expect(put.status, put.text).toBe(200);
            bulkValues.set(login, values);
          }),
        );
      }
      // The sample plugin, presets asking for a token, and two users' tokens: a handful of credentials.
      const installed = await request(server.url, 'POST', '/api/v1/admin/plugins', {
        key: rootKey,
        rawBody: await zipDirectory(SAMPLE, { under: 'api-connect' }),
        headers: { 'content-type': 'application/zip' },
      });
      expect(installed.status, installed.text).toBe(201);
      for (const preset of PRESETS) {
        const p = await request(
          server.url,
          'PUT',
          `/api/v1/admin/plugins/api-connect/presets/api-credentials/${preset}`,
          { key: rootKey, body: { config: { base_url: `https://${preset}.example.com` } } },
        );
        expect(p.status, p.text).toBe(200);
        for (const [login, key] of [
          ['root', rootKey],
          ['reader', readerKey],
        ] as const) {
          const token = `${login}-${preset}-token-${randomBytes(6).toString('hex')}`;
          const t = await request(
            server.url,
            'PUT',
            `/api/v1/me/plugin-credentials/api-connect/api-credentials/${preset}/token`,
            { key, body: { value: token } },
          );
          expect(t.status, t.text).toBe(204);
          tokens.set(login, { ...tokens.get(login), [preset]: token });
        }
      }
    } finally {
      await server.stop();
    }
    const before = await openEverything(withK1);
    credentialKeysBefore = new Map(
      [...tokens.keys()].map((login) => [login, before.get(`#credential keys ${login}`)!]),
    );
    for (const [login, byPreset] of tokens)
      expect(before.get(`#plugin credentials ${login}`), login).toEqual(byPreset);
  });
  afterAll(async () => {
    await killAllChildren();
    await removeTempDirs();
  });

  it('readers never see an error while the key is rotated and every value re-sealed, even through a kill -9 of the rotation', async () => {
    const server = await startServe(rotating);
    let stop = false;
    let reads = 0;
    const problems: string[] = [];
    const readers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const r = await request(server.url, 'GET', '/dip/publicapi/auth/info?withSecrets=true', {
          key: readerKey,
        });
        reads++;
        const got =
          r.status === 200
            ? Object.fromEntries(r.json.secrets.map((s: { key: string; value: string }) => [s.key, s.value]))
            : undefined;
        if (r.status !== 200 || JSON.stringify(got) !== JSON.stringify(readerValues))
          problems.push(`${r.status} ${r.text.slice(0, 200)}`);
      }
    });
    try {
      // First run: killed once it has re-sealed some users.
      const first = spawn(process.execPath, [CLI, 'keys', 'rotate', '--reseal'], {
        env: {
          PATH: process.env.PATH,
          ...rotating,
          ...(testStore === 'postgres' ? { COFFER_DATABASE_URL: await databaseFor(dataDir) } : {}),
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let firstErr = '';
      const killed = new Promise<void>((resolve) => {
        first.stderr.setEncoding('utf8').on('data', (d: string) => {
          firstErr += d;
          if (/re-seal users: [1-9]\d*\/\d+/.test(firstErr) && first.exitCode === null) {
            first.kill('SIGKILL');
          }
        });
        first.once('exit', () => resolve());
      });
      await killed;
      expect(firstErr, 'the first run was to be cut off mid-way').not.toMatch(/re-sealed \d+ values/);

      const second = await runCli(['keys', 'rotate', '--reseal'], { env: rotating, timeoutMs: 120_000 });
      expect(second, second.stderr).toMatchObject({ code: 0 });
      expect(second.stderr).toMatch(
        /master key version 2: re-wrapped \d+ data keys, re-sealed \d+ values of \d+ users; retired version 1/,
      );
    } finally {
      stop = true;
      await Promise.all(readers);
      await server.stop();
    }
    expect(reads).toBeGreaterThan(20);
    expect(problems).toEqual([]);
  });

  it('afterwards every value opens under the new key alone, and every data key is wrapped under it', async () => {
    const all = await openedAfterRotation();
    expect(all.get('reader')).toEqual(readerValues);
    for (const [login, values] of bulkValues) expect(all.get(login), login).toEqual(values);
    expect(new Set(Object.values(all.get('#master versions')!))).toEqual(new Set(['2']));
  });

  it("afterwards every user's plugin credential opens under the new key alone, re-sealed under the user's new data key", async () => {
    const all = await openedAfterRotation();
    for (const [login, byPreset] of tokens) {
      expect(all.get(`#plugin credentials ${login}`), login).toEqual(byPreset);
      // Sealed under a data key made by the re-seal (the old ones are deleted), wrapped under version 2.
      const before = credentialKeysBefore.get(login)!;
      const after = all.get(`#credential keys ${login}`)!;
      for (const preset of PRESETS) {
        const [, was] = /^data key (\d+) under 1$/.exec(before[preset]!) ?? [];
        expect(was, `${login} ${preset} before: ${before[preset]}`).toBeDefined();
        expect(after[preset], `${login} ${preset}`).toBe(`data key ${Number(was) + 1} under 2`);
      }
    }
  });

  it('the retired key is refused, and so is a key the store never knew, with nothing written', async () => {
    const ok = await startServe(withK2);
    await ok.stop();
    const retired = await runCli(['serve'], { env: { ...withK1, COFFER_PORT: '0' }, timeoutMs: 20_000 });
    expect(retired.code).toBe(78);
    expect(retired.stderr).toMatch(/master key is version 1, retired by a rotation/);
    const before = testStore === 'sqlite' ? hashTree(dataDir) : undefined;
    const stranger = await runCli(['serve'], {
      env: { ...base, COFFER_MASTER_KEY: randomBytes(32).toString('base64'), COFFER_PORT: '0' },
      timeoutMs: 20_000,
    });
    expect(stranger.code).toBe(78);
    expect(stranger.stderr).toMatch(/does not match the one this store was created with/);
    if (before) expect(hashTree(dataDir)).toEqual(before);
  });
});
