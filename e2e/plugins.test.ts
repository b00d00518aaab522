/*
 * Plugins in the browser: an administrator installs the sample plugin from its zip and makes a preset;
 * the plugin-level settings are saved in their generated form; a user enters her own token on her
 * Credentials tab, creates a plugin recipe through its generated form (a mandatory field left empty is
 * refused inline, nothing sent; a USER_SECRET field picks one of her secrets), runs it, and the job log
 * shows her token masked, never in clear, and the saved setting; then she deletes her token.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipDirectory, zipEntries } from '../test/support/plugin-zips.js';
import { TestServer, type TestUser } from '../test/support/test-server.js';
import { openPage, screenshot, skipBrowser, useBrowser } from './support/browser.js';
import { signIn } from './support/flows.js';

const SAMPLE = path.resolve(import.meta.dirname, '../examples/plugins/api-connect');
const TOKEN = 'tok-alice-5f2c9e-never-shown';
/** The plugin-level setting the administrator saves in the browser; the run's log shows it. */
const USER_AGENT = 'e2e-browser-bot/7';

describe.skipIf(skipBrowser)('plugins, in the browser', () => {
  const { browser } = useBrowser();
  let server: TestServer;
  let root: TestUser;
  let alice: TestUser;
  let dir: string;

  beforeAll(async () => {
    server = await TestServer.start();
    root = await server.createUser('root', { admin: true });
    alice = await server.createUser('alice');
    dir = mkdtempSync(path.join(tmpdir(), 'coffer-plugin-zips-'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an administrator installs a plugin from its zip and creates a preset; a bad archive is refused with its reason', async (ctx) => {
    const zip = path.join(dir, 'api-connect.zip');
    writeFileSync(zip, await zipDirectory(SAMPLE));
    const bad = path.join(dir, 'not-a-plugin.zip');
    writeFileSync(bad, 'this is not a zip archive');

    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, root.login, root.password);
    await page.getByRole('link', { name: 'Administration' }).click();
    await page
      .getByRole('navigation', { name: 'Administration' })
      .getByRole('link', { name: 'Plugins' })
      .click();
    await page.getByRole('heading', { name: 'Plugins' }).waitFor();

    const input = page.getByLabel('Install a plugin (.zip)');
    await input.setInputFiles(bad);
    const refused = page.getByRole('alert').filter({ hasText: 'not-a-plugin.zip was not installed' });
    await refused.waitFor();
    await expect(input.getAttribute('aria-invalid')).resolves.toBe('true');

    await input.setInputFiles(zip);
    await page
      .getByRole('status')
      .filter({ hasText: 'Installed API connect (api-connect), version 1.0.0.' })
      .waitFor();
    const card = page.getByRole('region', { name: 'API connect' });
    await expect(card.textContent()).resolves.toContain(`by ${root.login}`);

    // The plugin-level settings, a form generated from plugin.json's params: its default until saved.
    const settings = card.getByRole('region', { name: 'Plugin settings' });
    const agent = settings.getByLabel('User agent');
    await expect(agent.inputValue()).resolves.toBe('coffer-api-connect/1.0');
    await agent.fill(USER_AGENT);
    await settings.getByRole('button', { name: 'Save settings of API connect' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved the settings of API connect.' }).waitFor();
    const saved = await server.request('GET', '/public/api/plugins/api-connect/settings', { key: root.key });
    expect(saved.json.config).toEqual({ user_agent: USER_AGENT });

    await card.getByRole('button', { name: 'New preset of API credentials' }).click();
    const dialog = page.getByRole('dialog', { name: 'New preset of API credentials' });
    await dialog.getByLabel('Preset name').fill('default');
    await expect(dialog.getByLabel('API address').inputValue()).resolves.toBe('https://api.example.com');
    // The token is each user's own: the preset form does not ask for it.
    await dialog.getByText(/each user enters their own credential on their Credentials tab/).waitFor();
    await screenshot(page, 'plugin-preset');
    await dialog.getByRole('button', { name: 'Save preset' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('status').filter({ hasText: 'Saved preset default of API credentials.' }).waitFor();
    await card.locator('tr[data-preset="default"]').waitFor();
    await screenshot(page, 'plugins-admin');
    expect(problems).toEqual([]);
  });

  it('a user enters her own token, creates a plugin recipe through its form and runs it; the log masks the token; she deletes the token', async (ctx) => {
    await server.request('PUT', '/api/v1/me/secrets/warehouse-login', {
      key: alice.key,
      body: { value: 'alice-warehouse-value-31c8' },
    });
    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, alice.login, alice.password);

    await page
      .getByRole('navigation', { name: 'Profile' })
      .getByRole('link', { name: 'Credentials' })
      .click();
    await page.getByRole('heading', { name: 'Plugin credentials' }).waitFor();
    const row = page.locator('tr[data-credential="API token"]');
    await expect(row.textContent()).resolves.toContain('Not set');
    await row.getByRole('button', { name: /^Enter API token/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Enter your API token' });
    await expect(dialog.getByLabel('API token').getAttribute('type')).resolves.toBe('password');
    await dialog.getByLabel('API token').fill(TOKEN);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page
      .getByRole('status')
      .filter({ hasText: /^Saved your API token/ })
      .waitFor();
    await row.getByRole('button', { name: /^Replace API token/ }).waitFor();
    await row.getByRole('cell', { name: 'Set', exact: true }).waitFor();
    expect(await page.content()).not.toContain(TOKEN);

    expect(
      (
        await server.request('POST', '/api/v1/projects', {
          key: alice.key,
          body: { key: 'APIS', name: 'APIs' },
        })
      ).status,
    ).toBe(201);
    await page.goto('/projects/APIS');
    await page.getByRole('button', { name: 'New plugin recipe' }).click();
    const create = page.getByRole('dialog', { name: 'New plugin recipe' });
    await create.getByRole('combobox', { name: 'Plugin', exact: true }).selectOption('api-connect');
    await create.getByLabel('Recipe of the plugin').selectOption('fetch');
    await create.getByLabel('Name').fill('fetch');
    await create.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'fetch', exact: true }).waitFor();

    // The generated form: defaults filled in, help text tied to its field.
    const endpoint = page.getByLabel('Endpoint');
    await expect(page.getByLabel('Page size').inputValue()).resolves.toBe('50');
    const hintId = await endpoint.getAttribute('aria-describedby');
    expect(hintId).toBeTruthy();
    await expect(page.locator(`[id="${hintId}"]`).textContent()).resolves.toContain('The path to fetch');
    await page.getByRole('combobox', { name: 'API', exact: true }).selectOption('default');
    // A field shows only while its visibilityCondition holds.
    const note = page.getByLabel('Note printed with the raw answer');
    await expect(note.count()).resolves.toBe(0);
    await page.getByLabel('Show the raw answer').check();
    await note.waitFor();
    await page.getByLabel('Show the raw answer').uncheck();
    await note.waitFor({ state: 'detached' });
    // A USER_SECRET field picks among her own secrets' names.
    const secretPicker = page.getByLabel('Extra secret to check');
    await expect(secretPicker.locator('option').allTextContents()).resolves.toContain('warehouse-login');
    await secretPicker.selectOption('warehouse-login');

    // Endpoint is mandatory: Save with it empty is refused inline, focus goes to it, nothing is sent.
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Enter a value for Endpoint.').waitFor();
    await expect(endpoint.evaluate((e) => e === document.activeElement)).resolves.toBe(true);
    await expect(endpoint.getAttribute('aria-invalid')).resolves.toBe('true');
    await screenshot(page, 'plugin-recipe-refused');
    expect(
      (await server.request('GET', '/api/v1/projects/APIS/recipes/fetch', { key: alice.key })).status,
    ).toBe(404);

    await endpoint.fill('/v1/orders');
    await page.getByRole('button', { name: 'Save' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /^Saved at/ })
      .waitFor();
    const stored = await server.request('GET', '/api/v1/projects/APIS/recipes/fetch', { key: alice.key });
    expect(stored.json.plugin).toMatchObject({
      id: 'api-connect',
      recipe: 'fetch',
      config: {
        endpoint: '/v1/orders',
        page_size: 50,
        credentials: { mode: 'PRESET', name: 'default' },
        secret_name: 'warehouse-login',
      },
    });

    const run = page.getByRole('button', { name: 'Run' });
    await expect.poll(() => run.isEnabled()).toBe(true);
    await run.click();
    await page.locator('.state-succeeded').first().waitFor({ timeout: 60_000 });
    const log = (await page.getByLabel('Job log').textContent()) ?? '';
    expect(log).toContain('endpoint: /v1/orders');
    expect(log).toContain('token: *****');
    expect(log).toContain(`user agent: ${USER_AGENT}`);
    expect(log).toContain('secret warehouse-login: present');
    expect(log).not.toContain(TOKEN);
    await screenshot(page, 'plugin-recipe-run');
    expect(await page.content()).not.toContain(TOKEN);

    // Deleting her token on the Credentials tab, confirmed: the recipe can no longer run as her.
    await page.goto('/profile/credentials');
    await row.getByRole('button', { name: /^Delete API token/ }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete your API token?' });
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await confirm.waitFor({ state: 'detached' });
    await page
      .getByRole('status')
      .filter({ hasText: /^Deleted your API token/ })
      .waitFor();
    await row.getByText('Not set').waitFor();
    await expect(row.getByRole('button', { name: /^Delete API token/ }).count()).resolves.toBe(0);
    const ready = await server.request('GET', '/api/v1/projects/APIS/recipes/fetch/readiness', {
      key: alice.key,
    });
    expect(ready.json.missing).toEqual([expect.objectContaining({ kind: 'credential', param: 'token' })]);
    expect(problems).toEqual([]);
  });

  it('a member without the token is told what is missing, with a link, and cannot run; removing the plugin in use asks first and leaves the recipe broken', async (ctx) => {
    const bob = await server.createUser('bob');
    await server.request('PUT', `/api/v1/projects/APIS/members/${bob.login}`, {
      key: alice.key,
      body: { role: 'contributor' },
    });
    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, bob.login, bob.password);
    await page.goto('/projects/APIS/recipes/fetch');
    const missing = page.getByRole('heading', { name: 'Before you can run this recipe' });
    await missing.waitFor();
    await page.getByRole('link', { name: 'Enter it on your Credentials tab' }).waitFor();
    await expect(page.getByRole('button', { name: 'Run' }).isDisabled()).resolves.toBe(true);
    await screenshot(page, 'plugin-recipe-not-ready');

    const admin = await openPage(browser(), server.url, ctx);
    await signIn(admin.page, root.login, root.password);
    await admin.page.goto('/admin/plugins');
    await admin.page.getByRole('button', { name: 'Remove API connect' }).click();
    await admin.page
      .getByRole('dialog', { name: 'Remove API connect?' })
      .getByRole('button', { name: 'Remove' })
      .click();
    const inUse = admin.page.getByRole('dialog', { name: 'API connect is in use' });
    await inUse.getByRole('link', { name: 'APIS / fetch' }).waitFor();
    await expect(inUse.textContent()).resolves.toContain('marked broken');
    await screenshot(admin.page, 'plugin-remove-in-use');
    await inUse.getByRole('button', { name: 'Remove anyway' }).click();
    await admin.page.getByRole('status').filter({ hasText: 'Removed API connect.' }).waitFor();
    await admin.page.getByText('No plugins installed yet.').waitFor();

    await page.reload();
    await page.getByRole('heading', { name: 'This recipe cannot run' }).waitFor();
    await expect(page.getByRole('button', { name: 'Run' }).isDisabled()).resolves.toBe(true);
    expect(problems).toEqual([]);
    expect(admin.problems).toEqual([]);
  });

  it('each field type of a generated form stores the value its type means', async (ctx) => {
    const param = (name: string, type: string, extra: object = {}) => ({ name, label: name, type, ...extra });
    const choices = (...v: string[]) => ({
      selectChoices: v.map((x) => ({ value: x, label: x.toUpperCase() })),
    });
    const zip = await zipEntries([
      {
        path: 'plugin.json',
        content: JSON.stringify({ id: 'all-types', version: '1.0.0', meta: { label: 'All types' } }),
      },
      {
        path: 'custom-recipes/all/recipe.json',
        content: JSON.stringify({
          meta: { label: 'All types' },
          kind: 'PYTHON',
          params: [
            param('text', 'STRING'),
            param('lines', 'STRINGS'),
            param('long', 'TEXTAREA'),
            param('count', 'INT'),
            param('ratio', 'DOUBLE'),
            param('flag', 'BOOLEAN'),
            param('day', 'DATE'),
            { type: 'SEPARATOR', label: 'Choices', description: 'Pick some.' },
            param('one', 'SELECT', choices('a', 'b')),
            param('many', 'MULTISELECT', choices('x', 'y', 'z')),
            param('map', 'MAP'),
            param('pairs', 'KEY_VALUE_LIST'),
          ],
        }),
      },
      { path: 'custom-recipes/all/recipe.py', content: 'print("ok")\n' },
    ]);
    const installed = await server.request('POST', '/api/v1/admin/plugins', {
      key: root.key,
      rawBody: zip,
      headers: { 'content-type': 'application/zip' },
    });
    expect(installed.status).toBe(201);

    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, alice.login, alice.password);
    await page.goto('/projects/APIS/recipes/types?plugin=all-types&component=all');
    await page.getByRole('heading', { name: 'Choices' }).waitFor();
    await page.getByText('Pick some.').waitFor();
    await page.getByLabel('text', { exact: true }).fill('hello');
    await page.getByLabel('lines', { exact: true }).fill('a\nb\n\nc');
    await page.getByLabel('long', { exact: true }).fill('line 1\nline 2');
    await page.getByLabel('count', { exact: true }).fill('7');
    await page.getByLabel('ratio', { exact: true }).fill('2.5');
    await page.getByLabel('flag', { exact: true }).check();
    await page.getByLabel('day', { exact: true }).fill('2024-03-01');
    await page.getByLabel('one', { exact: true }).selectOption('b');
    const many = page.getByRole('group', { name: 'many' });
    await many.getByLabel('X', { exact: true }).check();
    await many.getByLabel('Z', { exact: true }).check();
    await page.getByLabel('map: key 1').fill('k1');
    await page.getByLabel('map: value 1').fill('v1');
    await page.getByRole('group', { name: 'map' }).getByRole('button', { name: 'Add a row' }).click();
    await page.getByLabel('map: key 2').fill('k2');
    await page.getByLabel('map: value 2').fill('v2');
    await page.getByLabel('pairs: from 1').fill('f');
    await page.getByLabel('pairs: to 1').fill('t');
    await screenshot(page, 'plugin-form-all-types');
    await page.getByRole('button', { name: 'Save' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /^Saved at/ })
      .waitFor();

    const stored = await server.request('GET', '/api/v1/projects/APIS/recipes/types', { key: alice.key });
    expect(stored.json.plugin.config).toEqual({
      text: 'hello',
      lines: ['a', 'b', 'c'],
      long: 'line 1\nline 2',
      count: 7,
      ratio: 2.5,
      flag: true,
      day: '2024-03-01',
      one: 'b',
      many: ['x', 'z'],
      map: { k1: 'v1', k2: 'v2' },
      pairs: [{ from: 'f', to: 't' }],
    });
    expect(problems).toEqual([]);
  });
});
