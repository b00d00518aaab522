/*
 * `coffer run PROJECT RECIPE` from a terminal: the recipe runs on the server as the user of the API key
 * the environment names, its log (masked) streams to the terminal and the job's end is the exit status.
 * A recipe someone else changed runs only once its runner approved the revision, after seeing the diff.
 */
import { execFile, spawn } from 'node:child_process';
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
  let malKey: string;
  let client: Record<string, string>;
  const VALUE = 'cli-run-value-5b2e8f';

  beforeAll(async () => {
    env = {
      COFFER_DATA_DIR: makeTempDir('coffer-cli-run-'),
      COFFER_JOB_WORK_DIR: makeTempDir('coffer-cli-run-work-'),
    };
    expect((await runCli(['users', 'create', 'fay'], { env, input: 'pw-fay-0123456789\n' })).code).toBe(0);
    key = (await runCli(['api-keys', 'create', 'fay'], { env })).stdout.trim();
    expect((await runCli(['users', 'create', 'mal'], { env, input: 'pw-mal-0123456789\n' })).code).toBe(0);
    malKey = (await runCli(['api-keys', 'create', 'mal'], { env })).stdout.trim();
    server = await startServe(env);
    client = { HOME: makeTempDir('coffer-cli-run-home-'), DKU_DSS_URL: server.url, DKU_API_KEY: key };
    const call = (method: string, p: string, body: unknown) => request(server.url, method, p, { key, body });
    expect((await call('PUT', '/api/v1/me/secrets/token', { value: VALUE })).status).toBe(201);
    expect((await call('POST', '/api/v1/projects', { key: 'CLI', name: 'CLI' })).status).toBe(201);
    expect((await call('PUT', '/api/v1/projects/CLI/members/mal', { role: 'contributor' })).status).toBe(204);
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

  /** Mal (another contributor) saves a recipe's code. */
  const malSaves = async (recipe: string, code: string) => {
    const r = await request(server.url, 'PUT', `/api/v1/projects/CLI/recipes/${recipe}`, {
      key: malKey,
      body: { language: 'python', code },
    });
    expect([200, 201], r.text).toContain(r.status);
  };
  const jobsOf = async (recipe: string) =>
    (await request(server.url, 'GET', '/api/v1/jobs?project=CLI', { key })).json.jobs.filter(
      (j: { recipe: string }) => j.recipe === recipe,
    ).length;

  it('a recipe someone else changed: without a terminal, prints who changed what and the diff, runs nothing, says how to approve', async () => {
    await malSaves(
      'theirs',
      'import dataiku\nprint("from mal:", dataiku.api_client().get_secret("token"))\n',
    );
    const r = await runCli(['run', 'CLI', 'theirs'], { env: client });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/recipe theirs was written by mal and you have not run it before/);
    expect(r.stderr).toMatch(/ {2}revision 1 by mal, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    expect(r.stderr).toContain('+print("from mal:", dataiku.api_client().get_secret("token"))');
    expect(r.stderr).toContain('run: coffer run CLI theirs --approve-revision 1');
    expect(r.stderr).not.toMatch(/\[y\/N\]/);
    expect(await jobsOf('theirs')).toBe(0);
  });

  it('--approve-revision N runs revision N; a stale N prints the new diff and runs nothing', async () => {
    const ok = await runCli(['run', 'CLI', 'theirs', '--approve-revision', '1'], { env: client });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('from mal: *****');
    expect(ok.stdout + ok.stderr).not.toContain(VALUE);
    expect(await jobsOf('theirs')).toBe(1);
    // Run again unchanged: nothing to approve.
    expect((await runCli(['run', 'CLI', 'theirs'], { env: client })).code).toBe(0);

    await malSaves('theirs', 'print("changed again")\n');
    const stale = await runCli(['run', 'CLI', 'theirs', '--approve-revision', '1'], { env: client });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(
      /you approved revision 1 of recipe theirs, but it is at revision 2 now \(by mal\)/,
    );
    expect(stale.stderr).toContain('+print("changed again")');
    expect(stale.stderr).toContain('-print("from mal:"');
    expect(stale.stderr).toContain('coffer run CLI theirs --approve-revision 2');
    expect(await jobsOf('theirs')).toBe(2);

    const bad = await runCli(['run', 'CLI', 'theirs', '--approve-revision', 'latest'], { env: client });
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/--approve-revision must be a revision number, not latest/);
  });

  it('at a terminal, asks "Run revision N? [y/N]" after the diff: yes runs it, anything else does not', async () => {
    await malSaves('asks', 'print("asked first")\n');
    const no = await inTerminal(['run', 'CLI', 'asks'], 'n');
    expect(no.code, no.output).toBe(1);
    expect(no.output).toContain('+print("asked first")');
    expect(no.output).toContain('Run revision 1? [y/N]');
    expect(no.output).toMatch(/not run: you did not approve revision 1/);
    expect(await jobsOf('asks')).toBe(0);

    const yes = await inTerminal(['run', 'CLI', 'asks'], 'y');
    expect(yes.code, yes.output).toBe(0);
    expect(yes.output.indexOf('+print("asked first")')).toBeLessThan(yes.output.indexOf('Run revision 1?'));
    expect(yes.output).toMatch(/asked first\r?\n/);
    expect(await jobsOf('asks')).toBe(1);
  });

  /** Runs `coffer` in a pseudo-terminal (as a person at a terminal) and answers its question. */
  function inTerminal(args: string[], answer: string): Promise<{ code: number; output: string }> {
    const program = `
import json, os, pty, select, subprocess, sys, time
master, slave = pty.openpty()
p = subprocess.Popen(json.loads(sys.argv[1]), stdin=slave, stdout=slave, stderr=slave, close_fds=True)
os.close(slave)
out, sent, deadline = b"", False, time.time() + 60
while time.time() < deadline:
    ready, _, _ = select.select([master], [], [], 0.2)
    if not ready:
        if p.poll() is not None:
            break
        continue
    try:
        chunk = os.read(master, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if not sent and b"? [y/N] " in out:
        os.write(master, sys.argv[2].encode() + b"\\n")
        sent = True
if p.poll() is None:
    p.kill()
print(json.dumps({"code": p.wait(), "output": out.decode("utf-8", "replace")}))
`;
    return new Promise((resolve, reject) =>
      execFile(
        'python3',
        ['-c', program, JSON.stringify([process.execPath, CLI, ...args]), answer],
        { env: { PATH: process.env.PATH, LANG: 'C.UTF-8', ...client }, timeout: 90_000 },
        (err, stdout) =>
          err ? reject(err) : resolve(JSON.parse(stdout) as { code: number; output: string }),
      ),
    );
  }

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
