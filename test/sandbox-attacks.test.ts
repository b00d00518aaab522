/*
 * The attacker in the next job over. While Alice's job runs (holding her ticket in its environment and
 * her value in a file of its home), Bob's recipes try every way to reach her, the server or the
 * machine: /proc/*\/environ, ptrace, signals, other jobs' directories, the data directory, the master
 * key, the database, the server's /proc and files, a daemon that outlives its job, and raising their
 * own privileges. Each test is a real recipe run through the API; each asserts the attack failed and
 * that Alice's value and ticket appear nowhere in Bob's output.
 *
 * It runs against two deployments: the server in this process (as root on CI: each user's code under
 * an account of its own), and — when the suite runs as root — a real `coffer serve` running as an
 * ordinary account made with useradd, the laptop case where the server, its master key and the code's
 * outer account are one and only the sandbox keeps them apart.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllChildren, removeTempDirs } from './helpers/coffer-process.js';
import { attackDeployments, type Deployment as AttackDeployment } from './support/attack-deployments.js';
import { hostPidsRunning } from './support/host-processes.js';
import { ATTACK_PRELUDE, attacks, expectAllBlocked } from './support/job-attacks.js';
import { putRecipe, startJob, waitForJob, type FinishedJob } from './support/jobs.js';
import { httpRequest, TestServer, type Reply, type TestUser } from './support/test-server.js';
import { ticketPrintedIn } from './support/printed-ticket.js';

const ALICE_VALUE = 'alice-plaintext-9f3c71be-victim';
/** A file of the server's own code, as an attacker would aim at it. */
const SERVER_CODE = fileURLToPath(new URL('../packages/server/dist/app.js', import.meta.url));

type Deployment = AttackDeployment<'alice' | 'bob'>;
const deployments = attackDeployments('sandbox attacks', ['alice', 'bob'], { COFFER_JOB_CONCURRENCY: '4' });

const call = (d: Deployment, user: TestUser, method: string, p: string, body?: unknown): Promise<Reply> =>
  httpRequest(d.url, method, p, { key: user.key, body });

function sha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

describe.each(deployments)('sandbox attacks, %s', (_name, deploy) => {
  let d: Deployment;
  let aliceTicket: string;
  let victimJob: string;
  const VICTIM_MARKER = ['sleep', '3010'];
  /** Alice's run directory on the host, found while her job runs. */
  let aliceRun: string;

  beforeAll(async () => {
    d = await deploy();
    expect(
      (await call(d, d.alice, 'PUT', '/api/v1/me/secrets/credential-for-my-api', { value: ALICE_VALUE }))
        .status,
    ).toBe(201);
    for (const [user, key] of [
      [d.alice, 'ALICE'],
      [d.bob, 'BOB'],
    ] as const)
      expect((await call(d, user, 'POST', '/api/v1/projects', { key, name: key })).status).toBe(201);
    // Alice's job: her value in a file of her home, her ticket in her environment, a child running.
    await putRecipe(
      d.api,
      d.alice,
      'ALICE',
      'victim',
      'python',
      `import dataiku, os, subprocess, time
value = dataiku.api_client().get_secret("credential-for-my-api")
open(os.path.expanduser("~/alice-notes.txt"), "w").write(value)
subprocess.Popen(${JSON.stringify(VICTIM_MARKER)})
print("TICKET", os.environ["DKU_API_TICKET"][::-1], flush=True)
time.sleep(600)
`,
    );
    victimJob = await startJob(d.api, d.alice, 'ALICE', 'victim');
    for (const deadline = Date.now() + 30_000; ;) {
      const r = await call(d, d.alice, 'GET', `/api/v1/jobs/${victimJob}/log`);
      const text = (r.json.chunks as { text: string }[]).map((c) => c.text).join('');
      aliceTicket = ticketPrintedIn(text);
      if (aliceTicket !== '' && hostPidsRunning(VICTIM_MARKER).length === 1) break;
      if (Date.now() > deadline) throw new Error(`Alice's job did not start: ${r.text}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    const runs = readdirSync(d.workRoot).filter((n) => n.startsWith('run-'));
    expect(runs).toHaveLength(1);
    aliceRun = path.join(d.workRoot, runs[0]!);
  });

  afterAll(async () => {
    if (victimJob) await call(d, d.alice, 'POST', `/api/v1/jobs/${victimJob}/cancel`);
    await d?.close();
    await killAllChildren();
    await removeTempDirs();
  });

  /** Runs Bob's recipe; checks the victim is untouched and nothing of Alice's shows. */
  async function bobRuns(name: string, code: string, opts: { project?: string } = {}): Promise<FinishedJob> {
    const project = opts.project ?? 'BOB';
    await putRecipe(d.api, d.bob, project, name, 'python', ATTACK_PRELUDE + code);
    const job = await waitForJob(d.api, d.bob, await startJob(d.api, d.bob, project, name));
    expect(job.log, 'Alice’s value leaked into Bob’s output').not.toContain(ALICE_VALUE);
    expect(job.log, 'Alice’s ticket leaked into Bob’s output').not.toContain(aliceTicket);
    expect(hostPidsRunning(VICTIM_MARKER), 'Alice’s job was disturbed').toHaveLength(1);
    return job;
  }

  it("reading /proc/*/environ finds no one's environment but its own: not Alice's ticket", async () => {
    const victimPid = hostPidsRunning(VICTIM_MARKER)[0]!;
    const job = await bobRuns(
      'environ',
      `mine = os.environ["DKU_API_TICKET"]
def foreign_tickets():
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                env = open("/proc/%s/environ" % pid, "rb").read().decode(errors="replace")
            except OSError:
                continue
            for var in env.split("\\0"):
                if var.startswith("DKU_API_TICKET=") and var != "DKU_API_TICKET=" + mine:
                    found.append(var)
    return found
attack("foreign-environ", foreign_tickets)
attack("victim-environ", lambda: open("/proc/${victimPid}/environ", "rb").read())
print("PIDS", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
`,
    );
    expectAllBlocked(job, ['foreign-environ', 'victim-environ']);
    // A private PID namespace: the sandbox's init, the recipe, nothing else.
    const pids = JSON.parse(/^PIDS (.*)$/m.exec(job.log)![1]!) as number[];
    expect(Math.max(...pids), job.log).toBeLessThan(10);
  });

  it('ptrace and signals cannot reach Alice’s processes or the server', async () => {
    const victimPid = hostPidsRunning(VICTIM_MARKER)[0]!;
    const job = await bobRuns(
      'ptrace',
      `libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH = 16
def trace(pid):
    if libc.ptrace(PTRACE_ATTACH, pid, None, None) == 0:
        return "attached to %d" % pid
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
attack("ptrace-victim", lambda: trace(${victimPid}))
attack("ptrace-server", lambda: trace(${d.serverPid}))
def signal(pid):
    os.kill(pid, 0)
    return "can signal %d" % pid
attack("signal-victim", lambda: signal(${victimPid}))
attack("signal-server", lambda: signal(${d.serverPid}))
`,
    );
    expectAllBlocked(job, ['ptrace-victim', 'ptrace-server', 'signal-victim', 'signal-server']);
    // Not refused by permission alone: those processes do not exist in the sandbox (ESRCH).
    for (const a of attacks(job.log)) expect(a.detail, job.log).toMatch(/^(ProcessLookupError|OSError) 3$/);
  });

  it("other jobs' directories are not there: the work root, Alice's run, her file", async () => {
    const job = await bobRuns(
      'directories',
      `attack("list-work-root", lambda: os.listdir(${JSON.stringify(d.workRoot)}))
attack("list-alice-run", lambda: os.listdir(${JSON.stringify(aliceRun)}))
attack("read-alice-file", lambda: open(${JSON.stringify(path.join(aliceRun, 'home', 'alice-notes.txt'))}).read())
attack("other-homes", lambda: [h for h in os.listdir("/home") if h != "coffer"])
attack("other-tmp", lambda: [t for t in os.listdir("/tmp") if not t.startswith("own-")])
`,
    );
    expectAllBlocked(job, [
      'list-work-root',
      'list-alice-run',
      'read-alice-file',
      'other-homes',
      'other-tmp',
    ]);
    for (const name of ['list-work-root', 'list-alice-run', 'read-alice-file'])
      expect(attacks(job.log).find((a) => a.name === name)!.detail).toMatch(/^FileNotFoundError/);
  });

  it('the data directory, the master key and the database are nowhere in the sandbox', async () => {
    const files = readdirSync(d.dataDir).map((f) => path.join(d.dataDir, f));
    const job = await bobRuns(
      'data-dir',
      `for i, p in enumerate(${JSON.stringify([d.dataDir, ...files])}):
    attack("read-%d" % i, lambda p=p: os.listdir(p) if os.path.isdir(p) else open(p, "rb").read()[:16].hex())
def find(names):
    hits = []
    for root, dirs, files in os.walk("/", onerror=lambda e: None):
        dirs[:] = [x for x in dirs if os.path.join(root, x) not in ("/proc", "/sys", "/usr", "/dev")]
        hits += [os.path.join(root, f) for f in files if f in names]
    return hits
attack("find-key-or-db", lambda: find({"master.key", "coffer.db", "coffer.db-wal"}))
`,
    );
    expectAllBlocked(job, [...[d.dataDir, ...files].map((_, i) => `read-${i}`), 'find-key-or-db']);
    for (const a of attacks(job.log).filter((x) => x.name.startsWith('read-')))
      expect(a.detail, 'the data directory must be absent, not merely forbidden').toMatch(
        /^FileNotFoundError/,
      );
  });

  it("the server's /proc, environment and code are out of reach", async () => {
    const job = await bobRuns(
      'server-proc',
      `attack("server-environ", lambda: open("/proc/${d.serverPid}/environ", "rb").read())
attack("server-cmdline", lambda: open("/proc/${d.serverPid}/cmdline", "rb").read())
attack("server-root", lambda: os.listdir("/proc/${d.serverPid}/root"))
def server_env():
    marks = (b"COFFER_DATA_DIR=", b"COFFER_TEST_")
    return [p for p in os.listdir("/proc") if p.isdigit() and any(m in open("/proc/%s/environ" % p, "rb").read() for m in marks)]
attack("server-env-anywhere", server_env)
attack("server-code", lambda: open(${JSON.stringify(SERVER_CODE)}).read()[:32])
`,
    );
    expectAllBlocked(job, [
      'server-environ',
      'server-cmdline',
      'server-root',
      'server-env-anywhere',
      'server-code',
    ]);
  });

  it("writing the server's files fails: data, code, client packages, system", async () => {
    const keyFile = path.join(d.dataDir, 'master.key');
    const before = { key: sha(keyFile), code: sha(SERVER_CODE) };
    const job = await bobRuns(
      'write-server',
      `for i, p in enumerate(${JSON.stringify([keyFile, SERVER_CODE, path.join(d.dataDir, 'planted')])}):
    attack("write-%d" % i, lambda p=p: open(p, "a").write("owned") and "wrote " + p)
attack("write-client", lambda: open(os.environ["PYTHONPATH"] + "/dataiku/__init__.py", "a").write("x") and "wrote client")
attack("write-usr", lambda: open("/usr/bin/python3", "ab").write(b"x") and "wrote /usr")
attack("write-etc", lambda: open("/etc/passwd", "a").write("x") and "wrote /etc/passwd")
`,
    );
    expectAllBlocked(job, ['write-0', 'write-1', 'write-2', 'write-client', 'write-usr', 'write-etc']);
    expect({ key: sha(keyFile), code: sha(SERVER_CODE) }).toEqual(before);
    expect(readdirSync(d.dataDir)).not.toContain('planted');
  });

  it('no privilege to gain: no capabilities, no_new_privs, no root, no namespaces, no mounts', async () => {
    const job = await bobRuns(
      'privileges',
      `status = open("/proc/self/status").read()
for line in status.splitlines():
    if line.startswith(("CapEff", "CapPrm", "CapBnd", "CapAmb", "NoNewPrivs")):
        print("STATUS", line.replace("\\t", " "))
libc = ctypes.CDLL(None, use_errno=True)
def check(r):
    if r == 0:
        return "succeeded"
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
attack("setuid-root", lambda: os.setuid(0) or "became root")
attack("new-user-namespace", lambda: check(libc.unshare(0x10000000)))
attack("mount", lambda: check(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)))
attack("ns-enter-host", lambda: check(libc.setns(os.open("/proc/1/ns/mnt", os.O_RDONLY), 0)))
`,
    );
    expectAllBlocked(job, ['setuid-root', 'new-user-namespace', 'mount', 'ns-enter-host']);
    for (const cap of ['CapEff', 'CapPrm', 'CapBnd', 'CapAmb'])
      expect(job.log).toMatch(new RegExp(`^STATUS ${cap}: +0000000000000000$`, 'm'));
    expect(job.log).toMatch(/^STATUS NoNewPrivs: +1$/m);
  });

  it('a double-fork-and-setsid daemon is gone once its job ends', async () => {
    const daemon = ['sleep', '3011'];
    const job = await bobRuns(
      'daemon',
      `if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ${JSON.stringify(daemon)})
    os._exit(0)
import time
for _ in range(100):
    if any(open("/proc/%s/cmdline" % p, "rb").read() == b"sleep\\x003011\\x00" for p in os.listdir("/proc") if p.isdigit()):
        break
    time.sleep(0.05)
print("daemon started", flush=True)
`,
    );
    expect(job.state, job.log).toBe('succeeded');
    expect(job.log).toContain('daemon started');
    await expect.poll(() => hostPidsRunning(daemon), { timeout: 5000 }).toEqual([]);
  });
});

describe('sandbox limits: bombs fail the job, name the limit, and leave the server and others alone', () => {
  let server: TestServer;
  let carol: TestUser;
  let dave: TestUser;
  let workRoot: string;

  beforeAll(async () => {
    workRoot = path.join(tmpdir(), `coffer-limits-${process.pid}`);
    server = await TestServer.start({
      COFFER_JOB_WORK_DIR: workRoot,
      COFFER_JOB_CONCURRENCY: '4',
      COFFER_SANDBOX_MEMORY_MIB: '256',
      COFFER_SANDBOX_PROCESSES: '64',
      COFFER_SANDBOX_CPU_SECONDS: '2',
      COFFER_SANDBOX_FILES_MIB: '8',
    });
    carol = await server.createUser('carol');
    dave = await server.createUser('dave');
    for (const [u, key] of [
      [carol, 'CAROL'],
      [dave, 'DAVE'],
    ] as const)
      await server.request('POST', '/api/v1/projects', { key: u.key, body: { key, name: key } });
  });
  afterAll(async () => {
    await server.close();
    rmSync(workRoot, { recursive: true, force: true });
  });

  /** Runs a bomb while Dave's job runs beside it; Dave's job and the server must be fine. */
  async function bomb(name: string, code: string): Promise<FinishedJob> {
    await putRecipe(
      server,
      dave,
      'DAVE',
      'bystander',
      'python',
      'import time\ntime.sleep(1.5)\nprint("fine")\n',
    );
    const bystander = await startJob(server, dave, 'DAVE', 'bystander');
    await putRecipe(server, carol, 'CAROL', name, 'python', code);
    const job = await waitForJob(server, carol, await startJob(server, carol, 'CAROL', name));
    expect((await server.request('GET', '/healthz')).status).toBe(200);
    const other = await waitForJob(server, dave, bystander);
    expect(other.state, other.log).toBe('succeeded');
    expect(other.log).toContain('fine');
    return job;
  }

  it('a memory bomb across processes is stopped at the memory limit', async () => {
    const job = await bomb(
      'memory-bomb',
      `import os, time
for _ in range(3):
    if os.fork() == 0:
        break
hog = []
while True:
    hog.append(bytearray(b"x" * (16 << 20)))
    time.sleep(0.01)
`,
    );
    expect(job.state, job.log).toBe('failed');
    expect(job.error).toMatch(/^memory limit of 256 MiB reached/);
  });

  it('one allocation past the memory limit fails the job naming the limit', async () => {
    const job = await bomb('big-alloc', 'x = bytearray(1 << 30)\n');
    expect(job.state, job.log).toBe('failed');
    expect(job.error).toBe('memory limit of 256 MiB reached (exited with code 1)');
  });

  it('a fork bomb is stopped at the process limit', async () => {
    const job = await bomb(
      'fork-bomb',
      `import os, time
while True:
    try:
        os.fork()
    except OSError:
        time.sleep(0.01)
`,
    );
    expect(job.state, job.log).toBe('failed');
    expect(job.error).toMatch(/^process limit of 64 reached/);
  });

  it('a CPU spin is stopped at the CPU time limit', async () => {
    const job = await bomb('spin', 'while True:\n    pass\n');
    expect(job.state, job.log).toBe('failed');
    expect(job.error).toMatch(/^CPU time limit of 2 s reached/);
  });

  it('a file past the size limit fails the job naming the limit', async () => {
    const job = await bomb(
      'big-file',
      'with open("big.bin", "wb") as f:\n    for _ in range(32):\n        f.write(b"x" * (1 << 20))\n',
    );
    expect(job.state, job.log).toBe('failed');
    expect(job.error).toMatch(/^file size limit of 8 MiB reached/);
  });

  it('many files together past the size limit fail the job naming the limit', async () => {
    const job = await bomb(
      'many-files',
      'import time\nfor i in range(64):\n    open("f%d" % i, "wb").write(b"x" * (1 << 20))\ntime.sleep(30)\n',
    );
    expect(job.state, job.log).toBe('failed');
    expect(job.error).toMatch(/^file size limit of 8 MiB reached/);
  });
});
