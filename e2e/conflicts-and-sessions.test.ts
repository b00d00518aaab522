/*
 * Two tabs saving conflicting edits, and a session that ends while a person has unsaved changes: in both
 * cases nothing is lost, and the person is told what happened and what to do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type TestUser } from '../test/support/test-server.js';
import { openPage, screenshot, skipBrowser, useBrowser } from './support/browser.js';
import { addSecret, save, secretRow, signIn } from './support/flows.js';

describe.skipIf(skipBrowser)('conflicts and ended sessions, in the browser', () => {
  const { browser } = useBrowser();
  let server: TestServer;

  beforeAll(async () => {
    server = await TestServer.start();
  });
  afterAll(() => server.close());

  const newUser = (login: string): Promise<TestUser> =>
    server.createUser(`${login}-${Math.random().toString(36).slice(2, 8)}`);

  async function storedSecrets(user: TestUser): Promise<Record<string, string>> {
    const r = await server.request('GET', '/dip/publicapi/auth/info?withSecrets=true', { key: user.key });
    return Object.fromEntries(
      (r.json.secrets as { key: string; value: string }[]).map((s) => [s.key, s.value]),
    );
  }

  it('a save based on a stale list is refused with a "changed elsewhere" message, and nothing is lost', async (ctx) => {
    const alice = await newUser('alice');
    const first = await openPage(browser(), server.url, ctx);
    const second = await openPage(browser(), server.url, ctx);
    await signIn(first.page, alice.login, alice.password);
    await signIn(second.page, alice.login, alice.password);

    await addSecret(first.page, 'from-first-tab', 'one');
    await save(first.page);

    await addSecret(second.page, 'from-second-tab', 'two');
    await second.page.getByRole('button', { name: 'Save', exact: true }).click();
    const alert = second.page.getByRole('alert').filter({ hasText: 'changed elsewhere' });
    await alert.waitFor();
    await screenshot(second.page, 'conflict');
    // The refused save changed nothing, and the second tab still holds its edit.
    expect(await storedSecrets(alice)).toEqual({ 'from-first-tab': 'one' });
    await secretRow(second.page, 'from-second-tab').getByText('unsaved: new').waitFor();

    await alert.getByRole('button', { name: 'Reload the list' }).click();
    await secretRow(second.page, 'from-first-tab').waitFor();
    await secretRow(second.page, 'from-second-tab').getByText('unsaved: new').waitFor();
    await save(second.page);
    expect(await storedSecrets(alice)).toEqual({ 'from-first-tab': 'one', 'from-second-tab': 'two' });
    expect([...first.problems, ...second.problems]).toEqual([]);
  });

  it('when the session ends, the person signs in again in place and their unsaved changes are saved', async (ctx) => {
    const bob = await newUser('bob');
    const { page } = await openPage(browser(), server.url, ctx);
    await signIn(page, bob.login, bob.password);
    await addSecret(page, 'typed-before-expiry', 'kept-value');

    // The session idles out on the server (its clock moves past the idle limit).
    server.clock.advance((server.config.limits.sessionIdleMinutes + 1) * 60_000);
    try {
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'Your session has ended' });
      await dialog.waitFor();
      await dialog.getByText('Your unsaved changes are kept.').waitFor();
      await screenshot(page, 'session-ended');
      expect(await storedSecrets(bob)).toEqual({});

      await dialog.getByLabel('Password').fill(bob.password);
      await dialog.getByRole('button', { name: 'Sign in again' }).click();
      await dialog.waitFor({ state: 'detached' });
      await secretRow(page, 'typed-before-expiry').getByText('unsaved: new').waitFor();
      await save(page);
      expect(await storedSecrets(bob)).toEqual({ 'typed-before-expiry': 'kept-value' });
    } finally {
      server.clock.advance(-(server.config.limits.sessionIdleMinutes + 1) * 60_000);
    }
  });

  it('signing out asks first when there are unsaved changes, and a signed-out page shows the sign-in form', async (ctx) => {
    const carol = await newUser('carol');
    const { page } = await openPage(browser(), server.url, ctx);
    await signIn(page, carol.login, carol.password);
    await addSecret(page, 'unsaved', 'x-value');
    await page.getByRole('button', { name: 'Sign out' }).click();
    const ask = page.getByRole('dialog', { name: 'Sign out with unsaved changes?' });
    await ask.getByRole('button', { name: 'Stay' }).click();
    await secretRow(page, 'unsaved').waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await ask.getByRole('button', { name: 'Discard and sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(page.url()).toMatch(/\/login$/);
    // The cookie is gone for good: the API refuses this browser now.
    const status = await page.evaluate(async () => (await fetch('/api/v1/me')).status);
    expect(status).toBe(401);
  });

  it('a wrong password and the sign-in rate limit each get a clear message', async (ctx) => {
    const dave = await newUser('dave');
    const { page } = await openPage(browser(), server.url, ctx);
    await page.goto('/login');
    await page.getByLabel('Login').fill(dave.login);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /login or password/i })
      .waitFor();

    for (let i = 0; i < server.config.limits.loginFailuresPerWindow + 1; i++) {
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
    }
    await page
      .getByRole('alert')
      .filter({ hasText: /too many/i })
      .waitFor();
    await screenshot(page, 'sign-in-rate-limited');
  });
});
