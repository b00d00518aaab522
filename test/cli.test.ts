import { existsSync, renameSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  hashTree,
  killAllChildren,
  makeTempDir,
  removeTempDirs,
  request,
  runCli,
  startServe,
  type ServeHandle,
} from './helpers/coffer-process.js';
import { databaseDigest, databaseFor, testStore } from './support/test-store.js';

/*
 * The `coffer` command as an operator uses it: child processes of packages/cli/bin/coffer.js, with
 * passwords on stdin, against a data dir that a separately started `coffer serve` is using.
 */

const KEY_RE = /^[A-Za-z0-9+/]{43}=$/;

/** Everything the store of a data dir holds: its files, and on PostgreSQL every row of its database. */
async function storeState(dataDir: string): Promise<unknown> {
  return {
    files: hashTree(dataDir),
    database: testStore === 'postgres' ? await databaseDigest(await databaseFor(dataDir)) : undefined,
  };
}

afterAll(async () => {
  await killAllChildren();
  await removeTempDirs();
});

describe('user administration while a server runs on the same data dir', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let server: ServeHandle;

  const createUser = (login: string, password: string, extra: string[] = []) =>
    runCli(['users', 'create', login, ...extra], { env, input: `${password}\n` });
  const signIn = (login: string, password: string) =>
    request(server.url, 'POST', '/api/v1/session', { body: { login, password } });

  beforeAll(async () => {
    dataDir = path.join(makeTempDir('coffer-cli-'), 'data');
    env = { COFFER_DATA_DIR: dataDir };
    server = await startServe(env);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('on first start with no users, logs how to create the first administrator', () => {
    const listening = server.lines.findIndex((l) => l.msg === 'Coffer is listening');
    const hint = server.lines.findIndex((l) => /no users/i.test(l.msg ?? ''));
    expect(hint).toBeGreaterThanOrEqual(0);
    expect(hint).toBeLessThan(listening);
    const msg = server.lines[hint]!.msg!;
    expect(msg).toMatch(/users create <login> --admin/);
    expect(msg).toMatch(/stdin/);
    expect(server.lines[hint]!.level).toBeGreaterThanOrEqual(40); // warn: operators see it
  });

  it('users create reads the password from stdin, and the user can then sign in with it', async () => {
    const password = 'alice-Pässword-from-stdin-42';
    const r = await createUser('alice', password, [
      '--admin',
      '--display-name',
      'Alice Martin',
      '--email',
      'alice@example.com',
    ]);
    expect(r, r.stderr).toMatchObject({ code: 0, timedOut: false });
    expect(r.stderr).toMatch(/created user alice \(administrator\)/);
    expect(r.stdout + r.stderr).not.toContain(password);

    const ok = await signIn('alice', password);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.user).toMatchObject({ login: 'alice' });
    expect(ok.headers.get('set-cookie')).toMatch(/^coffer_session=/);
    expect((await signIn('alice', `${password}x`)).status).toBe(401);
  });

  it('users create takes only the first line of stdin as the password', async () => {
    const r = await runCli(['users', 'create', 'first-line'], {
      env,
      input: 'the-first-line-pw\nsecond line\n',
    });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect((await signIn('first-line', 'the-first-line-pw')).status).toBe(200);
  });

  it('users create with nothing on stdin exits non-zero and says no password was given', async () => {
    const r = await runCli(['users', 'create', 'no-password'], { env, input: '' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no password given on stdin/);
    const list = await runCli(['users', 'list', '--json'], { env });
    expect((JSON.parse(list.stdout) as { login: string }[]).map((u) => u.login)).not.toContain('no-password');
  });

  it('users create with an existing login exits non-zero with a clear message and keeps the original password', async () => {
    expect((await createUser('carol', 'carol-original-pw')).code).toBe(0);
    const again = await createUser('carol', 'carol-second-pw');
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/user "carol" already exists/);
    expect(again.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect((await signIn('carol', 'carol-original-pw')).status).toBe(200);
    expect((await signIn('carol', 'carol-second-pw')).status).toBe(401);
  });

  it('users list --json prints every user with login, names, groups, status and admin flag', async () => {
    expect(
      (
        await createUser('dave', 'dave-password-1', [
          '--display-name',
          'Dave D',
          '--email',
          'dave@example.com',
        ])
      ).code,
    ).toBe(0);
    const r = await runCli(['users', 'list', '--json'], { env });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    const users = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(users).toContainEqual({
      login: 'dave',
      displayName: 'Dave D',
      email: 'dave@example.com',
      groups: [],
      enabled: true,
      admin: false,
    });
    expect(users.find((u) => u.login === 'alice')).toMatchObject({ admin: true, groups: ['administrators'] });
    for (const u of users)
      expect(Object.keys(u).sort()).toEqual(['admin', 'displayName', 'email', 'enabled', 'groups', 'login']);
  });

  it('api-keys create prints exactly one line, the key, and the key works against the running server', async () => {
    expect((await createUser('erin', 'erin-password-1')).code).toBe(0);
    const r = await runCli(['api-keys', 'create', 'erin', '--label', 'laptop'], { env });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/^[^\n]+\n$/);
    const key = r.stdout.trimEnd();
    expect(key).toMatch(/^cofk_\S+$/);
    const info = await request(server.url, 'GET', '/dip/publicapi/auth/info', { key });
    expect(info.status, info.text).toBe(200);
    expect(info.json).toMatchObject({ authIdentifier: 'erin', authSource: 'PERSONAL_API_KEY' });
    const bearer = await request(server.url, 'GET', '/api/v1/me/secrets', {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(bearer.status).toBe(200);
  });

  it('api-keys create for a login that does not exist exits non-zero and prints no key', async () => {
    const r = await runCli(['api-keys', 'create', 'nobody-here'], { env });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/"nobody-here" does not exist/);
  });

  it("users disable makes the user's key refused (401) at once by the running server, and users enable re-enables the account", async () => {
    expect((await createUser('frank', 'frank-password-1')).code).toBe(0);
    const key = (await runCli(['api-keys', 'create', 'frank'], { env })).stdout.trim();
    expect((await request(server.url, 'GET', '/dip/publicapi/auth/info', { key })).status).toBe(200);

    const disabled = await runCli(['users', 'disable', 'frank'], { env });
    expect(disabled, disabled.stderr).toMatchObject({ code: 0 });
    const refused = await request(server.url, 'GET', '/dip/publicapi/auth/info', { key });
    expect(refused.status).toBe(401);
    expect(
      (await request(server.url, 'PUT', '/api/v1/me/secrets/x', { key, body: { value: 'v' } })).status,
    ).toBe(401);
    expect((await signIn('frank', 'frank-password-1')).status).toBe(401);
    const listed = JSON.parse((await runCli(['users', 'list', '--json'], { env })).stdout) as {
      login: string;
      enabled: boolean;
    }[];
    expect(listed.find((u) => u.login === 'frank')?.enabled).toBe(false);

    const enabled = await runCli(['users', 'enable', 'frank'], { env });
    expect(enabled, enabled.stderr).toMatchObject({ code: 0 });
    expect((await signIn('frank', 'frank-password-1')).status).toBe(200);
  });
});

describe('startup refusals', () => {
  afterEach(killAllChildren);

  /** A store with one user, closed cleanly by the CLI: no WAL left, so its files (or rows) must not change. */
  async function existingStore(): Promise<{ dataDir: string; env: Record<string, string> }> {
    const dataDir = path.join(makeTempDir('coffer-cli-store-'), 'data');
    const env = { COFFER_DATA_DIR: dataDir };
    const r = await runCli(['users', 'create', 'owner', '--admin'], { env, input: 'owner-password-1\n' });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    return { dataDir, env };
  }

  it('bad configuration (COFFER_PORT=abc and COFFER_MAX_SECRETS_PER_USER=0) exits non-zero and prints both problems, touching nothing', async () => {
    const dataDir = path.join(makeTempDir('coffer-cli-badcfg-'), 'data');
    const r = await runCli(['serve'], {
      env: { COFFER_DATA_DIR: dataDir, COFFER_PORT: 'abc', COFFER_MAX_SECRETS_PER_USER: '0' },
      timeoutMs: 20_000,
    });
    expect(r.timedOut).toBe(false);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toMatch(/COFFER_PORT="abc": must be a whole number from 0 to 65535/);
    expect(r.stderr).toMatch(/COFFER_MAX_SECRETS_PER_USER="0": must be a whole number from 1 to/);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('a wrong COFFER_MASTER_KEY for an existing store refuses to start, names the master key, and leaves every data file byte-for-byte unchanged', async () => {
    const { dataDir, env } = await existingStore();
    const before = await storeState(dataDir);
    const otherKey = (await runCli(['keys', 'generate'], { env: {} })).stdout.trim();
    expect(otherKey).toMatch(KEY_RE);
    const r = await runCli(['serve'], {
      env: { ...env, COFFER_PORT: '0', COFFER_MASTER_KEY: otherKey },
      timeoutMs: 20_000,
    });
    expect(r.timedOut).toBe(false);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/master key/i);
    expect(r.stderr).toMatch(/does not match/);
    expect(r.stdout).not.toMatch(/Coffer is listening/);
    expect(await storeState(dataDir)).toEqual(before);
    // The same refusal for the administration commands, which would otherwise write with the wrong key.
    const create = await runCli(['users', 'create', 'intruder'], {
      env: { ...env, COFFER_MASTER_KEY: otherKey },
      input: 'intruder-password-1\n',
    });
    expect(create.code).not.toBe(0);
    expect(create.stderr).toMatch(/master key/i);
    expect(await storeState(dataDir)).toEqual(before);
  });

  it.each([
    ['not base64 at all', 'not-a-key'],
    ['16 bytes instead of 32', 'AAAAAAAAAAAAAAAAAAAAAA=='],
  ])('a malformed COFFER_MASTER_KEY (%s) is refused with instructions to make one', async (_label, bad) => {
    const dataDir = path.join(makeTempDir('coffer-cli-badkey-'), 'data');
    const r = await runCli(['serve'], {
      env: { COFFER_DATA_DIR: dataDir, COFFER_PORT: '0', COFFER_MASTER_KEY: bad },
      timeoutMs: 20_000,
    });
    expect(r.timedOut).toBe(false);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/COFFER_MASTER_KEY does not hold a valid master key/);
    expect(r.stderr).toMatch(/32 random bytes/);
    expect(r.stderr).toMatch(/coffer keys generate/);
    expect(r.stderr).not.toContain(bad); // the (possibly almost right) key is not echoed
  });

  it('a missing master.key for an existing store refuses to start and never creates a new key', async () => {
    const { dataDir, env } = await existingStore();
    const keyFile = path.join(dataDir, 'master.key');
    renameSync(keyFile, path.join(dataDir, '..', 'master.key.aside'));
    const before = await storeState(dataDir);
    const r = await runCli(['serve'], { env: { ...env, COFFER_PORT: '0' }, timeoutMs: 20_000 });
    expect(r.timedOut).toBe(false);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/master key file .*master\.key is missing/);
    expect(existsSync(keyFile)).toBe(false);
    expect(await storeState(dataDir)).toEqual(before);
    // Put the key back: the store opens again with it.
    renameSync(path.join(dataDir, '..', 'master.key.aside'), keyFile);
    const list = await runCli(['users', 'list', '--json'], { env });
    expect(list, list.stderr).toMatchObject({ code: 0 });
    expect((JSON.parse(list.stdout) as { login: string }[]).map((u) => u.login)).toEqual(['owner']);
  });

  it('keys generate prints a 44-character base64 key of 32 random bytes', async () => {
    const [a, b] = await Promise.all([
      runCli(['keys', 'generate'], { env: {} }),
      runCli(['keys', 'generate'], { env: {} }),
    ]);
    for (const r of [a!, b!]) {
      expect(r, r.stderr).toMatchObject({ code: 0 });
      expect(r.stdout).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
      expect(r.stdout.trim()).toHaveLength(44);
      expect(Buffer.from(r.stdout.trim(), 'base64')).toHaveLength(32);
    }
    expect(a!.stdout).not.toBe(b!.stdout);
  });

  it('a key from keys generate is accepted as COFFER_MASTER_KEY for a new store', async () => {
    const key = (await runCli(['keys', 'generate'], { env: {} })).stdout.trim();
    const dataDir = path.join(makeTempDir('coffer-cli-envkey-'), 'data');
    const server = await startServe({ COFFER_DATA_DIR: dataDir, COFFER_MASTER_KEY: key });
    expect((await request(server.url, 'GET', '/readyz')).status).toBe(200);
    expect((await server.stop()).code).toBe(0);
    expect(existsSync(path.join(dataDir, 'master.key'))).toBe(false);
  });
});
