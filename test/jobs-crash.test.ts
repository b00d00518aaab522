/*
 * A server killed with SIGKILL while a job runs: the job's sandbox dies with it (nothing it started
 * outlives the server), the job is marked failed at the next start rather than left running, and its
 * ticket is dead. The server is the real `coffer serve`, as a child process.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  killAllChildren,
  makeTempDir,
  removeTempDirs,
  request,
  runCli,
  startServe,
} from './helpers/coffer-process.js';
import { hostPidsRunning } from './support/host-processes.js';
import { ticketPrintedIn } from './support/printed-ticket.js';

describe('jobs across a server crash', () => {
  afterEach(killAllChildren);
  afterAll(removeTempDirs);

  it('kill -9 of the server: its job dies with it, and on restart the job is failed and its ticket refused', async () => {
    const dataDir = makeTempDir('coffer-jobs-crash-');
    const workRoot = makeTempDir('coffer-jobs-crash-work-');
    const env: Record<string, string> = {
      COFFER_DATA_DIR: dataDir,
      COFFER_JOB_WORK_DIR: workRoot,
      // On PostgreSQL a restarted server cannot tell a dead replica from a live one but by heartbeats.
      COFFER_JOB_HEARTBEAT_SECONDS: '1',
    };
    const created = await runCli(['users', 'create', 'erin'], { env, input: 'pw-erin-0123456789\n' });
    expect(created, created.stderr).toMatchObject({ code: 0 });
    const keyed = await runCli(['api-keys', 'create', 'erin'], { env });
    expect(keyed, keyed.stderr).toMatchObject({ code: 0 });
    const key = keyed.stdout.trim();

    let server = await startServe(env);
    const call = (method: string, p: string, body?: unknown) => request(server.url, method, p, { key, body });
    expect((await call('POST', '/api/v1/projects', { key: 'CRASH', name: 'Crash' })).status).toBe(201);
    // A daemon (double fork, new session) and a child: both must die with the server.
    const daemon = ['sleep', '3003'];
    const child = ['sleep', '3004'];
    const code = `import os, subprocess, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ${JSON.stringify(daemon)})
    os._exit(0)
subprocess.Popen(${JSON.stringify(child)})
print("TICKET", os.environ["DKU_API_TICKET"][::-1], flush=True)
time.sleep(300)
`;
    const put = await call('PUT', '/api/v1/projects/CRASH/recipes/long', { language: 'python', code });
    expect(put.status, put.text).toBe(201);
    const run = await call('POST', '/api/v1/projects/CRASH/recipes/long/run', {});
    expect(run.status, run.text).toBe(202);
    const id = run.json.id as string;
    let ticket = '';
    await expect
      .poll(
        async () => {
          const log = await call('GET', `/api/v1/jobs/${id}/log`);
          const texts = (log.json.chunks as { text: string }[]).map((c) => c.text).join('');
          ticket = ticketPrintedIn(texts);
          return ticket !== '' && hostPidsRunning(daemon).length === 1 && hostPidsRunning(child).length === 1;
        },
        { timeout: 20_000 },
      )
      .toBe(true);

    await server.kill9();
    // The sandbox dies with its server: nothing the job started is left, daemons included.
    await expect.poll(() => hostPidsRunning(daemon), { timeout: 5000 }).toEqual([]);
    await expect.poll(() => hostPidsRunning(child), { timeout: 5000 }).toEqual([]);

    server = await startServe(env);
    // At once on SQLite (one store, one server); within six missed heartbeats on PostgreSQL.
    await expect
      .poll(async () => (await call('GET', `/api/v1/jobs/${id}`)).json.state, { timeout: 15_000 })
      .toBe('failed');
    const job = await call('GET', `/api/v1/jobs/${id}`);
    expect(job.json.error).toBe('the server running this job stopped before it finished');
    const leaked = await request(server.url, 'GET', '/dip/publicapi/auth/info', { ticket });
    expect(leaked.status).toBe(401);
    await server.stop();
  });
});
