/*
 * The sandbox needs no setting to be safe; these are the settings there are, and what each does:
 * a machine that cannot make a sandbox refuses user code and says why and how to fix it; the explicit
 * opt-out (COFFER_SANDBOX=off) is loud at every start, on /readyz and to administrators; the network
 * is the host's by default (code calls external APIs) and Coffer alone with coffer-only.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  killAllChildren,
  makeTempDir,
  removeTempDirs,
  request,
  runCli,
  startServe,
} from './helpers/coffer-process.js';
import { runRecipe, SEED_SNIPPETS } from './support/jobs.js';
import { TestServer, type TestUser } from './support/test-server.js';

describe('a machine that cannot make a sandbox refuses user code, naming the cause and the fix', () => {
  let server: TestServer;
  let admin: TestUser;
  let erin: TestUser;

  beforeAll(async () => {
    server = await TestServer.start({
      COFFER_SANDBOX_BWRAP: '/nonexistent/bwrap',
      COFFER_JOB_WORK_DIR: makeTempDir('coffer-nobwrap-'),
    });
    admin = await server.createUser('admin', { admin: true });
    erin = await server.createUser('erin');
    await server.request('POST', '/api/v1/projects', { key: erin.key, body: { key: 'ERIN', name: 'Erin' } });
  });
  afterAll(async () => {
    await server.close();
    await removeTempDirs();
  });

  it('a recipe fails without running, and its error says bubblewrap is missing and how to install it', async () => {
    const job = await runRecipe(server, erin, 'ERIN', 'hello', 'python', 'print("RECIPE RAN")\n');
    expect(job.state).toBe('failed');
    expect(job.log).not.toContain('RECIPE RAN');
    expect(job.error).toMatch(/user code never runs without one/);
    expect(job.error).toMatch(/bubblewrap is not installed \(\/nonexistent\/bwrap was not found\)/);
    expect(job.error).toMatch(/apt-get install bubblewrap/);
    expect(job.error).toMatch(/COFFER_SANDBOX=off/);
  });

  it('the start log, /readyz and the admin route say so', async () => {
    const log = readFileSync(server.logFile, 'utf8');
    expect(log).toMatch(
      /NO SANDBOX CAN BE MADE: user code will be refused\. Cause: bubblewrap is not installed/,
    );
    const ready = await server.request('GET', '/readyz');
    expect(ready.status).toBe(200); // the store serves secrets all the same
    expect(ready.json).toMatchObject({ status: 'ready', sandbox: 'unavailable' });
    expect(ready.json.warning).toMatch(/user code is refused: bubblewrap is not installed/);
    const status = await server.request('GET', '/api/v1/admin/sandbox', { key: admin.key });
    expect(status.status).toBe(200);
    expect(status.json.mode).toBe('unavailable');
    expect(status.json.problem.fix).toMatch(/apt-get install bubblewrap/);
  });
});

describe('COFFER_SANDBOX=off: loud at every start, on /readyz and on the admin route', () => {
  afterEach(killAllChildren);
  afterAll(removeTempDirs);

  it('warns at each start that user code runs unsandboxed, and shows it to administrators', async () => {
    const env = {
      COFFER_DATA_DIR: makeTempDir('coffer-off-'),
      COFFER_JOB_WORK_DIR: makeTempDir('coffer-off-work-'),
      COFFER_SANDBOX: 'off',
    };
    expect(
      (await runCli(['users', 'create', 'root-admin', '--admin'], { env, input: 'pw-admin-0123456789\n' }))
        .code,
    ).toBe(0);
    const key = (await runCli(['api-keys', 'create', 'root-admin'], { env })).stdout.trim();
    for (let start = 0; start < 2; start++) {
      const served = await startServe(env);
      const warning = served.lines.find((l) => /USER CODE RUNS WITHOUT A SANDBOX/.test(String(l.msg)));
      expect(warning, `start ${start + 1}: ${JSON.stringify(served.lines)}`).toBeDefined();
      expect(warning!.level).toBe(40);
      const ready = await request(served.url, 'GET', '/readyz');
      expect(ready.json).toMatchObject({ status: 'ready', sandbox: 'off' });
      expect(ready.json.warning).toMatch(/without a sandbox/);
      const status = await request(served.url, 'GET', '/api/v1/admin/sandbox', { key });
      expect(status.json.mode).toBe('off');
      await served.stop();
    }
  });
});

describe('network: the host’s by default, Coffer only with COFFER_SANDBOX_NETWORK=coffer-only', () => {
  let externalApi: Server;
  let apiPort: number;

  beforeAll(async () => {
    // Stands in for the external API a user's credential is for.
    externalApi = createServer((_req, res) => res.end('pong from the external api'));
    await new Promise<void>((r) => externalApi.listen(0, '127.0.0.1', () => r()));
    apiPort = (externalApi.address() as AddressInfo).port;
  });
  afterAll(async () => {
    externalApi.close();
    await removeTempDirs();
  });

  const probe = (port: number) => `${SEED_SNIPPETS.python}
print("identity:", auth_info["authIdentifier"])
import socket, ssl, urllib.request
try:
    print("API:", urllib.request.urlopen("http://127.0.0.1:${port}/", timeout=5).read().decode())
except Exception as e:
    print("API unreachable:", type(e).__name__)
try:
    socket.getaddrinfo("coffer-sandbox-test.example", 443)
    print("DNS: answered")
except Exception as e:
    print("DNS unreachable:", type(e).__name__)
print("TLS roots:", ssl.create_default_context().cert_store_stats()["x509_ca"])
`;

  async function runProbe(env: Record<string, string>) {
    const server = await TestServer.start({ ...env, COFFER_JOB_WORK_DIR: makeTempDir('coffer-net-') });
    try {
      const frank = await server.createUser('frank');
      await server.request('PUT', '/api/v1/me/secrets/credential-for-my-api', {
        key: frank.key,
        body: { value: 'frank-token-4410' },
      });
      await server.request('POST', '/api/v1/projects', { key: frank.key, body: { key: 'NET', name: 'Net' } });
      return await runRecipe(server, frank, 'NET', 'probe', 'python', probe(apiPort));
    } finally {
      await server.close();
    }
  }

  it('by default code reaches external APIs (here one on the host), with the system’s TLS roots', async () => {
    const job = await runProbe({});
    expect(job.state, job.log).toBe('succeeded');
    expect(job.log).toContain('identity: frank');
    expect(job.log).toContain('API: pong from the external api');
    expect(Number(/^TLS roots: (\d+)$/m.exec(job.log)![1])).toBeGreaterThan(10);
  });

  it('coffer-only: the seed snippet still works, and nothing else is reachable', async () => {
    const job = await runProbe({ COFFER_SANDBOX_NETWORK: 'coffer-only' });
    expect(job.state, job.log).toBe('succeeded');
    expect(job.log).toContain('identity: frank');
    expect(job.log).toMatch(/^API unreachable: URLError$/m);
    expect(job.log).toMatch(/^DNS unreachable: gaierror$/m);
    expect(job.log).not.toContain('pong');
  });
});
