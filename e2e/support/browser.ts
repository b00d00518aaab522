import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Page,
} from 'playwright-core';
import { afterAll, beforeAll, type TestContext } from 'vitest';

/** Debian's Chromium, as the machines and CI install it (`apt-get install -y chromium`). */
export const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const OUTPUT_DIR = path.resolve(import.meta.dirname, '../../test-output/e2e');
export const hasChromium = existsSync(CHROMIUM);
const inCi = Boolean(process.env.CI);

if (!hasChromium && !inCi) {
  console.warn(
    [
      '',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      `!! Browser tests SKIPPED: ${CHROMIUM} not found. Install it: apt-get install -y chromium        !!`,
      '!! With CI set, a missing Chromium fails the run instead.                                    !!',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      '',
    ].join('\n'),
  );
}

/** Whether this suite must be skipped: only locally, and only when Chromium is missing. */
export const skipBrowser = !hasChromium && !inCi;

/** One Chromium for the file; each test opens its own contexts (fresh cookies and storage). */
export function useBrowser(): { browser: () => Browser } {
  let browser: Browser | undefined;
  beforeAll(async () => {
    if (skipBrowser) return;
    if (!hasChromium) throw new Error(`CI requires Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  });
  afterAll(async () => {
    await browser?.close();
  });
  return { browser: () => browser! };
}

/**
 * A page in a new context that records what the browser refused (CSP violations, console errors, failed
 * page errors) so tests can assert there were none, and saves a screenshot if the test fails. `device`
 * overrides the desktop window (a phone's width, touch).
 */
export async function openPage(
  browser: Browser,
  baseURL: string,
  ctx: TestContext,
  device: Pick<BrowserContextOptions, 'viewport' | 'isMobile' | 'hasTouch'> = {},
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1200, height: 860 }, ...device });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('console', (m) => {
    // HTTP error answers (401 before sign-in, 409 on a conflict) are part of the flows under test; any
    // other console error, such as a Content-Security-Policy refusal, is a problem.
    if (
      m.type() === 'error' &&
      !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())
    )
      problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // The browser's own report of what the Content-Security-Policy (and Trusted Types) refused.
  await context.exposeBinding('reportPolicyViolation', (_source, what: string) => {
    problems.push(`policy violation: ${what}`);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const report = (window as unknown as { reportPolicyViolation(s: string): void }).reportPolicyViolation;
      report(`${e.effectiveDirective} refused ${e.blockedURI || 'inline'}`);
    });
  });
  // One hook for both: vitest runs onTestFinished before onTestFailed, so a failure hook would find the
  // context already closed and save nothing.
  ctx.onTestFinished(async () => {
    if (ctx.task.result?.state === 'fail') {
      for (const [i, p] of context.pages().entries()) {
        await p
          .screenshot({ path: shotPath(`${ctx.task.name}-failure-${i}`), fullPage: true })
          .catch(() => {});
      }
    }
    await context.close();
  });
  return { context, page, problems };
}

function shotPath(name: string): string {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  return path.join(OUTPUT_DIR, `${name.replace(/[^a-z0-9-]+/gi, '-').toLowerCase()}.png`);
}

/** Saves a screenshot of a key page; every run leaves them under test-output/e2e/. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: shotPath(name), fullPage: true });
}
