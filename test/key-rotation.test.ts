/*
 * Rotating the master key while servers serve: the operator restarts the servers with the new key as
 * current and the old one as previous, runs `coffer keys rotate --reseal` (here: killed with SIGKILL half
 * way, then run again), and readers hammering auth/info never see an error or a wrong value. Afterwards
 * every value of every user opens under the new key alone, the old version is retired and refused, and
 * a key the store never knew is refused without a byte changing. Real `coffer serve` and `coffer`
 * processes, on the store of the run (SQLite or PostgreSQL).
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
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
import { databaseFor, testStore } from './support/test-store.js';

const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const BULK = 150;

describe('master key rotation, online', () => {
  const dataDir = makeTempDir('coffer-rotation-');
  const base: Record<string, string> = { COFFER_DATA_DIR: dataDir, COFFER_JOBS_ENABLED: 'false' };
  const withK1 = { ...base, COFFER_MASTER_KEY: K1 };
  const rotating = { ...base, COFFER_MASTER_KEY: K2, COFFER_PREVIOUS_MASTER_KEYS: K1 };
  const withK2 = { ...base, COFFER_MASTER_KEY: K2 };
  let readerKey: string;
  const readerValues: Record<string, string> = {};
  const bulkValues = new Map<string, Record<string, string>>();

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
    } finally {
      await server.stop();
    }
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
    const all = await openEverything(withK2);
    expect(all.get('reader')).toEqual(readerValues);
    for (const [login, values] of bulkValues) expect(all.get(login), login).toEqual(values);
    expect(new Set(Object.values(all.get('#master versions')!))).toEqual(new Set(['2']));
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
