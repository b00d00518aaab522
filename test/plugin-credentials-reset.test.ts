/*
 * An administrator's reset of another user's password is account recovery (docs/security.md, ADR 0005):
 * the user's data key is destroyed and replaced, and their plugin credentials, sealed under it like
 * secrets (ADR 0021), go with it. Afterwards none is listed as set, none opens for a run or for masking,
 * no row is left, and even a copy of an old row put back cannot be opened with what the store holds; the
 * reset's audit record counts them; other users' credentials are untouched. The CLI operator's reset
 * (it holds the master key) keeps them, as it keeps secrets.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportAuditTrail, type Caller } from '@coffer/server';
import { zipDirectory } from './support/plugin-zips.js';
import { TestServer, type RequestOptions, type TestUser } from './support/test-server.js';

const SAMPLE = path.resolve(import.meta.dirname, '../examples/plugins/api-connect');
const PLUGIN = 'api-connect';
/** Presets of the sample plugin's parameter set `api-credentials`, each asking every user for a token. */
const PRESETS = ['default', 'staging'];
const tokenUrl = (preset: string) =>
  `/api/v1/me/plugin-credentials/${PLUGIN}/api-credentials/${preset}/token`;
const OP: Caller = { kind: 'operator', name: 'cli' };
const ADMIN_SET = 'chosen-by-admin-0123456789';
const OWN = 'chosen-by-the-user-0123456789';

describe("an administrator's password reset removes the user's plugin credentials", () => {
  let server: TestServer;
  let admin: TestUser;
  let serial = 0;

  beforeAll(async () => {
    server = await TestServer.start();
    admin = await server.createUser('root', { admin: true });
    const installed = await server.request('POST', '/api/v1/admin/plugins', {
      key: admin.key,
      rawBody: await zipDirectory(SAMPLE, { under: PLUGIN }),
      headers: { 'content-type': 'application/zip' },
    });
    expect(installed.status, installed.text).toBe(201);
    for (const preset of PRESETS) {
      const p = await server.request(
        'PUT',
        `/api/v1/admin/plugins/${PLUGIN}/presets/api-credentials/${preset}`,
        {
          key: admin.key,
          body: { config: { base_url: `https://${preset}.example.com` } },
        },
      );
      expect(p.status, p.text).toBe(200);
    }
  });
  afterAll(() => server.close());

  /** A new user who has entered a token for every preset; answers the user, their id and the tokens. */
  async function userWithTokens(name: string) {
    const user = await server.createUser(`${name}-${++serial}`);
    const { id } = await server.services.users.get(OP, user.login);
    const tokens: Record<string, string> = {};
    for (const preset of PRESETS) {
      tokens[preset] = `${user.login}-${preset}-token-0123456789`;
      const r = await server.request('PUT', tokenUrl(preset), {
        key: user.key,
        body: { value: tokens[preset] },
      });
      expect(r.status, r.text).toBe(204);
    }
    expect(await opened(id)).toEqual(tokens);
    return { user, id, tokens };
  }

  /** The user's credentials as a run of theirs would get them, by preset. */
  const opened = async (userId: string) =>
    Object.fromEntries(
      (await server.services.pluginCredentials.openForRun(userId, PLUGIN)).map((c) => [
        c.key.preset,
        c.value,
      ]),
    );
  const rowsOf = (userId: string) =>
    server.store.db.selectFrom('plugin_credentials').selectAll().where('user_id', '=', userId).execute();
  /** Which presets the Credentials tab shows as set. */
  const setOnTab = async (auth: RequestOptions) => {
    const r = await server.request('GET', '/api/v1/me/plugin-credentials', auth);
    expect(r.status, r.text).toBe(200);
    return Object.fromEntries(
      (r.json.credentials as { preset: string; set: boolean }[]).map((c) => [c.preset, c.set]),
    );
  };
  const reset = (login: string) =>
    server.request('PUT', `/api/v1/admin/users/${login}/password`, {
      key: admin.key,
      body: { password: ADMIN_SET },
    });
  /** The user signs in with the password the administrator set and chooses their own. */
  const recover = async (login: string) => {
    const session = await server.login(login, ADMIN_SET);
    const r = await server.request('PUT', '/api/v1/me/password', {
      session,
      body: { currentPassword: ADMIN_SET, newPassword: OWN },
    });
    expect(r.status, r.text).toBe(204);
    return session;
  };

  it('leaves none listed as set, none opened for a run or for masking, and no row', async () => {
    const { user, id } = await userWithTokens('target');
    expect(await setOnTab({ key: user.key })).toEqual({ default: true, staging: true });

    const r = await reset(user.login);
    expect(r.status, r.text).toBe(200);

    const session = await recover(user.login);
    expect(await setOnTab({ session })).toEqual({ default: false, staging: false });
    expect(await opened(id)).toEqual({});
    expect(await server.services.pluginCredentials.valuesForMasking(id)).toEqual([]);
    expect(await rowsOf(id)).toEqual([]);
  });

  it('leaves nothing that opens a copy of an old credential put back, as it was or relabelled to the new data key', async () => {
    const { user, id } = await userWithTokens('copied');
    const [old] = await rowsOf(id);
    expect(old).toBeDefined();
    expect((await reset(user.login)).status).toBe(200);
    const keys = await server.store.db
      .selectFrom('data_keys')
      .select('version')
      .where('user_id', '=', id)
      .execute();
    expect(keys.map((k) => k.version)).toEqual([old!.key_version + 1]);
    const newVersion = keys[0]!.version;

    expect(await rowsOf(id)).toEqual([]);
    // As a backup holds it: its data key is gone.
    await server.store.db.insertInto('plugin_credentials').values(old!).execute();
    await expect(opened(id)).rejects.toThrow(`needs data key ${old!.key_version}, which is missing`);
    // Claimed to be sealed under the new data key (the row and the blob's key id): that key does not open it.
    const relabelled = Buffer.from(old!.ciphertext);
    relabelled.writeUInt32BE(newVersion, 1);
    await server.store.db
      .updateTable('plugin_credentials')
      .set({ key_version: newVersion, ciphertext: relabelled })
      .where('user_id', '=', id)
      .execute();
    await expect(opened(id)).rejects.toThrow('ciphertext failed authentication');
    await server.store.db.deleteFrom('plugin_credentials').where('user_id', '=', id).execute();
  });

  it("says in the reset's audit record how many it removed", async () => {
    const { user } = await userWithTokens('audited');
    expect((await reset(user.login)).status).toBe(200);
    const records = [];
    for await (const rec of exportAuditTrail(server.store, { since: 0 }))
      if (rec.action === 'user.password_reset' && rec.target?.login === user.login) records.push(rec);
    expect(records).toHaveLength(1);
    expect(records[0]!.actor?.login).toBe(admin.login);
    expect(records[0]!.detail).toEqual({ secretsDeleted: 0, pluginCredentialsDeleted: PRESETS.length });
  });

  it("leaves other users' credentials alone, and the recovered user's new ones open", async () => {
    const target = await userWithTokens('recovered');
    const other = await userWithTokens('bystander');
    expect((await reset(target.user.login)).status).toBe(200);
    expect(await opened(other.id)).toEqual(other.tokens);
    expect(await setOnTab({ key: other.user.key })).toEqual({ default: true, staging: true });

    const session = await recover(target.user.login);
    const put = await server.request('PUT', tokenUrl('default'), {
      session,
      body: { value: 'entered-after-recovery-0123' },
    });
    expect(put.status, put.text).toBe(204);
    expect(await setOnTab({ session })).toEqual({ default: true, staging: false });
    expect(await opened(target.id)).toEqual({ default: 'entered-after-recovery-0123' });
  });

  it('by the CLI operator (which holds the master key already) keeps them, as it keeps secrets', async () => {
    const { user, id, tokens } = await userWithTokens('operator-reset');
    expect(await server.services.users.resetPassword(OP, user.login, ADMIN_SET)).toEqual({
      secretsDeleted: 0,
    });
    expect(await opened(id)).toEqual(tokens);
    expect(await setOnTab({ key: user.key })).toEqual({ default: true, staging: true });
  });
});
