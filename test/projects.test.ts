/*
 * Projects, members and recipes through the API: who may do what (owner > contributor > reader, and
 * non-members see nothing), the rules every input must follow, and that a refused request changes
 * nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type TestUser } from './support/test-server.js';

describe('projects and recipes', () => {
  let server: TestServer;
  let owner: TestUser;
  let contributor: TestUser;
  let reader: TestUser;
  let outsider: TestUser;
  const as = (u: TestUser, method: string, p: string, body?: unknown) =>
    server.request(method, p, { key: u.key, body });

  beforeAll(async () => {
    server = await TestServer.start({ COFFER_JOBS_ENABLED: 'false' });
    owner = await server.createUser('olga');
    contributor = await server.createUser('carl');
    reader = await server.createUser('rita');
    outsider = await server.createUser('otto');
    expect((await as(owner, 'POST', '/api/v1/projects', { key: 'SALES', name: 'Sales' })).status).toBe(201);
    expect(
      (await as(owner, 'PUT', '/api/v1/projects/SALES/members/carl', { role: 'contributor' })).status,
    ).toBe(204);
    expect((await as(owner, 'PUT', '/api/v1/projects/SALES/members/rita', { role: 'reader' })).status).toBe(
      204,
    );
    expect(
      (
        await as(owner, 'PUT', '/api/v1/projects/SALES/recipes/load', {
          language: 'python',
          code: 'print(1)\n',
        })
      ).status,
    ).toBe(201);
  });
  afterAll(() => server.close());

  it('a contributor edits and runs recipes; a reader reads them; neither manages members', async () => {
    const edit = await as(contributor, 'PUT', '/api/v1/projects/SALES/recipes/load', {
      language: 'python',
      code: 'print(2)\n',
    });
    expect(edit.status, edit.text).toBe(200);
    expect(edit.json.updatedBy).toBe('carl');
    expect((await as(reader, 'GET', '/api/v1/projects/SALES/recipes/load')).json.code).toBe('print(2)\n');
    const readerEdit = await as(reader, 'PUT', '/api/v1/projects/SALES/recipes/load', {
      language: 'python',
      code: 'x',
    });
    expect(readerEdit.status).toBe(403);
    expect(readerEdit.json.error.message).toMatch(
      /needs the contributor role in project SALES; you are reader/,
    );
    expect((await as(reader, 'POST', '/api/v1/projects/SALES/recipes/load/run', {})).status).toBe(403);
    expect(
      (await as(contributor, 'PUT', '/api/v1/projects/SALES/members/otto', { role: 'reader' })).status,
    ).toBe(403);
    expect((await as(contributor, 'DELETE', '/api/v1/projects/SALES')).status).toBe(403);
    expect((await as(reader, 'GET', '/api/v1/projects/SALES/recipes/load')).json.code).toBe('print(2)\n');
  });

  it('a non-member is told the project does not exist, whatever they try', async () => {
    for (const [method, p, body] of [
      ['GET', '/api/v1/projects/SALES'],
      ['GET', '/api/v1/projects/SALES/recipes'],
      ['GET', '/api/v1/projects/SALES/recipes/load'],
      ['PUT', '/api/v1/projects/SALES/recipes/load', { language: 'python', code: 'x' }],
      ['POST', '/api/v1/projects/SALES/recipes/load/run', {}],
      ['PUT', '/api/v1/projects/SALES/members/otto', { role: 'owner' }],
    ] as const) {
      const r = await as(outsider, method, p, body);
      expect(`${method} ${p}: ${r.status}`).toBe(`${method} ${p}: 404`);
      expect(r.json.error.message).toBe('project "SALES" does not exist');
    }
    expect((await as(outsider, 'GET', '/api/v1/projects')).json.projects ?? []).toEqual([]);
  });

  it('a project keeps at least one owner', async () => {
    const r = await as(owner, 'PUT', '/api/v1/projects/SALES/members/olga', { role: 'reader' });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toBe('project SALES must keep at least one owner');
    expect((await as(owner, 'DELETE', '/api/v1/projects/SALES/members/olga')).status).toBe(400);
    expect((await as(owner, 'GET', '/api/v1/projects/SALES')).json.role).toBe('owner');
  });

  it('bad inputs get 400 naming the rule, and change nothing', async () => {
    const cases: [string, string, unknown, RegExp][] = [
      ['POST', '/api/v1/projects', { key: 'sales', name: 'x' }, /project key must be 2–64 characters/],
      ['POST', '/api/v1/projects', { key: 'A', name: 'x' }, /project key must be 2–64 characters/],
      ['POST', '/api/v1/projects', { key: 'OTHER', name: '   ' }, /project name must be 1–200 characters/],
      ['POST', '/api/v1/projects', { key: 'OTHER', name: 'x', extra: 1 }, /extra/],
      [
        'PUT',
        '/api/v1/projects/SALES/recipes/bad%20name',
        { language: 'python', code: '' },
        /recipe name must be/,
      ],
      ['PUT', '/api/v1/projects/SALES/recipes/new', { language: 'cobol', code: '' }, /language/],
      ['PUT', '/api/v1/projects/SALES/recipes/new', { language: 'python' }, /code/],
      [
        'PUT',
        '/api/v1/projects/SALES/recipes/new',
        { language: 'python', code: 'x'.repeat(256 * 1024 + 1) },
        /recipe code is 262145 bytes; the limit is 262144 bytes/,
      ],
      ['PUT', '/api/v1/projects/SALES/members/carl', { role: 'god' }, /role/],
      ['POST', '/api/v1/projects/SALES/recipes/load/run', { timeoutSeconds: 0 }, /timeoutSeconds/],
    ];
    for (const [method, p, body, message] of cases) {
      const r = await as(owner, method, p, body);
      expect(`${method} ${p}: ${r.status}`).toBe(`${method} ${p}: 400`);
      expect(JSON.stringify(r.json)).toMatch(message);
    }
    expect(
      (await as(owner, 'GET', '/api/v1/projects')).json.projects.map((p: { key: string }) => p.key),
    ).toEqual(['SALES']);
    expect(
      (await as(owner, 'GET', '/api/v1/projects/SALES/recipes')).json.recipes.map(
        (r: { name: string }) => r.name,
      ),
    ).toEqual(['load']);
    expect((await as(owner, 'GET', '/api/v1/projects/SALES')).json.members).toContainEqual(
      expect.objectContaining({ login: 'carl', role: 'contributor' }),
    );
  });

  it('a project key is taken once, and an unknown member is named', async () => {
    const again = await as(contributor, 'POST', '/api/v1/projects', { key: 'SALES', name: 'Mine' });
    expect(again.status).toBe(409);
    expect(again.json.error.message).toBe('project SALES already exists');
    const ghost = await as(owner, 'PUT', '/api/v1/projects/SALES/members/ghost', { role: 'reader' });
    expect(ghost.status).toBe(404);
    expect(ghost.json.error.message).toMatch(/ghost/);
  });

  describe('saves based on a revision', () => {
    beforeAll(async () => {
      expect((await as(owner, 'POST', '/api/v1/projects', { key: 'EDITS', name: 'Edits' })).status).toBe(201);
      expect(
        (await as(owner, 'PUT', '/api/v1/projects/EDITS/members/carl', { role: 'contributor' })).status,
      ).toBe(204);
    });

    it('a recipe save based on an older revision is refused with 409 naming who changed it, and saves nothing', async () => {
      const path = '/api/v1/projects/EDITS/recipes/edited-twice';
      const made = await as(owner, 'PUT', path, { language: 'python', code: 'a = 1\n', baseRevision: 0 });
      expect(made.status).toBe(201);
      const opened = made.json.revision as number;
      // Carl and Olga both opened revision `opened`; Carl saves first.
      const carl = await as(contributor, 'PUT', path, {
        language: 'python',
        code: 'a = 2\n',
        baseRevision: opened,
      });
      expect(carl.status).toBe(200);
      const olga = await as(owner, 'PUT', path, {
        language: 'python',
        code: 'a = 3\n',
        baseRevision: opened,
      });
      expect(olga.status).toBe(409);
      expect(olga.json.error.message).toContain('changed by carl');
      expect(olga.json.error.message).toContain('nothing was saved');
      expect((await as(owner, 'GET', path)).json.code).toBe('a = 2\n');
      // Based on the current revision, her save goes through.
      const again = await as(owner, 'PUT', path, {
        language: 'python',
        code: 'a = 3\n',
        baseRevision: carl.json.revision,
      });
      expect(again.status).toBe(200);
      expect(again.json.revision).toBe(carl.json.revision + 1);
    });

    it('creating a recipe under a name already taken is refused instead of replacing its code', async () => {
      const r = await as(contributor, 'PUT', '/api/v1/projects/SALES/recipes/load', {
        language: 'python',
        code: '# starter\n',
        baseRevision: 0,
      });
      expect(r.status).toBe(409);
      expect((await as(owner, 'GET', '/api/v1/projects/SALES/recipes/load')).json.code).not.toBe(
        '# starter\n',
      );
    });

    it('of many saves based on one revision sent at once, exactly one applies', async () => {
      const path = '/api/v1/projects/EDITS/recipes/raced';
      const base = (await as(owner, 'PUT', path, { language: 'python', code: 'x = 0\n', baseRevision: 0 }))
        .json.revision as number;
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          as(i % 2 ? owner : contributor, 'PUT', path, {
            language: 'python',
            code: `x = ${i + 1}\n`,
            baseRevision: base,
          }),
        ),
      );
      const ok = answers.filter((a) => a.status === 200);
      expect(ok).toHaveLength(1);
      expect(answers.filter((a) => a.status === 409)).toHaveLength(9);
      expect((await as(owner, 'GET', path)).json.code).toBe(ok[0]!.json.code);
    });
  });
});
