/*
 * Jupyter's own notebook page, served by Coffer under its sign-in (docs/adr/0020), driven as a person
 * would: a notebook created from the project page opens in Jupyter; the seed's snippet pasted into a
 * cell runs in the person's own kernel and finds their secret, whose value prints as *****; File →
 * Close and Halt stops the kernel and its ticket is refused from then on; two people on one notebook
 * each get their own identity; a cell holding a value cannot be saved, and the page says why; a kernel
 * gone with a server restart is named as gone, with a new one offered; a kernel's HTML or JavaScript
 * output runs no script in the page.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printedTicket } from '../test/support/printed-ticket.js';
import { TestServer, type TestUser } from '../test/support/test-server.js';
import { openPage, screenshot, skipBrowser, useBrowser } from './support/browser.js';
import { signIn } from './support/flows.js';

const ALICE_SECRET = 'alice-nb-value-3c9e1f7a';
const BOB_SECRET = 'bob-nb-value-8a2d4b6c';
const PYTHON_SNIPPET = `import dataiku
client = dataiku.api_client()
${readFileSync('test/fixtures/seed/python-snippet.py', 'utf8')}
print("value:", secret_value)
import os
print("ticket:", os.environ["DKU_API_TICKET"][::-1])
`;
const R_SNIPPET = `${readFileSync('test/fixtures/seed/r-snippet.R', 'utf8')}
cat("value:", secret_value, "\\n")
`;

/** Jupyter's page for a notebook, opened and connected to a kernel that is ready. */
async function kernelReady(page: Page): Promise<void> {
  await page.locator('#notebook-container .cell').first().waitFor();
  await page.locator('#kernel_indicator_icon.kernel_idle_icon').waitFor({ timeout: 60_000 });
}

/** Pastes code into the selected cell and runs it (Shift+Enter); returns that cell's output text. */
async function runInCell(page: Page, index: number, code: string): Promise<string> {
  const cell = page.locator('#notebook-container .cell').nth(index);
  await cell.locator('.CodeMirror').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(code);
  await page.keyboard.press('Shift+Enter');
  // Done when its prompt shows an execution count, not "*".
  await cell.locator('.input_prompt', { hasText: /\[\d+\]/ }).waitFor({ timeout: 90_000 });
  return (await cell.locator('.output_area').allTextContents()).join('\n');
}

describe.skipIf(skipBrowser)("Jupyter's notebook page, in the browser", () => {
  const { browser } = useBrowser();
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  const as = (u: TestUser, method: string, p: string, body?: unknown) =>
    server.request(method, p, { key: u.key, body });

  beforeAll(async () => {
    server = await TestServer.start({});
    alice = await server.createUser('alice');
    bob = await server.createUser('bob');
    await as(alice, 'PUT', '/api/v1/me/secrets/credential-for-my-api', { value: ALICE_SECRET });
    await as(bob, 'PUT', '/api/v1/me/secrets/credential-for-my-api', { value: BOB_SECRET });
    expect((await as(alice, 'POST', '/api/v1/projects', { key: 'LAB', name: 'Lab' })).status).toBe(201);
    await as(alice, 'PUT', '/api/v1/projects/LAB/members/bob', { role: 'contributor' });
  });
  afterAll(() => server.close());

  it("creates a Python notebook, runs the seed's snippet in Alice's kernel, masks the value, and Close and Halt ends the ticket", async (ctx) => {
    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, alice.login, alice.password);
    await page.goto('/projects/LAB');
    const card = page.locator('section', { has: page.getByRole('heading', { name: 'Notebooks' }) });
    await card.getByRole('button', { name: 'New notebook' }).click();
    const dialog = page.getByRole('dialog', { name: 'New notebook' });
    await dialog.getByLabel('Name').fill('explore');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL('**/jupyter/notebooks/LAB/explore.ipynb');
    await kernelReady(page);
    await expect(page.locator('#notebook_name').textContent()).resolves.toBe('explore');

    const out = await runInCell(page, 0, PYTHON_SNIPPET);
    expect(out).toContain('value: *****');
    expect(out).not.toContain(ALICE_SECRET);
    const ticket = printedTicket(/ticket: (\S+)/.exec(out)?.[1]);
    expect(ticket).toBeDefined();
    // The ticket is Alice's, alive while her kernel runs.
    const live = await server.request('GET', '/dip/publicapi/auth/info', {
      headers: { 'x-dku-apiticket': ticket! },
    });
    expect(live.json.authIdentifier).toBe('alice');

    await page.keyboard.press('Control+S');
    await page.locator('.checkpoint_status', { hasText: /Last Checkpoint/ }).waitFor();
    await screenshot(page, 'jupyter-python');
    const saved = (await as(alice, 'GET', '/api/v1/projects/LAB/notebooks/explore')).json;
    expect(JSON.stringify(saved.content)).toContain('value: *****');
    expect(JSON.stringify(saved.content)).not.toContain(ALICE_SECRET);

    await page.locator('#filelink').click();
    await page.locator('#close_and_halt').click();
    await page.waitForURL('**/projects/LAB');
    const after = await server.request('GET', '/dip/publicapi/auth/info', {
      headers: { 'x-dku-apiticket': ticket! },
    });
    expect(after.status).toBe(401);
    expect(problems).toEqual([]);
  });

  /** A notebook made through the API, then opened in Jupyter's page by a signed-in person. */
  async function openNotebook(
    user: TestUser,
    name: string,
    ctx: Parameters<typeof openPage>[2],
    language = 'python',
  ) {
    const made = await as(user, 'PUT', `/api/v1/projects/LAB/notebooks/${name}`, { language });
    expect([200, 201, 409]).toContain(made.status);
    const opened = await openPage(browser(), server.url, ctx);
    await signIn(opened.page, user.login, user.password);
    await opened.page.goto(`/jupyter/notebooks/LAB/${name}.ipynb`);
    await kernelReady(opened.page);
    return opened;
  }

  it("runs the seed's R snippet, as written, in an R notebook", async (ctx) => {
    const { page, problems } = await openNotebook(alice, 'in-r', ctx, 'r');
    const out = await runInCell(page, 0, R_SNIPPET);
    expect(out).toContain('value: *****');
    expect(out).not.toContain(ALICE_SECRET);
    await screenshot(page, 'jupyter-r');
    expect(problems).toEqual([]);
  });

  it('gives two people on one notebook a kernel each, running as each of them', async (ctx) => {
    const code = `import dataiku
client = dataiku.api_client()
info = client.get_auth_info(with_secrets=True)
mine = [s["value"] for s in info["secrets"] if s["key"] == "credential-for-my-api"][0]
print("who:", info["authIdentifier"], "starts:", mine[:5], "whole:", mine)
`;
    const a = await openNotebook(alice, 'shared', ctx);
    const b = await openNotebook(bob, 'shared', ctx);
    const outA = await runInCell(a.page, 0, code);
    const outB = await runInCell(b.page, 0, code);
    expect(outA).toContain('who: alice starts: alice whole: *****');
    expect(outB).toContain('who: bob starts: bob-n whole: *****');
    expect(outB).not.toContain(BOB_SECRET);
    const kernelA = (await as(alice, 'GET', '/jupyter/api/sessions')).json;
    const kernelB = (await as(bob, 'GET', '/jupyter/api/sessions')).json;
    const onShared = (sessions: { path: string; kernel: { id: string } }[]) =>
      sessions.filter((s) => s.path === 'LAB/shared.ipynb').map((s) => s.kernel.id);
    const idsA = onShared(kernelA);
    const idsB = onShared(kernelB);
    expect(idsA).toHaveLength(1);
    expect(idsB).toHaveLength(1);
    expect(idsA[0]).not.toBe(idsB[0]);
    expect(a.problems).toEqual([]);
    expect(b.problems).toEqual([]);
  });

  it('refuses to save a cell holding one of your values, says which and how to read it instead, and stores nothing', async (ctx) => {
    const { page } = await openNotebook(alice, 'leaky', ctx);
    const before = (await as(alice, 'GET', '/api/v1/projects/LAB/notebooks/leaky')).json;
    const cell = page.locator('#notebook-container .cell').first();
    await cell.locator('.CodeMirror').click();
    await page.keyboard.insertText(`token = "${ALICE_SECRET}"`);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+S');
    const refused = page.getByRole('dialog').filter({ hasText: 'Not saved' });
    await refused
      .filter({ hasText: 'cell 1 holds the value of your secret "credential-for-my-api"' })
      .waitFor();
    await expect(refused.textContent()).resolves.toContain('read the secret in code instead');
    await expect(page.locator('#notification_notebook').textContent()).resolves.toBe('Not saved');
    await screenshot(page, 'jupyter-save-refused');
    const after = (await as(alice, 'GET', '/api/v1/projects/LAB/notebooks/leaky')).json;
    expect(after.revision).toBe(before.revision);
    expect(JSON.stringify(after)).not.toContain(ALICE_SECRET);
  });

  it("runs no script that a kernel's HTML or JavaScript output puts in the page, and lets nothing out", async (ctx) => {
    const hits: string[] = [];
    const evil = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end();
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    const out = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
    try {
      const { page, problems } = await openNotebook(alice, 'outputs', ctx);
      const title = await page.title();
      await runInCell(
        page,
        0,
        `from IPython.display import HTML, Javascript, display
display(HTML('<img src="${out}/img"><img src="x" onerror="document.title=\\'pwned-onerror\\'"><script>document.title="pwned-script"</script>'))
display(Javascript('document.title = "pwned-js"; fetch("${out}/js")'))
print("done")`,
      );
      await page.locator('.output_area', { hasText: 'done' }).waitFor();
      await page.waitForTimeout(500);
      expect(await page.title()).toBe(title);
      expect(hits).toEqual([]);
      // The browser refused each, by the page's Content-Security-Policy.
      expect(problems.some((p) => p.includes('policy violation: img-src'))).toBe(true);
      expect(problems.some((p) => /policy violation: script-src/.test(p))).toBe(true);
    } finally {
      evil.close();
    }
  });

  it('lists your running kernels on the project page to stop, and every kernel to an administrator', async (ctx) => {
    const admin = await server.createUser('root', { admin: true });
    const carol = await server.createUser('carol');
    await as(alice, 'PUT', '/api/v1/projects/LAB/members/carol', { role: 'contributor' });
    await as(carol, 'PUT', '/api/v1/projects/LAB/notebooks/carols', { language: 'python' });
    const opened = await as(carol, 'POST', '/jupyter/api/sessions', { path: 'LAB/carols.ipynb' });
    expect(opened.status).toBe(201);
    await as(carol, 'PUT', '/api/v1/projects/LAB/notebooks/own', { language: 'python' });
    const own = await as(carol, 'POST', '/jupyter/api/sessions', { path: 'LAB/own.ipynb' });

    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, carol.login, carol.password);
    await page.goto('/projects/LAB');
    const mine = page.getByRole('region', { name: 'Your running kernels' });
    await mine.getByRole('link', { name: 'own' }).waitFor();
    await mine.getByRole('button', { name: 'Stop the kernel of own' }).click();
    await mine.getByRole('status').filter({ hasText: 'Stopped the kernel of own.' }).waitFor();
    const left = (await as(carol, 'GET', '/jupyter/api/sessions')).json as { id: string }[];
    expect(left.map((x) => x.id)).not.toContain(own.json.id);

    const adminPage = await openPage(browser(), server.url, ctx);
    await signIn(adminPage.page, admin.login, admin.password);
    await adminPage.page.goto('/admin/users');
    const all = adminPage.page.getByRole('region', { name: 'Running notebook kernels' });
    await all.getByRole('button', { name: 'Stop the kernel of carols (carol)' }).click();
    await all.getByRole('status').filter({ hasText: 'Stopped the kernel of carols (carol).' }).waitFor();
    expect((await as(carol, 'GET', '/jupyter/api/sessions')).json).toEqual([]);
    await screenshot(adminPage.page, 'admin-running-kernels');
    expect(problems).toEqual([]);
    expect(adminPage.problems).toEqual([]);
  });

  it('after a server restart, says the kernel is gone and starts a new one on request', async (ctx) => {
    const { page, problems } = await openNotebook(alice, 'restart', ctx);
    await runInCell(page, 0, 'x = 41');
    const port = Number(new URL(server.url).port);
    const dataDir = server.dataDir;
    await server.close({ keepData: true });
    server = await TestServer.start({ COFFER_DATA_DIR: dataDir }, {}, { port });
    const gone = page.getByRole('dialog').filter({ hasText: 'Kernel gone' });
    await gone.waitFor({ timeout: 60_000 });
    await expect(gone.textContent()).resolves.toContain('no longer running');
    await screenshot(page, 'jupyter-kernel-gone');
    await gone.getByRole('button', { name: 'Start a new kernel' }).click();
    await kernelReady(page);
    const out = await runInCell(page, 1, 'print("x" in globals(), 1 + 1)');
    expect(out).toContain('False 2');
    // While the server is down the page's requests are refused; nothing else may go wrong.
    expect(problems.filter((p) => !/WebSocket connection|ERR_CONNECTION_REFUSED/.test(p))).toEqual([]);
  });
});
