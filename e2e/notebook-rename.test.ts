/*
 * Renaming a notebook from its project's page: Rename on its row opens a dialog with its name, focused;
 * a name the server's rule refuses, or one already taken, is explained in the dialog and changes
 * nothing; a free name renames it, the row and its link to Jupyter's page follow, and focus lands on
 * the renamed row. Members who may not change notebooks see no Rename.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type TestUser } from '../test/support/test-server.js';
import { openPage, screenshot, skipBrowser, useBrowser } from './support/browser.js';
import { signIn } from './support/flows.js';

describe.skipIf(skipBrowser)('renaming a notebook on the project page, in the browser', () => {
  const { browser } = useBrowser();
  let server: TestServer;
  let alice: TestUser;
  let rita: TestUser;

  beforeAll(async () => {
    server = await TestServer.start({ COFFER_JOBS_ENABLED: 'false' });
    alice = await server.createUser('alice');
    rita = await server.createUser('rita');
    const as = (method: string, p: string, body: unknown) =>
      server.request(method, p, { key: alice.key, body });
    await as('POST', '/api/v1/projects', { key: 'REN', name: 'Renames' });
    await as('PUT', '/api/v1/projects/REN/members/rita', { role: 'reader' });
    for (const name of ['draft', 'taken'])
      await as('PUT', `/api/v1/projects/REN/notebooks/${name}`, { language: 'python' });
  });
  afterAll(() => server.close());

  const notebooksCard = (page: Page) =>
    page.locator('section', { has: page.getByRole('heading', { name: 'Notebooks' }) });
  const focusedLabel = (page: Page) =>
    page.evaluate(() => {
      const el = document.activeElement;
      return (
        el?.getAttribute('aria-label') ??
        (el?.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : null) ??
        null
      );
    });

  it('renames a notebook, explaining a refused or taken name in the dialog', async (ctx) => {
    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, alice.login, alice.password);
    await page.goto('/projects/REN');
    const card = notebooksCard(page);
    const rename = card.getByRole('button', { name: 'Rename draft' });
    await rename.click();
    const dialog = page.getByRole('dialog', { name: 'Rename draft' });
    const field = dialog.getByLabel('Name');
    await expect(field.inputValue()).resolves.toBe('draft');
    await expect(focusedLabel(page)).resolves.toBe('Name');

    // Escape leaves it as it was, and focus goes back to where it was.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await expect(focusedLabel(page)).resolves.toBe('Rename draft');

    await rename.click();
    await field.fill('sub/dir');
    await dialog.getByRole('button', { name: 'Rename' }).click();
    await dialog
      .getByRole('alert')
      .filter({ hasText: 'notebook name "sub/dir" cannot contain / or \\' })
      .waitFor();
    await field.fill('taken');
    await dialog.getByRole('button', { name: 'Rename' }).click();
    await dialog
      .getByRole('alert')
      .filter({ hasText: 'notebook "taken" already exists in project REN' })
      .waitFor();
    await screenshot(page, 'notebook-rename-taken');

    await field.fill('final');
    await page.keyboard.press('Enter');
    await card.getByRole('status').filter({ hasText: 'Renamed draft to final.' }).waitFor();
    await expect(page.getByRole('dialog').count()).resolves.toBe(0);
    await expect(card.getByRole('link', { name: 'final' }).getAttribute('href')).resolves.toBe(
      '/jupyter/notebooks/REN/final.ipynb',
    );
    await expect(card.getByRole('link', { name: 'draft' }).count()).resolves.toBe(0);
    // The renamed row is a new row: focus lands on its own Rename, not at the top of the page.
    await card.getByRole('button', { name: 'Rename final' }).waitFor();
    await expect(focusedLabel(page)).resolves.toBe('Rename final');

    const names = (await server.request('GET', '/api/v1/projects/REN/notebooks', { key: alice.key })).json;
    expect(names.notebooks.map((n: { name: string }) => n.name).sort()).toEqual(['final', 'taken']);
    expect(problems).toEqual([]);
  });

  it('offers no Rename to a member who may only read', async (ctx) => {
    const { page } = await openPage(browser(), server.url, ctx);
    await signIn(page, rita.login, rita.password);
    await page.goto('/projects/REN');
    const card = notebooksCard(page);
    await card.getByRole('link', { name: 'taken' }).waitFor();
    await expect(card.getByRole('button', { name: /^Rename/ }).count()).resolves.toBe(0);
  });
});
