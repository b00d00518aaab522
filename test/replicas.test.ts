/*
 * Several stateless replicas on one PostgreSQL, as behind a load balancer: whatever one replica
 * acknowledges, another serves at once (sessions, secrets, tickets, rate limits, jobs); a replica killed
 * with kill -9 loses nothing acknowledged and its jobs are failed by the others; a replica with another
 * master key refuses to start and changes nothing. Real `coffer serve` processes.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  killAllChildren,
  makeTempDir,
  removeTempDirs,
  request,
  runCli,
  startServe,
  type ServeHandle,
} from './helpers/coffer-process.js';
import { hostPidsRunning } from './support/host-processes.js';
import { jupyterCall, openKernel } from './support/kernel-session.js';
import { createTestDatabase, dropTestDatabase } from './support/test-store.js';
import { printedTicket, ticketPrintedIn } from './support/printed-ticket.js';

/** The job's log so far, as any replica shows it. */
async function logOf(s: ServeHandle, key: string, id: string): Promise<string> {
  const r = await request(s.url, 'GET', `/api/v1/jobs/${id}/log`, { key });
  return (r.json.chunks as { text: string }[]).map((c) => c.text).join('');
}

// In the postgres project only (vitest.config.ts): it needs PostgreSQL, which CI always has.
describe('replicas on one PostgreSQL', () => {
  let url: string;
  const masterKey = randomBytes(32).toString('base64');
  let shared: Record<string, string>;
  let a: ServeHandle;
  let b: ServeHandle;
  const keys: Record<string, string> = {};

  /** One replica: its own data directory (nothing shared on disk), the shared database and key. */
  const replica = (extra: Record<string, string> = {}) =>
    startServe({ ...shared, COFFER_DATA_DIR: makeTempDir('coffer-replica-'), ...extra });

  beforeAll(async () => {
    url = await createTestDatabase();
    shared = {
      COFFER_DATABASE_URL: url,
      COFFER_MASTER_KEY: masterKey,
      COFFER_JOB_WORK_DIR: makeTempDir('coffer-replicas-work-'),
      COFFER_JOB_HEARTBEAT_SECONDS: '1',
      COFFER_LOGIN_MAX_FAILURES: '3',
    };
    const cliEnv = { ...shared, COFFER_DATA_DIR: makeTempDir('coffer-replicas-cli-') };
    for (const login of ['alice', 'bob']) {
      const c = await runCli(['users', 'create', login], { env: cliEnv, input: `pw-${login}-0123456789\n` });
      expect(c, c.stderr).toMatchObject({ code: 0 });
      keys[login] = (await runCli(['api-keys', 'create', login], { env: cliEnv })).stdout.trim();
    }
    // Two replicas that serve but run no jobs, so a job's replica is the one the job tests choose.
    [a, b] = await Promise.all([
      replica({ COFFER_JOBS_ENABLED: 'false' }),
      replica({ COFFER_JOBS_ENABLED: 'false' }),
    ]);
  });
  afterAll(async () => {
    await killAllChildren();
    await dropTestDatabase(url);
    await removeTempDirs();
  });

  it('a session opened on one replica works on the other, and signing out on either ends it on both', async () => {
    const login = await request(a.url, 'POST', '/api/v1/session', {
      body: { login: 'alice', password: 'pw-alice-0123456789' },
    });
    expect(login.status, login.text).toBe(200);
    const session = {
      cookie: login.headers.get('set-cookie')!.split(';')[0]!,
      csrf: login.json.csrfToken as string,
    };
    expect((await request(b.url, 'GET', '/api/v1/me', { session })).status).toBe(200);
    expect((await request(b.url, 'DELETE', '/api/v1/session', { session })).status).toBe(204);
    expect((await request(a.url, 'GET', '/api/v1/me', { session })).status).toBe(401);
  });

  it('a secret saved through one replica is read through the other at once, and deleted likewise', async () => {
    const put = await request(a.url, 'PUT', '/api/v1/me/secrets/shared-secret', {
      key: keys.alice,
      body: { value: 'v-from-a' },
    });
    expect(put.status).toBe(201);
    const read = await request(b.url, 'GET', '/dip/publicapi/auth/info?withSecrets=true', {
      key: keys.alice,
    });
    expect(read.json.secrets).toContainEqual({ key: 'shared-secret', value: 'v-from-a' });
    expect(
      (await request(b.url, 'DELETE', '/api/v1/me/secrets/shared-secret', { key: keys.alice })).status,
    ).toBe(200);
    const again = await request(a.url, 'GET', '/dip/publicapi/auth/info?withSecrets=true', {
      key: keys.alice,
    });
    expect(again.json.secrets).toEqual([]);
  });

  it('failed sign-ins add up across replicas', async () => {
    for (const server of [a, b, a]) {
      const r = await request(server.url, 'POST', '/api/v1/session', {
        body: { login: 'bob', password: 'wrong' },
      });
      expect(r.status).toBe(401);
    }
    const locked = await request(b.url, 'POST', '/api/v1/session', {
      body: { login: 'bob', password: 'pw-bob-0123456789' },
    });
    expect(locked.status).toBe(429);
  });

  it('a kernel is reached through the replica that started it: another replica names that replica, lists the kernel, and sends its owner there', async () => {
    const as = (s: ServeHandle, login: string, method: string, p: string, body?: unknown) =>
      request(s.url, method, p, { key: keys[login]!, body });
    expect((await as(a, 'alice', 'POST', '/api/v1/projects', { key: 'KRN', name: 'Kernels' })).status).toBe(
      201,
    );
    await as(a, 'alice', 'PUT', '/api/v1/projects/KRN/notebooks/nb', { language: 'python' });
    const opened = await as(a, 'alice', 'POST', '/jupyter/api/sessions', { path: 'KRN/nb.ipynb' });
    expect(opened.status, opened.text).toBe(201);
    const id = opened.json.kernel.id as string;

    const there = await as(b, 'alice', 'GET', `/jupyter/api/kernels/${id}`);
    expect(there.status, there.text).toBe(421);
    expect(there.json.message).toMatch(
      new RegExp(`runs on replica \\S+:${new URL(a.url).port}, not on this one`),
    );
    const stop = await as(b, 'alice', 'DELETE', `/jupyter/api/sessions/${opened.json.id}`);
    expect(stop.status).toBe(421);
    const listed = (await as(b, 'alice', 'GET', '/jupyter/api/sessions')).json as {
      kernel: { id: string };
    }[];
    expect(listed.map((s) => s.kernel.id)).toContain(id);
    // Anyone else is told nothing of it, on either replica.
    expect((await as(b, 'bob', 'GET', `/jupyter/api/kernels/${id}`)).status).toBe(404);
    expect((await as(b, 'bob', 'GET', '/jupyter/api/sessions')).json).toEqual([]);

    expect((await as(a, 'alice', 'DELETE', `/jupyter/api/sessions/${opened.json.id}`)).status).toBe(204);
    expect((await as(b, 'alice', 'GET', `/jupyter/api/kernels/${id}`)).status).toBe(404);
    expect((await as(b, 'alice', 'GET', '/jupyter/api/sessions')).json).toEqual([]);
  }, 60_000);

  it("a kernel's ticket outlives another replica starting, and is revoked by the others once its replica is killed with kill -9", async () => {
    const holder = await replica();
    const call = (s: ServeHandle, method: string, p: string, body?: unknown) =>
      jupyterCall(s.url, keys.alice!, method, p, body);
    expect((await call(holder, 'POST', '/api/v1/projects', { key: 'KGONE', name: 'Gone' })).status).toBe(201);
    await call(holder, 'PUT', '/api/v1/projects/KGONE/notebooks/nb', { language: 'python' });
    const kernel = await openKernel(holder.url, keys.alice!, 'KGONE/nb.ipynb');
    // The connection is cut by the kill, not closed: expected, not an error of the test.
    kernel.channels.ws.on('error', () => undefined);
    const { out } = await kernel.channels.execute(
      'import os; print("ticket:", os.environ["DKU_API_TICKET"][::-1])',
    );
    const ticket = printedTicket(/ticket: (\S+)/.exec(out)?.[1]);
    const status = async () => (await request(b.url, 'GET', '/dip/publicapi/auth/info', { ticket })).status;
    expect(await status()).toBe(200);
    // A replica starting ends only what its own former self (its host:port) left, and a live replica's
    // kernels keep beating through a whole round of sweeps (six heartbeats).
    const newcomer = await replica();
    await new Promise((r) => setTimeout(r, 7000));
    expect(await status()).toBe(200);
    const listed = (await call(newcomer, 'GET', '/jupyter/api/sessions')).json as { id: string }[];
    expect(listed.map((x) => x.id)).toEqual([kernel.sessionId]);

    await holder.kill9();
    await expect.poll(status, { timeout: 20_000, interval: 500 }).toBe(401);
    expect((await call(newcomer, 'GET', '/jupyter/api/sessions')).json).toEqual([]);
    await newcomer.stop();
  }, 90_000);

  it('deleting a notebook through one replica ends its kernel on another: the ticket at once, the kernel at its next heartbeat', async () => {
    const call = (s: ServeHandle, method: string, p: string, body?: unknown) =>
      jupyterCall(s.url, keys.alice!, method, p, body);
    expect((await call(a, 'POST', '/api/v1/projects', { key: 'KDEL', name: 'Deleted' })).status).toBe(201);
    await call(a, 'PUT', '/api/v1/projects/KDEL/notebooks/nb', { language: 'python' });
    const kernel = await openKernel(a.url, keys.alice!, 'KDEL/nb.ipynb');
    const { out } = await kernel.channels.execute(
      'import os; print("ticket:", os.environ["DKU_API_TICKET"][::-1])',
    );
    const ticket = printedTicket(/ticket: (\S+)/.exec(out)?.[1]);
    const status = async () => (await request(a.url, 'GET', '/dip/publicapi/auth/info', { ticket })).status;
    expect(await status()).toBe(200);
    expect((await call(b, 'DELETE', '/api/v1/projects/KDEL/notebooks/nb')).status).toBeLessThan(300);
    expect(await status()).toBe(401);
    await expect
      .poll(() => kernel.channels.ws.readyState, { timeout: 10_000 })
      .toBe(kernel.channels.ws.CLOSED);
    expect((await call(a, 'GET', '/jupyter/api/sessions')).json).toEqual([]);
  }, 60_000);

  it('a job is followed and cancelled through replicas that do not run it; its ticket works on all while it runs', async () => {
    const runner = await replica();
    try {
      const call = (s: ServeHandle, method: string, p: string, body?: unknown) =>
        request(s.url, method, p, { key: keys.alice, body });
      expect((await call(a, 'POST', '/api/v1/projects', { key: 'REPL', name: 'Replicas' })).status).toBe(201);
      // Recipes run in a sandbox: what the test needs of them, they print.
      const code = `import os, time
print("TICKET", os.environ["DKU_API_TICKET"][::-1], flush=True)
print("running", flush=True)
time.sleep(300)
`;
      expect(
        (await call(b, 'PUT', '/api/v1/projects/REPL/recipes/wait', { language: 'python', code })).status,
      ).toBe(201);
      const run = await call(a, 'POST', '/api/v1/projects/REPL/recipes/wait/run', {});
      expect(run.status, run.text).toBe(202);
      const id = run.json.id as string;
      let ticket = '';
      await expect
        .poll(async () => (ticket = ticketPrintedIn(await logOf(b, keys.alice!, id))), {
          timeout: 20_000,
        })
        .not.toBe('');
      for (const s of [a, b, runner]) {
        const info = await request(s.url, 'GET', '/dip/publicapi/auth/info', { ticket });
        expect(info.json.authIdentifier).toBe('alice');
      }
      await expect
        .poll(async () => JSON.stringify((await call(b, 'GET', `/api/v1/jobs/${id}/log`)).json.chunks))
        .toContain('running');
      expect((await call(b, 'POST', `/api/v1/jobs/${id}/cancel`)).status).toBe(200);
      await expect
        .poll(async () => (await call(a, 'GET', `/api/v1/jobs/${id}`)).json.state, { timeout: 15_000 })
        .toBe('cancelled');
      for (const s of [a, b])
        expect((await request(s.url, 'GET', '/dip/publicapi/auth/info', { ticket })).status).toBe(401);
    } finally {
      await runner.stop();
    }
  });

  it('a replica killed with kill -9 while running a job: its sandbox dies with it, and another replica fails the job within seconds', async () => {
    const runner = await replica();
    const marker = ['sleep', '3021'];
    const code = `import os
print("started", flush=True)
os.execvp("sleep", ${JSON.stringify(marker)})
`;
    const call = (s: ServeHandle, method: string, p: string, body?: unknown) =>
      request(s.url, method, p, { key: keys.bob, body });
    expect((await call(a, 'POST', '/api/v1/projects', { key: 'DIES', name: 'Dies' })).status).toBe(201);
    expect(
      (await call(a, 'PUT', '/api/v1/projects/DIES/recipes/wait', { language: 'python', code })).status,
    ).toBe(201);
    const id = (await call(a, 'POST', '/api/v1/projects/DIES/recipes/wait/run', {})).json.id as string;
    await expect.poll(() => hostPidsRunning(marker).length, { timeout: 20_000 }).toBe(1);
    await runner.kill9();
    // Nothing the job started outlives its server: the sandbox dies with it.
    await expect.poll(() => hostPidsRunning(marker), { timeout: 5000 }).toEqual([]);
    await expect
      .poll(async () => (await call(b, 'GET', `/api/v1/jobs/${id}`)).json.state, {
        timeout: 20_000,
        interval: 500,
      })
      .toBe('failed');
    expect((await call(b, 'GET', `/api/v1/jobs/${id}`)).json.error).toBe(
      'the server running this job stopped before it finished',
    );
  });

  it('of two replicas that run jobs, exactly one runs each job', async () => {
    const runners = await Promise.all([replica(), replica()]);
    try {
      const call = (s: ServeHandle, method: string, p: string, body?: unknown) =>
        request(s.url, method, p, { key: keys.alice, body });
      expect((await call(a, 'POST', '/api/v1/projects', { key: 'ONCE', name: 'Once' })).status).toBe(201);
      // Each run records itself as a secret of its runner, through its own ticket (which may update the
      // runner's secrets), named after its job and a random token: two runs of one job leave two.
      const code = `import json, os, secrets, urllib.request
base = "%s://%s:%s" % (os.environ["DKU_BACKEND_PROTOCOL"], os.environ["DKU_BACKEND_HOST"], os.environ["DKU_BACKEND_PORT"])
name = "ran-%s-%s" % (os.environ["COFFER_JOB_ID"], secrets.token_hex(4))
req = urllib.request.Request(base + "/api/v1/me/secrets/" + name, data=json.dumps({"value": "x"}).encode(),
                             method="PUT", headers={"X-DKU-APITicket": os.environ["DKU_API_TICKET"],
                                                    "Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=20).read()
`;
      expect(
        (await call(a, 'PUT', '/api/v1/projects/ONCE/recipes/mark', { language: 'python', code })).status,
      ).toBe(201);
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        const r = await call(i % 2 ? a : b, 'POST', '/api/v1/projects/ONCE/recipes/mark/run', {});
        expect(r.status, r.text).toBe(202);
        ids.push(r.json.id as string);
      }
      for (const id of ids)
        await expect
          .poll(async () => (await call(a, 'GET', `/api/v1/jobs/${id}`)).json.state, { timeout: 30_000 })
          .toBe('succeeded');
      const secrets = (await call(a, 'GET', '/api/v1/me/secrets')).json.secrets as { name: string }[];
      const runs = secrets.filter((x) => x.name.startsWith('ran-')).map((x) => x.name.split('-')[1]!);
      expect(runs.sort()).toEqual([...ids].sort());
    } finally {
      await Promise.all(runners.map((r) => r.stop()));
    }
  });

  it('replicas started at the same moment on a new database migrate it once, and all serve', async () => {
    const fresh = await createTestDatabase();
    try {
      const env = { ...shared, COFFER_DATABASE_URL: fresh, COFFER_JOBS_ENABLED: 'false' };
      const started = await Promise.all(
        [0, 1, 2].map(() => startServe({ ...env, COFFER_DATA_DIR: makeTempDir('coffer-replica-new-') })),
      );
      for (const s of started) expect((await request(s.url, 'GET', '/readyz')).status).toBe(200);
      const c = new pg.Client({ connectionString: fresh });
      await c.connect();
      const migrations = (await c.query('select name from kysely_migration order by name')).rows.map(
        (r) => r.name,
      );
      const versions = (await c.query('select version from master_keys')).rows;
      await c.end();
      expect(new Set(migrations).size).toBe(migrations.length);
      expect(migrations.length).toBeGreaterThanOrEqual(4);
      expect(versions).toHaveLength(1); // one master key version, registered once
      await Promise.all(started.map((s) => s.stop()));
    } finally {
      await dropTestDatabase(fresh);
    }
  });

  it('kill -9 of one replica under a write load loses no acknowledged write', async () => {
    const victim = await replica({ COFFER_JOBS_ENABLED: 'false' });
    const acked = new Map<string, string>();
    let stop = false;
    const chain = async (server: ServeHandle, n: number) => {
      for (let i = 0; !stop; i++) {
        const name = `load-${n}-${i}`;
        const value = `value-${n}-${i}-${randomBytes(4).toString('hex')}`;
        try {
          const r = await request(server.url, 'PUT', `/api/v1/me/secrets/${name}`, {
            key: keys.bob,
            body: { value },
            timeoutMs: 5000,
          });
          if (r.status === 201) acked.set(name, value);
        } catch {
          if (server === victim) return; // the kill cut this one off: in doubt, not acknowledged
        }
      }
    };
    const chains = [chain(victim, 0), chain(victim, 1), chain(a, 2), chain(b, 3)];
    await expect.poll(() => acked.size, { timeout: 20_000 }).toBeGreaterThan(60);
    await victim.kill9();
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(chains);
    const info = await request(a.url, 'GET', '/dip/publicapi/auth/info?withSecrets=true', { key: keys.bob });
    const stored = new Map(
      (info.json.secrets as { key: string; value: string }[]).map((s) => [s.key, s.value]),
    );
    const lost = [...acked].filter(([name, value]) => stored.get(name) !== value);
    expect(lost).toEqual([]);
  });

  it('a replica started with another master key refuses to start and changes nothing', async () => {
    const snapshot = async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        const tables = (
          await c.query(`select tablename from pg_tables where schemaname = 'public' order by 1`)
        ).rows;
        const out: Record<string, unknown> = {};
        for (const { tablename } of tables)
          out[tablename] = (
            await c.query(
              `select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as h from ${tablename} t`,
            )
          ).rows[0].h;
        return out;
      } finally {
        await c.end();
      }
    };
    const before = await snapshot();
    const wrong = await replica({ COFFER_MASTER_KEY: randomBytes(32).toString('base64') }).then(
      () => 'started',
      (e: Error) => e.message,
    );
    expect(wrong).toMatch(/exited \(code 78[\s\S]*master key does not match/);
    expect(await snapshot()).toEqual(before);
  });
});
