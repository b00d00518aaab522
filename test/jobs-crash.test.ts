/*
 * A server killed with SIGKILL while a job runs: the job's processes (detached, so they survive it)
 * are stopped when the server starts again, the job is marked failed rather than left running, and
 * its ticket is dead. The server is the real `coffer serve`, as a child process.
 */
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  killAllChildren,
  makeTempDir,
  removeTempDirs,
  request,
  runCli,
  startServe,
} from './helpers/coffer-process.js';

const isRoot = process.getuid?.() === 0;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('jobs across a server crash', () => {
  afterEach(killAllChildren);
  afterAll(removeTempDirs);

  it('kill -9 of the server: on restart the job is failed, its process tree stopped and its ticket refused', async () => {
    const dataDir = makeTempDir('coffer-jobs-crash-');
    const workRoot = makeTempDir('coffer-jobs-crash-work-');
    const dropbox = makeTempDir('coffer-jobs-crash-dropbox-');
    chmodSync(dropbox, 0o777);
    const env: Record<string, string> = {
      COFFER_DATA_DIR: dataDir,
      COFFER_JOB_WORK_DIR: workRoot,
      // On PostgreSQL a restarted server cannot tell a dead replica from a live one but by heartbeats.
      COFFER_JOB_HEARTBEAT_SECONDS: '1',
      ...(isRoot ? { COFFER_JOB_USER: 'nobody' } : {}),
    };
    const created = await runCli(['users', 'create', 'erin'], { env, input: 'pw-erin-0123456789\n' });
    expect(created, created.stderr).toMatchObject({ code: 0 });
    const keyed = await runCli(['api-keys', 'create', 'erin'], { env });
    expect(keyed, keyed.stderr).toMatchObject({ code: 0 });
    const key = keyed.stdout.trim();

    let server = await startServe(env);
    const call = (method: string, p: string, body?: unknown) => request(server.url, method, p, { key, body });
    expect((await call('POST', '/api/v1/projects', { key: 'CRASH', name: 'Crash' })).status).toBe(201);
    const evidence = path.join(dropbox, 'pids');
    const code = `import os, subprocess, time
child = subprocess.Popen(["sleep", "300"])
with open(${JSON.stringify(evidence + '.tmp')}, "w") as f:
    f.write("%d %d %s" % (os.getpid(), child.pid, os.environ["DKU_API_TICKET"]))
os.rename(${JSON.stringify(evidence + '.tmp')}, ${JSON.stringify(evidence)})
time.sleep(300)
`;
    const put = await call('PUT', '/api/v1/projects/CRASH/recipes/long', { language: 'python', code });
    expect(put.status, put.text).toBe(201);
    const run = await call('POST', '/api/v1/projects/CRASH/recipes/long/run', {});
    expect(run.status, run.text).toBe(202);
    const id = run.json.id as string;
    await expect.poll(() => existsSync(evidence), { timeout: 20_000 }).toBe(true);
    const [recipePid, childPid, ticket] = readFileSync(evidence, 'utf8').split(' ') as [
      string,
      string,
      string,
    ];
    // Let the runner record the process group before the crash.
    await expect.poll(async () => (await call('GET', `/api/v1/jobs/${id}`)).json.state).toBe('running');
    await new Promise((r) => setTimeout(r, 300));

    await server.kill9();
    expect(isAlive(Number(recipePid)), 'the recipe outlived the server (detached)').toBe(true);
    expect(isAlive(Number(childPid))).toBe(true);

    server = await startServe(env);
    // At once on SQLite (one store, one server); within six missed heartbeats on PostgreSQL.
    await expect
      .poll(async () => (await call('GET', `/api/v1/jobs/${id}`)).json.state, { timeout: 15_000 })
      .toBe('failed');
    const job = await call('GET', `/api/v1/jobs/${id}`);
    expect(job.json.error).toBe('the server running this job stopped before it finished');
    await expect.poll(() => isAlive(Number(recipePid)), { timeout: 5000 }).toBe(false);
    await expect.poll(() => isAlive(Number(childPid)), { timeout: 5000 }).toBe(false);
    const leaked = await request(server.url, 'GET', '/dip/publicapi/auth/info', { ticket });
    expect(leaked.status).toBe(401);
    await server.stop();
  });
});
