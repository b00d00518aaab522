/*
 * `coffer run PROJECT RECIPE` from a terminal: the recipe runs on the server as the user of the API key
 * the environment names, its log (masked) streams to the terminal and the job's end is the exit status.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI,
  killAllChildren,
  makeTempDir,
  removeTempDirs,
  request,
  runCli,
  startServe,
  type ServeHandle,
} from './helpers/coffer-process.js';

describe('coffer run', () => {
  let server: ServeHandle;
  let env: Record<string, string>;
  let key: string;
  let client: Record<string, string>;
  const VALUE = 'cli-run-value-5b2e8f';

  beforeAll(async () => {
    env = {
      COFFER_DATA_DIR: makeTempDir('coffer-cli-run-'),
      COFFER_JOB_WORK_DIR: makeTempDir('coffer-cli-run-work-'),
    };
    expect((await runCli(['users', 'create', 'fay'], { env, input: 'pw-fay-0123456789\n' })).code).toBe(0);
    key = (await runCli(['api-keys', 'create', 'fay'], { env })).stdout.trim();
    server = await startServe(env);
    client = { HOME: makeTempDir('coffer-cli-run-home-'), DKU_DSS_URL: server.url, DKU_API_KEY: key };
    const call = (method: string, p: string, body: unknown) => request(server.url, method, p, { key, body });
    expect((await call('PUT', '/api/v1/me/secrets/token', { value: VALUE })).status).toBe(201);
    expect((await call('POST', '/api/v1/projects', { key: 'CLI', name: 'CLI' })).status).toBe(201);
    const recipes: Record<string, string> = {
      ok: 'import dataiku, sys\nprint("token is", dataiku.api_client().get_secret("token"))\nprint("to stderr", file=sys.stderr)\n',
      exits: 'raise SystemExit(7)\n',
      waits: 'import time\nprint("waiting", flush=True)\ntime.sleep(300)\n',
    };
    for (const [name, code] of Object.entries(recipes))
      expect(
        (await call('PUT', `/api/v1/projects/CLI/recipes/${name}`, { language: 'python', code })).status,
      ).toBe(201);
  });
  afterAll(async () => {
    await server?.stop();
    await killAllChildren();
    await removeTempDirs();
  });

  it('streams the masked log and exits 0 when the job succeeds', async () => {
    const r = await runCli(['run', 'CLI', 'ok'], { env: client });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(r.stdout).toContain('token is *****');
    expect(r.stdout + r.stderr).not.toContain(VALUE);
    expect(r.stderr).toContain('to stderr');
    expect(r.stderr).toMatch(/coffer: job \w+ succeeded/);
  });

  it("exits with the recipe's own exit code when it fails", async () => {
    const r = await runCli(['run', 'CLI', 'exits'], { env: client });
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/job \w+ failed: exited with code 7/);
  });

  it('an unknown recipe, a bad key or no configuration each exit non-zero with a clear message', async () => {
    const missing = await runCli(['run', 'CLI', 'nope'], { env: client });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/the server refused \(404\): .*nope/);
    const badKey = await runCli(['run', 'CLI', 'ok'], { env: { ...client, DKU_API_KEY: 'cofk_wrong' } });
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toMatch(/the server refused \(401\)/);
    const none = await runCli(['run', 'CLI', 'ok'], { env: { HOME: client.HOME! } });
    expect(none.code).toBe(64);
    expect(none.stderr).toMatch(/no Coffer server configured/);
    const badTimeout = await runCli(['run', 'CLI', 'ok', '--timeout', 'soon'], { env: client });
    expect(badTimeout.code).toBe(64);
    expect(badTimeout.stderr).toMatch(/--timeout must be a whole number of seconds, not soon/);
  });

  it('Ctrl-C cancels the job on the server and exits 130', async () => {
    const child = spawn(process.execPath, [CLI, 'run', 'CLI', 'waits'], {
      env: { PATH: process.env.PATH, ...client },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await expect.poll(() => stdout + stderr, { timeout: 20_000 }).toContain('waiting');
      child.kill('SIGINT');
      expect(await exited).toBe(130);
    } finally {
      child.kill('SIGKILL');
    }
    expect(stderr).toMatch(/cancelling job (\w+)/);
    const id = /cancelling job (\w+)/.exec(stderr)![1]!;
    const job = await request(server.url, 'GET', `/api/v1/jobs/${id}`, { key });
    expect(job.json.state).toBe('cancelled');
  });
});
