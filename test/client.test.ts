/*
 * @coffer/client against a real server: every call the web UI (and later the CLI and Node recipes) make,
 * with an API key and with a job ticket, and the errors it turns answers into.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ApprovalRequired,
  CofferApiError,
  CofferClient,
  CofferUnreachable,
  SecretNotFound,
} from '@coffer/client';
import { apiClient, setRemote } from '@coffer/client/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type TestUser } from './support/test-server.js';

describe('@coffer/client', () => {
  let server: TestServer;
  let alice: TestUser;
  let admin: TestUser;
  let client: CofferClient;

  beforeAll(async () => {
    server = await TestServer.start();
    alice = await server.createUser('alice');
    admin = await server.createUser('admin', { admin: true });
    client = new CofferClient({ baseUrl: server.url, apiKey: alice.key });
  });
  afterAll(() => server.close());

  it('stores, lists, batches and deletes secrets; values come back only through authInfo', async () => {
    const put = await client.putSecret('credential-for-my-api', 'v1');
    expect(put.secret.name).toBe('credential-for-my-api');
    const list = await client.listSecrets();
    expect(list.secrets.map((s) => s.name)).toEqual(['credential-for-my-api']);
    expect(JSON.stringify(list)).not.toContain('v1');

    const saved = await client.saveSecrets(list.revision, [
      { op: 'put', name: 'second', value: 'v2' },
      { op: 'delete', name: 'credential-for-my-api' },
    ]);
    expect(saved.secrets.map((s) => s.name)).toEqual(['second']);
    expect((await client.authInfo({ withSecrets: true })).secrets).toEqual([{ key: 'second', value: 'v2' }]);
    expect((await client.authInfo()).secrets).toBeUndefined();

    await client.deleteSecret('second');
    expect((await client.listSecrets()).secrets).toEqual([]);
    const events = await client.activity({ limit: 10 });
    expect(events.map((e) => e.action)).toContain('secret.read');
  });

  it("a stale batch save is a CofferApiError with status 409 and the server's message", async () => {
    const { revision } = await client.listSecrets();
    await client.putSecret('moved-on', 'x');
    const err = await client.saveSecrets(revision, [{ op: 'put', name: 'late', value: 'y' }]).catch((e) => e);
    expect(err).toBeInstanceOf(CofferApiError);
    expect(err.status).toBe(409);
    expect(err.conflict).toBe(true);
    expect(err.message).toMatch(/changed elsewhere/);
  });

  it('a run of code someone else changed is ApprovalRequired with the diff, and runs once approved', async () => {
    const carol = await server.createUser('carol');
    const other = new CofferClient({ baseUrl: server.url, apiKey: carol.key });
    await client.createProject('CLIENT', 'Client');
    await client.setProjectMember('CLIENT', carol.login, 'contributor');
    const written = await other.putRecipe('CLIENT', 'theirs', {
      language: 'python',
      code: 'print("carol")\n',
    });
    expect(written.revision).toBe(1);
    const err = await client.runRecipe('CLIENT', 'theirs').catch((e) => e);
    expect(err).toBeInstanceOf(ApprovalRequired);
    expect(err).toBeInstanceOf(CofferApiError);
    expect(err).toMatchObject({ status: 409, code: 'approval_required', conflict: true, revision: 1 });
    expect(err.message).toMatch(/written by carol/);
    expect(err.changes).toEqual([{ revision: 1, by: 'carol', at: written.updatedAt }]);
    expect(err.diff).toContain('+print("carol")');
    const job = await client.runRecipe('CLIENT', 'theirs', { approvedRevision: err.revision });
    expect(job).toMatchObject({ recipe: 'theirs', runner: alice.login, revision: 1 });
  });

  it('a bad name is refused with 400 and a message naming the rule', async () => {
    const err = await client.putSecret(' padded', 'x').catch((e) => e);
    expect(err).toBeInstanceOf(CofferApiError);
    expect(err.status).toBe(400);
    expect(err.message).toBe('secret name must not start or end with white space');
  });

  it('manages personal API keys: create (shown once), list, relabel, revoke', async () => {
    const created = await client.createApiKey({ label: 'ci', description: 'from the client test' });
    expect(created.key).toMatch(/^cofk_/);
    expect((await client.listApiKeys()).map((k) => k.label)).toContain('ci');
    expect((await client.updateApiKey(created.id, { label: 'ci-2' })).label).toBe('ci-2');
    const viaNewKey = new CofferClient({ baseUrl: server.url, apiKey: created.key });
    expect((await viaNewKey.me()).login).toBe(alice.login);
    await client.revokeApiKey(created.id);
    const err = await viaNewKey.me().catch((e) => e);
    expect(err).toBeInstanceOf(CofferApiError);
    expect(err.unauthenticated).toBe(true);
    expect(err.message).toMatch(/revoked/);
  });

  it("authenticates with a job ticket as the ticket's user", async () => {
    await client.putSecret('for-the-job', 'job-value');
    const { ticket } = await server.issueTicket(alice.login);
    const job = new CofferClient({ baseUrl: server.url, ticket });
    const info = await job.authInfo({ withSecrets: true });
    expect(info.authIdentifier).toBe(alice.login);
    expect(info.authSource).toBe('TICKET');
    expect(info.secrets).toContainEqual({ key: 'for-the-job', value: 'job-value' });
  });

  it('administers users with an administrator key, and a non-administrator is refused with 403', async () => {
    const adminClient = new CofferClient({ baseUrl: server.url, apiKey: admin.key });
    const bob = await adminClient.admin.createUser({ login: 'bob', password: 'bob-password-123' });
    expect(bob.login).toBe('bob');
    expect((await adminClient.admin.listUsers()).map((u) => u.login)).toContain('bob');
    expect((await adminClient.admin.updateUser('bob', { enabled: false })).enabled).toBe(false);
    expect((await adminClient.admin.getUser('bob')).enabled).toBe(false);
    expect(await adminClient.admin.resetPassword('bob', 'new-password-456')).toEqual({ secretsDeleted: 0 });
    await adminClient.admin.deleteUser('bob');
    expect((await adminClient.admin.getUser('bob').catch((e) => e)).status).toBe(404);
    expect((await client.admin.listUsers().catch((e) => e)).status).toBe(403);
  });

  it("signs in with a password and gets the session's CSRF token", async () => {
    const anonymous = new CofferClient({ baseUrl: server.url });
    const s = await anonymous.signIn(alice.login, alice.password);
    expect(s.user.login).toBe(alice.login);
    expect(s.mustChangePassword).toBe(false);
    expect(anonymous.csrfToken).toBe(s.csrfToken);
    const wrong = await anonymous.signIn(alice.login, 'wrong-password').catch((e) => e);
    expect(wrong.status).toBe(401);
    expect(wrong.message).toBe('login or password is incorrect');
  });

  it('a server that does not answer is CofferUnreachable, naming the address', async () => {
    const nowhere = new CofferClient({ baseUrl: 'http://127.0.0.1:1', apiKey: alice.key });
    const err = await nowhere.me().catch((e) => e);
    expect(err).toBeInstanceOf(CofferUnreachable);
    expect(err.message).toMatch(/cannot reach Coffer at http:\/\/127\.0\.0\.1:1/);
  });

  describe('apiClient() finds the server in the order of the DSS clients', () => {
    let home: string;
    const identity = async (env: Record<string, string>) => (await apiClient(env).authInfo()).authIdentifier;
    beforeAll(async () => {
      home = mkdtempSync(path.join(tmpdir(), 'coffer-client-home-'));
      mkdirSync(path.join(home, '.dataiku'));
      writeFileSync(
        path.join(home, '.dataiku', 'config.json'),
        JSON.stringify({
          dss_instances: { default: { url: server.url, api_key: admin.key } },
          default_instance: 'default',
        }),
      );
    });
    afterAll(() => rmSync(home, { recursive: true, force: true }));

    it('a job ticket first, then DKU_DSS_URL + DKU_API_KEY, then ~/.dataiku/config.json', async () => {
      const { ticket } = await server.issueTicket(alice.login);
      const { port } = new URL(server.url);
      const all = { HOME: home, DKU_DSS_URL: server.url, DKU_API_KEY: alice.key };
      expect(
        await identity({
          ...all,
          DKU_API_TICKET: ticket,
          DKU_BACKEND_HOST: '127.0.0.1',
          DKU_BACKEND_PORT: port,
        }),
      ).toBe(alice.login);
      expect(await identity(all)).toBe(alice.login);
      expect(await identity({ HOME: home })).toBe(admin.login);
    });

    it('half of a pair, or nothing at all, is an error saying what to set', () => {
      expect(() => apiClient({ HOME: home, DKU_DSS_URL: server.url })).toThrow(/DKU_API_KEY is not/);
      expect(() => apiClient({ HOME: home, DKU_API_KEY: alice.key })).toThrow(/DKU_DSS_URL is not/);
      expect(() => apiClient({ HOME: home, DKU_API_TICKET: 't' })).toThrow(/DKU_BACKEND_PORT is not/);
      expect(() => apiClient({ HOME: path.join(home, 'nowhere') })).toThrow(/no Coffer server configured/);
    });

    it('setRemote() wins over the environment', async () => {
      setRemote(server.url, admin.key);
      try {
        expect(await identity({ HOME: home, DKU_DSS_URL: server.url, DKU_API_KEY: alice.key })).toBe(
          admin.login,
        );
      } finally {
        setRemote(undefined);
      }
    });

    it("getSecret answers the caller's value, or SecretNotFound naming the secret", async () => {
      await client.putSecret('only-alice', 'alice-only-value');
      const env = { HOME: home, DKU_DSS_URL: server.url, DKU_API_KEY: alice.key };
      expect(await apiClient(env).getSecret('only-alice')).toBe('alice-only-value');
      const missing = await apiClient({ HOME: home })
        .getSecret('only-alice')
        .catch((e) => e);
      expect(missing).toBeInstanceOf(SecretNotFound);
      expect(missing.message).toMatch(/no secret named "only-alice" for user admin/);
    });
  });
});
