/*
 * Creations that race. A name that must be unique (a login, a project key, a recipe in a project, a
 * secret of a user) is checked and then inserted; on PostgreSQL two connections can both pass the check
 * and the database's unique index decides. Whatever the store, the loser must get the same answer it
 * would get in sequence — 409 for a create, success for a create-or-replace — never a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type TestUser } from './support/test-server.js';

const N = 8;

describe('concurrent creations of one name', () => {
  let server: TestServer;
  let admin: TestUser;
  let alice: TestUser;
  beforeAll(async () => {
    server = await TestServer.start({ COFFER_JOBS_ENABLED: 'false' });
    admin = await server.createUser('admin', { admin: true });
    alice = await server.createUser('alice');
  });
  afterAll(() => server.close());

  const all = <T>(make: (i: number) => Promise<T>) =>
    Promise.all(Array.from({ length: N }, (_, i) => make(i)));

  it('users: one creation wins, every other gets 409', async () => {
    const answers = await all((i) =>
      server.request('POST', '/api/v1/admin/users', {
        key: admin.key,
        body: { login: 'racer', password: `racer-password-${i}-0123`, displayName: `Racer ${i}` },
      }),
    );
    expect(answers.map((a) => a.status).sort(), answers.map((a) => a.text).join('\n')).toEqual([
      201,
      ...Array<number>(N - 1).fill(409),
    ]);
    for (const a of answers.filter((x) => x.status === 409))
      expect(a.json.error).toEqual({ code: 'conflict', message: 'user "racer" already exists' });
    const winner = answers.find((a) => a.status === 201)!.json;
    const users = (await server.request('GET', '/api/v1/admin/users', { key: admin.key })).json.users;
    expect(users.filter((u: { login: string }) => u.login === 'racer')).toEqual([winner]);
  });

  it('projects: one creation wins, every other gets 409', async () => {
    const answers = await all((i) =>
      server.request('POST', '/api/v1/projects', {
        key: alice.key,
        body: { key: 'RACE', name: `Race ${i}` },
      }),
    );
    expect(answers.map((a) => a.status).sort(), answers.map((a) => a.text).join('\n')).toEqual([
      201,
      ...Array<number>(N - 1).fill(409),
    ]);
    for (const a of answers.filter((x) => x.status === 409))
      expect(a.json.error).toEqual({ code: 'conflict', message: 'project RACE already exists' });
    const project = await server.request('GET', '/api/v1/projects/RACE', { key: alice.key });
    expect(project.json.name).toBe(answers.find((a) => a.status === 201)!.json.name);
  });

  it('recipes: a create-or-replace race creates one recipe, and every writer succeeds', async () => {
    const answers = await all((i) =>
      server.request('PUT', '/api/v1/projects/RACE/recipes/same', {
        key: alice.key,
        body: { language: 'python', code: `print(${i})\n` },
      }),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses, answers.map((a) => a.text).join('\n')).toEqual([...Array<number>(N - 1).fill(200), 201]);
    const recipes = (await server.request('GET', '/api/v1/projects/RACE/recipes', { key: alice.key })).json;
    expect(recipes.recipes.map((r: { name: string }) => r.name)).toEqual(['same']);
  });

  it('secrets: a put race on a new name stores one secret, and every writer succeeds', async () => {
    const answers = await all((i) =>
      server.request('PUT', '/api/v1/me/secrets/fresh', { key: alice.key, body: { value: `value-${i}` } }),
    );
    const statuses = answers.map((a) => a.status);
    expect(
      statuses.every((s) => s === 200 || s === 201),
      answers.map((a) => a.text).join('\n'),
    ).toBe(true);
    const info = await server.request('GET', '/dip/publicapi/auth/info?withSecrets=true', { key: alice.key });
    const fresh = (info.json.secrets as { key: string; value: string }[]).filter((s) => s.key === 'fresh');
    expect(fresh).toHaveLength(1);
    expect(fresh[0]!.value).toMatch(/^value-\d$/);
  });
});
