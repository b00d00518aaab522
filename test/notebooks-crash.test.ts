/*
 * A server killed with SIGKILL while a notebook kernel runs: the kernel's sandbox dies with it, and the
 * kernel's ticket, which no `finally` revoked, is revoked when the server starts again instead of
 * working until it expires a day later. The server is the real `coffer serve`, as a child process,
 * restarted on the same port: on PostgreSQL that makes it the same replica (`host:port`), which may
 * end what its former self held at once (docs/adr/0020); another replica's kernels are the subject of
 * test/replicas.test.ts.
 */
import { createServer } from 'node:net';
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
import { jupyterCall, openKernel } from './support/kernel-session.js';
import { printedTicket } from './support/printed-ticket.js';

/** A TCP port free now on the loopback, for a server that must come back on the same one. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise((resolve) => s.close(resolve));
  return port;
}

describe('notebook kernels across a server crash', () => {
  afterEach(killAllChildren);
  afterAll(removeTempDirs);

  it("kill -9 of the server: its kernel dies with it, and on restart the kernel's ticket is refused", async () => {
    const env: Record<string, string> = {
      COFFER_DATA_DIR: makeTempDir('coffer-nb-crash-'),
      COFFER_JOB_WORK_DIR: makeTempDir('coffer-nb-crash-work-'),
      COFFER_JOB_HEARTBEAT_SECONDS: '1',
      COFFER_PORT: String(await freePort()),
    };
    const created = await runCli(['users', 'create', 'nora'], { env, input: 'pw-nora-0123456789\n' });
    expect(created, created.stderr).toMatchObject({ code: 0 });
    const keyed = await runCli(['api-keys', 'create', 'nora'], { env });
    expect(keyed, keyed.stderr).toMatchObject({ code: 0 });
    const key = keyed.stdout.trim();

    let server = await startServe(env);
    const call = (method: string, p: string, body?: unknown) => jupyterCall(server.url, key, method, p, body);
    expect((await call('POST', '/api/v1/projects', { key: 'NBCRASH', name: 'Crash' })).status).toBe(201);
    expect(
      (await call('PUT', '/api/v1/projects/NBCRASH/notebooks/long', { language: 'python' })).status,
    ).toBe(201);
    const kernel = await openKernel(server.url, key, 'NBCRASH/long.ipynb');
    // The connection is cut by the kill, not closed: that is expected, not an error of the test.
    kernel.channels.ws.on('error', () => undefined);
    // A process of the kernel's own, to see that the sandbox died with its server.
    const marker = ['sleep', String(4000 + Math.floor(Math.random() * 100_000))];
    const { out, reply } = await kernel.channels.execute(
      `import os, subprocess\nsubprocess.Popen(${JSON.stringify(marker)})\nprint("ticket:", os.environ["DKU_API_TICKET"][::-1])`,
    );
    expect(reply.content!.status, out).toBe('ok');
    const ticket = printedTicket(/ticket: (\S+)/.exec(out)?.[1]);
    expect((await request(server.url, 'GET', '/dip/publicapi/auth/info', { ticket })).status).toBe(200);
    await expect.poll(() => hostPidsRunning(marker), { timeout: 10_000 }).toHaveLength(1);

    await server.kill9();
    await expect.poll(() => hostPidsRunning(marker), { timeout: 5000 }).toEqual([]);
    // Nothing ended the kernel's run, so nothing revoked its ticket: the server starting next must.
    server = await startServe(env);
    await expect
      .poll(async () => (await request(server.url, 'GET', '/dip/publicapi/auth/info', { ticket })).status, {
        timeout: 10_000,
      })
      .toBe(401);
    expect((await call('GET', '/jupyter/api/sessions')).json).toEqual([]);
    expect((await call('GET', '/public/api/projects/NBCRASH/jupyter-notebooks/long/sessions')).json).toEqual(
      [],
    );
    await server.stop();
  }, 90_000);
});
