/*
 * Recipes run as jobs, as the user who clicks Run: the seed's snippets work inside them, their output
 * is masked, their ticket lives only while they run, their environment and directory are their own, and
 * their limits hold. Real processes (python3, node) against a real server.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  putRecipe,
  runRecipe,
  SEED_SNIPPETS,
  startApprovedJob,
  startJob,
  waitForJob,
} from './support/jobs.js';
import { TestServer, type TestUser } from './support/test-server.js';

const isRoot = process.getuid?.() === 0;
/** As root, jobs must run as an unprivileged account; Debian always has `nobody`. */
const JOB_ENV: Record<string, string> = isRoot ? { COFFER_JOB_USER: 'nobody' } : {};

const SEED_PYTHON = `${SEED_SNIPPETS.python}
print("identity:", auth_info["authIdentifier"], auth_info["authSource"])
print("the value is", secret_value)
`;

describe('jobs', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let workRoot: string;
  /** Where test recipes leave evidence for the test (the job account may write here). */
  let dropbox: string;
  const VALUE = 'alice-value-6f1d2c9e';

  beforeAll(async () => {
    workRoot = mkdtempSync(path.join(tmpdir(), 'coffer-jobs-test-'));
    dropbox = mkdtempSync(path.join(tmpdir(), 'coffer-jobs-dropbox-'));
    chmodSync(dropbox, 0o777);
    process.env.COFFER_TEST_CANARY = 'server-environment-must-not-leak';
    server = await TestServer.start({ ...JOB_ENV, COFFER_JOB_WORK_DIR: workRoot });
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
    rmSync(dropbox, { recursive: true, force: true });
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
      `import os
for k in sorted(os.environ): print("ENV", k)
print("CWD", os.getcwd())
print("UID", os.getuid())
`,
    );
    expect(job.state, job.log).toBe('succeeded');
    const keys = [...job.log.matchAll(/^ENV (\S+)$/gm)].map((m) => m[1]);
    expect(keys).toEqual(
      expect.arrayContaining([
        'DKU_API_TICKET',
        'DKU_BACKEND_HOST',
        'DKU_BACKEND_PORT',
        'PYTHONPATH',
        'HOME',
        'PATH',
      ]),
    );
    expect(keys.filter((k) => k!.startsWith('COFFER_') && k !== 'COFFER_JOB_ID')).toEqual([]);
    expect(job.log).not.toContain('server-environment-must-not-leak');
    const cwd = /^CWD (.+)$/m.exec(job.log)![1]!;
    expect(cwd.startsWith(workRoot)).toBe(true);
    expect(existsSync(cwd), 'the working directory is removed afterwards').toBe(false);
    if (isRoot) expect(job.log).toContain('UID 65534');
  });

  it.runIf(isRoot)('job code cannot read the data directory (master key, database)', async () => {
    // The master key file, and on the SQLite run the database too.
    const dataFiles = ['master.key', 'coffer.db']
      .map((f) => path.join(server.dataDir, f))
      .filter((f) => existsSync(f));
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
    except PermissionError:
        print("DENIED", p)
`,
    );
    expect(job.log).not.toContain('READ');
    expect(job.log.match(/DENIED/g)).toHaveLength(dataFiles.length);
  });

  it("the job's ticket works while it runs and is refused once it has finished", async () => {
    const file = path.join(dropbox, `ticket-${Date.now()}`);
    const job = await runRecipe(
      server,
      alice,
      'SALES',
      'leak-ticket',
      'python',
      `import os
open(${JSON.stringify(file)}, "w").write(os.environ["DKU_API_TICKET"])
`,
    );
    expect(job.state, job.log).toBe('succeeded');
    const ticket = readFileSync(file, 'utf8');
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
    const pidFile = path.join(dropbox, `child-${Date.now()}`);
    const job = await runRecipe(
      server,
      alice,
      'SALES',
      'sleeps',
      'python',
      `import subprocess, time
child = subprocess.Popen(["sleep", "300"])
open(${JSON.stringify(pidFile)}, "w").write(str(child.pid))
time.sleep(300)
`,
      { timeoutSeconds: 2 },
    );
    expect(job.state).toBe('timed_out');
    expect(job.error).toMatch(/time limit of 2 s/);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await expect.poll(() => isAlive(pid), { timeout: 5000 }).toBe(false);
  });

  it('cancel stops a running job and every process it started', async () => {
    const pidFile = path.join(dropbox, `cancel-child-${Date.now()}`);
    await putRecipe(
      server,
      alice,
      'SALES',
      'long',
      'python',
      `import subprocess, time
child = subprocess.Popen(["sleep", "300"])
open(${JSON.stringify(pidFile)}, "w").write(str(child.pid))
print("started", flush=True)
time.sleep(300)
`,
    );
    const id = await startJob(server, alice, 'SALES', 'long');
    await expect.poll(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '').toBe(true);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(isAlive(pid)).toBe(true);
    const c = await server.request('POST', `/api/v1/jobs/${id}/cancel`, { key: alice.key });
    expect(c.status, c.text).toBe(200);
    const job = await waitForJob(server, alice, id);
    expect(job.state).toBe('cancelled');
    expect(job.error).toBe('cancelled by its runner');
    await expect.poll(() => isAlive(pid), { timeout: 5000 }).toBe(false);
  });

  it('a job that writes more than the output limit is stopped', async () => {
    const small = await TestServer.start({
      ...JOB_ENV,
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
    const first = await TestServer.start({ ...JOB_ENV, COFFER_JOB_WORK_DIR: workRoot });
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
      ...JOB_ENV,
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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
