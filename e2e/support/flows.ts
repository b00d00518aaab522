import { execFile } from 'node:child_process';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/** Signs in through the sign-in page as a person would, and waits for the profile. */
export async function signIn(page: Page, login: string, password: string): Promise<void> {
  await page.goto('/');
  await page.getByLabel('Login').fill(login);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Other credentials' }).waitFor();
}

/** Profile → My Account → Other credentials → Add → Name and Value → Ok. Nothing is saved yet. */
export async function addSecret(page: Page, name: string, value: string): Promise<void> {
  await page.getByRole('link', { name: 'Profile' }).click();
  await page.getByRole('link', { name: 'My Account' }).click();
  const section = page.getByRole('region', { name: 'Other credentials' });
  await section.getByRole('button', { name: 'Add' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add a credential' });
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByLabel('Value', { exact: true }).fill(value);
  await dialog.getByRole('button', { name: 'Ok' }).click();
  await dialog.waitFor({ state: 'detached' });
}

/** Clicks Save and waits for the confirmation. */
export async function save(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page
    .getByRole('status')
    .filter({ hasText: /^Saved \d+ changes?\.$/ })
    .waitFor();
}

/** The row of a credential in Other credentials. */
export function secretRow(page: Page, name: string) {
  return page.locator(`tr[data-secret="${name.replace(/"/g, '\\"')}"]`);
}

/**
 * Runs the seed page's Python snippet, verbatim, in a real python3 against the server, with a personal
 * API key the way dataikuapi sends it (HTTP Basic, key as user name). Returns the value of
 * "credential-for-my-api", or null when the snippet raises "secret not found".
 */
export async function seedSnippetFinds(baseUrl: string, key: string): Promise<string | null> {
  const program = `
import base64, json, sys, urllib.request

class DSSClient:
    """The one call of dataikuapi.DSSClient that the seed uses, made on the wire as dataikuapi makes it."""
    def __init__(self, host, api_key):
        self.host, self.api_key = host, api_key
    def get_auth_info(self, with_secrets=False):
        req = urllib.request.Request(
            self.host + "/dip/publicapi/auth/info?withSecrets=" + ("true" if with_secrets else "false"),
            headers={"Authorization": "Basic " + base64.b64encode((self.api_key + ":").encode()).decode()})
        return json.load(urllib.request.urlopen(req))

client = DSSClient(sys.argv[1], sys.argv[2])

# client is a dataikuapi.DSSClient
auth_info = client.get_auth_info(with_secrets=True)
# retrieve the secret named "credential-for-my-api"
secret_value = None
for secret in auth_info["secrets"]:
        if secret["key"] == "credential-for-my-api":
                secret_value = secret["value"]
                break
if not secret_value:
        raise Exception("secret not found")
# Use secret_value
sys.stdout.write(json.dumps(secret_value))
`;
  // Asynchronous: the server under test may run in this very process.
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    execFile('python3', ['-c', program, baseUrl, key], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
  if (r.code !== 0) {
    expect(r.stderr).toMatch(/secret not found/);
    return null;
  }
  return JSON.parse(r.stdout) as string;
}

/** Everything a page keeps that could hold a value: its HTML, input values, storage and cookies. */
export async function everythingThePageKeeps(page: Page): Promise<string> {
  const inPage = await page.evaluate(() => {
    const inputs = [...document.querySelectorAll('input, textarea')].map(
      (e) => (e as HTMLInputElement).value,
    );
    const storage = (s: Storage) => Object.keys(s).map((k) => `${k}=${s.getItem(k)}`);
    return JSON.stringify({
      html: document.documentElement.outerHTML,
      text: document.body.innerText,
      inputs,
      local: storage(localStorage),
      session: storage(sessionStorage),
      url: location.href,
      title: document.title,
      history: history.state as unknown,
    });
  });
  const cookies = JSON.stringify(await page.context().cookies());
  return inPage + cookies + (await page.content());
}
