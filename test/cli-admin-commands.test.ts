/*
 * The operator's commands for keys and accounts: `api-keys list|revoke`, `users reset-password` and
 * `users delete`, run as child processes against a data dir that a started server then answers from.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  killAllChildren,
  makeTempDir,
  removeTempDirs,
  request,
  runCli,
  startServe,
  type ServeHandle,
} from './helpers/coffer-process.js';

afterAll(async () => {
  await killAllChildren();
  await removeTempDirs();
});

describe('coffer api-keys and users, as the operator', () => {
  let env: Record<string, string>;
  let server: ServeHandle;

  let firstCommand: { stderr: string };

  beforeAll(async () => {
    env = { COFFER_DATA_DIR: path.join(makeTempDir('coffer-cli-admin-'), 'data') };
    for (const login of ['root', 'erin']) {
      const r = await runCli(['users', 'create', login, ...(login === 'root' ? ['--admin'] : [])], {
        env,
        input: `pw-${login}-0123456789\n`,
      });
      expect(r.code, r.stderr).toBe(0);
      firstCommand ??= r;
    }
    server = await startServe(env);
  });
  afterAll(() => server?.stop());

  it('the first command or start on a new store says where the new master key was written, and why to back it up', async () => {
    const keyFile = path.join(env.COFFER_DATA_DIR!, 'master.key');
    expect(firstCommand.stderr).toContain(`A new master key was written to ${keyFile}. Back it up now`);
    // Only once: the server started on that store since says nothing of it.
    expect(server.lines.some((l) => /new master key/.test(l.msg ?? ''))).toBe(false);
    const fresh = { COFFER_DATA_DIR: path.join(makeTempDir('coffer-cli-fresh-'), 'data') };
    const other = await startServe(fresh);
    try {
      const line = other.lines.find((l) => /new master key was written/.test(l.msg ?? ''));
      expect(line?.msg).toContain(path.join(fresh.COFFER_DATA_DIR, 'master.key'));
    } finally {
      await other.stop();
    }
  });

  it('lists keys without the keys themselves, and revokes one at once', async () => {
    const key = (await runCli(['api-keys', 'create', 'erin', '--label', 'laptop'], { env })).stdout.trim();
    expect((await request(server.url, 'GET', '/api/v1/me', { key })).status).toBe(200);
    const listed = await runCli(['api-keys', 'list', 'erin', '--json'], { env });
    expect(listed.code, listed.stderr).toBe(0);
    const keys = JSON.parse(listed.stdout) as { id: string; label: string; last4: string }[];
    expect(keys.map((k) => k.label)).toEqual(['laptop']);
    expect(listed.stdout).not.toContain(key);
    expect(key.endsWith(keys[0]!.last4)).toBe(true);
    const revoked = await runCli(['api-keys', 'revoke', keys[0]!.id], { env });
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await request(server.url, 'GET', '/api/v1/me', { key })).status).toBe(401);
    expect((await runCli(['api-keys', 'revoke', 'no-such-key'], { env })).code).toBe(2);
  });

  it('resets a password, keeping the secrets (the operator holds the master key anyway)', async () => {
    const key = (await runCli(['api-keys', 'create', 'erin'], { env })).stdout.trim();
    const put = await request(server.url, 'PUT', '/api/v1/me/secrets/kept', {
      key,
      body: { value: 'v-1234567' },
    });
    expect(put.status, put.text).toBe(201);
    const r = await runCli(['users', 'reset-password', 'erin'], { env, input: 'pw-erin-new-0123456789\n' });
    expect(r.code, r.stderr).toBe(0);
    const signIn = await request(server.url, 'POST', '/api/v1/session', {
      body: { login: 'erin', password: 'pw-erin-new-0123456789' },
    });
    expect(signIn.status, signIn.text).toBe(200);
    const listed = await request(server.url, 'GET', '/api/v1/me/secrets', { key });
    expect(listed.json.secrets.map((x: { name: string }) => x.name)).toEqual(['kept']);
    const none = await runCli(['users', 'reset-password', 'erin'], { env });
    expect(none.code).toBe(64);
  });

  it('deletes a user only with --yes', async () => {
    const unconfirmed = await runCli(['users', 'delete', 'erin'], { env });
    expect(unconfirmed.code).toBe(64);
    expect(unconfirmed.stderr).toMatch(/--yes/);
    const deleted = await runCli(['users', 'delete', 'erin', '--yes'], { env });
    expect(deleted.code, deleted.stderr).toBe(0);
    const list = await runCli(['users', 'list', '--json'], { env });
    expect(JSON.parse(list.stdout).map((u: { login: string }) => u.login)).toEqual(['root']);
  });
});
