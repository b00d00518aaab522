/*
 * Installs the R package `dataiku` (clients/r/dataiku) into a temporary library and runs its contract
 * tests (clients/r/tests/*.R, plain Rscript) against a real Coffer server: the R snippet of the DSS
 * "User secrets" page verbatim, with an API key and with a job's ticket; how the package finds the
 * server; dkuGetSecret(); how errors read; and what a plugin recipe reads from its environment (no
 * server needed there). R must be there in CI; locally its absence skips loudly.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer } from './support/test-server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGE = 'clients/r/dataiku';
const TESTS = 'clients/r/tests';
// Quotes, a backslash, accents, CJK and a 4-byte character: JSON escaping and UTF-8 end to end.
const SECRET_VALUE = 'r-seed "secret" \\ \u00e9\u6f22 \u{1F511} value';
const OTHER_VALUE = 'other-user-\u00fc-value';

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
    const guard = setTimeout(() => child.kill('SIGKILL'), 50_000);
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

const probe = await run('Rscript', ['--version']).catch((e: Error) => ({ code: null, output: e.message }));
const hasR = probe.code === 0;
const inCi = Boolean(process.env.CI);

if (!hasR && !inCi) {
  console.warn(
    [
      '',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      '!! Rscript was not found: SKIPPING the R client (package dataiku) contract tests.     !!',
      '!! Install R with httr and jsonlite to run them; with CI set, a missing R fails.      !!',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      '',
    ].join('\n'),
  );
}

/** A port nothing listens on: bound, read, released. */
async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/**
 * Stands in for what sits in front of a misconfigured URL: under /html a web page answering 200, under
 * /redirect a redirect to the real server (which the client must not follow with its credential).
 */
async function startDecoy(target: string): Promise<{ url: string; close: () => Promise<void> }> {
  const s = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/redirect/')) {
      res.writeHead(302, { location: target + url.slice('/redirect'.length) }).end();
    } else {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<html>sign in</html>');
    }
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => s.close(() => resolve())),
  };
}

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');

describe('R client (package dataiku) contract', () => {
  let server: TestServer | undefined;
  let decoy: Awaited<ReturnType<typeof startDecoy>> | undefined;
  let install: Run | undefined;
  const temps: string[] = [];
  let env: NodeJS.ProcessEnv;
  let ticketEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    if (!hasR) return;
    const library = mkdtempSync(path.join(tmpdir(), 'coffer-r-lib-'));
    const home = mkdtempSync(path.join(tmpdir(), 'coffer-r-home-'));
    temps.push(library, home);
    // The install and the server start overlap: both take a second or two.
    const installing = run('R', ['CMD', 'INSTALL', '--no-multiarch', `--library=${library}`, PACKAGE]);
    server = await TestServer.start();

    const user = await server.createUser('r.user@example.com');
    const other = await server.createUser('r-other');
    const configUser = await server.createUser('r-config');
    const explicit = await server.createUser('r-explicit');
    const secrets: [string, string, string][] = [
      [user.key, 'credential-for-my-api', SECRET_VALUE],
      [user.key, 'another-secret', 'plain-ascii-value'],
      [other.key, 'credential-for-my-api', OTHER_VALUE],
    ];
    for (const [key, name, value] of secrets) {
      const put = await server.request('PUT', `/api/v1/me/secrets/${name}`, { key, body: { value } });
      expect(put.status, put.text).toBe(201);
    }
    const { ticket } = await server.issueTicket(user.login, 10 * 60_000);
    const revoked = await server.createKey(user.login);
    await server.revokeKey(revoked.id);
    // What the server says about a revoked key, which the R error must carry.
    const refused = await server.request('GET', '/dip/publicapi/auth/info?withSecrets=TRUE', {
      key: revoked.key,
    });
    expect(refused.status, refused.text).toBe(401);
    expect(refused.headers.get('content-type')).toBe('application/json');
    expect(refused.json.detailedMessage, refused.text).toEqual(expect.any(String));
    decoy = await startDecoy(server.url);

    const base: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DKU_')) base[k] = v;
    env = {
      ...base,
      // No ~/.dataiku/config.json, ~/.Rprofile or user library of the developer's gets in.
      HOME: home,
      R_LIBS: [library, process.env.R_LIBS].filter(Boolean).join(path.delimiter),
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
      COFFER_URL: server.url,
      COFFER_USER_LOGIN: user.login,
      COFFER_USER_KEY: user.key,
      COFFER_TICKET: ticket,
      COFFER_SECRET_HEX: hex(SECRET_VALUE),
      COFFER_OTHER_LOGIN: other.login,
      COFFER_OTHER_KEY: other.key,
      COFFER_OTHER_SECRET_HEX: hex(OTHER_VALUE),
      COFFER_CONFIG_LOGIN: configUser.login,
      COFFER_CONFIG_KEY: configUser.key,
      COFFER_EXPLICIT_LOGIN: explicit.login,
      COFFER_EXPLICIT_KEY: explicit.key,
      COFFER_REVOKED_KEY: revoked.key,
      COFFER_REVOKED_MESSAGE: refused.json.detailedMessage as string,
      COFFER_DEAD_URL: `http://127.0.0.1:${await deadPort()}`,
      COFFER_HTML_URL: `${decoy.url}/html`,
      COFFER_REDIRECT_URL: `${decoy.url}/redirect`,
    };
    // What the job runner gives R code it runs as a user: a ticket and the backend's address.
    const { port } = new URL(server.url);
    ticketEnv = {
      ...env,
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      DKU_API_TICKET: ticket,
      DKU_BACKEND_HOST: '127.0.0.1',
      DKU_BACKEND_PORT: port,
      DKU_BACKEND_PROTOCOL: 'http',
    };
    install = await installing;
  });

  afterAll(async () => {
    await server?.close();
    await decoy?.close();
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  });

  /** In CI a missing R is a failure, not a skip. */
  function requireR() {
    if (!hasR) {
      throw new Error(
        `R is required in CI (CI=${process.env.CI}) to test ${PACKAGE}, but Rscript was not found: ${probe.output}`,
      );
    }
  }

  /** Runs one R script of clients/r/tests with the installed package; `extra` adds to its environment. */
  async function rscript(file: string, extra: () => NodeJS.ProcessEnv = () => ({})): Promise<Run> {
    requireR();
    expect(install?.code, `R CMD INSTALL ${PACKAGE} failed:\n${install?.output}`).toBe(0);
    const result = await run('Rscript', ['--no-save', '--no-restore', path.join(TESTS, file)], {
      ...env,
      ...extra(),
    });
    // R_TEST_VERBOSE=1 shows every case of the R scripts, not only those of a failing one.
    if (result.code !== 0 || process.env.R_TEST_VERBOSE)
      console.error(`--- Rscript ${file} (exit ${result.code}) ---\n${result.output}`);
    expect(result.code, result.output).toBe(0);
    return result;
  }

  /** The harness of clients/r/tests/helpers.R prints "ok - <case>" per case, then a summary. */
  function expectAllPassed(output: string) {
    expect(output).not.toMatch(/^not ok/m);
    const summary = /^R TESTS: (\d+) passed, 0 failed$/m.exec(output);
    expect(summary, output).not.toBeNull();
    expect(Number(summary![1])).toBe(output.match(/^ok - /gm)?.length);
  }

  const maybe = it.skipIf(!hasR && !inCi);

  maybe('R CMD INSTALL installs the package', () => {
    requireR();
    expect(install?.code, install?.output).toBe(0);
    expect(install?.output).toMatch(/DONE \(dataiku\)/);
  });

  maybe('the seed snippet runs verbatim with DKU_DSS_URL and DKU_API_KEY (in the C locale)', async () => {
    const { output } = await rscript('seed_snippet.R', () => ({
      LANG: 'C',
      LC_ALL: 'C',
      DKU_DSS_URL: `${env.COFFER_URL}/`,
      DKU_API_KEY: env.COFFER_USER_KEY,
    }));
    expect(output).toContain(`found the secret as ${env.COFFER_USER_LOGIN} through PERSONAL_API_KEY`);
  });

  maybe('the seed snippet runs verbatim as a job does, with DKU_API_TICKET and DKU_BACKEND_*', async () => {
    const { output } = await rscript('seed_snippet.R', () => ticketEnv);
    expect(output).toContain(`found the secret as ${env.COFFER_USER_LOGIN} through TICKET`);
  });

  maybe('discovery: dkuSetRemoteDSS, ticket, DKU_DSS_URL/DKU_API_KEY, ~/.dataiku/config.json', async () => {
    const { output } = await rscript('test_discovery.R');
    expectAllPassed(output);
  });

  maybe('dkuGetAuthInfo, dkuGetSecret and the errors they raise', async () => {
    const { output } = await rscript('test_secrets.R');
    expectAllPassed(output);
  });

  maybe(
    'plugin recipes: dkuCustomRecipeConfig, dkuPluginConfig, dkuCustomRecipeResource (UTF-8 and C locales)',
    async () => {
      for (const locale of ['C.UTF-8', 'C']) {
        const { output } = await rscript('test_customrecipe.R', () => ({ LANG: locale, LC_ALL: locale }));
        expectAllPassed(output);
      }
    },
  );
});
