/*
 * Issue 15's behaviour, clicked through as a person would: focus lands somewhere meaningful after every
 * action that removes or disables the control it was on; unsaved credential changes are flagged in the
 * top bar on every page; removing a project member asks first; Run cannot start the same recipe twice
 * while a run is starting, and a second run keeps the first one's log and Cancel; Activity links a job's
 * read to the job, its recipe and its project.
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putRecipe, SEED_SNIPPETS, startJob, waitForJob } from '../test/support/jobs.js';
import { TestServer, type TestUser } from '../test/support/test-server.js';
import { openPage, screenshot, skipBrowser, useBrowser } from './support/browser.js';
import { addSecret, save, secretRow, signIn } from './support/flows.js';

/** Waits until `target` has focus; on failure says what had it instead. */
async function expectFocusOn(page: Page, target: Locator): Promise<void> {
  await target.waitFor();
  await expect
    .poll(
      async () =>
        (await target.evaluate((el) => el === document.activeElement))
          ? 'focused'
          : await page.evaluate(() => {
              const el = document.activeElement;
              return `focus is on ${el === document.body ? 'the page body' : (el?.outerHTML.slice(0, 120) ?? 'nothing')}`;
            }),
      { timeout: 5000 },
    )
    .toBe('focused');
}

describe.skipIf(skipBrowser)('focus, flows and messages', () => {
  const { browser } = useBrowser();
  let server: TestServer;

  beforeAll(async () => {
    // One job at a time, so a run can be held in the queue (starting) behind another for as long as the
    // test needs.
    server = await TestServer.start({ COFFER_JOB_CONCURRENCY: '1' });
  });
  afterAll(() => server.close());

  async function newUser(login: string): Promise<TestUser> {
    return server.createUser(`${login}-${Math.random().toString(36).slice(2, 8)}`);
  }

  it('a failed sign-in says so in a sentence and puts focus in the field to fix', async (ctx) => {
    const ann = await newUser('ann');
    const { page, problems } = await openPage(browser(), server.url, ctx);
    await page.goto('/login');

    await page.getByLabel('Password').fill('something');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /^Enter your login\.$/ })
      .waitFor();
    await expectFocusOn(page, page.getByRole('textbox', { name: 'Login' }));
    await expect(page.getByLabel('Login').getAttribute('aria-invalid')).resolves.toBe('true');

    await page.getByLabel('Login').fill(ann.login);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /^The login or password is incorrect\. Check both and try again\.$/ })
      .waitFor();
    await expectFocusOn(page, page.getByLabel('Password'));
    // The wrong password is selected, so typing replaces it.
    await page.keyboard.type(ann.password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Other credentials' }).waitFor();
    expect(problems).toEqual([]);
  });

  it('Save, Delete, Undo, Replace and Remove each leave focus on what comes next', async (ctx) => {
    const bea = await newUser('bea');
    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, bea.login, bea.password);
    await addSecret(page, 'alpha', 'a-value');
    await addSecret(page, 'beta', 'b-value');

    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expectFocusOn(page, page.getByRole('status').getByText('Saved 2 changes.'));

    await page.getByRole('button', { name: 'Delete alpha' }).click();
    await expectFocusOn(page, page.getByRole('button', { name: 'Undo alpha' }));
    await page.keyboard.press('Enter');
    await expectFocusOn(page, page.getByRole('button', { name: 'Delete alpha' }));

    await page.getByRole('button', { name: 'Replace beta' }).click();
    const dialog = page.getByRole('dialog', { name: 'Replace the value' });
    await dialog.getByLabel('Value', { exact: true }).fill('b-value-2');
    await dialog.getByRole('button', { name: 'Ok' }).click();
    await expectFocusOn(page, page.getByRole('button', { name: 'Undo beta' }));
    await page.keyboard.press('Enter');
    await expectFocusOn(page, page.getByRole('button', { name: 'Replace beta' }));

    // An unsaved row that is removed hands focus to the row after it, or else the one before.
    await addSecret(page, 'gamma', 'g-value');
    await addSecret(page, 'delta', 'd-value');
    await page.getByRole('button', { name: 'Remove delta' }).click();
    await secretRow(page, 'delta').waitFor({ state: 'detached' });
    await expectFocusOn(page, page.getByRole('button', { name: 'Edit gamma' }));

    await page.getByRole('button', { name: 'Discard changes' }).click();
    await expectFocusOn(
      page,
      page.getByRole('region', { name: 'Other credentials' }).getByRole('button', { name: 'Add' }),
    );
    expect(problems).toEqual([]);
  });

  it('a name already in the list says which button its row offers', async (ctx) => {
    const cat = await newUser('cat');
    const { page } = await openPage(browser(), server.url, ctx);
    await signIn(page, cat.login, cat.password);
    await addSecret(page, 'stored', 'v');
    await save(page);
    await addSecret(page, 'unsaved', 'v');
    await page.getByRole('button', { name: 'Delete stored' }).click();

    await page
      .getByRole('region', { name: 'Other credentials' })
      .getByRole('button', { name: 'Add' })
      .click();
    const dialog = page.getByRole('dialog', { name: 'Add a credential' });
    const name = dialog.getByLabel('Name');
    await name.fill('unsaved');
    await name.blur();
    await dialog
      .getByText('You have already added “unsaved” (not saved yet). To change it, use Edit in its row.')
      .waitFor();
    await name.fill('stored');
    await dialog
      .getByText(
        'The secret “stored” is marked for deletion. To keep it, use Undo in its row; to add it anew, Save first.',
      )
      .waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('button', { name: 'Undo stored' }).click();
    await page
      .getByRole('region', { name: 'Other credentials' })
      .getByRole('button', { name: 'Add' })
      .click();
    await name.fill('stored');
    await name.blur();
    await dialog
      .getByText('A secret named “stored” already exists. To change its value, use Replace in its row.')
      .waitFor();
  });

  it('unsaved credential changes are flagged in the top bar on every page until Save or Discard', async (ctx) => {
    const dan = await newUser('dan');
    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, dan.login, dan.password);
    const banner = page.getByRole('banner');
    const marker = banner.getByRole('link', { name: /unsaved credential change/ });
    await expect(marker.count()).resolves.toBe(0);

    await addSecret(page, 'first', 'v1');
    await expect(marker.textContent()).resolves.toBe('1 unsaved credential change');
    await page.getByRole('link', { name: 'Projects' }).click();
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    await expect(marker.textContent()).resolves.toBe('1 unsaved credential change');
    await screenshot(page, 'unsaved-marker-on-projects');

    // The link leads back to where they can be saved.
    await marker.click();
    await secretRow(page, 'first').getByText('unsaved: new').waitFor();
    await addSecret(page, 'second', 'v2');
    await expect(marker.textContent()).resolves.toBe('2 unsaved credential changes');
    await save(page);
    await marker.waitFor({ state: 'detached' });

    await addSecret(page, 'third', 'v3');
    await page.getByRole('link', { name: 'Activity' }).click();
    await marker.waitFor();
    await marker.click();
    await page.getByRole('button', { name: 'Discard changes' }).click();
    await marker.waitFor({ state: 'detached' });
    expect(problems).toEqual([]);
  });

  it('a new API key gets focus, and revoking one moves focus to the next key or the message', async (ctx) => {
    const eve = await newUser('eve');
    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, eve.login, eve.password);
    await page.getByRole('link', { name: 'API keys' }).click();

    for (const label of ['laptop', 'server']) {
      await page.getByLabel('Label').fill(label);
      await page.getByRole('button', { name: 'Create key' }).click();
      await expectFocusOn(page, page.getByRole('textbox', { name: 'New API key' }));
      // Focus selects the whole key, ready to copy.
      await expect(
        page
          .getByRole('textbox', { name: 'New API key' })
          .evaluate((i: HTMLInputElement) => i.selectionEnd! - i.selectionStart!),
      ).resolves.toBeGreaterThan(20);
      await page.getByRole('button', { name: 'Done' }).click();
      await expectFocusOn(page, page.getByLabel('Label'));
    }

    const keys = page.getByRole('region', { name: 'Your API keys' });
    const revokeButtons = keys.getByRole('button', { name: /^Revoke / });
    // The signed-in user's test key is listed too: revoke the two made here, one after the other.
    const before = await revokeButtons.count();
    const first = revokeButtons.first();
    const firstName = (await first.getAttribute('aria-label'))!;
    await first.click();
    await page
      .getByRole('dialog', { name: 'Revoke this API key?' })
      .getByRole('button', { name: 'Revoke' })
      .click();
    await keys.getByRole('button', { name: firstName }).waitFor({ state: 'detached' });
    await expect(revokeButtons.count()).resolves.toBe(before - 1);
    await expectFocusOn(page, revokeButtons.first());

    // With one key left, revoking it leaves the message to take focus.
    while ((await revokeButtons.count()) > 1) {
      await revokeButtons.first().click();
      await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
      await page.getByRole('dialog').waitFor({ state: 'detached' });
    }
    await revokeButtons.first().click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await keys.getByText('No API keys.').waitFor();
    await expectFocusOn(page, keys.getByRole('status').filter({ hasText: /^Revoked the key/ }));
    expect(problems).toEqual([]);
  });

  it('removing a project member asks first, and Cancel keeps them; empty fields are named in sentences', async (ctx) => {
    const fred = await newUser('fred');
    const gina = await newUser('gina');
    const hal = await newUser('hal');
    const project = `M${fred.login.slice(-6).toUpperCase()}`;
    const as = (method: string, p: string, body?: unknown) =>
      server.request(method, p, { key: fred.key, body });
    expect((await as('POST', '/api/v1/projects', { key: project, name: 'Members' })).status).toBe(201);
    await as('PUT', `/api/v1/projects/${project}/members/${gina.login}`, { role: 'reader' });
    await as('PUT', `/api/v1/projects/${project}/members/${hal.login}`, { role: 'reader' });

    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, fred.login, fred.password);
    await page.goto(`/projects/${project}`);
    const members = page.getByRole('region', { name: 'Members' });
    // A required field left empty is named in a sentence, and focus goes to it.
    await members.getByRole('button', { name: 'Add or change member' }).click();
    await members
      .getByRole('alert')
      .filter({ hasText: /^Enter the login of the person to add\.$/ })
      .waitFor();
    await expectFocusOn(page, members.getByRole('textbox', { name: 'Login' }));
    await page.getByRole('button', { name: 'New recipe' }).click();
    const newRecipe = page.getByRole('dialog', { name: 'New recipe' });
    await newRecipe.getByRole('button', { name: 'Create' }).click();
    await newRecipe
      .getByRole('alert')
      .filter({ hasText: /^Enter a name for the recipe\.$/ })
      .waitFor();
    await expectFocusOn(page, newRecipe.getByRole('textbox', { name: 'Name' }));
    await newRecipe.getByRole('button', { name: 'Cancel' }).click();

    await members.getByRole('button', { name: `Remove ${gina.login}` }).click();
    const dialog = page.getByRole('dialog', { name: `Remove ${gina.login} from ${project}?` });
    await dialog.getByText(/will no longer see this project/).waitFor();
    // Cancel has focus: Enter on a stray key press does not remove anyone.
    await expectFocusOn(page, dialog.getByRole('button', { name: 'Cancel' }));
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'detached' });
    const still = await server.request('GET', `/api/v1/projects/${project}`, { key: fred.key });
    expect((still.json.members as { login: string }[]).map((m) => m.login)).toContain(gina.login);

    await members.getByRole('button', { name: `Remove ${gina.login}` }).click();
    await dialog.getByRole('button', { name: 'Remove' }).click();
    await members.getByRole('button', { name: `Remove ${gina.login}` }).waitFor({ state: 'detached' });
    const after = await server.request('GET', `/api/v1/projects/${project}`, { key: fred.key });
    expect((after.json.members as { login: string }[]).map((m) => m.login)).not.toContain(gina.login);
    // Focus moves on to a neighbouring member's Remove, not the page body.
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? ''))
      .toMatch(/^Remove /);
    expect(problems).toEqual([]);
  });

  it('Run is disabled while a run is starting; a second run keeps the first one’s log and Cancel', async (ctx) => {
    const ida = await newUser('ida');
    const project = `J${ida.login.slice(-6).toUpperCase()}`;
    const as = (method: string, p: string, body?: unknown) =>
      server.request(method, p, { key: ida.key, body });
    expect((await as('POST', '/api/v1/projects', { key: project, name: 'Jobs' })).status).toBe(201);
    const sleeper = 'import time\nprint("run started", flush=True)\ntime.sleep(120)\n';
    await putRecipe(server, ida, project, 'blocker', 'python', sleeper);
    await putRecipe(server, ida, project, 'slow', 'python', sleeper);
    // The only job slot is taken: a run of "slow" stays queued (starting) until this one ends.
    const blocker = await startJob(server, ida, project, 'blocker');
    // Whatever happens below, no sleeper is left holding the only job slot for the tests after this one.
    ctx.onTestFinished(async () => {
      const mine = await as('GET', '/api/v1/jobs');
      for (const j of mine.json.jobs as { id: string; state: string }[])
        if (j.state === 'queued' || j.state === 'running') await as('POST', `/api/v1/jobs/${j.id}/cancel`);
    });

    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, ida.login, ida.password);
    await page.goto(`/projects/${project}/recipes/slow`);
    const run = page.getByRole('button', { name: 'Run', exact: true });
    await run.click();
    const jobs = page.locator('section.job');
    await jobs.first().locator('.state-queued').waitFor();
    await expect(run.isDisabled()).resolves.toBe(true);
    // Still disabled a moment later: the run has not started yet.
    await page.waitForTimeout(1500);
    await expect(run.isDisabled()).resolves.toBe(true);
    await expect(jobs.count()).resolves.toBe(1);

    await as('POST', `/api/v1/jobs/${blocker}/cancel`);
    await jobs.first().locator('.state-running').waitFor({ timeout: 30_000 });
    await expect.poll(() => run.isDisabled()).toBe(false);

    await run.click();
    await expect.poll(() => jobs.count()).toBe(2);
    // The newest run comes first; the first run, still going, keeps its log and its Cancel.
    const firstRun = jobs.nth(1);
    await firstRun.locator('.state-running').waitFor();
    await expect.poll(() => firstRun.getByLabel('Job log').textContent()).toContain('run started');
    await firstRun.getByRole('button', { name: 'Cancel' }).waitFor();
    await screenshot(page, 'two-runs');

    await firstRun.getByRole('button', { name: 'Cancel' }).click();
    await firstRun.locator('.state-cancelled').waitFor({ timeout: 30_000 });
    const secondRun = jobs.nth(0);
    await secondRun.locator('.state-running').waitFor({ timeout: 30_000 });
    await secondRun.getByRole('button', { name: 'Cancel' }).click();
    await secondRun.locator('.state-cancelled').waitFor({ timeout: 30_000 });
    expect(problems).toEqual([]);
  });

  it('Activity links a job’s read to the job, its recipe and its project', async (ctx) => {
    const jo = await newUser('jo');
    const project = `A${jo.login.slice(-6).toUpperCase()}`;
    const as = (method: string, p: string, body?: unknown) =>
      server.request(method, p, { key: jo.key, body });
    await as('PUT', '/api/v1/me/secrets/credential-for-my-api', { value: 'read-by-a-job' });
    expect((await as('POST', '/api/v1/projects', { key: project, name: 'Activity' })).status).toBe(201);
    await putRecipe(server, jo, project, 'nightly', 'python', SEED_SNIPPETS.python);
    const job = await waitForJob(server, jo, await startJob(server, jo, project, 'nightly'));
    expect(job.state, job.log).toBe('succeeded');

    const { page, problems } = await openPage(browser(), server.url, ctx);
    await signIn(page, jo.login, jo.password);
    await page.getByRole('link', { name: 'Activity' }).click();
    const row = page
      .getByRole('row')
      .filter({ hasText: `job ${job.id.slice(0, 8)} of recipe nightly in project ${project}` });
    await row.waitFor();
    await expect(row.getByRole('link', { name: job.id.slice(0, 8) }).getAttribute('href')).resolves.toBe(
      `/jobs/${job.id}`,
    );
    await expect(row.getByRole('link', { name: 'nightly' }).getAttribute('href')).resolves.toBe(
      `/projects/${project}/recipes/nightly`,
    );
    await expect(row.getByRole('link', { name: project }).getAttribute('href')).resolves.toBe(
      `/projects/${project}`,
    );
    await screenshot(page, 'activity-job');

    // The link leads to the job's page, which shows the same short id.
    await row.getByRole('link', { name: job.id.slice(0, 8) }).click();
    await page.getByRole('heading', { name: `Job ${job.id.slice(0, 8)}`, level: 1 }).waitFor();
    expect(problems).toEqual([]);
  });
});
