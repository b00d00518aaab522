import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  killAllChildren,
  makeTempDir,
  removeTempDirs,
  request,
  runCli,
  startServe,
  type ServeHandle,
} from './helpers/coffer-process.js';
import { databaseFor, pgQuery, testStore } from './support/test-store.js';

/*
 * kill -9 in the middle of many concurrent writes, three times over on the same data dir. A write the
 * server acknowledged (2xx received) must survive with its last acknowledged value; a write caught by
 * the kill must be all there or not there at all; the database must stay intact.
 *
 * On both stores. On SQLite the crashed files themselves are checked too (the WAL holds recent commits,
 * integrity_check passes before anyone recovers them); on PostgreSQL the server is a client that died,
 * so what is checked is that nothing was acknowledged before its commit and no transaction is half there.
 *
 * Each secret name is written by one sequential chain (the next write is sent after the previous one is
 * answered), so "the last acknowledged value" is well defined and at most one write per name is in doubt
 * at the kill. DSS current-user saves (each read first, then sent back with a new list, as dataikuapi
 * does) replace a user's whole secrets list, so they run for users of their own, one chain each, and the
 * list after a crash must be exactly one of the lists that were sent.
 */

const PUT_NAMES = 24;
const DSS_USERS = ['dss-one', 'dss-two'];
const DSS_NAMES = ['alpha', 'beta', 'gamma', 'delta'];
/**
 * Each cycle kills after this many acknowledged writes, then after a short pause (ms, -1 for at once) in
 * which writes keep flowing: varied so the kill lands at different points of the request/commit cycle.
 */
const KILLS = [
  { acks: 60, pauseMs: -1 },
  { acks: 150, pauseMs: 3 },
  { acks: 100, pauseMs: 0 },
];

type Value = string | null; // null: the secret does not exist

interface NameModel {
  /** The value the store must hold: the last acknowledged one (or what a restart showed). */
  durable: Value;
  /** A write sent but not acknowledged before the kill: it may or may not have committed. */
  inDoubt?: Value;
}

interface DssModel {
  durable: Record<string, string>;
  inDoubt?: Record<string, string>;
}

/**
 * The store's own view after a crash: SQLite's integrity check of the files it left; on PostgreSQL the
 * database itself did not crash (its client did), so only the row counts are the store's to check.
 */
async function inspectStore(dataDir: string): Promise<{ result: unknown; secrets: number; users: number }> {
  if (testStore === 'sqlite') return integrityCheck(path.join(dataDir, 'coffer.db'));
  const url = await databaseFor(dataDir);
  const [secrets, users] = await Promise.all(
    ['secrets', 'users'].map(async (t) =>
      Number((await pgQuery(url, `select count(*) as n from ${t}`))[0]!.n),
    ),
  );
  return { result: 'ok', secrets: secrets!, users: users! };
}

function integrityCheck(dbFile: string): { result: unknown; secrets: number; users: number } {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return {
      result: db.pragma('integrity_check', { simple: true }),
      secrets: Number(db.prepare('select count(*) from secrets').pluck().get()),
      users: Number(db.prepare('select count(*) from users').pluck().get()),
    };
  } finally {
    db.close();
  }
}

describe('crash safety: kill -9 during concurrent writes', () => {
  afterEach(killAllChildren);
  afterAll(async () => {
    await killAllChildren();
    await removeTempDirs();
  });

  it('keeps every acknowledged write with its last acknowledged value, never half-applies an unacknowledged one, and leaves an intact database, over three kill/restart cycles', async () => {
    const dataDir = makeTempDir('coffer-crash-');
    const dbFile = path.join(dataDir, 'coffer.db');
    const env = { COFFER_DATA_DIR: dataDir };

    // Users and keys through the real CLI, on a fresh store.
    const keys: Record<string, string> = {};
    for (const login of ['writer', ...DSS_USERS]) {
      const created = await runCli(['users', 'create', login], { env, input: `pw-${login}-0123456789\n` });
      expect(created, created.stderr).toMatchObject({ code: 0 });
      const key = await runCli(['api-keys', 'create', login, '--label', 'crash'], { env });
      expect(key, key.stderr).toMatchObject({ code: 0 });
      keys[login] = key.stdout.trim();
    }

    const names = Array.from({ length: PUT_NAMES }, (_, i) => `crash/${i} ✓`);
    const putModel = new Map<string, NameModel>(names.map((n) => [n, { durable: null }]));
    const dssModel = new Map<string, DssModel>(DSS_USERS.map((u) => [u, { durable: {} }]));
    const unexpected: string[] = [];

    let server: ServeHandle = await startServe(env);

    /** Reads everything back after a restart and checks it against the model; then adopts what it saw. */
    async function verifyAndAdopt(label: string): Promise<void> {
      const problems: string[] = [];
      const info = await request(server.url, 'GET', '/dip/publicapi/auth/info?withSecrets=true', {
        key: keys.writer,
      });
      expect(info.status).toBe(200);
      const actual = new Map<string, string>(
        (info.json.secrets as { key: string; value: string }[]).map((s) => [s.key, s.value]),
      );
      const list = await request(server.url, 'GET', '/api/v1/me/secrets', { key: keys.writer });
      expect(list.status).toBe(200);
      expect((list.json.secrets as { name: string }[]).map((s) => s.name).sort()).toEqual(
        [...actual.keys()].sort(),
      );
      for (const name of actual.keys())
        if (!putModel.has(name)) problems.push(`${label}: unexpected secret ${name}`);
      for (const [name, m] of putModel) {
        const got: Value = actual.get(name) ?? null;
        const allowed: Value[] = [m.durable, ...(m.inDoubt !== undefined ? [m.inDoubt] : [])];
        if (!allowed.includes(got)) {
          problems.push(
            `${label}: ${name} holds ${JSON.stringify(got)}; acknowledged ${JSON.stringify(m.durable)}` +
              (m.inDoubt !== undefined ? `, in doubt ${JSON.stringify(m.inDoubt)}` : ''),
          );
        }
        putModel.set(name, { durable: got });
      }
      for (const [login, m] of dssModel) {
        const r = await request(server.url, 'GET', '/dip/publicapi/auth/info?withSecrets=true', {
          key: keys[login],
        });
        expect(r.status).toBe(200);
        const got = Object.fromEntries(
          (r.json.secrets as { key: string; value: string }[]).map((s) => [s.key, s.value]),
        );
        const same = (a: Record<string, string>, b: Record<string, string>) =>
          JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
        if (!same(got, m.durable) && !(m.inDoubt && same(got, m.inDoubt))) {
          problems.push(
            `${label}: ${login}'s secrets are ${JSON.stringify(got)}; acknowledged ${JSON.stringify(m.durable)}` +
              (m.inDoubt ? `, in doubt ${JSON.stringify(m.inDoubt)}` : ''),
          );
        }
        dssModel.set(login, { durable: got });
      }
      expect(problems).toEqual([]);
    }

    for (let cycle = 0; cycle < KILLS.length; cycle++) {
      const { acks: target, pauseMs } = KILLS[cycle]!;
      const url = server.url;
      let acked = 0;
      let killing = false;
      let killed = false;
      let inFlight = 0;
      let inFlightAtKill = -1;
      let sent = 0;
      const killNow = () => {
        killed = true;
        inFlightAtKill = inFlight;
        void server.kill9(); // signals at once (synchronously), then waits for the exit
      };
      const kill = () => {
        if (killing) return;
        killing = true;
        if (pauseMs < 0) killNow();
        else setTimeout(killNow, pauseMs);
      };

      /** Sends one write; true if acknowledged, false if the kill caught it (the model records the doubt). */
      async function send(method: string, urlPath: string, key: string, body: unknown): Promise<boolean> {
        inFlight++;
        sent++;
        try {
          const res = await fetch(url + urlPath, {
            method,
            headers: {
              authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
              ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
            },
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: AbortSignal.timeout(30_000),
          });
          // Acknowledged as soon as a 2xx status arrives; the body may be cut off by the kill.
          await res.arrayBuffer().catch(() => undefined);
          if (res.status >= 200 && res.status < 300) {
            acked++;
            if (acked >= target) kill();
            return true;
          }
          unexpected.push(`${method} ${urlPath} -> ${res.status}`);
          return false;
        } catch (err) {
          if (!killed)
            unexpected.push(`${method} ${urlPath} failed before the kill: ${(err as Error).message}`);
          return false;
        } finally {
          inFlight--;
        }
      }

      /** A user's DSS settings, or undefined if the kill caught the read. */
      async function readSettings(key: string): Promise<Record<string, unknown> | undefined> {
        try {
          const res = await fetch(`${url}/dip/publicapi/current-user`, {
            headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` },
            signal: AbortSignal.timeout(30_000),
          });
          if (res.status === 200) return (await res.json()) as Record<string, unknown>;
          if (!killed) unexpected.push(`GET /dip/publicapi/current-user -> ${res.status}`);
        } catch (err) {
          if (!killed)
            unexpected.push(
              `GET /dip/publicapi/current-user failed before the kill: ${(err as Error).message}`,
            );
        }
        return undefined;
      }

      const putChain = async (name: string, n: number) => {
        for (let seq = 0; !killed; seq++) {
          const m = putModel.get(name)!;
          // Mostly replacements; now and then a deletion; every so often a value spanning several pages.
          const remove = m.durable !== null && (seq + n) % 6 === 5;
          const value: Value = remove
            ? null
            : `c${cycle}/${name}/w${seq}/${randomBytes(6).toString('hex')}` +
              ((seq + n) % 7 === 3 ? '/' + 'x'.repeat(9000 + n * 100) : '');
          const urlPath = `/api/v1/me/secrets/${encodeURIComponent(name)}`;
          const ok = await send(
            remove ? 'DELETE' : 'PUT',
            urlPath,
            keys.writer!,
            remove ? undefined : { value },
          );
          if (ok) putModel.set(name, { durable: value });
          else {
            putModel.set(name, { durable: m.durable, inDoubt: value });
            return;
          }
        }
      };

      const dssChain = async (login: string) => {
        for (let gen = 0; !killed; gen++) {
          const m = dssModel.get(login)!;
          // A full list each time; one name is left out of most saves, so saves delete as well as write.
          const list: Record<string, string> = {};
          DSS_NAMES.forEach((n, i) => {
            if (i !== gen % (DSS_NAMES.length + 1))
              list[n] = `c${cycle}/${login}/g${gen}/${n}/${randomBytes(6).toString('hex')}`;
          });
          // Read first, as dataikuapi's get_settings() does: the save is judged against that read (ADR 0015).
          const read = await readSettings(keys[login]!);
          if (!read) return; // the kill came during the read: nothing was sent, nothing is in doubt
          const body = { ...read, secrets: Object.entries(list).map(([name, value]) => ({ name, value })) };
          const ok = await send('PUT', '/dip/publicapi/current-user', keys[login]!, body);
          if (ok) dssModel.set(login, { durable: list });
          else {
            dssModel.set(login, { durable: m.durable, inDoubt: list });
            return;
          }
        }
      };

      await Promise.all([...names.map((n, i) => putChain(n, i)), ...DSS_USERS.map((u) => dssChain(u))]);
      const exit = await server.exited;

      // The kill really happened mid-stream, with work outstanding.
      expect(exit.signal).toBe('SIGKILL');
      expect(acked).toBeGreaterThanOrEqual(target);
      expect(inFlightAtKill).toBeGreaterThan(0);
      expect(sent).toBeGreaterThan(acked);
      expect(unexpected).toEqual([]);
      if (testStore === 'sqlite') {
        // Recent commits were still in the WAL: recovery is what is being tested.
        expect(existsSync(`${dbFile}-wal`) && statSync(`${dbFile}-wal`).size > 0).toBe(true);
      }
      // The crashed store is sound before anyone recovers it.
      expect(await inspectStore(dataDir)).toMatchObject({ result: 'ok', users: 3 });

      server = await startServe(env);
      await verifyAndAdopt(`after kill ${cycle + 1}`);
    }

    // A clean shutdown after the last recovery, and the database is still sound.
    const last = await server.stop();
    expect(last.code).toBe(0);
    const final = await inspectStore(dataDir);
    expect(final.result).toBe('ok');
    expect(final.secrets).toBe(
      [...putModel.values()].filter((m) => m.durable !== null).length +
        [...dssModel.values()].reduce((n, m) => n + Object.keys(m.durable).length, 0),
    );
  });
});
