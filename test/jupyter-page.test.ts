/*
 * What Jupyter's notebook page uses besides the browser (docs/adr/0020), through HTTP: the page itself
 * (the member's notebook, a nonce CSP, the `_xsrf` cookie the front end sends back as X-XSRFToken),
 * its static files and kernelspecs (nothing outside their directories), the front end's settings,
 * Download as .ipynb, Save and Checkpoint / Revert (a revert is a save by the reverter, under the
 * same rules), and the kernel calls of its Kernel menu (interrupt, restart) and of a rename. Who may
 * call each route is the authorization matrix's business (authz.test.ts), not this file's.
 */
import { request as httpGet } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jupyterCall, openKernel, type KernelSession } from './support/kernel-session.js';
import { TestServer, type TestUser } from './support/test-server.js';
import { printedTicket } from './support/printed-ticket.js';

const BOB_SECRET = 'bob-page-value-6e1f3a9d';

const notebook = (...sources: string[]) => ({
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
  cells: sources.map((source) => ({
    cell_type: 'code',
    source,
    metadata: {},
    outputs: [],
    execution_count: null,
  })),
});
const sourcesOf = (doc: { cells: { source: string | string[] }[] }) =>
  doc.cells.map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source));

/**
 * A GET sent with its path exactly as written. fetch (and every URL parser) resolves `..` and `%2e%2e`
 * before sending, which would test the client, not the server.
 */
function rawGet(url: string, rawPath: string): Promise<{ status: number; type: string; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpGet({ hostname, port, path: rawPath, method: 'GET' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe("Jupyter's notebook page and what it loads", () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let olga: TestUser;
  let aliceSession: { cookie: string; csrf: string };
  const as = (u: TestUser, method: string, p: string, body?: unknown) =>
    jupyterCall(server.url, u.key, method, p, body);
  const save = async (u: TestUser, name: string, ...sources: string[]) => {
    const r = await as(u, 'PUT', `/api/v1/projects/NB/notebooks/${encodeURIComponent(name)}`, {
      content: notebook(...sources),
    });
    expect(r.status, r.text).toBeLessThan(300);
    return r.json.revision as number;
  };
  const stored = async (name: string) => {
    const r = await as(alice, 'GET', `/api/v1/projects/NB/notebooks/${encodeURIComponent(name)}`);
    expect(r.status, r.text).toBe(200);
    return { revision: r.json.revision as number, sources: sourcesOf(r.json.content) };
  };
  const pageOf = (file: string, session = aliceSession) =>
    server.request('GET', `/jupyter/notebooks/NB/${encodeURIComponent(file)}`, { session });

  beforeAll(async () => {
    server = await TestServer.start({ COFFER_JOBS_ENABLED: 'false' });
    alice = await server.createUser('alice');
    bob = await server.createUser('bob');
    olga = await server.createUser('olga');
    aliceSession = await server.login(alice.login, alice.password);
    await as(bob, 'PUT', '/api/v1/me/secrets/bobs-token', { value: BOB_SECRET });
    expect((await as(alice, 'POST', '/api/v1/projects', { key: 'NB', name: 'Notebooks' })).status).toBe(201);
    expect((await as(alice, 'POST', '/api/v1/projects', { key: 'OTHER', name: 'Other' })).status).toBe(201);
    await as(alice, 'PUT', '/api/v1/projects/NB/members/bob', { role: 'contributor' });
    await save(alice, 'explore', 'print("hello")');
  });
  afterAll(() => server.close());

  describe('the page', () => {
    it("gives a signed-in member Jupyter's page for the notebook, with a nonce on every script, no unsafe script sources, no caching, and the session's CSRF token as the _xsrf cookie", async () => {
      const page = await pageOf('explore.ipynb');
      expect(page.status, page.text).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('cache-control')).toBe('no-store');
      expect(page.text).toContain('data-notebook-path="NB/explore.ipynb"');
      expect(page.text).toContain('data-notebook-name="explore.ipynb"');

      const csp = page.headers.get('content-security-policy') ?? '';
      const scriptSrc = /(?:^|;)\s*script-src ([^;]*)/.exec(csp)?.[1] ?? '';
      const nonce = /'nonce-([^']+)'/.exec(scriptSrc)?.[1];
      expect(nonce, csp).toBeDefined();
      expect(scriptSrc).not.toContain("'unsafe-eval'");
      expect(scriptSrc).not.toContain("'unsafe-inline'");
      expect(csp).toContain("default-src 'none'");
      const scripts = page.text.match(/<script\b[^>]*>/gi) ?? [];
      // Jupyter's template has inline scripts (its require configuration, the page's start-up).
      expect(scripts.filter((s) => !/\bsrc=/.test(s)).length).toBeGreaterThan(0);
      for (const s of scripts) expect(s).toContain(`nonce="${nonce}"`);

      const xsrf = page.headers.getSetCookie().find((c) => c.startsWith('_xsrf='));
      expect(xsrf).toBeDefined();
      const [pair, ...attributes] = xsrf!.split(/;\s*/);
      expect(pair).toBe(`_xsrf=${aliceSession.csrf}`);
      expect(attributes).toContain('Path=/jupyter');
      expect(attributes).toContain('SameSite=Strict');
      expect(attributes.map((a) => a.toLowerCase())).not.toContain('httponly');

      // Every file the page links to is there.
      const linked = [...page.text.matchAll(/(?:src|href)="(\/jupyter\/[^"]+)"/g)].map((m) => m[1]!);
      expect(linked.length).toBeGreaterThan(5);
      for (const href of linked) expect((await server.request('GET', href)).status, href).toBe(200);

      const again = await pageOf('explore.ipynb');
      const nonceAgain = /'nonce-([^']+)'/.exec(again.headers.get('content-security-policy') ?? '')?.[1];
      expect(nonceAgain).toBeDefined();
      expect(nonceAgain).not.toBe(nonce);
    });

    it("carries a notebook name with spaces, unicode, & and quotes into the page's attributes urlencoded, with no HTML from it", async () => {
      // No / : a notebook is one file in its project.
      const name = `Q3 & "draft" <b>été 'x' €`;
      await save(alice, name, '1');
      const page = await pageOf(`${name}.ipynb`);
      expect(page.status, page.text).toBe(200);
      const attribute = (a: string) => new RegExp(`${a}="([^"]*)"`).exec(page.text)?.[1];
      const path = attribute('data-notebook-path');
      const file = attribute('data-notebook-name');
      expect(path).toBe(`NB/${encodeURIComponent(`${name}.ipynb`)}`);
      expect(decodeURIComponent(path!)).toBe(`NB/${name}.ipynb`);
      expect(decodeURIComponent(file!)).toBe(`${name}.ipynb`);
      expect(page.text).not.toContain('<b>');
      expect(page.text).not.toContain('"draft"');
      expect(page.text).not.toContain('été');

      // Download as .ipynb names the file as the notebook is named.
      const download = await as(
        alice,
        'GET',
        `/jupyter/nbconvert/notebook/NB/${encodeURIComponent(`${name}.ipynb`)}`,
      );
      expect(download.status, download.text).toBe(200);
      const disposition = download.headers.get('content-disposition') ?? '';
      expect(decodeURIComponent(/filename\*=UTF-8''(.*)$/.exec(disposition)?.[1] ?? '')).toBe(
        `${name}.ipynb`,
      );
    });

    it('sends an anonymous visitor to sign in, coming back to the notebook', async () => {
      const r = await server.request('GET', '/jupyter/notebooks/NB/explore.ipynb');
      expect(r.status).toBe(303);
      expect(r.headers.get('location')).toBe(
        `/login?next=${encodeURIComponent('/jupyter/notebooks/NB/explore.ipynb')}`,
      );
    });

    it('answers a non-member and a missing notebook with an HTML 404 page naming the problem, HTML in it escaped', async () => {
      const olgaSession = await server.login(olga.login, olga.password);
      const notMine = await pageOf('explore.ipynb', olgaSession);
      expect(notMine.status).toBe(404);
      expect(notMine.headers.get('content-type')).toMatch(/^text\/html/);
      expect(notMine.text).toContain('Not found');
      expect(notMine.text).toContain('project &#34;NB&#34; does not exist');
      expect(notMine.text).not.toContain('print(');

      const missing = await pageOf('nope.ipynb');
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toMatch(/^text\/html/);
      expect(missing.text).toContain('notebook &#34;nope&#34; does not exist in project NB');

      const html = await pageOf('<img src=x onerror=alert(1)>.ipynb');
      expect(html.status).toBe(404);
      expect(html.text).not.toContain('<img');
      expect(html.text).toContain('&#60;img src=x onerror=alert(1)&#62;');
    });
  });

  it("accepts a signed-in browser's write under /jupyter with the _xsrf token as X-XSRFToken, and refuses it with a wrong one or none", async () => {
    const page = await pageOf('explore.ipynb');
    const xsrf = /^_xsrf=([^;]*)/.exec(
      page.headers.getSetCookie().find((c) => c.startsWith('_xsrf=')) ?? '',
    )?.[1];
    expect(xsrf).toBeDefined();
    const put = (headers: Record<string, string>) =>
      server.request('PUT', '/jupyter/api/contents/NB/csrf.ipynb', {
        headers: { cookie: aliceSession.cookie, ...headers },
        body: { type: 'notebook', format: 'json', content: notebook('1 + 1') },
      });
    const wrong = await put({ 'x-xsrftoken': `${xsrf}x` });
    expect(wrong.status).toBe(403);
    expect(wrong.json.message).toMatch(/CSRF/);
    expect((await put({})).status).toBe(403);
    // Neither refusal saved anything: the accepted write is the notebook's creation.
    const right = await put({ 'x-xsrftoken': xsrf!, cookie: `${aliceSession.cookie}; _xsrf=${xsrf}` });
    expect(right.status, right.text).toBe(201);
    expect(right.json.path).toBe('NB/csrf.ipynb');
  });

  describe('static files and kernelspecs', () => {
    const PASSWD = 'root:x:0:0';

    it("serves the front end's files as JavaScript with caching, and never a file outside its directory", async () => {
      const main = await server.request('GET', '/jupyter/static/notebook/js/main.min.js');
      expect(main.status).toBe(200);
      expect(main.headers.get('content-type')).toMatch(/javascript/);
      expect(main.headers.get('cache-control')).toMatch(/max-age=86400/);
      expect(main.text).toContain('define(');

      const up = '../'.repeat(12);
      for (const p of [
        `/jupyter/static/${up}etc/passwd`,
        `/jupyter/static/${'%2e%2e/'.repeat(12)}etc/passwd`,
        `/jupyter/static/${'%2E%2E%2F'.repeat(12)}etc%2Fpasswd`,
        `/jupyter/static/notebook/${'..%2f'.repeat(12)}etc/passwd`,
        `/jupyter/static/${'%252e%252e/'.repeat(12)}etc/passwd`,
        `/jupyter/static/..%2f..%2ftemplates%2fnotebook.html`,
      ]) {
        const r = await rawGet(server.url, p);
        expect(r.status, p).toBeGreaterThanOrEqual(400);
        expect(r.text, p).not.toContain(PASSWD);
        expect(r.text, p).not.toContain('{% block');
      }
    });

    it("answers a missing front-end file, and a path under /jupyter that Coffer does not serve, with a 404 in Jupyter's error shape", async () => {
      const file = await server.request('GET', '/jupyter/static/notebook/js/no-such-file.js');
      expect(file.status).toBe(404);
      expect(file.json).toMatchObject({ reason: 'not_found', message: expect.any(String) });
      const terminals = await as(alice, 'GET', '/jupyter/api/terminals');
      expect(terminals.status).toBe(404);
      expect(terminals.json).toEqual({
        message: 'no such route: GET /jupyter/api/terminals',
        reason: 'not_found',
      });
    });

    it("answers the notebook extensions with a script's 404, and serves Coffer's custom.js", async () => {
      const ext = await server.request('GET', '/jupyter/nbextensions/jupyter-js-widgets/extension.js');
      expect(ext.status).toBe(404);
      expect(ext.headers.get('content-type')).toMatch(/^text\/javascript/);

      const custom = await server.request('GET', '/jupyter/custom/custom.js');
      expect(custom.status).toBe(200);
      expect(custom.headers.get('content-type')).toMatch(/javascript/);
      expect(custom.text).toContain('Kernel gone');
      const css = await server.request('GET', '/jupyter/custom/custom.css');
      expect(css.status).toBe(200);
      expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    });

    it('serves the logos of the python3 and ir kernelspecs, and nothing else from there', async () => {
      for (const name of ['python3', 'ir']) {
        const logo = await server.request('GET', `/jupyter/kernelspecs/${name}/logo-64x64.png`);
        expect(logo.status, name).toBe(200);
        expect(logo.headers.get('content-type')).toBe('image/png');
      }
      for (const p of [
        '/jupyter/kernelspecs/python3/kernel.json',
        '/jupyter/kernelspecs/julia/logo-64x64.png',
        '/jupyter/kernelspecs/python3/../../../../../etc/passwd',
        `/jupyter/kernelspecs/python3/${'..%2f'.repeat(8)}etc%2fpasswd`,
        `/jupyter/kernelspecs/..%2f..%2f..%2f..%2f..%2fetc/passwd`,
        `/jupyter/kernelspecs/%2e%2e/logo-64x64.png`,
      ]) {
        const r = await rawGet(server.url, p);
        // 404 from the route; a path that matches no route is refused before (401, anonymous).
        expect(r.status, p).toBeGreaterThanOrEqual(400);
        expect(r.text, p).not.toContain(PASSWD);
      }
    });

    it('lists python3 (the default) and ir in the kernelspecs API, with display names and logos that resolve', async () => {
      const r = await as(alice, 'GET', '/jupyter/api/kernelspecs');
      expect(r.status).toBe(200);
      expect(r.json.default).toBe('python3');
      expect(Object.keys(r.json.kernelspecs).sort()).toEqual(['ir', 'python3']);
      expect(r.json.kernelspecs.python3.spec).toMatchObject({ display_name: 'Python 3', language: 'python' });
      expect(r.json.kernelspecs.ir.spec).toMatchObject({ display_name: 'R', language: 'R' });
      for (const name of ['python3', 'ir']) {
        const resources = Object.values(r.json.kernelspecs[name].resources) as string[];
        expect(resources.length, name).toBeGreaterThan(0);
        for (const href of resources) {
          const logo = await server.request('GET', href);
          expect(logo.status, href).toBe(200);
          expect(logo.headers.get('content-type')).toBe('image/png');
        }
      }
    });

    it("sends File → Open's tree to the project's page", async () => {
      for (const p of ['/jupyter/tree/NB', '/jupyter/tree/NB/explore.ipynb']) {
        const r = await server.request('GET', p);
        expect(r.status, p).toBe(302);
        expect(r.headers.get('location')).toBe('/projects/NB');
      }
    });
  });

  it("answers the front end's settings with {} and echoes a change, refusing a bad section name", async () => {
    const got = await as(alice, 'GET', '/jupyter/api/config/notebook');
    expect(got.status).toBe(200);
    expect(got.json).toEqual({});
    const change = { Notebook: { Header: false }, keys: { command: { bind: { 'ctrl-k': 'x' } } } };
    const patched = await as(alice, 'PATCH', '/jupyter/api/config/notebook', change);
    expect(patched.status).toBe(200);
    expect(patched.json).toEqual(change);
    for (const section of ['a.b', '%3Cscript%3E', 'x'.repeat(65)]) {
      expect((await as(alice, 'GET', `/jupyter/api/config/${section}`)).status, section).toBe(400);
      expect((await as(alice, 'PATCH', `/jupyter/api/config/${section}`, {})).status, section).toBe(400);
    }
  });

  it("downloads the stored notebook as an .ipynb attachment without Coffer's metadata, and converts to nothing else", async () => {
    const r = await as(alice, 'GET', '/jupyter/nbconvert/notebook/NB/explore.ipynb?download=true');
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/x-ipynb\+json/);
    expect(r.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''explore.ipynb");
    expect(sourcesOf(r.json)).toEqual(['print("hello")']);
    expect(r.json.metadata.kernelspec.name).toBe('python3');
    expect(r.json.metadata).not.toHaveProperty('coffer');

    for (const format of ['html', 'script', 'pdf']) {
      const other = await as(alice, 'GET', `/jupyter/nbconvert/${format}/NB/explore.ipynb`);
      expect(other.status, format).toBe(404);
      expect(other.json.message).toContain('Coffer converts no notebooks');
    }
  });

  describe('checkpoints', () => {
    const at = (name: string) => `/jupyter/api/contents/NB/${name}.ipynb/checkpoints`;

    it('keeps one on Save and Checkpoint, restores its cells as a new revision, and drops it', async () => {
      await save(alice, 'ckpt', 'a = 1');
      expect((await as(alice, 'GET', at('ckpt'))).json).toEqual([]);

      const made = await as(alice, 'POST', at('ckpt'));
      expect(made.status, made.text).toBe(201);
      expect(made.json.id).toBe('checkpoint');
      const listed = await as(alice, 'GET', at('ckpt'));
      expect(listed.json).toEqual([{ id: 'checkpoint', last_modified: made.json.last_modified }]);
      expect(Number.isNaN(Date.parse(listed.json[0].last_modified))).toBe(false);

      const before = await save(alice, 'ckpt', 'a = 2');
      const restored = await as(alice, 'POST', `${at('ckpt')}/checkpoint`);
      expect(restored.status, restored.text).toBe(204);
      const now = await stored('ckpt');
      expect(now.sources).toEqual(['a = 1']);
      expect(now.revision).toBe(before + 1);
      // Restoring keeps the checkpoint, as Jupyter does.
      expect((await as(alice, 'GET', at('ckpt'))).json).toHaveLength(1);

      expect((await as(alice, 'POST', `${at('ckpt')}/nope`)).status).toBe(404);
      expect((await as(alice, 'DELETE', `${at('ckpt')}/nope`)).status).toBe(404);
      expect((await as(alice, 'DELETE', `${at('ckpt')}/checkpoint`)).status).toBe(204);
      expect((await as(alice, 'GET', at('ckpt'))).json).toEqual([]);
      expect((await as(alice, 'DELETE', `${at('ckpt')}/checkpoint`)).status).toBe(404);
      expect((await as(alice, 'POST', `${at('ckpt')}/checkpoint`)).status).toBe(404);
    });

    it("checks a restore against the restorer's values: a checkpoint holding one of them is refused and nothing changes", async () => {
      // Alice may save Bob's value (it is not hers); Bob may not bring it back as his save.
      await save(alice, 'leaky', `token = "${BOB_SECRET}"`);
      expect((await as(alice, 'POST', at('leaky'))).status).toBe(201);
      await save(alice, 'leaky', 'token = None');
      const before = await stored('leaky');

      const refused = await as(bob, 'POST', `${at('leaky')}/checkpoint`);
      expect(refused.status).toBe(400);
      expect(refused.json.message).toContain('bobs-token');
      expect(refused.json.message).not.toContain(BOB_SECRET);
      expect(await stored('leaky')).toEqual(before);
    });
  });

  describe('kernels', () => {
    let mine: KernelSession;
    let his: KernelSession;

    beforeAll(async () => {
      await save(alice, 'kernel', '');
      [mine, his] = await Promise.all([
        openKernel(server.url, alice.key, 'NB/kernel.ipynb'),
        openKernel(server.url, bob.key, 'NB/kernel.ipynb'),
      ]);
    });
    afterAll(async () => {
      for (const k of [mine, his]) k?.channels.ws.close();
      await Promise.all([
        as(alice, 'DELETE', `/jupyter/api/kernels/${mine?.kernelId}`),
        as(bob, 'DELETE', `/jupyter/api/kernels/${his?.kernelId}`),
      ]);
    });

    /** Starts a cell that sleeps for a minute; resolves once it surely runs (it has printed). */
    async function sleeping(k: KernelSession): Promise<string> {
      const id = k.channels.submit('import time\nprint("sleeping", flush=True)\ntime.sleep(60)');
      for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
        if (k.channels.messages.some((m) => m.parent_header?.msg_id === id && m.msg_type === 'stream'))
          return id;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the cell never started');
    }

    it("lists only the caller's own kernels", async () => {
      const ids = async (u: TestUser) =>
        ((await as(u, 'GET', '/jupyter/api/kernels')).json as { id: string }[]).map((k) => k.id);
      expect(await ids(alice)).toEqual([mine.kernelId]);
      expect(await ids(bob)).toEqual([his.kernelId]);
      expect((await as(olga, 'GET', '/jupyter/api/kernels')).json).toEqual([]);
      const one = await as(alice, 'GET', `/jupyter/api/kernels/${mine.kernelId}`);
      expect(one.json).toMatchObject({ id: mine.kernelId, name: 'python3' });
    });

    it('interrupts a running cell (KeyboardInterrupt), and the kernel answers afterwards', async () => {
      const id = await sleeping(his);
      const r = await as(bob, 'POST', `/jupyter/api/kernels/${his.kernelId}/interrupt`);
      expect(r.status, r.text).toBe(204);
      const reply = await his.channels.replyTo(id, 'execute_reply', 15_000);
      expect(reply.content).toMatchObject({ status: 'error', ename: 'KeyboardInterrupt' });
      // ipykernel aborts (stop_on_error) what reaches it just after a failed cell: an "aborted" reply is
      // an answer, but not the one asked for, so a cell that came too soon is sent again.
      let after = await his.channels.execute('1 + 1');
      if ((after.reply.content as { status?: string }).status === 'aborted')
        after = await his.channels.execute('1 + 1');
      expect(after.out, JSON.stringify(after.reply.content)).toBe('2');
    });

    it('follows a notebook renamed in its project, and refuses to move the session to another project', async () => {
      const renamed = await as(alice, 'PATCH', '/jupyter/api/contents/NB/kernel.ipynb', {
        path: 'NB/kernel2.ipynb',
      });
      expect(renamed.status, renamed.text).toBe(200);
      const followed = await as(alice, 'PATCH', `/jupyter/api/sessions/${mine.sessionId}`, {
        path: 'NB/kernel2.ipynb',
      });
      expect(followed.status, followed.text).toBe(200);
      expect(followed.json).toMatchObject({
        id: mine.sessionId,
        path: 'NB/kernel2.ipynb',
        name: 'kernel2.ipynb',
        kernel: { id: mine.kernelId },
      });

      const away = await as(alice, 'PATCH', `/jupyter/api/sessions/${mine.sessionId}`, {
        path: 'OTHER/kernel2.ipynb',
      });
      expect(away.status).toBe(409);
      expect(away.json.message).toContain('stays in its project (NB)');
      const bad = await as(alice, 'PATCH', `/jupyter/api/sessions/${mine.sessionId}`, { path: 'kernel2' });
      expect(bad.status).toBe(400);
      expect(bad.json.message).toContain('<PROJECTKEY>/<name>.ipynb');
      const still = await as(alice, 'GET', `/jupyter/api/sessions/${mine.sessionId}`);
      expect(still.json.path).toBe('NB/kernel2.ipynb');
    });

    it("restarts a kernel stuck in a cell in the same session: same id, variables gone, the next cell's output comes, and its ticket works until the session closes", async () => {
      const first = await mine.channels.execute(
        'import os\nx = 41\nprint(os.environ["DKU_API_TICKET"][::-1])',
      );
      const ticket = printedTicket(first.out.trim());
      expect((await server.request('GET', '/public/api/auth/info', { ticket })).status).toBe(200);

      // Kernel → Restart is what a person does with a kernel stuck in a cell.
      await sleeping(mine);
      expect((await as(alice, 'GET', `/jupyter/api/kernels/${mine.kernelId}`)).json.execution_state).toBe(
        'busy',
      );
      const restarted = await as(alice, 'POST', `/jupyter/api/kernels/${mine.kernelId}/restart`);
      expect(restarted.status, restarted.text).toBe(200);
      expect(restarted.json).toMatchObject({ id: mine.kernelId, name: 'python3' });
      const session = await as(alice, 'GET', `/jupyter/api/sessions/${mine.sessionId}`);
      expect(session.json.kernel.id).toBe(mine.kernelId);

      // The first cell after a restart has its output: the restart answers once the new kernel's
      // messages reach Coffer (they were lost about one restart in three before).
      const gone = await mine.channels.execute('x', 15_000);
      expect(gone.reply.content).toMatchObject({ status: 'error', ename: 'NameError' });
      const again = await mine.channels.execute(
        'import os\nprint(os.environ["DKU_API_TICKET"][::-1])',
        15_000,
      );
      expect(printedTicket(again.out.trim())).toBe(ticket);
      expect((await server.request('GET', '/public/api/auth/info', { ticket })).status).toBe(200);
      for (const i of [1, 2]) {
        expect((await as(alice, 'POST', `/jupyter/api/kernels/${mine.kernelId}/restart`)).status).toBe(200);
        expect((await mine.channels.execute(`print(${i})`, 15_000)).out).toBe(`${i}\n`);
      }

      expect((await as(alice, 'DELETE', `/jupyter/api/sessions/${mine.sessionId}`)).status).toBe(204);
      expect((await server.request('GET', '/public/api/auth/info', { ticket })).status).toBe(401);
    });
  });
});
