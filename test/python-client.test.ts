/*
 * Runs the tests of the Python package `dataiku` (clients/python/tests, standard-library unittest)
 * against a real Coffer server: the Python snippet of the DSS "User secrets" page verbatim, with an API
 * key and with a job's ticket; how api_client() finds the server; get_secret(); the settings round
 * trip; personal API keys; and how errors read. Python must be there in CI; locally its absence skips
 * loudly.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer } from './support/test-server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGE_ROOT = 'clients/python';
const TESTS = 'clients/python/tests';
// Quotes, a backslash, accents, CJK and a 4-byte character: JSON escaping and UTF-8 end to end.
const SECRET_VALUE = 'py-seed "secret" \\ \u00e9\u6f22 \u{1F511} value';
const OTHER_VALUE = 'other-user-\u00fc-value';
const EDITOR_VALUE = 'editor-base-\u00e7-value';

interface Run {
  code: number | null;
  output: string;
}

/** Runs a command without blocking the event loop: the server under test lives in this process. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    // A guard against a hung child, not an assertion: the output is still reported.
    const guard = setTimeout(() => child.kill('SIGKILL'), 55_000);
    child.on('error', (err) => {
      clearTimeout(guard);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, output });
    });
  });
}

const probe = await run('python3', ['--version']).catch((e: Error) => ({ code: null, output: e.message }));
const hasPython = probe.code === 0;
const inCi = Boolean(process.env.CI);

if (!hasPython && !inCi) {
  console.warn(
    [
      '',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      '!! python3 was not found: SKIPPING the Python client (package dataiku) tests.        !!',
      '!! Install python3 (3.9 or later) to run them; with CI set, a missing python3 fails.  !!',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      '',
    ].join('\n'),
  );
}

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');

describe('Python client (package dataiku)', () => {
  let server: TestServer | undefined;
  let home: string | undefined;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    if (!hasPython) return;
    home = mkdtempSync(path.join(tmpdir(), 'coffer-py-home-'));
    server = await TestServer.start();

    const user = await server.createUser('py.user@example.com');
    const other = await server.createUser('py-other');
    const configUser = await server.createUser('py-config');
    const explicit = await server.createUser('py-explicit');
    const editor = await server.createUser('py-editor');
    const secrets: [string, string, string][] = [
      [user.key, 'credential-for-my-api', SECRET_VALUE],
      [user.key, 'another-secret', 'plain-ascii-value'],
      [other.key, 'credential-for-my-api', OTHER_VALUE],
      [editor.key, 'editor-base', EDITOR_VALUE],
    ];
    for (const [key, name, value] of secrets) {
      const put = await server.request('PUT', `/api/v1/me/secrets/${name}`, { key, body: { value } });
      expect(put.status, put.text).toBe(201);
    }
    const { ticket } = await server.issueTicket(user.login, 10 * 60_000);
    const { cookie } = await server.login(user.login, user.password);
    const revoked = await server.createKey(user.login);
    await server.revokeKey(revoked.id);
    // What the server says about a revoked key, which the Python exception must carry.
    const refused = await server.request('GET', '/dip/publicapi/auth/info?withSecrets=true', {
      key: revoked.key,
    });
    expect(refused.status, refused.text).toBe(401);
    expect(refused.json.detailedMessage, refused.text).toEqual(expect.any(String));

    const base: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DKU_')) base[k] = v;
    env = {
      ...base,
      // No ~/.dataiku/config.json of the developer's gets in; no bytecode is written into the repo.
      HOME: home,
      PYTHONPATH: PACKAGE_ROOT,
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONIOENCODING: 'utf-8',
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
      COFFER_TEST_URL: server.url,
      COFFER_TEST_USER_LOGIN: user.login,
      COFFER_TEST_USER_KEY: user.key,
      COFFER_TEST_USER_SECRET_HEX: hex(SECRET_VALUE),
      COFFER_TEST_TICKET: ticket,
      COFFER_TEST_USER_COOKIE: cookie,
      COFFER_TEST_OTHER_LOGIN: other.login,
      COFFER_TEST_OTHER_KEY: other.key,
      COFFER_TEST_OTHER_SECRET_HEX: hex(OTHER_VALUE),
      COFFER_TEST_CONFIG_LOGIN: configUser.login,
      COFFER_TEST_CONFIG_KEY: configUser.key,
      COFFER_TEST_EXPLICIT_LOGIN: explicit.login,
      COFFER_TEST_EXPLICIT_KEY: explicit.key,
      COFFER_TEST_EDITOR_LOGIN: editor.login,
      COFFER_TEST_EDITOR_KEY: editor.key,
      COFFER_TEST_EDITOR_SECRET_HEX: hex(EDITOR_VALUE),
      COFFER_TEST_REVOKED_KEY: revoked.key,
      COFFER_TEST_REVOKED_MESSAGE: refused.json.detailedMessage as string,
    };
  });

  afterAll(async () => {
    await server?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it.skipIf(!hasPython && !inCi)(
    'python3 -m unittest discover -s clients/python/tests: every test runs and passes',
    async () => {
      if (!hasPython) {
        throw new Error(
          `python3 is required in CI (CI=${process.env.CI}) to test ${PACKAGE_ROOT}, but it was not found: ${probe.output}`,
        );
      }
      const args = ['-m', 'unittest', 'discover', '-s', TESTS, '-v'];
      const { code, output } = await run('python3', args, env);
      // PY_TEST_VERBOSE=1 shows every Python case, not only those of a failing run.
      if (code !== 0 || process.env.PY_TEST_VERBOSE)
        console.error(`--- python3 ${args.join(' ')} (exit ${code}) ---\n${output}`);
      expect(code, output).toBe(0);
      // Every test ran: none was skipped, and there were some.
      expect(output, output).not.toMatch(/skipped/i);
      expect(output).toMatch(/^OK$/m);
      const ran = /^Ran (\d+) tests? in /m.exec(output);
      expect(ran, output).not.toBeNull();
      expect(Number(ran![1])).toBeGreaterThanOrEqual(40);
      expect(output.match(/ \.\.\. ok$/gm)?.length).toBe(Number(ran![1]));
      // The values of the secrets never reach the output.
      for (const value of [SECRET_VALUE, OTHER_VALUE, EDITOR_VALUE]) expect(output).not.toContain(value);
    },
  );
});
