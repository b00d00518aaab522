/*
 * The DSS settings round trip (GET current-user, edit, PUT it back, as dataikuapi's get_settings(),
 * add_secret/remove_secret and save() do) never undoes a write it did not see (docs/adr/0015). A secret
 * created or changed by anyone else after the GET is kept, or the save is refused with 409 and nothing
 * of it applies; the same holds for an administrator's round trip through admin/users/{login} and for
 * the profile fields the object carries. Bodies go out exactly as the client sends them back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type TestUser } from './support/test-server.js';

const DSS = '/public/api';

interface Settings {
  secrets: { name: string; value: string; secret: boolean }[];
  cofferReadVersion: string;
  displayName: string;
  enabled: boolean;
  [k: string]: unknown;
}

/** What dataikuapi's settings classes do to the object they read. */
const addSecret = (s: Settings, name: string, value: string) => {
  s.secrets = s.secrets.filter((e) => e.name !== name);
  s.secrets.push({ name, value, secret: true });
};
const removeSecret = (s: Settings, name: string) => {
  s.secrets = s.secrets.filter((e) => e.name !== name);
};

describe('the DSS settings round trip', () => {
  let server: TestServer;
  let admin: TestUser;
  let n = 0;
  /** A fresh user for each test, so tests never see each other's secrets. */
  const freshUser = () => server.createUser(`rt-${++n}`);

  beforeAll(async () => {
    server = await TestServer.start({ COFFER_JOBS_ENABLED: 'false', COFFER_MAX_SECRETS_PER_USER: '1000' });
    admin = await server.createUser('rt-admin', { admin: true });
  });
  afterAll(() => server.close());

  const getOwn = async (key: string): Promise<Settings> => {
    const r = await server.request('GET', `${DSS}/current-user`, { key });
    expect(r.status).toBe(200);
    return r.json as Settings;
  };
  const saveOwn = (key: string, s: Settings) =>
    server.request('PUT', `${DSS}/current-user`, { key, body: s });
  const putSecret = (key: string, name: string, value: string) =>
    server.request('PUT', `/api/v1/me/secrets/${encodeURIComponent(name)}`, { key, body: { value } });
  const values = async (key: string): Promise<Record<string, string>> => {
    const r = await server.request('GET', `${DSS}/auth/info?withSecrets=true`, { key });
    expect(r.status).toBe(200);
    return Object.fromEntries(
      (r.json.secrets as { key: string; value: string }[]).map((s) => [s.key, s.value]),
    );
  };

  it('keeps a secret created through another path between the GET and the PUT of an unchanged body', async () => {
    const u = await freshUser();
    await putSecret(u.key, 'seen', 'v-seen');
    const read = await getOwn(u.key);
    const other = await server.createKey(u.login);
    expect((await putSecret(other.key, 'created-after', 'v-after')).status).toBe(201);
    const r = await saveOwn(u.key, read);
    expect(r.status).toBe(200);
    expect(await values(u.key)).toEqual({ seen: 'v-seen', 'created-after': 'v-after' });
  });

  it('keeps a secret created from the web UI while a script adds one of its own', async () => {
    const u = await freshUser();
    const read = await getOwn(u.key);
    const session = await server.login(u.login, u.password);
    const list = await server.request('GET', '/api/v1/me/secrets', { session });
    const batch = await server.request('PATCH', '/api/v1/me/secrets', {
      session,
      body: { revision: list.json.revision, changes: [{ op: 'put', name: 'from-ui', value: 'ui' }] },
    });
    expect(batch.status).toBe(200);
    addSecret(read, 'from-script', 'script');
    expect((await saveOwn(u.key, read)).status).toBe(200);
    expect(await values(u.key)).toEqual({ 'from-ui': 'ui', 'from-script': 'script' });
  });

  it('deletes a secret the client saw and left out', async () => {
    const u = await freshUser();
    await putSecret(u.key, 'a', '1');
    await putSecret(u.key, 'b', '2');
    const read = await getOwn(u.key);
    removeSecret(read, 'a');
    expect((await saveOwn(u.key, read)).status).toBe(200);
    expect(await values(u.key)).toEqual({ b: '2' });
  });

  it('refuses with 409, saving nothing, to delete a secret that another credential replaced after the GET', async () => {
    const u = await freshUser();
    await putSecret(u.key, 'a', 'old');
    const read = await getOwn(u.key);
    const other = await server.createKey(u.login);
    await putSecret(other.key, 'a', 'newer');
    removeSecret(read, 'a');
    addSecret(read, 'c', 'would-be-added');
    const r = await saveOwn(u.key, read);
    expect(r.status).toBe(409);
    expect(r.json.message).toContain('"a" changed after these settings were read');
    expect(r.json.message).toContain('nothing was saved');
    expect(await values(u.key)).toEqual({ a: 'newer' });
  });

  it('refuses with 409 to overwrite a secret that another credential replaced after the GET', async () => {
    const u = await freshUser();
    await putSecret(u.key, 'token', 'first');
    const read = await getOwn(u.key);
    const other = await server.createKey(u.login);
    await putSecret(other.key, 'token', 'refreshed');
    addSecret(read, 'token', 'stale-overwrite');
    const r = await saveOwn(u.key, read);
    expect(r.status).toBe(409);
    expect(await values(u.key)).toEqual({ token: 'refreshed' });
  });

  it('keeps the newer value when the body carries the older marker of a secret replaced after the GET', async () => {
    const u = await freshUser();
    await putSecret(u.key, 'token', 'first');
    const read = await getOwn(u.key);
    const other = await server.createKey(u.login);
    await putSecret(other.key, 'token', 'refreshed');
    addSecret(read, 'new', 'n');
    expect((await saveOwn(u.key, read)).status).toBe(200);
    expect(await values(u.key)).toEqual({ token: 'refreshed', new: 'n' });
  });

  it('does not bring back a secret deleted after the GET whose marker the body still carries', async () => {
    const u = await freshUser();
    await putSecret(u.key, 'gone', 'g');
    const read = await getOwn(u.key);
    const other = await server.createKey(u.login);
    expect((await server.request('DELETE', '/api/v1/me/secrets/gone', { key: other.key })).status).toBe(200);
    expect((await saveOwn(u.key, read)).status).toBe(200);
    expect(await values(u.key)).toEqual({});
  });

  it('lets one settings object be edited and saved several times, as scripts do in a loop', async () => {
    const u = await freshUser();
    const s = await getOwn(u.key);
    for (const [name, value] of [
      ['one', '1'],
      ['two', '2'],
      ['three', '3'],
    ] as const) {
      addSecret(s, name, value);
      expect((await saveOwn(u.key, s)).status).toBe(200);
    }
    expect(await values(u.key)).toEqual({ one: '1', two: '2', three: '3' });
    // Leaving out one it created after its own read cannot be told from a lost update: refused, kept.
    removeSecret(s, 'two');
    const r = await saveOwn(u.key, s);
    expect(r.status).toBe(409);
    expect(r.json.message).toContain('"two"');
    expect(await values(u.key)).toEqual({ one: '1', two: '2', three: '3' });
    const again = await getOwn(u.key);
    removeSecret(again, 'two');
    expect((await saveOwn(u.key, again)).status).toBe(200);
    expect(await values(u.key)).toEqual({ one: '1', three: '3' });
  });

  it('refuses, without a read version, a body that leaves out stored secrets, naming them', async () => {
    const u = await freshUser();
    await putSecret(u.key, 'kept', 'k');
    const body: Partial<Settings> & Pick<Settings, 'secrets'> = await getOwn(u.key);
    delete body.cofferReadVersion;
    const r = await server.request('PUT', `${DSS}/current-user`, {
      key: u.key,
      body: { ...body, secrets: [{ name: 'added', value: 'a', secret: true }] },
    });
    expect(r.status).toBe(400);
    expect(r.json.message).toContain('"kept"');
    expect(r.json.message).toContain('cofferReadVersion');
    expect(await values(u.key)).toEqual({ kept: 'k' });
    // Adding alone needs no read version: it leaves nothing out.
    const add = await server.request('PUT', `${DSS}/current-user`, {
      key: u.key,
      body: { ...body, secrets: [...body.secrets, { name: 'added', value: 'a', secret: true }] },
    });
    expect(add.status).toBe(200);
    expect(await values(u.key)).toEqual({ kept: 'k', added: 'a' });
  });

  it('refuses a read version that is not one GET returned', async () => {
    const u = await freshUser();
    for (const bad of ['7', 'x.0123456789abcdef', 12, '99999.0123456789abcdef']) {
      const s = await getOwn(u.key);
      const r = await saveOwn(u.key, { ...s, cofferReadVersion: bad as string });
      expect(r.status, String(bad)).toBe(400);
      expect(r.json.message).toContain('cofferReadVersion');
    }
  });

  it("keeps an administrator's round trip from deleting a secret the user created after the admin's GET", async () => {
    const u = await freshUser();
    const read = (await server.request('GET', `${DSS}/admin/users/${u.login}`, { key: admin.key }))
      .json as Settings;
    await putSecret(u.key, 'mine', 'm');
    const r = await server.request('PUT', `${DSS}/admin/users/${u.login}`, { key: admin.key, body: read });
    expect(r.status).toBe(200);
    expect(await values(u.key)).toEqual({ mine: 'm' });
  });

  it("refuses an administrator's round trip that would re-enable a user another administrator disabled", async () => {
    const u = await freshUser();
    const other = await server.createUser(`rt-admin-${n}`, { admin: true });
    const read = (await server.request('GET', `${DSS}/admin/users/${u.login}`, { key: admin.key }))
      .json as Settings;
    const disable = await server.request('PATCH', `/api/v1/admin/users/${u.login}`, {
      key: other.key,
      body: { enabled: false },
    });
    expect(disable.status).toBe(200);
    read.displayName = 'Renamed';
    const r = await server.request('PUT', `${DSS}/admin/users/${u.login}`, { key: admin.key, body: read });
    expect(r.status).toBe(409);
    expect(r.json.message).toContain('enabled');
    const now = (await server.request('GET', `${DSS}/admin/users/${u.login}`, { key: admin.key })).json;
    expect(now.enabled).toBe(false);
    expect(now.displayName).not.toBe('Renamed');
  });

  it('saves profile fields when only fields the user is not shown changed after the GET', async () => {
    const u = await freshUser();
    const read = await getOwn(u.key);
    const adminView = (await server.request('GET', `${DSS}/admin/users/${u.login}`, { key: admin.key }))
      .json as Settings;
    adminView.adminProperties = { team: 'blue' };
    const props = await server.request('PUT', `${DSS}/admin/users/${u.login}`, {
      key: admin.key,
      body: adminView,
    });
    expect(props.status).toBe(200);
    read.displayName = 'New name';
    expect((await saveOwn(u.key, read)).status).toBe(200);
    expect((await getOwn(u.key)).displayName).toBe('New name');
  });

  it('refuses a profile save whose field another caller changed after the GET, naming the field', async () => {
    const u = await freshUser();
    const read = await getOwn(u.key);
    await server.request('PATCH', `/api/v1/admin/users/${u.login}`, {
      key: admin.key,
      body: { displayName: 'Set by admin' },
    });
    const r = await saveOwn(u.key, read);
    expect(r.status).toBe(409);
    expect(r.json.message).toContain('displayName');
    expect((await getOwn(u.key)).displayName).toBe('Set by admin');
  });

  it('loses no acknowledged create while writers and round-trippers run at once', async () => {
    const u = await freshUser();
    const writerKeys = [u.key, (await server.createKey(u.login)).key, (await server.createKey(u.login)).key];
    const session = await server.login(u.login, u.password);
    const tripperKeys = [u.key, (await server.createKey(u.login)).key];
    const acknowledged = new Map<string, string>();

    const writer = async (w: number) => {
      for (let i = 0; i < 30; i++) {
        const name = `w${w}-${i}`;
        const value = `value-${w}-${i}`;
        const r =
          w === writerKeys.length
            ? await server.request('PUT', `/api/v1/me/secrets/${name}`, { session, body: { value } })
            : await putSecret(writerKeys[w]!, name, value);
        if (r.status === 200 || r.status === 201) acknowledged.set(name, value);
        else throw new Error(`writer ${w}: ${r.status} ${r.text}`);
      }
    };
    const tripper = async (t: number) => {
      for (let i = 0; i < 12; i++) {
        for (let attempt = 1; ; attempt++) {
          const s = await getOwn(tripperKeys[t]!);
          addSecret(s, `t${t}-${i}`, `trip-${t}-${i}`);
          const r = await saveOwn(tripperKeys[t]!, s);
          if (r.status === 200) {
            acknowledged.set(`t${t}-${i}`, `trip-${t}-${i}`);
            break;
          }
          // A refusal, never a loss: where a round trip shares its key with a writer, that writer's
          // creations since the GET cannot be told from this script's own, so it reads again.
          expect(r.status).toBe(409);
          if (attempt === 100) throw new Error(`round trip ${t}/${i} never got through`);
        }
      }
    };
    await Promise.all([
      ...writerKeys.map((_, w) => writer(w)),
      writer(writerKeys.length),
      ...tripperKeys.map((_, t) => tripper(t)),
    ]);
    const stored = await values(u.key);
    const lost = [...acknowledged].filter(([name, value]) => stored[name] !== value).map(([name]) => name);
    expect(lost).toEqual([]);
    expect(Object.keys(stored).sort()).toEqual([...acknowledged.keys()].sort());
    expect(acknowledged.size).toBe(4 * 30 + 2 * 12);
  });
});
