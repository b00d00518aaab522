/*
 * A person writes a recipe, runs it as themself, and follows its log live in the browser; the log
 * shows their secret masked. A reader sees the code but cannot change or run it. Run on a recipe that
 * someone else changed shows who changed what and the diff, and runs only once confirmed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type TestUser } from '../test/support/test-server.js';
import { openPage, screenshot, skipBrowser, useBrowser } from './support/browser.js';
import { addSecret, save, signIn } from './support/flows.js';

describe.skipIf(skipBrowser)('recipes and jobs, in the browser', () => {
  const { browser } = useBrowser();
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    server = await TestServer.start();
    alice = await server.createUser('alice');
    bob = await server.createUser('bob');
  });
  afterAll(() => server.close());

  it('creates a project and a Python recipe, runs it and follows the masked log live', async (ctx) => {
    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, alice.login, alice.password);
    await addSecret(page, 'credential-for-my-api', 'value-shown-as-stars');
    await save(page);

    await page.getByRole('link', { name: 'Projects' }).click();
    await page.getByRole('button', { name: 'New project' }).click();
    const dialog = page.getByRole('dialog', { name: 'New project' });
    await dialog.getByLabel('Key').fill('forecast');
    await dialog.getByLabel('Name').fill('Forecast');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: /Forecast/ }).waitFor();
    expect(page.url()).toMatch(/\/projects\/FORECAST$/);

    await page.getByRole('button', { name: 'New recipe' }).click();
    const recipeDialog = page.getByRole('dialog', { name: 'New recipe' });
    await recipeDialog.getByLabel('Name').fill('fetch-data');
    await recipeDialog.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: 'fetch-data' }).waitFor();

    const editor = page.getByLabel('Recipe code');
    await editor.fill(
      'import dataiku\nv = dataiku.api_client().get_secret("credential-for-my-api")\nprint("token:", v)\n',
    );
    await page.getByRole('button', { name: 'Run' }).click();
    const log = page.getByLabel('Job log');
    await page.locator('.state-succeeded').first().waitFor({ timeout: 60_000 });
    await expect(log.textContent()).resolves.toContain('token: *****');
    await screenshot(page, 'recipe-run');
    expect(await page.content()).not.toContain('value-shown-as-stars');
    expect(problems).toEqual([]);

    // The code was saved before it ran.
    const stored = await server.request('GET', '/api/v1/projects/FORECAST/recipes/fetch-data', {
      key: alice.key,
    });
    expect(stored.json.code).toContain('get_secret');
  });

  it('a reader sees the recipe but cannot edit or run it', async (ctx) => {
    await server.request('POST', '/api/v1/projects', {
      key: alice.key,
      body: { key: 'SHARED', name: 'Shared' },
    });
    await server.request('PUT', '/api/v1/projects/SHARED/recipes/report', {
      key: alice.key,
      body: { language: 'python', code: 'print("report")\n' },
    });
    await server.request('PUT', `/api/v1/projects/SHARED/members/${bob.login}`, {
      key: alice.key,
      body: { role: 'reader' },
    });
    const { page } = await openPage(browser(), server.url, ctx);
    await signIn(page, bob.login, bob.password);
    await page.goto('/projects/SHARED/recipes/report');
    await page.getByRole('heading', { name: 'report' }).waitFor();
    await expect(page.getByLabel('Recipe code').getAttribute('readonly')).resolves.not.toBeNull();
    await expect(page.getByRole('button', { name: 'Run' }).count()).resolves.toBe(0);
    await page.getByText(/you are a reader/i).waitFor();
  });

  it('Run on a recipe someone else changed shows who and the diff; Cancel starts nothing, Run revision N runs it', async (ctx) => {
    const as = (user: TestUser, method: string, p: string, body?: unknown) =>
      server.request(method, p, { key: user.key, body });
    expect((await as(alice, 'POST', '/api/v1/projects', { key: 'REVIEW', name: 'Review' })).status).toBe(201);
    await as(alice, 'PUT', `/api/v1/projects/REVIEW/members/${bob.login}`, { role: 'contributor' });
    await as(alice, 'PUT', '/api/v1/projects/REVIEW/recipes/shared', {
      language: 'python',
      code: 'print("alice wrote this")\n',
    });
    expect((await as(alice, 'POST', '/api/v1/projects/REVIEW/recipes/shared/run', {})).status).toBe(202);
    const changed = await as(bob, 'PUT', '/api/v1/projects/REVIEW/recipes/shared', {
      language: 'python',
      code: 'print("alice wrote this")\nprint("bob was here")\n',
    });
    expect(changed.json.revision).toBe(2);
    const jobsOfAlice = async () =>
      (await as(alice, 'GET', '/api/v1/jobs?project=REVIEW')).json.jobs.length as number;

    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, alice.login, alice.password);
    await page.goto('/projects/REVIEW/recipes/shared');
    await page.getByRole('heading', { name: 'shared' }).waitFor();

    await page.getByRole('button', { name: 'Run' }).click();
    const dialog = page.getByRole('dialog', { name: 'Review changes to shared' });
    await dialog.waitFor();
    await expect(dialog.getByRole('listitem').textContent()).resolves.toMatch(/Revision 2 by bob/);
    await expect(dialog.textContent()).resolves.toMatch(/bob changed recipe shared since you last ran it/);
    const added = dialog.locator('ins');
    await expect(added.count()).resolves.toBe(1);
    await expect(added.textContent()).resolves.toBe('added: +print("bob was here")');
    await expect(
      dialog.getByRole('button', { name: 'Cancel' }).evaluate((b) => b === document.activeElement),
    ).resolves.toBe(true);
    await screenshot(page, 'recipe-approval');

    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('status').filter({ hasText: 'Not run' }).waitFor();
    expect(await jobsOfAlice()).toBe(1);

    await page.getByRole('button', { name: 'Run' }).click();
    await dialog.getByRole('button', { name: 'Run revision 2' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('.state-succeeded').first().waitFor({ timeout: 60_000 });
    await expect(page.getByLabel('Job log').textContent()).resolves.toContain('bob was here');
    expect(await jobsOfAlice()).toBe(2);
    const jobs = (await as(alice, 'GET', '/api/v1/jobs?project=REVIEW')).json.jobs;
    expect(jobs[0].revision).toBe(2);
    expect(problems).toEqual([]);
  });

  it('Save of a recipe someone else saved since it was opened is refused, naming them, and the edit stays on screen', async (ctx) => {
    const as = (user: TestUser, method: string, p: string, body?: unknown) =>
      server.request(method, p, { key: user.key, body });
    expect((await as(alice, 'POST', '/api/v1/projects', { key: 'EDITS', name: 'Edits' })).status).toBe(201);
    await as(alice, 'PUT', `/api/v1/projects/EDITS/members/${bob.login}`, { role: 'contributor' });
    await as(alice, 'PUT', '/api/v1/projects/EDITS/recipes/both', { language: 'python', code: 'x = 1\n' });

    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, alice.login, alice.password);
    await page.goto('/projects/EDITS/recipes/both');
    await page.getByRole('heading', { name: 'both' }).waitFor();
    // Bob saves while Alice has the recipe open.
    await as(bob, 'PUT', '/api/v1/projects/EDITS/recipes/both', { language: 'python', code: 'x = "bob"\n' });

    const editor = page.getByLabel('Recipe code');
    await editor.fill('x = "alice"\n');
    await page.getByRole('button', { name: 'Save' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'changed by bob' });
    await alert.waitFor();
    await screenshot(page, 'recipe-save-conflict');
    await expect(alert.textContent()).resolves.toContain('nothing was saved');
    await expect(editor.inputValue()).resolves.toBe('x = "alice"\n');
    expect((await as(alice, 'GET', '/api/v1/projects/EDITS/recipes/both')).json.code).toBe('x = "bob"\n');
    expect(problems.filter((p) => !p.includes('409'))).toEqual([]);
  });
});
