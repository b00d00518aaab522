/*
 * The API keys tab (create, shown once with a copy button, listed, revoked) and the administration pages
 * (admins only; create, disable and enable, reset password, delete), in a real Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type TestUser } from '../test/support/test-server.js';
import { openPage, screenshot, skipBrowser, useBrowser } from './support/browser.js';
import { addSecret, everythingThePageKeeps, save, seedSnippetFinds, signIn } from './support/flows.js';

describe.skipIf(skipBrowser)('API keys and administration, in the browser', () => {
  const { browser } = useBrowser();
  let server: TestServer;
  let admin: TestUser;

  beforeAll(async () => {
    server = await TestServer.start();
    admin = await server.createUser('root-admin', { admin: true });
  });
  afterAll(() => server.close());

  const newUser = (login: string): Promise<TestUser> =>
    server.createUser(`${login}-${Math.random().toString(36).slice(2, 8)}`);

  it('creates an API key shown once with a copy button; the key works until it is revoked', async (ctx) => {
    const alice = await newUser('alice');
    const { page, context, problems } = await openPage(browser(), server.url, ctx);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await signIn(page, alice.login, alice.password);
    await addSecret(page, 'credential-for-my-api', 'via-new-key');
    await save(page);

    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByLabel('Label').fill('laptop');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByRole('region', { name: 'Your new API key' });
    const key = await shown.getByLabel('New API key').inputValue();
    expect(key).toMatch(/^cofk_/);
    await shown.getByRole('button', { name: 'Copy' }).click();
    await shown.getByText('Copied to the clipboard.').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);
    await screenshot(page, 'api-keys-new');

    expect(await seedSnippetFinds(server.url, key)).toBe('via-new-key');

    // Done hides the key for good: it is nowhere in the page afterwards.
    await shown.getByRole('button', { name: 'Done' }).click();
    await shown.waitFor({ state: 'detached' });
    expect(await everythingThePageKeeps(page)).not.toContain(key);
    const row = page.getByRole('row').filter({ hasText: 'laptop' });
    await expect(row.textContent()).resolves.toContain(`…${key.slice(-4)}`);
    await screenshot(page, 'api-keys');

    await row.getByRole('button', { name: 'Revoke laptop' }).click();
    await page
      .getByRole('dialog', { name: 'Revoke this API key?' })
      .getByRole('button', { name: 'Revoke' })
      .click();
    await row.waitFor({ state: 'detached' });
    const refused = await server.request('GET', '/dip/publicapi/auth/info', { key });
    expect(refused.status).toBe(401);
    expect(problems).toEqual([]);
  });

  it('a user who is not an administrator cannot reach the administration page', async (ctx) => {
    const bob = await newUser('bob');
    const { page } = await openPage(browser(), server.url, ctx);
    await signIn(page, bob.login, bob.password);
    await expect(page.getByRole('link', { name: 'Administration' }).count()).resolves.toBe(0);
    await page.goto('/admin/users');
    await page.getByText('This page is for administrators only.').waitFor();
    await expect(page.getByRole('table').count()).resolves.toBe(0);
    // The page is only a courtesy: the API itself refuses.
    const status = await page.evaluate(async () => (await fetch('/api/v1/admin/users')).status);
    expect(status).toBe(403);
  });

  it('an administrator creates a user, who must choose their own password at first sign-in', async (ctx) => {
    const login = `newbie-${Math.random().toString(36).slice(2, 8)}`;
    const adminPage = await openPage(browser(), server.url, ctx);
    await signIn(adminPage.page, admin.login, admin.password);
    await adminPage.page.getByRole('link', { name: 'Administration' }).click();
    await adminPage.page.getByRole('button', { name: 'Create user' }).click();
    const dialog = adminPage.page.getByRole('dialog', { name: 'Create a user' });
    await dialog.getByLabel('Login').fill(login);
    await dialog.getByLabel('Display name').fill('New Person');
    await dialog.getByLabel('Initial password').fill('initial-password-123');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await adminPage.page.getByRole('row').filter({ hasText: login }).waitFor();
    await screenshot(adminPage.page, 'admin-users');

    const userPage = await openPage(browser(), server.url, ctx);
    const page = userPage.page;
    await page.goto('/');
    await page.getByLabel('Login').fill(login);
    await page.getByLabel('Password').fill('initial-password-123');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await page.getByLabel('Current password').fill('initial-password-123');
    await page.getByLabel('New password', { exact: true }).fill('my-own-password-456');
    await page.getByLabel('New password again').fill('my-own-password-456');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('heading', { name: 'Other credentials' }).waitFor();
  });

  it('an administrator disables and enables a user, and deletes one after typing their login', async (ctx) => {
    const carol = await newUser('carol');
    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, admin.login, admin.password);
    await page.goto('/admin/users');
    const row = page.getByRole('row').filter({ hasText: carol.login });

    await row.getByRole('button', { name: `Disable ${carol.login}` }).click();
    await page
      .getByRole('dialog', { name: `Disable ${carol.login}?` })
      .getByRole('button', { name: 'Disable' })
      .click();
    await row.getByText('disabled').waitFor();
    expect((await server.request('GET', '/dip/publicapi/auth/info', { key: carol.key })).status).toBe(401);
    await row.getByRole('button', { name: `Enable ${carol.login}` }).click();
    await row.getByText('enabled').waitFor();

    await row.getByRole('button', { name: `Delete ${carol.login}` }).click();
    const dialog = page.getByRole('dialog', { name: `Delete ${carol.login}?` });
    await dialog.getByRole('button', { name: 'Delete user' }).click();
    await dialog.getByText(`Type ${carol.login} to confirm.`, { exact: true }).waitFor();
    await dialog.getByLabel(`Type ${carol.login} to confirm`).fill(carol.login);
    await dialog.getByRole('button', { name: 'Delete user' }).click();
    await row.waitFor({ state: 'detached' });
    expect(
      (await server.request('GET', `/api/v1/admin/users/${carol.login}`, { key: admin.key })).status,
    ).toBe(404);
    expect(problems).toEqual([]);
  });

  it('the administration page says how users’ code is isolated: sandbox, accounts, network, limits', async (ctx) => {
    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, admin.login, admin.password);
    await page.goto('/admin/users');
    const card = page.getByRole('region', { name: 'Users’ code' });
    await card.getByText('Users’ code runs in a sandbox (bubblewrap).').waitFor();
    await card.getByText(/2048 MiB of memory, 256 processes, 3600 s of CPU time/).waitFor();
    await card.getByText('the machine’s network').waitFor();
    await expect(card.getByRole('alert').count()).resolves.toBe(0);
    await screenshot(page, 'admin-sandbox');
    expect(problems).toEqual([]);
  });

  it("a password reset warns that it destroys the user's secrets, and it does", async (ctx) => {
    const dave = await newUser('dave');
    await server.request('PUT', '/api/v1/me/secrets/token', {
      key: dave.key,
      body: { value: 'gone-after-reset' },
    });
    const { page } = await openPage(browser(), server.url, ctx);
    await signIn(page, admin.login, admin.password);
    await page.goto('/admin/users');
    await page.getByRole('button', { name: `Reset password for ${dave.login}` }).click();
    const dialog = page.getByRole('dialog', { name: `Reset the password of ${dave.login}` });
    await dialog.getByText(/credentials \(secrets\) are destroyed/).waitFor();
    await dialog.getByLabel('New password').fill('recovery-password-789');
    await dialog.getByRole('button', { name: 'Reset password' }).click();
    await dialog.getByText(/Tick the box/).waitFor();
    await dialog.getByLabel(/I understand/).check();
    await dialog.getByRole('button', { name: 'Reset password' }).click();
    await page.getByText(`${dave.login}'s password was reset; 1 secret destroyed.`).waitFor();
    const signedIn = await server.login(dave.login, 'recovery-password-789');
    const secrets = await server.request('GET', '/api/v1/me/secrets', { session: signedIn });
    expect(secrets.status).toBe(403); // must choose a new password first
  });
});
