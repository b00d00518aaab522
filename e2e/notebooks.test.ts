/*
 * A project's notebooks on its page: a person creates one (Python or R), imports an .ipynb from their
 * disk, exports one back to a file, and deletes one after confirming. Jupyter's own page, where a
 * notebook opens, is e2e/jupyter-page.test.ts.
 */
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type TestUser } from '../test/support/test-server.js';
import { openPage, screenshot, skipBrowser, useBrowser } from './support/browser.js';
import { signIn } from './support/flows.js';

describe.skipIf(skipBrowser)('notebooks on the project page, in the browser', () => {
  const { browser } = useBrowser();
  let server: TestServer;
  let alice: TestUser;

  beforeAll(async () => {
    server = await TestServer.start({});
    alice = await server.createUser('alice');
    await server.request('POST', '/api/v1/projects', { key: alice.key, body: { key: 'LAB', name: 'Lab' } });
  });
  afterAll(() => server.close());

  it('creates, imports, exports and deletes notebooks', async (ctx) => {
    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, alice.login, alice.password);
    await page.goto('/projects/LAB');
    const card = page.locator('section', { has: page.getByRole('heading', { name: 'Notebooks' }) });
    await card.getByText('No notebooks yet.').waitFor();

    await card.getByRole('button', { name: 'New notebook' }).click();
    const dialog = page.getByRole('dialog', { name: 'New notebook' });
    await dialog.getByLabel('Name').fill('explore');
    await dialog.getByLabel('Language').selectOption('r');
    await dialog.getByRole('button', { name: 'Create' }).click();
    // A new notebook opens in Jupyter's page (e2e/jupyter-page.test.ts); back to the project.
    await page.waitForURL('**/jupyter/notebooks/LAB/explore.ipynb');
    await page.goto('/projects/LAB');
    await expect(card.getByRole('row', { name: /explore/ }).textContent()).resolves.toContain('R');

    const dir = mkdtempSync(path.join(tmpdir(), 'coffer-e2e-ipynb-'));
    const doc = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
      cells: [
        { cell_type: 'code', source: 'print("imported")', metadata: {}, outputs: [], execution_count: null },
      ],
    };
    const file = path.join(dir, 'from-disk.ipynb');
    writeFileSync(file, JSON.stringify(doc));
    await card.getByLabel('Notebook file to import').setInputFiles(file);
    await card.getByRole('status').filter({ hasText: 'Imported from-disk.ipynb as from-disk.' }).waitFor();

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      card
        .getByRole('row', { name: /from-disk/ })
        .getByRole('button', { name: 'Export' })
        .click(),
    ]);
    expect(download.suggestedFilename()).toBe('from-disk.ipynb');
    const saved = path.join(dir, 'exported.ipynb');
    await download.saveAs(saved);
    expect(JSON.parse(readFileSync(saved, 'utf8'))).toEqual(doc);
    await screenshot(page, 'notebooks');

    await card
      .getByRole('row', { name: /explore/ })
      .getByRole('button', { name: 'Delete' })
      .click();
    const confirm = page.getByRole('dialog', { name: 'Delete explore?' });
    await confirm.getByRole('button', { name: 'Delete explore' }).click();
    await card.getByRole('status').filter({ hasText: 'Deleted explore.' }).waitFor();
    await expect(card.getByRole('row', { name: /explore/ }).count()).resolves.toBe(0);
    const left = (await server.request('GET', '/api/v1/projects/LAB/notebooks', { key: alice.key })).json;
    expect(left.notebooks.map((n: { name: string }) => n.name)).toEqual(['from-disk']);
    expect(problems).toEqual([]);
  });
});
