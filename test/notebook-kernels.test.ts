/*
 * Notebook kernels through Jupyter's API with a personal API key (docs/adr/0020): a session starts the
 * caller's own kernel, as them, in the sandbox; code sent over the kernel's WebSocket runs there with a
 * ticket of its own (origin notebook, the notebook's project), finds the caller's secret with the
 * seed's snippet, and what it prints reaches the client masked. Closing the session stops the kernel
 * and its ticket is refused from then on. Another user neither sees, joins nor stops it; a kernel left
 * idle is stopped.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPidsRunning } from './support/host-processes.js';
import { Channels, channelsUrl, jupyterCall } from './support/kernel-session.js';
import { TestServer, type TestUser } from './support/test-server.js';
import { printedTicket } from './support/printed-ticket.js';

const SECRET = 'nb-secret-8d1f0c2a9e';
/** The seed's Python snippet as written, with the client it expects, then what the test reads. */
const SNIPPET = `import dataiku, os
client = dataiku.api_client()
${readFileSync('test/fixtures/seed/python-snippet.py', 'utf8')}
print("value:", secret_value)
print("origin:", os.environ["DKU_CALL_ORIGIN"], os.environ["DKU_CURRENT_PROJECT_KEY"])
print("ticket:", os.environ["DKU_API_TICKET"][::-1])
print("raw ticket:", os.environ["DKU_API_TICKET"])
`;

describe('notebook kernels', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  const as = (u: TestUser, method: string, p: string, body?: unknown) =>
    jupyterCall(server.url, u.key, method, p, body);
  const ws = (id: string) => channelsUrl(server.url, id);

  /** Opens u's kernel of the notebook at path and reads its ticket (printed reversed, so unmasked). */
  const kernelOf = async (u: TestUser, path: string) => {
    const opened = await as(u, 'POST', '/jupyter/api/sessions', { path });
    expect(opened.status, opened.text).toBe(201);
    const channels = await Channels.open(ws(opened.json.kernel.id), u.key);
    const { out } = await channels.execute('import os; print("ticket:", os.environ["DKU_API_TICKET"][::-1])');
    return { channels, ticket: printedTicket(/ticket: (\S+)/.exec(out)?.[1]) };
  };
  const ticketRefused = async (ticket: string) =>
    (await server.request('GET', '/public/api/auth/info', { ticket })).status === 401;

  beforeAll(async () => {
    server = await TestServer.start({ COFFER_KERNEL_IDLE_SECONDS: '3' });
    alice = await server.createUser('alice');
    bob = await server.createUser('bob');
    await as(alice, 'PUT', '/api/v1/me/secrets/credential-for-my-api', { value: SECRET });
    await as(bob, 'PUT', '/api/v1/me/secrets/credential-for-my-api', { value: 'bob-secret-1e2d3c4b' });
    expect((await as(alice, 'POST', '/api/v1/projects', { key: 'NB', name: 'Notebooks' })).status).toBe(201);
    await as(alice, 'PUT', '/api/v1/projects/NB/members/bob', { role: 'contributor' });
    expect(
      (await as(alice, 'PUT', '/api/v1/projects/NB/notebooks/explore', { language: 'python' })).status,
    ).toBe(201);
  });
  afterAll(() => server.close());

  it("runs the seed's snippet in the caller's own kernel, masks the value, and ends the ticket with the session", async () => {
    const opened = await as(alice, 'POST', '/jupyter/api/sessions', {
      path: 'NB/explore.ipynb',
      type: 'notebook',
    });
    expect(opened.status).toBe(201);
    expect(opened.json).toMatchObject({
      path: 'NB/explore.ipynb',
      type: 'notebook',
      kernel: { name: 'python3' },
    });
    const channels = await Channels.open(ws(opened.json.kernel.id), alice.key);
    const { out, reply } = await channels.execute(SNIPPET);
    expect(reply.content!.status, out).toBe('ok');
    expect(out).toContain('value: *****');
    expect(out).toContain('origin: notebook NB');
    expect(channels.raw.join('\n')).not.toContain(SECRET);
    const ticket = printedTicket(/ticket: (\S+)/.exec(out)?.[1]);
    expect((await server.request('GET', '/public/api/auth/info', { ticket })).status).toBe(200);
    // Printed as is, the kernel's own ticket is masked like a value: saved outputs are the project's.
    expect(out).toContain('raw ticket: *****');
    expect(channels.raw.join('\n')).not.toContain(ticket);

    // Bob, on the same notebook, gets a kernel of his own: his secret, never hers.
    const his = await as(bob, 'POST', '/jupyter/api/sessions', { path: 'NB/explore.ipynb' });
    expect(his.json.kernel.id).not.toBe(opened.json.kernel.id);
    expect((await as(bob, 'GET', '/jupyter/api/sessions')).json.map((s: { id: string }) => s.id)).toEqual([
      his.json.id,
    ]);
    await expect(Channels.open(ws(opened.json.kernel.id), bob.key)).rejects.toThrow();
    expect((await as(bob, 'DELETE', `/jupyter/api/sessions/${opened.json.id}`)).status).toBe(404);
    const bobs = await Channels.open(ws(his.json.kernel.id), bob.key);
    const bobOut = (await bobs.execute(SNIPPET)).out;
    expect(bobOut).toContain('value: *****');
    expect(bobs.raw.join('\n')).not.toContain('bob-secret-1e2d3c4b');
    expect(printedTicket(/ticket: (\S+)/.exec(bobOut)?.[1])).not.toBe(ticket);

    expect((await as(alice, 'DELETE', `/jupyter/api/sessions/${opened.json.id}`)).status).toBe(204);
    expect((await server.request('GET', '/public/api/auth/info', { ticket })).status).toBe(401);
    expect((await as(alice, 'GET', '/jupyter/api/sessions')).json).toEqual([]);
    bobs.ws.close();
    channels.ws.close();
    await as(bob, 'DELETE', `/jupyter/api/sessions/${his.json.id}`);
  }, 120_000);

  it("runs the seed's R snippet, as written, in an R kernel", async () => {
    expect((await as(alice, 'PUT', '/api/v1/projects/NB/notebooks/in-r', { language: 'r' })).status).toBe(
      201,
    );
    const opened = await as(alice, 'POST', '/jupyter/api/sessions', { path: 'NB/in-r.ipynb' });
    expect(opened.json.kernel.name).toBe('ir');
    const channels = await Channels.open(ws(opened.json.kernel.id), alice.key);
    const snippet = readFileSync('test/fixtures/seed/r-snippet.R', 'utf8');
    const { out, reply } = await channels.execute(
      `${snippet}\nprint(paste("value:", secret_value))`,
      120_000,
    );
    expect(reply.content!.status, out).toBe('ok');
    expect(out).toContain('value: *****');
    expect(channels.raw.join('\n')).not.toContain(SECRET);
    channels.ws.close();
    await as(alice, 'DELETE', `/jupyter/api/sessions/${opened.json.id}`);
  }, 180_000);

  it('answers the dataikuapi session calls: active notebooks, get_sessions, list_running_notebooks, unload', async () => {
    const admin = await server.createUser('root-admin', { admin: true });
    const opened = await as(alice, 'POST', '/jupyter/api/sessions', { path: 'NB/explore.ipynb' });
    const dss = '/public/api/projects/NB/jupyter-notebooks';
    const active = await as(bob, 'GET', `${dss}/?active=True`);
    expect(active.json.map((n: { name: string }) => n.name)).toEqual(['explore']);
    const sessions = await as(bob, 'GET', `${dss}/explore/sessions`);
    expect(sessions.status).toBe(200);
    expect(sessions.json).toEqual([
      expect.objectContaining({
        projectKey: 'NB',
        notebookName: 'explore',
        sessionCreator: 'alice',
        sessionId: opened.json.id,
        kernelId: opened.json.kernel.id,
      }),
    ]);
    const running = await as(admin, 'GET', '/public/api/admin/notebooks/');
    expect(running.json.map((n: { sessionId: string }) => n.sessionId)).toContain(opened.json.id);
    expect((await as(bob, 'GET', '/public/api/admin/notebooks/')).status).toBe(403);
    // Bob may see Alice's session but not unload it; she may.
    expect((await as(bob, 'DELETE', `${dss}/explore/sessions/${opened.json.id}`)).status).toBe(404);
    expect((await as(alice, 'DELETE', `${dss}/explore/sessions/${opened.json.id}`)).status).toBe(200);
    expect((await as(bob, 'GET', `${dss}/explore/sessions`)).json).toEqual([]);
    expect((await as(bob, 'GET', `${dss}/?active=True`)).json).toEqual([]);
  }, 60_000);

  it("a kernel reaches neither another user's kernel nor the server's data", async () => {
    const hers = await as(alice, 'POST', '/jupyter/api/sessions', { path: 'NB/explore.ipynb' });
    const herChannels = await Channels.open(ws(hers.json.kernel.id), alice.key);
    const herTicket = printedTicket(/ticket: (\S+)/.exec((await herChannels.execute(SNIPPET)).out)?.[1]);
    const his = await as(bob, 'POST', '/jupyter/api/sessions', { path: 'NB/explore.ipynb' });
    const hisChannels = await Channels.open(ws(his.json.kernel.id), bob.key);
    const probe = `import os
seen = []
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    try:
        seen.append(open(f"/proc/{pid}/environ", "rb").read().decode("latin1"))
    except Exception as e:
        seen.append("denied " + type(e).__name__)
print("pids:", len([p for p in os.listdir("/proc") if p.isdigit()]))
print("environ:", "\\n".join(seen))
for path in [${JSON.stringify(server.dataDir)}, ${JSON.stringify(server.dataDir + '/master.key')}]:
    try:
        print("read", path, os.listdir(path) if os.path.isdir(path) else open(path).read())
    except Exception as e:
        print("refused", path, type(e).__name__)
`;
    const { out } = await hisChannels.execute(probe);
    expect(out).not.toContain(herTicket);
    expect(out).not.toContain(SECRET);
    expect(out).not.toMatch(/^read /m);
    expect(out).toMatch(/refused .*coffer-test-/);
    // Its own PID namespace: the sandbox's init, the bridge, the kernel and little else.
    expect(Number(/pids: (\d+)/.exec(out)![1])).toBeLessThan(10);
    herChannels.ws.close();
    hisChannels.ws.close();
    await as(alice, 'DELETE', `/jupyter/api/sessions/${hers.json.id}`);
    await as(bob, 'DELETE', `/jupyter/api/sessions/${his.json.id}`);
  }, 120_000);

  it('a daemon a kernel starts (double fork, setsid) is gone once its session is closed', async () => {
    // Its own marker: the same file runs on the other store at the same time.
    const marker = ['sleep', String(3000 + Math.floor(Math.random() * 100_000))];
    const opened = await as(bob, 'POST', '/jupyter/api/sessions', { path: 'NB/explore.ipynb' });
    const channels = await Channels.open(ws(opened.json.kernel.id), bob.key);
    const { reply } = await channels.execute(
      `import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        os.execvp("sleep", ${JSON.stringify(marker)})\n    os._exit(0)\nos.wait()`,
    );
    expect(reply.content!.status).toBe('ok');
    // The grandchild execs after the cell returns, and the sandbox's processes are reaped after the
    // answer to DELETE: both are watched for a moment rather than read once (a loaded CI missed both).
    await expect.poll(() => hostPidsRunning(marker), { timeout: 10_000 }).toHaveLength(1);
    channels.ws.close();
    expect((await as(bob, 'DELETE', `/jupyter/api/sessions/${opened.json.id}`)).status).toBe(204);
    await expect.poll(() => hostPidsRunning(marker), { timeout: 10_000 }).toEqual([]);
  }, 60_000);

  it('a server stopping ends its kernels, and their tickets are refused after it starts again', async () => {
    const opened = await as(alice, 'POST', '/jupyter/api/sessions', { path: 'NB/explore.ipynb' });
    const channels = await Channels.open(ws(opened.json.kernel.id), alice.key);
    const { out } = await channels.execute('import os; print("ticket:", os.environ["DKU_API_TICKET"][::-1])');
    const ticket = printedTicket(/ticket: (\S+)/.exec(out)?.[1]);
    const closed = new Promise((r) => channels.ws.once('close', r));
    const dataDir = server.dataDir;
    await server.close({ keepData: true });
    await closed;
    server = await TestServer.start({ COFFER_DATA_DIR: dataDir, COFFER_KERNEL_IDLE_SECONDS: '3' });
    expect((await server.request('GET', '/public/api/auth/info', { ticket })).status).toBe(401);
    expect((await as(alice, 'GET', '/jupyter/api/sessions')).json).toEqual([]);
  }, 120_000);

  it('stops a kernel left idle past the setting, and its ticket with it', async () => {
    const opened = await as(alice, 'POST', '/jupyter/api/sessions', { path: 'NB/explore.ipynb' });
    const channels = await Channels.open(ws(opened.json.kernel.id), alice.key);
    const { out } = await channels.execute('import os; print("ticket:", os.environ["DKU_API_TICKET"][::-1])');
    const ticket = printedTicket(/ticket: (\S+)/.exec(out)?.[1]);
    channels.ws.close();
    const deadline = Date.now() + 30_000;
    while ((await as(alice, 'GET', '/jupyter/api/sessions')).json.length > 0) {
      if (Date.now() > deadline)
        throw new Error(
          `the idle kernel was not stopped: ${JSON.stringify((await as(alice, 'GET', '/jupyter/api/sessions')).json)}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
    expect((await server.request('GET', '/public/api/auth/info', { ticket })).status).toBe(401);
  }, 60_000);

  it("deleting a notebook stops every kernel of it, everyone's, and ends their tickets: through Coffer's API, Jupyter's contents and DSS's", async () => {
    const deletions: [string, (name: string) => Promise<{ status: number }>][] = [
      ['api', (name) => as(alice, 'DELETE', `/api/v1/projects/NB/notebooks/${name}`)],
      ['contents', (name) => as(alice, 'DELETE', `/jupyter/api/contents/NB/${name}.ipynb`)],
      ['dss', (name) => as(alice, 'DELETE', `/public/api/projects/NB/jupyter-notebooks/${name}`)],
    ];
    for (const [how, remove] of deletions) {
      const name = `doomed-${how}`;
      expect(
        (await as(alice, 'PUT', `/api/v1/projects/NB/notebooks/${name}`, { language: 'python' })).status,
      ).toBe(201);
      // Bob's kernel too, on one of them: deleting is the project's act, whoever's kernels they are.
      const path = `NB/${name}.ipynb`;
      const kernels = [await kernelOf(alice, path), ...(how === 'api' ? [await kernelOf(bob, path)] : [])];
      for (const k of kernels) expect(await ticketRefused(k.ticket)).toBe(false);
      expect((await remove(name)).status, how).toBeLessThan(300);
      for (const k of kernels) {
        expect(await ticketRefused(k.ticket), how).toBe(true);
        await expect.poll(() => k.channels.ws.readyState, { timeout: 10_000 }).toBe(k.channels.ws.CLOSED);
      }
      expect((await as(alice, 'GET', '/jupyter/api/sessions')).json, how).toEqual([]);
      expect((await as(bob, 'GET', '/jupyter/api/sessions')).json, how).toEqual([]);
    }
  }, 120_000);

  it("removing a member ends their kernels in the project, and deleting the project ends everyone's", async () => {
    expect((await as(alice, 'POST', '/api/v1/projects', { key: 'TEMP', name: 'Temporary' })).status).toBe(
      201,
    );
    await as(alice, 'PUT', '/api/v1/projects/TEMP/members/bob', { role: 'contributor' });
    expect((await as(alice, 'PUT', '/api/v1/projects/TEMP/notebooks/n', { language: 'python' })).status).toBe(
      201,
    );
    const [mine, his] = [await kernelOf(alice, 'TEMP/n.ipynb'), await kernelOf(bob, 'TEMP/n.ipynb')];
    // Bob's kernel stops within a heartbeat (5 s here), its ticket at once; Alice's runs on.
    expect((await as(alice, 'DELETE', '/api/v1/projects/TEMP/members/bob')).status).toBeLessThan(300);
    expect(await ticketRefused(his.ticket)).toBe(true);
    await expect.poll(() => his.channels.ws.readyState, { timeout: 15_000 }).toBe(his.channels.ws.CLOSED);
    expect(await ticketRefused(mine.ticket)).toBe(false);
    expect((await mine.channels.execute('print(1 + 1)')).out).toContain('2');
    expect((await as(alice, 'DELETE', '/api/v1/projects/TEMP')).status).toBeLessThan(300);
    expect(await ticketRefused(mine.ticket)).toBe(true);
    await expect.poll(() => mine.channels.ws.readyState, { timeout: 15_000 }).toBe(mine.channels.ws.CLOSED);
    expect((await as(alice, 'GET', '/jupyter/api/sessions')).json).toEqual([]);
  }, 90_000);

  it('refuses a session for a notebook in a project the caller is not a member of, or one that does not exist', async () => {
    const outsider = await server.createUser('oscar');
    const r = await as(outsider, 'POST', '/jupyter/api/sessions', { path: 'NB/explore.ipynb' });
    expect(r.status).toBe(404);
    expect((await as(alice, 'POST', '/jupyter/api/sessions', { path: 'NB/missing.ipynb' })).status).toBe(404);
    expect((await as(alice, 'POST', '/jupyter/api/sessions', { path: 'explore.ipynb' })).status).toBe(400);
  });
});
