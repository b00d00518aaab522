/*
 * Notebooks kept with their project (docs/adr/0020), through Coffer's own calls and the DSS calls the
 * current dataikuapi makes: members read them, contributors write them; a save based on an older
 * revision is refused instead of overwriting; a save never stores one of the saver's secret values (a
 * cell holding one is refused, outputs are masked); bad documents and names get a 4xx naming the
 * problem and store nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type TestUser } from './support/test-server.js';

const DSS = '/public/api';
const SECRET = { name: 'warehouse-token', value: 'wh-tok-5f3a9c1e77b2' };

interface Cell {
  cell_type: string;
  source: string | string[];
  metadata?: object;
  outputs?: object[];
  execution_count?: number | null;
}
const notebook = (cells: Cell[], kernel = 'python3') => ({
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {
    kernelspec: { name: kernel, display_name: kernel, language: kernel === 'ir' ? 'R' : 'python' },
  },
  cells,
});
const code = (source: string, outputs: object[] = []): Cell => ({
  cell_type: 'code',
  source,
  metadata: {},
  outputs,
  execution_count: outputs.length ? 1 : null,
});

describe('notebooks', () => {
  let server: TestServer;
  let owner: TestUser;
  let contributor: TestUser;
  let reader: TestUser;
  let outsider: TestUser;
  const as = (u: TestUser, method: string, p: string, body?: unknown) =>
    server.request(method, p, { key: u.key, body });
  const own = (name: string) => `/api/v1/projects/LAB/notebooks/${encodeURIComponent(name)}`;
  const dss = (name: string) => `${DSS}/projects/LAB/jupyter-notebooks/${encodeURIComponent(name)}`;

  beforeAll(async () => {
    server = await TestServer.start({ COFFER_JOBS_ENABLED: 'false' });
    owner = await server.createUser('nina');
    contributor = await server.createUser('carlo');
    reader = await server.createUser('rhea');
    outsider = await server.createUser('oscar');
    expect((await as(owner, 'POST', '/api/v1/projects', { key: 'LAB', name: 'Lab' })).status).toBe(201);
    await as(owner, 'PUT', '/api/v1/projects/LAB/members/carlo', { role: 'contributor' });
    await as(owner, 'PUT', '/api/v1/projects/LAB/members/rhea', { role: 'reader' });
    await as(contributor, 'PUT', `/api/v1/me/secrets/${SECRET.name}`, { value: SECRET.value });
  });
  afterAll(() => server.close());

  it('a contributor creates an empty Python or R notebook; members list and read it', async () => {
    const py = await as(contributor, 'PUT', own('explore'), { language: 'python' });
    expect(py.status).toBe(201);
    expect(py.json).toMatchObject({ name: 'explore', language: 'python', revision: 1, createdBy: 'carlo' });
    expect((await as(contributor, 'PUT', own('stats'), { language: 'r' })).status).toBe(201);
    const list = await as(reader, 'GET', '/api/v1/projects/LAB/notebooks');
    expect(list.status).toBe(200);
    expect(list.json.notebooks.map((n: { name: string }) => n.name)).toEqual(
      expect.arrayContaining(['explore', 'stats']),
    );
    const r = await as(reader, 'GET', own('stats'));
    expect(r.status).toBe(200);
    expect(r.json.content).toMatchObject({
      nbformat: 4,
      cells: [],
      metadata: { kernelspec: { name: 'ir' }, coffer: { revision: 1 } },
    });
  });

  it('imports an .ipynb and exports the same document', async () => {
    const doc = notebook([
      { cell_type: 'markdown', source: ['# Title\n', 'text'], metadata: {} },
      code('print(1 + 1)', [{ output_type: 'stream', name: 'stdout', text: ['2\n'] }]),
    ]);
    expect((await as(contributor, 'PUT', own('imported'), { content: doc })).status).toBe(201);
    const back = (await as(owner, 'GET', own('imported'))).json.content;
    delete back.metadata.coffer;
    expect(back).toEqual(doc);
  });

  it('answers the dataikuapi calls: create with content, list, get_content, save, clear_outputs, delete', async () => {
    const doc = notebook([
      code('x = 1', [
        { output_type: 'execute_result', data: { 'text/plain': '1' }, metadata: {}, execution_count: 1 },
      ]),
    ]);
    const created = await as(contributor, 'POST', dss('from-client'), doc);
    expect(created.status).toBe(200);
    const list = await as(reader, 'GET', `${DSS}/projects/LAB/jupyter-notebooks/?active=False`);
    expect(list.status).toBe(200);
    expect(list.json.find((n: { name: string }) => n.name === 'from-client')).toEqual({
      projectKey: 'LAB',
      name: 'from-client',
      language: 'python',
      kernelSpec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      tags: [],
      lastModifiedOn: expect.any(Number),
      lastModifiedBy: 'carlo',
      // No kernel runs it: DSSNotebook.get_sessions() then answers [], unload() "isn't running".
      activeSessions: [],
    });
    const content = (await as(contributor, 'GET', dss('from-client'))).json;
    content.cells.push(code('y = 2'));
    expect((await as(contributor, 'PUT', dss('from-client'), content)).status).toBe(200);
    expect((await as(reader, 'GET', dss('from-client'))).json.cells).toHaveLength(2);
    const cleared = await as(contributor, 'DELETE', `${dss('from-client')}/outputs`);
    expect(cleared.status).toBe(200);
    const after = (await as(reader, 'GET', dss('from-client'))).json;
    expect(after.cells[0].outputs).toEqual([]);
    expect(after.cells[0].execution_count).toBeNull();
    expect((await as(contributor, 'DELETE', dss('from-client'))).status).toBe(200);
    expect((await as(reader, 'GET', dss('from-client'))).status).toBe(404);
  });

  it("a dataikuapi save of content read before someone else's save is refused with 409, saving nothing", async () => {
    await as(contributor, 'POST', dss('shared'), notebook([code('a = 1')]));
    const mine = (await as(contributor, 'GET', dss('shared'))).json;
    const theirs = (await as(owner, 'GET', dss('shared'))).json;
    theirs.cells[0].source = 'a = "owner"';
    expect((await as(owner, 'PUT', dss('shared'), theirs)).status).toBe(200);
    mine.cells[0].source = 'a = "contributor"';
    const r = await as(contributor, 'PUT', dss('shared'), mine);
    expect(r.status).toBe(409);
    expect(r.json.message).toContain('saved by nina');
    expect((await as(reader, 'GET', dss('shared'))).json.cells[0].source).toBe('a = "owner"');
  });

  it('a save based on an older revision, or a create of a name taken, is refused with 409', async () => {
    const first = await as(contributor, 'PUT', own('rev'), { language: 'python', baseRevision: 0 });
    expect(first.status).toBe(201);
    expect((await as(owner, 'PUT', own('rev'), { language: 'python', baseRevision: 0 })).status).toBe(409);
    await as(owner, 'PUT', own('rev'), { content: notebook([code('1')]), baseRevision: 1 });
    const stale = await as(contributor, 'PUT', own('rev'), {
      content: notebook([code('2')]),
      baseRevision: 1,
    });
    expect(stale.status).toBe(409);
    expect((await as(reader, 'GET', own('rev'))).json.content.cells[0].source).toBe('1');
  });

  it("refuses a save whose cell holds one of the saver's secret values, naming the cell and the secret", async () => {
    const doc = notebook([code('import dataiku'), code(`token = "${SECRET.value}"`)]);
    const r = await as(contributor, 'PUT', own('leaky'), { content: doc });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toContain('cell 2');
    expect(r.json.error.message).toContain(`"${SECRET.name}"`);
    expect(r.json.error.message).toContain('get_auth_info(with_secrets=True)');
    expect(r.text).not.toContain(SECRET.value);
    expect((await as(reader, 'GET', own('leaky'))).status).toBe(404);
    const viaDss = await as(contributor, 'POST', dss('leaky'), doc);
    expect(viaDss.status).toBe(400);
    expect(viaDss.text).not.toContain(SECRET.value);
  });

  it('refuses a cell holding a value in a form the masker knows: escaped in a string literal, or trimmed', async () => {
    const withBackslash = { name: 'domain-login', value: 'CORP\\svc-reporting-01' };
    const pasted = { name: 'pasted-token', value: 'pasted-token-7f3a9c\n' };
    for (const s of [withBackslash, pasted])
      await as(contributor, 'PUT', `/api/v1/me/secrets/${s.name}`, { value: s.value });
    const cases = [
      { cell: code('login = "CORP\\\\svc-reporting-01"'), secret: withBackslash.name },
      { cell: code('token = "pasted-token-7f3a9c"'), secret: pasted.name },
    ];
    for (const c of cases) {
      const r = await as(contributor, 'PUT', own('escaped'), { content: notebook([c.cell]) });
      expect(r.status, r.text).toBe(400);
      expect(r.json.error.message).toContain('cell 1');
      expect(r.json.error.message).toContain(`"${c.secret}"`);
    }
    expect((await as(reader, 'GET', own('escaped'))).status).toBe(404);
    for (const s of [withBackslash, pasted]) await as(contributor, 'DELETE', `/api/v1/me/secrets/${s.name}`);
  });

  it("masks the saver's values in outputs before storing them", async () => {
    const doc = notebook([
      code('print(token)', [
        { output_type: 'stream', name: 'stdout', text: `the token is ${SECRET.value}\n` },
      ]),
    ]);
    expect((await as(contributor, 'PUT', own('masked'), { content: doc })).status).toBe(201);
    const stored = await as(owner, 'GET', own('masked'));
    expect(stored.text).not.toContain(SECRET.value);
    expect(stored.json.content.cells[0].outputs[0].text).toBe('the token is *****\n');
  });

  it("serves Jupyter's contents API: projects as directories, notebooks read, saved, created, renamed and deleted", async () => {
    const jupyter = (u: TestUser, method: string, p: string, body?: unknown) =>
      server.request(method, `/jupyter/api/contents${p}`, {
        headers: { authorization: `token ${u.key}` },
        body,
      });
    const root = await jupyter(reader, 'GET', '');
    expect(root.status).toBe(200);
    expect(root.json).toMatchObject({ type: 'directory', path: '' });
    expect(root.json.content.map((d: { name: string }) => d.name)).toEqual(['LAB']);
    await as(contributor, 'PUT', own('contents'), { content: notebook([code('a = 1')]) });
    const dir = await jupyter(reader, 'GET', '/LAB');
    expect(dir.json.content.find((n: { name: string }) => n.name === 'contents.ipynb')).toMatchObject({
      path: 'LAB/contents.ipynb',
      type: 'notebook',
      content: null,
    });
    const model = (await jupyter(contributor, 'GET', '/LAB/contents.ipynb')).json;
    expect(model).toMatchObject({ type: 'notebook', format: 'json', name: 'contents.ipynb' });
    expect((await jupyter(contributor, 'GET', '/LAB/contents.ipynb?content=0')).json.content).toBeNull();
    // The front end sends back what it read, revision included: a save on top of someone else's is refused.
    model.content.cells[0].source = 'a = 2';
    const saved = await jupyter(contributor, 'PUT', '/LAB/contents.ipynb', {
      type: 'notebook',
      format: 'json',
      content: model.content,
    });
    expect(saved.status).toBe(200);
    const again = await jupyter(contributor, 'PUT', '/LAB/contents.ipynb', {
      type: 'notebook',
      content: model.content,
    });
    expect(again.status).toBe(409);
    expect(again.json.message).toContain('nothing was saved');
    const created = await jupyter(contributor, 'POST', '/LAB', { type: 'notebook' });
    expect(created.status).toBe(201);
    expect(created.json.name).toMatch(/^Untitled\d*\.ipynb$/);
    const renamed = await jupyter(contributor, 'PATCH', `/LAB/${created.json.name}`, {
      path: 'LAB/renamed.ipynb',
    });
    expect(renamed.status).toBe(200);
    expect(renamed.json.path).toBe('LAB/renamed.ipynb');
    expect(
      (await jupyter(contributor, 'PATCH', '/LAB/renamed.ipynb', { path: 'LAB/contents.ipynb' })).status,
    ).toBe(409);
    expect(
      (await jupyter(contributor, 'PATCH', '/LAB/renamed.ipynb', { path: 'OTHER/x.ipynb' })).status,
    ).toBe(400);
    expect((await jupyter(contributor, 'DELETE', '/LAB/renamed.ipynb')).status).toBe(204);
    expect((await jupyter(reader, 'GET', '/LAB/renamed.ipynb')).status).toBe(404);
    expect((await jupyter(reader, 'GET', '/LAB/notes.txt')).json.message).toMatch(/only notebooks/);
    expect((await jupyter(reader, 'PUT', '/LAB/contents.ipynb', { content: model.content })).status).toBe(
      403,
    );
    expect((await jupyter(outsider, 'GET', '/LAB')).status).toBe(404);
  });

  it('refuses bad documents and names with 400 naming the problem, storing nothing', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['old-format', { nbformat: 3, nbformat_minor: 0, metadata: {}, cells: [] }, /nbformat 4/],
      ['no-cells', { nbformat: 4, nbformat_minor: 5, metadata: {} }, /cells must be a list/],
      ['bad-cell', notebook([{ cell_type: 'widget', source: '' }]), /cells\[0\]\.cell_type/],
      ['bad-source', notebook([{ cell_type: 'code', source: 5 as unknown as string }]), /cells\[0\]\.source/],
      ['nul-source', notebook([code('a = 1\u0000')]), /cells\[0\]\.source/],
      ['bad-output', notebook([code('1', [{ output_type: 'nonsense' }])]), /outputs\[0\]\.output_type/],
      ['no-kernel', { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] }, /kernelspec/],
      ['scala', notebook([], 'toree'), /kernelspec\.name must be "python3" or "ir"/],
    ];
    for (const [name, content, message] of cases) {
      const r = await as(contributor, 'PUT', own(name), { content });
      expect(r.status, name).toBe(400);
      expect(r.json.error.message, name).toMatch(message);
      expect((await as(reader, 'GET', own(name))).status, name).toBe(404);
    }
    for (const name of ['a/b', 'a\\b', '.hidden', ' padded', 'x.ipynb', 'tab\there']) {
      const r = await as(contributor, 'PUT', own(name), { language: 'python' });
      expect(r.status, name).toBe(400);
      // A control character is caught as the URL is read, before the notebook rules.
      expect(r.json.error.message, name).toMatch(/notebook name|path parameter "name"/);
    }
    const both = await as(contributor, 'PUT', own('both'), { language: 'python', content: notebook([]) });
    expect(both.status).toBe(400);
  });

  it('refuses a notebook larger than the request limit with 413, storing nothing', async () => {
    const big = notebook([
      code('x', [{ output_type: 'stream', name: 'stdout', text: 'y'.repeat(5 * 1024 * 1024) }]),
    ]);
    const r = await as(contributor, 'PUT', own('huge'), { content: big });
    expect(r.status).toBe(413);
    expect((await as(reader, 'GET', own('huge'))).status).toBe(404);
  });

  it('a reader cannot change notebooks and a non-member is told the project does not exist', async () => {
    const write = await as(reader, 'PUT', own('by-reader'), { language: 'python' });
    expect(write.status).toBe(403);
    expect(write.json.error.message).toContain('contributor');
    expect((await as(reader, 'DELETE', own('explore'))).status).toBe(403);
    for (const [method, p] of [
      ['GET', '/api/v1/projects/LAB/notebooks'],
      ['GET', own('explore')],
      ['PUT', own('explore')],
      ['GET', `${DSS}/projects/LAB/jupyter-notebooks/`],
      ['GET', dss('explore')],
    ] as const) {
      const r = await as(outsider, method, p, method === 'PUT' ? { language: 'python' } : undefined);
      expect(r.status, `${method} ${p}`).toBe(404);
      expect(r.json.error?.message ?? r.json.message).toContain('project "LAB" does not exist');
    }
    expect((await as(reader, 'GET', own('explore'))).json.content.cells).toEqual([]);
  });
});
