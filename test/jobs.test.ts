/*
 * Recipes run as jobs, as the user who clicks Run: the seed's snippets work inside them, their output
 * is masked, their ticket lives only while they run, their environment and directory are their own, and
 * their limits hold. Real processes (python3, node) against a real server.
 *
 * One suite for both backends of execution/ (the design's contract): the bubblewrap sandbox (the
 * default) and the plain process of COFFER_SANDBOX=off. What only a sandbox gives (an empty root, the
 * data directory absent) is checked for the sandbox; sandbox-attacks.test.ts attacks it in depth.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPidsRunning } from './support/host-processes.js';
import {
  putRecipe,
  runRecipe,
  SEED_SNIPPETS,
  startApprovedJob,
  startJob,
  waitForJob,
} from './support/jobs.js';
import { TestServer, type TestUser } from './support/test-server.js';
import { ticketPrintedIn } from './support/printed-ticket.js';

const isRoot = process.getuid?.() === 0;

const SEED_PYTHON = `${SEED_SNIPPETS.python}
print("identity:", auth_info["authIdentifier"], auth_info["authSource"])
print("the value is", secret_value)
`;

const BACKENDS: [string, Record<string, string>][] = [
  ['bubblewrap sandbox', {}],
  ['plain process (COFFER_SANDBOX=off)', { COFFER_SANDBOX: 'off' }],
];

describe.each(BACKENDS)('jobs, %s', (_backend, backendEnv) => {
  const sandboxed = !backendEnv.COFFER_SANDBOX;
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let workRoot: string;
  const VALUE = 'alice-value-6f1d2c9e';

  beforeAll(async () => {
    workRoot = mkdtempSync(path.join(tmpdir(), 'coffer-jobs-test-'));
    process.env.COFFER_TEST_CANARY = 'server-environment-must-not-leak';
    server = await TestServer.start({ ...backendEnv, COFFER_JOB_WORK_DIR: workRoot });
    alice = await server.createUser('alice');
    bob = await server.createUser('bob');
    await server.request('PUT', '/api/v1/me/secrets/credential-for-my-api', {
      key: alice.key,
      body: { value: VALUE },
    });
    await server.request('PUT', '/api/v1/me/secrets/credential-for-my-api', {
      key: bob.key,
      body: { value: 'bob-value-0a7e55' },
    });
    expect(
      (
        await server.request('POST', '/api/v1/projects', {
          key: alice.key,
          body: { key: 'SALES', name: 'Sales' },
        })
      ).status,
    ).toBe(201);
    await server.request('PUT', '/api/v1/projects/SALES/members/bob', {
      key: alice.key,
      body: { role: 'contributor' },
    });
  });
  afterAll(async () => {
    await server.close();
    rmSync(workRoot, { recursive: true, force: true });
    delete process.env.COFFER_TEST_CANARY;
  });

  it('the seed Python snippet runs verbatim in a recipe, as the runner, and the log masks the value', async () => {
    const job = await runRecipe(server, alice, 'SALES', 'seed-python', 'python', SEED_PYTHON);
    expect(job.state, job.log).toBe('succeeded');
    expect(job.log).toContain(`identity: ${alice.login} TICKET`);
    expect(job.log).toContain('the value is *****');
    expect(job.log).not.toContain(VALUE);
  });

  it("runs as the user who clicked Run, not the recipe's author", async () => {
    const id = await startApprovedJob(server, bob, 'SALES', 'seed-python');
    const job = await waitForJob(server, bob, id);
    expect(job.state, job.log).toBe('succeeded');
    expect(job.log).toContain(`identity: ${bob.login} TICKET`);
    expect(job.log).not.toContain('bob-value-0a7e55');
    // Bob's job is Bob's: Alice, the recipe's author, does not see it.
    expect((await server.request('GET', `/api/v1/jobs/${id}`, { key: alice.key })).status).toBe(404);
    expect((await server.request('GET', `/api/v1/jobs/${id}/log`, { key: alice.key })).status).toBe(404);
  });

  it('a JavaScript recipe uses @coffer/client with the job ticket', async () => {
    const job = await runRecipe(
      server,
      alice,
      'SALES',
      'seed-js',
      'javascript',
      `import { apiClient } from '@coffer/client/node';
const client = apiClient();
const info = await client.authInfo({ withSecrets: true });
console.log('identity:', info.authIdentifier, info.authSource);
console.log('the value is', await client.getSecret('credential-for-my-api'));
`,
    );
    expect(job.state, job.log).toBe('succeeded');
    expect(job.log).toContain(`identity: ${alice.login} TICKET`);
    expect(job.log).toContain('the value is *****');
    expect(job.log).not.toContain(VALUE);
  });

  it('an R recipe uses the dataiku package, and installs and loads a package of its own', async () => {
    const job = await runRecipe(
      server,
      alice,
      'SALES',
      'r-install',
      'r',
      `library(dataiku)
cat("identity:", dkuGetAuthInfo()$authIdentifier, "\\n")
pkg <- file.path(tempdir(), "hello")
dir.create(file.path(pkg, "R"), recursive = TRUE)
writeLines(c("Package: hello", "Version: 0.1", "Title: Hello", "Description: Says hello.",
             "License: MIT", "Authors@R: person('A', 'B', role = c('aut', 'cre'), email = 'a@b.c')"),
           file.path(pkg, "DESCRIPTION"))
writeLines("export(hello)", file.path(pkg, "NAMESPACE"))
writeLines("hello <- function() 'hello from my own package'", file.path(pkg, "R", "hello.R"))
install.packages(pkg, repos = NULL, type = "source", lib = Sys.getenv("R_LIBS_USER"))
library(hello, lib.loc = Sys.getenv("R_LIBS_USER"))
cat(hello(), "\\n")
`,
    );
    expect(job.state, job.log).toBe('succeeded');
    expect(job.log).toContain(`identity: ${alice.login}`);
    expect(job.log).toContain('hello from my own package');
  });

  it('masks the value in base64, URL-encoded and JSON-escaped forms too', async () => {
    const job = await runRecipe(
      server,
      alice,
      'SALES',
      'encodings',
      'python',
      `import base64, json, urllib.parse, dataiku
v = dataiku.api_client().get_secret("credential-for-my-api")
print(base64.b64encode(("x" + v).encode()).decode())
print(urllib.parse.quote(v + " & more"))
print(json.dumps({"k": v}))
`,
    );
    expect(job.state, job.log).toBe('succeeded');
    expect(job.log).not.toContain(VALUE);
    expect(job.log).not.toContain(Buffer.from(`x${VALUE}`).toString('base64').slice(4, 20));
  });

  it('the environment is built from nothing: the ticket, the backend address and the client paths only', async () => {
    const job = await runRecipe(
      server,
      alice,
      'SALES',
      'env',
      'python',
      `import getpass, os
for k in sorted(os.environ): print("ENV", k)
print("CWD", os.getcwd())
print("HOME", os.environ["HOME"])
print("UID", os.getuid())
print("USER", getpass.getuser())
`,
    );
    expect(job.state, job.log).toBe('succeeded');
    const keys = [...job.log.matchAll(/^ENV (\S+)$/gm)].map((m) => m[1]);
    expect(keys).toEqual(
      expect.arrayContaining([
        'DKU_API_TICKET',
        'DKU_BACKEND_HOST',
        'DKU_BACKEND_PORT',
        'DKU_CURRENT_PROJECT_KEY',
        'PYTHONPATH',
        'HOME',
        'TMPDIR',
        'PATH',
      ]),
    );
    expect(keys.filter((k) => k!.startsWith('COFFER_') && k !== 'COFFER_JOB_ID')).toEqual([]);
    expect(job.log).not.toContain('server-environment-must-not-leak');
    // The sandbox's own home, in an empty root: no host path shows. A plain process has a fresh
    // directory of its own under the work root.
    const home = sandboxed ? '/home/coffer' : /^HOME (.*)$/m.exec(job.log)![1]!;
    if (!sandboxed) expect(home.startsWith(workRoot), home).toBe(true);
    expect(job.log).toContain(`CWD ${home}`);
    expect(job.log).toContain('USER coffer');
    const uid = Number(/^UID (\d+)$/m.exec(job.log)![1]);
    expect(uid).not.toBe(0);
    // As root: an account of the runner's own from the uid range, never the server's (root).
    if (isRoot) expect(uid).toBeGreaterThanOrEqual(2_000_000);
    else expect(uid).toBe(process.getuid!());
    expect(
      readdirSync(workRoot).filter((d) => d.startsWith('run-')),
      'run directories are removed',
    ).toEqual([]);
  });

  it.runIf(sandboxed || isRoot)(
    'job code cannot read the data directory (master key, database)',
    async () => {
      // The master key file, and on the SQLite run the database too.
      const dataFiles = ['master.key', 'coffer.db']
        .map((f) => path.join(server.dataDir, f))
        .filter((f) => existsSync(f));
      expect(dataFiles.length).toBeGreaterThan(0);
      const job = await runRecipe(
        server,
        alice,
        'SALES',
        'snoop',
        'python',
        `for p in ${JSON.stringify(dataFiles)}:
    try:
        open(p, "rb").read()
        print("READ", p)
    except OSError as e:
        print("REFUSED", type(e).__name__, p)
`,
      );
      expect(job.state, job.log).toBe('succeeded');
      expect(job.log).not.toContain('READ ');
      expect(job.log.match(/REFUSED/g)).toHaveLength(dataFiles.length);
    },
  );

  it("the job's ticket works while it runs and is refused once it has finished; printed as is, it is masked", async () => {
    const job = await runRecipe(
      server,
      alice,
      'SALES',
      'leak-ticket',
      'python',
      `import os
print("TICKET", os.environ["DKU_API_TICKET"][::-1])
print("RAW", os.environ["DKU_API_TICKET"])
`,
    );
    expect(job.state, job.log).toBe('succeeded');
    const ticket = ticketPrintedIn(job.log);
    expect(job.log).toContain('RAW *****');
    expect(job.log).not.toContain(ticket);
    const r = await server.request('GET', '/dip/publicapi/auth/info', { ticket });
    expect(r.status).toBe(401);
    expect(r.json.message).toMatch(/revoked/);
  });

  it('a failing recipe fails with its exit code and its output kept', async () => {
    const job = await runRecipe(
      server,
      alice,
      'SALES',
      'fails',
      'python',
      'print("before")\nraise SystemExit(3)\n',
    );
    expect(job.state).toBe('failed');
    expect(job.exitCode).toBe(3);
    expect(job.error).toBe('exited with code 3');
    expect(job.log).toContain('before');
  });

  it('a recipe over its time limit is timed out, with every process it started', async () => {
    const marker = ['sleep', '3001'];
    const job = await runRecipe(
      server,
      alice,
      'SALES',
      'sleeps',
      'python',
      `import subprocess, time
child = subprocess.Popen(${JSON.stringify(marker)})
time.sleep(300)
`,
      { timeoutSeconds: 2 },
    );
    expect(job.state).toBe('timed_out');
    expect(job.error).toMatch(/time limit of 2 s/);
    await expect.poll(() => hostPidsRunning(marker), { timeout: 5000 }).toEqual([]);
  });

  it('cancel stops a running job and every process it started', async () => {
    const marker = ['sleep', '3002'];
    await putRecipe(
      server,
      alice,
      'SALES',
      'long',
      'python',
      `import subprocess, time
child = subprocess.Popen(${JSON.stringify(marker)})
print("started", flush=True)
time.sleep(300)
`,
    );
    const id = await startJob(server, alice, 'SALES', 'long');
    await expect.poll(() => hostPidsRunning(marker).length, { timeout: 20_000 }).toBe(1);
    const c = await server.request('POST', `/api/v1/jobs/${id}/cancel`, { key: alice.key });
    expect(c.status, c.text).toBe(200);
    const job = await waitForJob(server, alice, id);
    expect(job.state).toBe('cancelled');
    expect(job.error).toBe('cancelled by its runner');
    await expect.poll(() => hostPidsRunning(marker), { timeout: 5000 }).toEqual([]);
  });

  it('a job that writes more than the output limit is stopped', async () => {
    const small = await TestServer.start({
      ...backendEnv,
      COFFER_JOB_WORK_DIR: workRoot,
      COFFER_JOB_MAX_LOG_BYTES: '4096',
    });
    try {
      const carol = await small.createUser('carol');
      await small.request('POST', '/api/v1/projects', { key: carol.key, body: { key: 'BIG', name: 'Big' } });
      const job = await runRecipe(small, carol, 'BIG', 'chatty', 'python', 'while True: print("x" * 100)\n');
      expect(job.state).toBe('failed');
      expect(job.error).toBe('output limit of 4096 bytes exceeded');
    } finally {
      await small.close();
    }
  });

  it('a server that stops while a job runs marks it failed, and the next start still shows it failed', async () => {
    const first = await TestServer.start({ ...backendEnv, COFFER_JOB_WORK_DIR: workRoot });
    const dave = await first.createUser('dave');
    await first.request('POST', '/api/v1/projects', { key: dave.key, body: { key: 'CRASH', name: 'Crash' } });
    await putRecipe(first, dave, 'CRASH', 'long', 'python', 'import time\ntime.sleep(300)\n');
    const id = await startJob(first, dave, 'CRASH', 'long');
    await expect
      .poll(async () => (await first.request('GET', `/api/v1/jobs/${id}`, { key: dave.key })).json.state)
      .toBe('running');
    const dataDir = first.dataDir;
    await first.close({ keepData: true });
    const second = await TestServer.start({
      ...backendEnv,
      COFFER_JOB_WORK_DIR: workRoot,
      COFFER_DATA_DIR: dataDir,
    });
    try {
      const r = await second.request('GET', `/api/v1/jobs/${id}`, { key: dave.key });
      expect(r.json.state).toBe('failed');
      expect(r.json.error).toBe('the server stopped while the job ran');
    } finally {
      await second.close();
    }
  });
});
