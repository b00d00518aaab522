/*
 * The rough edges of issue 15 that a new user meets first, kept fixed: every page names itself in the
 * browser tab, the sign-in page starts in Login, a failed job is not shown in the success colour and
 * says its exit code once, the job page leads back to its project and recipe with headings in order,
 * and a button's accessible name contains the label it shows.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type TestUser } from '../test/support/test-server.js';
import { openPage, screenshot, skipBrowser, useBrowser } from './support/browser.js';
import { addSecret, signIn } from './support/flows.js';

/** The page's tab title, once the page has set it. */
async function expectTitle(page: Page, title: string | RegExp): Promise<void> {
  if (typeof title === 'string') await expect.poll(() => page.title()).toBe(title);
  else await expect.poll(() => page.title()).toMatch(title);
}

/** The levels of the page's headings, in document order. */
function headingLevels(page: Page): Promise<number[]> {
  return page
    .locator('main h1, main h2, main h3, main h4, main h5, main h6')
    .evaluateAll((hs) => hs.map((h) => Number(h.tagName.slice(1))));
}

/** Every button whose aria-label does not contain its visible label, as "label → name". */
function mislabelledButtons(page: Page): Promise<string[]> {
  return page.locator('button[aria-label]').evaluateAll((bs) =>
    bs
      .map((b) => [(b as HTMLElement).innerText.trim(), b.getAttribute('aria-label') ?? ''] as const)
      .filter(([label, name]) => label !== '' && !name.toLowerCase().includes(label.toLowerCase()))
      .map(([label, name]) => `${label} → ${name}`),
  );
}

/** The computed text colour of the success style, as the browser resolves it. */
function successColour(page: Page): Promise<string> {
  return page.evaluate(() => {
    const probe = document.createElement('span');
    probe.className = 'success';
    document.body.append(probe);
    const colour = getComputedStyle(probe).color;
    probe.remove();
    return colour;
  });
}

describe.skipIf(skipBrowser)('polish: titles, focus, job states and accessible names', () => {
  const { browser } = useBrowser();
  let server: TestServer;
  let admin: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    server = await TestServer.start();
    admin = await server.createUser('root', { admin: true });
    bob = await server.createUser('bob');
    const as = (method: string, p: string, body?: unknown) =>
      server.request(method, p, { key: admin.key, body });
    expect((await as('POST', '/api/v1/projects', { key: 'SALES', name: 'Sales' })).status).toBe(201);
    await as('PUT', '/api/v1/projects/SALES/recipes/fetch', {
      language: 'python',
      code: 'import sys\nprint("giving up")\nsys.exit(1)\n',
    });
    await as('PUT', `/api/v1/projects/SALES/members/${bob.login}`, { role: 'reader' });
  });
  afterAll(() => server.close());

  it('focuses Login on the sign-in page, and every page names itself in the tab title', async (ctx) => {
    const { page, problems } = await openPage(browser(), server.url, ctx);
    await page.goto('/');
    const login = page.getByLabel('Login');
    await login.waitFor();
    await expectTitle(page, 'Sign in — Coffer');
    await expect.poll(() => login.evaluate((el) => el === document.activeElement)).toBe(true);
    // Typing goes straight into the field.
    await page.keyboard.type(admin.login);
    await expect(login.inputValue()).resolves.toBe(admin.login);

    await signIn(page, admin.login, admin.password);
    await expectTitle(page, 'Profile — Coffer');
    await page.getByRole('link', { name: 'API keys' }).click();
    await expectTitle(page, 'API keys — Profile — Coffer');
    await page.getByRole('link', { name: 'Projects' }).click();
    await expectTitle(page, 'Projects — Coffer');
    await page.getByRole('link', { name: 'SALES', exact: true }).click();
    await expectTitle(page, 'Project SALES — Coffer');
    await page.goto('/projects/SALES/recipes/fetch');
    await expectTitle(page, 'Recipe fetch — Coffer');
    await page.getByRole('link', { name: 'Administration' }).click();
    await expectTitle(page, /Administration — Coffer$/);
    await page.getByRole('link', { name: 'Plugins' }).click();
    await expectTitle(page, /Administration — Coffer$/);
    expect(problems).toEqual([]);
  });

  it('a failed job is not shown as a success, says its exit code once, and its page leads back', async (ctx) => {
    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, admin.login, admin.password);
    await page.goto('/projects/SALES/recipes/fetch');
    await page.getByRole('heading', { name: 'fetch' }).waitFor();
    const ok = await successColour(page);

    await page.getByRole('button', { name: 'Run' }).click();
    const badge = page.locator('.job .state-failed');
    await badge.waitFor({ timeout: 60_000 });
    await expect(badge.evaluate((b) => getComputedStyle(b).color)).resolves.not.toBe(ok);
    const status = page.getByRole('status').filter({ hasText: /^Job failed\.$/ });
    await status.waitFor();
    await expect(status.getAttribute('class')).resolves.not.toMatch(/\bsuccess\b/);
    await expect(status.evaluate((s) => getComputedStyle(s).color)).resolves.not.toBe(ok);
    // The summary under the job's heading (the log below is the runner's own transcript).
    const summary = page.locator('section.job p').filter({ hasText: /^Ran as / });
    await expect(summary.textContent()).resolves.toContain('exited with code 1');
    expect((await summary.textContent())!.match(/code 1\b/g)).toHaveLength(1);
    await screenshot(page, 'polish-failed-job');

    // The job's own page: its title, a breadcrumb back to its project and recipe, headings in order.
    const { json } = await server.request('GET', '/api/v1/jobs?project=SALES', { key: admin.key });
    const id = json.jobs[0].id as string;
    await page.goto(`/jobs/${id}`);
    await page.locator('.job .state-failed').waitFor();
    await expectTitle(page, `Job ${id.slice(0, 8)} — Coffer`);
    expect((await summary.textContent())!.match(/code 1\b/g)).toHaveLength(1);
    await expect(
      page.locator('.job .state-failed').evaluate((b) => getComputedStyle(b).color),
    ).resolves.not.toBe(ok);
    const levels = await headingLevels(page);
    expect(levels[0]).toBe(1);
    levels.forEach((level, i) => {
      if (i > 0)
        expect(level, `heading ${i + 1} of ${levels.join(',')}`).toBeLessThanOrEqual(levels[i - 1]! + 1);
    });
    const crumbs = page.locator('.crumbs');
    await expect(crumbs.getByRole('link', { name: 'SALES' }).getAttribute('href')).resolves.toBe(
      '/projects/SALES',
    );
    await screenshot(page, 'polish-job-page');
    await crumbs.getByRole('link', { name: 'fetch' }).click();
    await page.getByRole('heading', { name: 'fetch' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/projects/SALES/recipes/fetch');
    await page.goto(`/jobs/${id}`);
    await crumbs.getByRole('link', { name: 'SALES' }).click();
    await expectTitle(page, 'Project SALES — Coffer');
    expect(problems).toEqual([]);
  });

  it("a button's accessible name contains the label it shows", async (ctx) => {
    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, admin.login, admin.password);
    await page.goto('/admin/users');
    const reset = page.getByRole('button', { name: `Reset password for ${bob.login}`, exact: true });
    await expect(reset.innerText()).resolves.toBe('Reset password');
    // Speech input: saying the visible label finds the button.
    await expect(page.getByRole('button', { name: /^Reset password/ }).count()).resolves.toBeGreaterThan(0);
    await expect(page.getByRole('button', { name: /^Delete/ }).count()).resolves.toBeGreaterThan(0);
    await expect(mislabelledButtons(page)).resolves.toEqual([]);

    await addSecret(page, 'db-password', 's3cret');
    await expect(mislabelledButtons(page)).resolves.toEqual([]);
    // In-app links: the unsaved secret stays, and a reload would ask to leave.
    await page.getByRole('link', { name: 'Projects' }).click();
    await page.getByRole('link', { name: 'SALES', exact: true }).click();
    await page.getByRole('heading', { name: /Sales/ }).waitFor();
    await expect(mislabelledButtons(page)).resolves.toEqual([]);
    await page.getByRole('link', { name: 'Profile' }).click();
    await page.getByRole('link', { name: 'API keys' }).click();
    await expectTitle(page, 'API keys — Profile — Coffer');
    await expect(mislabelledButtons(page)).resolves.toEqual([]);
    expect(problems).toEqual([]);
  });
});
