/*
 * The attacker in the next notebook over (issue 13, docs/adr/0020): the isolation attacks of
 * sandbox-attacks.test.ts, run from a cell of Mallory's Python kernel. The victims are Bob's running
 * kernel (his value in a variable and in a file of its home, his ticket in its environment, its
 * ZeroMQ sockets in its /tmp) and a job of Bob's running beside it, and the server. Before any attack
 * the test proves from outside that the victims are there: both hold a ticket the server accepts, and
 * their processes run on the host. Each test asserts what Mallory's cell observed (nothing found,
 * ESRCH, the file absent, the write refused) and that Bob's value and tickets appear nowhere in what
 * her kernel sent; after each, Bob's kernel still answers.
 *
 * Like the recipe suite it runs against the server in this process (as root: each user's code under an
 * account of its own) and, when the suite runs as root, against `coffer serve` as an ordinary account,
 * where the server, its master key and both kernels' outer account are one and only the sandbox keeps
 * them apart.
 *
 * Then the limits, per kernel: a bomb in a cell ends that kernel (or fails the cell) and leaves the
 * server and the kernel of the user next door answering.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllChildren, makeTempDir, removeTempDirs } from './helpers/coffer-process.js';
import { readStat, scanProcesses, treeOf } from '../packages/server/src/execution/process-tree.js';
import { attackDeployments, type Deployment as AttackDeployment } from './support/attack-deployments.js';
import { hostPidsRunning } from './support/host-processes.js';
import { putRecipe, startJob } from './support/jobs.js';
import { jupyterCall, openKernel, type KernelSession } from './support/kernel-session.js';
import { TestServer, type TestUser } from './support/test-server.js';
import { ticketPrintedIn } from './support/printed-ticket.js';

const BOB_VALUE = 'bob-plaintext-5e0a2c19-victim';
const SERVER_CODE = fileURLToPath(new URL('../packages/server/dist/app.js', import.meta.url));
/** The kernel bridge as the host holds it: every kernel's sandbox runs this file. */
const BRIDGE = fileURLToPath(new URL('../clients/jupyter/coffer_kernel_bridge.py', import.meta.url));

/** A server with Mallory (the attacker) and Bob (the victim) as users. */
type Deployment = AttackDeployment<'mallory' | 'bob'>;
const deployments = attackDeployments('notebook attacks', ['mallory', 'bob']);

/** Defines `attack(name, fn)` in Mallory's kernel: it prints `ATTACK <name> BLOCKED|GOT <detail>`. */
const ATTACK_HELPER = `import ctypes, errno, json, os, socket, sys
def attack(name, fn):
    try:
        got = fn()
        verdict = ("GOT", repr(got)[:300]) if got else ("BLOCKED", "(nothing)")
    except Exception as e:
        verdict = ("BLOCKED", "%s %s" % (type(e).__name__, getattr(e, "errno", None) or ""))
    print("ATTACK", name, *verdict, flush=True)
`;

interface Attack {
  name: string;
  outcome: string;
  detail: string;
}

const parseAttacks = (out: string): Attack[] =>
  [...out.matchAll(/^ATTACK (\S+) (BLOCKED|GOT) (.*)$/gm)].map(([, name, outcome, detail]) => ({
    name: name!,
    outcome: outcome!,
    detail: detail!.trim(),
  }));

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A marker command no other test (nor the same file on the other store) runs. */
const marker = (): string[] => ['sleep', String(400_000 + Math.floor(Math.random() * 500_000))];

describe.each(deployments)('notebook attacks, %s', (_name, deploy) => {
  let d: Deployment;
  let bobKernel: KernelSession;
  let mallory: KernelSession;
  /** Bob's kernel's and job's tickets, which must show nowhere in Mallory's output. */
  const bobTickets: string[] = [];
  let bobJob: string;
  const KERNEL_MARKER = marker();
  const JOB_MARKER = marker();
  /** Host pids: Bob's ipykernel, its bridge, his job's child. */
  const victim = { kernel: 0, bridge: 0, job: 0 };
  /** On the host: Bob's kernel's run directory and his job's; in his sandbox: his kernel's ZeroMQ socket. */
  const bobRuns = { kernel: '', job: '', socketDir: '', socket: '' };

  const as = (u: TestUser, method: string, p: string, body?: unknown) =>
    jupyterCall(d.url, u.key, method, p, body);

  beforeAll(async () => {
    d = await deploy();
    expect(
      (await as(d.bob, 'PUT', '/api/v1/me/secrets/credential-for-my-api', { value: BOB_VALUE })).status,
    ).toBe(201);
    for (const [user, key] of [
      [d.bob, 'BOB'],
      [d.mallory, 'MAL'],
    ] as const) {
      expect((await as(user, 'POST', '/api/v1/projects', { key, name: key })).status).toBe(201);
      expect(
        (await as(user, 'PUT', `/api/v1/projects/${key}/notebooks/nb`, { language: 'python' })).status,
      ).toBe(201);
    }

    // Bob's kernel: his value in a variable and a file of its home, his ticket in its environment.
    bobKernel = await openKernel(d.url, d.bob.key, 'BOB/nb.ipynb');
    const { out } = await bobKernel.channels.execute(`import dataiku, os, subprocess
value = dataiku.api_client().get_secret("credential-for-my-api")
open(os.path.expanduser("~/bob-notes.txt"), "w").write(value)
child = subprocess.Popen(${JSON.stringify(KERNEL_MARKER)})
print("VALUE", value)
print("TICKET", os.environ["DKU_API_TICKET"][::-1])
`);
    expect(out, 'Bob’s kernel holds his value (masked in what it prints)').toContain('VALUE *****');
    bobTickets.push(ticketPrintedIn(out));
    // His job beside it, the same way.
    await putRecipe(
      d.api,
      d.bob,
      'BOB',
      'victim',
      'python',
      `import dataiku, os, subprocess, time
open(os.path.expanduser("~/bob-job-notes.txt"), "w").write(dataiku.api_client().get_secret("credential-for-my-api"))
subprocess.Popen(${JSON.stringify(JOB_MARKER)})
print("TICKET", os.environ["DKU_API_TICKET"][::-1], flush=True)
time.sleep(600)
`,
    );
    bobJob = await startJob(d.api, d.bob, 'BOB', 'victim');
    for (const deadline = Date.now() + 30_000; ; await new Promise((r) => setTimeout(r, 100))) {
      const log = await d.api.request('GET', `/api/v1/jobs/${bobJob}/log`, { key: d.bob.key });
      const ticket = ticketPrintedIn((log.json.chunks as { text: string }[]).map((c) => c.text).join(''));
      if (ticket && hostPidsRunning(JOB_MARKER).length === 1) {
        bobTickets.push(ticket);
        break;
      }
      if (Date.now() > deadline) throw new Error(`Bob's job did not start: ${log.text}`);
    }

    // The victims exist, as the server and the host see them.
    expect(bobTickets).toHaveLength(2);
    for (const ticket of bobTickets)
      expect((await d.api.request('GET', '/public/api/auth/info', { ticket })).status, ticket).toBe(200);
    expect((await as(d.bob, 'GET', '/jupyter/api/sessions')).json.map((s: { id: string }) => s.id)).toEqual([
      bobKernel.sessionId,
    ]);
    victim.kernel = readStat(hostPidsRunning(KERNEL_MARKER)[0]!)!.ppid;
    victim.bridge = readStat(victim.kernel)!.ppid;
    victim.job = hostPidsRunning(JOB_MARKER)[0]!;
    expect(readFileSync(`/proc/${victim.kernel}/environ`, 'latin1')).toContain(
      `DKU_API_TICKET=${bobTickets[0]}`,
    );
    expect(readFileSync(`/proc/${victim.bridge}/cmdline`, 'utf8')).toContain('coffer_kernel_bridge.py');
    const runs = readdirSync(d.workRoot).filter((n) => n.startsWith('run-'));
    expect(runs).toHaveLength(2);
    const holds = (run: string, file: string) =>
      readdirSync(path.join(d.workRoot, run, 'home')).includes(file);
    bobRuns.kernel = path.join(
      d.workRoot,
      runs.find((r) => holds(r, 'bob-notes.txt'))!,
    );
    bobRuns.job = path.join(
      d.workRoot,
      runs.find((r) => holds(r, 'bob-job-notes.txt'))!,
    );
    expect(readFileSync(path.join(bobRuns.kernel, 'home', 'bob-notes.txt'), 'utf8')).toBe(BOB_VALUE);
    // The bridge's ZeroMQ sockets: files in its run's /tmp (the same path inside his sandbox).
    const socketDir = readdirSync(path.join(bobRuns.kernel, 'tmp')).find((n) => n.startsWith('kernel-'))!;
    bobRuns.socketDir = `/tmp/${socketDir}`;
    bobRuns.socket = `/tmp/${socketDir}/${readdirSync(path.join(bobRuns.kernel, 'tmp', socketDir)).sort()[0]}`;

    mallory = await openKernel(d.url, d.mallory.key, 'MAL/nb.ipynb');
    expect((await mallory.channels.execute(ATTACK_HELPER)).reply.content!.status).toBe('ok');
  }, 120_000);

  afterAll(async () => {
    if (bobJob) await d.api.request('POST', `/api/v1/jobs/${bobJob}/cancel`, { key: d.bob.key });
    for (const k of [mallory, bobKernel]) k?.channels.ws.close();
    await d?.close();
    await killAllChildren();
    await removeTempDirs();
  });

  /**
   * Runs a cell in Mallory's kernel; checks nothing of Bob's reached her, his kernel and job still run,
   * and his kernel still answers. Returns what the cell printed and the attacks it reported.
   */
  async function malloryRuns(code: string): Promise<{ out: string; attacks: Attack[] }> {
    const from = mallory.channels.raw.length;
    const { out, reply } = await mallory.channels.execute(code);
    const sent = mallory.channels.raw.slice(from).join('\n');
    expect(reply.content!.status, out + sent).toBe('ok');
    expect(sent, 'Bob’s value reached Mallory').not.toContain(BOB_VALUE);
    for (const ticket of bobTickets) expect(sent, 'Bob’s ticket reached Mallory').not.toContain(ticket);
    expect(hostPidsRunning(KERNEL_MARKER), 'Bob’s kernel was disturbed').toHaveLength(1);
    expect(hostPidsRunning(JOB_MARKER), 'Bob’s job was disturbed').toHaveLength(1);
    expect((await bobKernel.channels.execute('1+1')).out).toBe('2');
    return { out, attacks: parseAttacks(out) };
  }

  function expectAllBlocked(run: { out: string; attacks: Attack[] }, names: string[]): void {
    expect(run.attacks.map((a) => a.name).sort(), run.out).toEqual([...names].sort());
    for (const a of run.attacks) expect(a.outcome, `${a.name}: ${a.detail}\n${run.out}`).toBe('BLOCKED');
  }

  it("reading /proc/*/environ from a cell finds only the kernel's own: not Bob's kernel's or job's ticket", async () => {
    const run = await malloryRuns(`mine = os.environ["DKU_API_TICKET"].encode()
def foreign_tickets():
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            env = open("/proc/%s/environ" % pid, "rb").read().split(b"\\0")
        except OSError:
            continue
        found += [v for v in env if v.startswith(b"DKU_API_TICKET=") and v != b"DKU_API_TICKET=" + mine]
    return found
attack("foreign-environ", foreign_tickets)
for who, pid in ${JSON.stringify(Object.entries(victim))}:
    attack("environ-of-bob-" + who, lambda pid=pid: open("/proc/%d/environ" % pid, "rb").read())
print("PIDS", json.dumps(sorted(int(p) for p in os.listdir("/proc") if p.isdigit())))
`);
    expectAllBlocked(run, [
      'foreign-environ',
      'environ-of-bob-kernel',
      'environ-of-bob-bridge',
      'environ-of-bob-job',
    ]);
    // Its own PID namespace: the sandbox's init, the bridge, the kernel and little else.
    expect(Math.max(...(JSON.parse(/^PIDS (.*)$/m.exec(run.out)![1]!) as number[])), run.out).toBeLessThan(
      10,
    );
  });

  it("ptrace and signals from a cell reach neither Bob's kernel, its bridge, his job nor the server", async () => {
    const targets = { ...victim, server: d.serverPid };
    const run = await malloryRuns(`libc = ctypes.CDLL(None, use_errno=True)
def trace(pid):
    if libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
        return "attached to %d" % pid
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
for who, pid in ${JSON.stringify(Object.entries(targets))}:
    attack("ptrace-" + who, lambda pid=pid: trace(pid))
    attack("signal-" + who, lambda pid=pid: os.kill(pid, 0) or "can signal %d" % pid)
`);
    expectAllBlocked(
      run,
      Object.keys(targets).flatMap((t) => [`ptrace-${t}`, `signal-${t}`]),
    );
    // Not refused by permission alone: those processes do not exist in her sandbox (ESRCH).
    for (const a of run.attacks) expect(a.detail, run.out).toMatch(/^(ProcessLookupError|OSError) 3$/);
  });

  it("Bob's runs are not there: the work root, his kernel's home and file, its ZeroMQ sockets, his job's directory", async () => {
    const hostSocket = path.join(bobRuns.kernel, bobRuns.socket);
    const run = await malloryRuns(`def connect(p):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(p)
    return "connected to " + p
attack("list-work-root", lambda: os.listdir(${JSON.stringify(d.workRoot)}))
attack("list-kernel-run", lambda: os.listdir(${JSON.stringify(bobRuns.kernel)}))
attack("read-kernel-file", lambda: open(${JSON.stringify(path.join(bobRuns.kernel, 'home', 'bob-notes.txt'))}).read())
attack("list-job-run", lambda: os.listdir(${JSON.stringify(bobRuns.job)}))
attack("list-kernel-sockets", lambda: os.listdir(${JSON.stringify(bobRuns.socketDir)}))
attack("connect-kernel-socket", lambda: connect(${JSON.stringify(bobRuns.socket)}))
attack("connect-kernel-socket-host-path", lambda: connect(${JSON.stringify(hostSocket)}))
attack("other-homes", lambda: [h for h in os.listdir("/home") if h != "coffer"])
attack("bob-kernel-tmp", lambda: [t for t in os.listdir("/tmp") if t in ${JSON.stringify(readdirSync(path.join(bobRuns.kernel, 'tmp')))}])
`);
    const absent = [
      'list-work-root',
      'list-kernel-run',
      'read-kernel-file',
      'list-job-run',
      'list-kernel-sockets',
      'connect-kernel-socket',
      'connect-kernel-socket-host-path',
    ];
    expectAllBlocked(run, [...absent, 'other-homes', 'bob-kernel-tmp']);
    for (const a of run.attacks.filter((x) => absent.includes(x.name)))
      expect(a.detail, `${a.name} must be absent, not merely forbidden`).toMatch(/^FileNotFoundError/);
  });

  it("Bob's kernel, debugger started, has no network socket a cell could reach: only files in its private /tmp", async () => {
    // With the host's network (the default) every sandbox shares the machine's loopback: a port or an
    // abstract socket of Bob's kernel would take connections from Mallory's cell. The bridge's `ipc`
    // transport makes the kernel's sockets files in the run's /tmp, which only its sandbox sees. Bob's
    // own client first starts the debugger, as JupyterLab does when asked to debug. Asserted on Bob's
    // sockets, as the host sees them: a cell sees the machine's whole loopback, other services and all.
    const start = bobKernel.channels.send('control', 'debug_request', {
      type: 'request',
      seq: 1,
      command: 'initialize',
      arguments: { clientID: 'test', adapterID: 'python', pathFormat: 'path', linesStartAt1: true },
    });
    await bobKernel.channels.replyTo(start, 'debug_reply');
    // What ipykernel's TCP pipe was for still works: a forked process's output reaches Bob.
    const forked = await bobKernel.channels.execute(`import os, sys, time
if os.fork() == 0:
    print("from a forked process")
    sys.stdout.flush()
    time.sleep(0.5)  # the message leaves from ZeroMQ's thread, which os._exit would cut short
    os._exit(0)
os.wait()
`);
    expect(forked.out).toContain('from a forked process');
    const sockets = new Set<string>();
    for (const pid of treeOf(victim.bridge, scanProcesses()))
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        if (inode) sockets.add(inode);
      }
    expect(sockets.size).toBeGreaterThan(0);
    const table = (name: string) =>
      readFileSync(`/proc/${victim.kernel}/net/${name}`, 'utf8')
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/));
    const inet = ['tcp', 'tcp6', 'udp', 'udp6'].flatMap((t) =>
      table(t)
        .filter((f) => sockets.has(f[9] ?? ''))
        .map((f) => `${t} ${f[1]} state ${f[3]}`),
    );
    expect(inet, 'Bob’s kernel has an inet socket').toEqual([]);
    const named = table('unix')
      .filter((f) => sockets.has(f[6] ?? '') && f[7] !== undefined)
      .map((f) => f[7]!);
    expect(named.length, 'the ZeroMQ sockets are named files').toBeGreaterThan(0);
    for (const p of named) expect(p, 'a socket outside the run’s /tmp, or abstract').toMatch(/^\/tmp\//);
  });

  it('the data directory, the master key and the database are nowhere in a cell’s sandbox', async () => {
    const files = [d.dataDir, ...readdirSync(d.dataDir).map((f) => path.join(d.dataDir, f))];
    const run = await malloryRuns(`for i, p in enumerate(${JSON.stringify(files)}):
    attack("read-%d" % i, lambda p=p: os.listdir(p) if os.path.isdir(p) else open(p, "rb").read(16).hex())
def find(names):
    hits = []
    for root, dirs, found in os.walk("/", onerror=lambda e: None):
        dirs[:] = [x for x in dirs if os.path.join(root, x) not in ("/proc", "/sys", "/usr", "/dev")]
        hits += [os.path.join(root, f) for f in found if f in names]
    return hits
attack("find-key-or-db", lambda: find({"master.key", "coffer.db", "coffer.db-wal"}))
`);
    expectAllBlocked(run, [...files.map((_, i) => `read-${i}`), 'find-key-or-db']);
    for (const a of run.attacks.filter((x) => x.name.startsWith('read-')))
      expect(a.detail, 'the data directory must be absent, not merely forbidden').toMatch(
        /^FileNotFoundError/,
      );
  });

  it("the server's /proc, environment and code are out of a cell's reach", async () => {
    const run = await malloryRuns(`for part in ("environ", "cmdline", "root"):
    attack("server-" + part, lambda part=part: os.listdir("/proc/${d.serverPid}/" + part) if part == "root" else open("/proc/${d.serverPid}/" + part, "rb").read())
def server_env():
    marks = (b"COFFER_DATA_DIR=", b"COFFER_TEST_")
    return [p for p in os.listdir("/proc") if p.isdigit() and any(m in open("/proc/%s/environ" % p, "rb").read() for m in marks)]
attack("server-env-anywhere", server_env)
attack("server-code", lambda: open(${JSON.stringify(SERVER_CODE)}).read(32))
`);
    expectAllBlocked(run, [
      'server-environ',
      'server-cmdline',
      'server-root',
      'server-env-anywhere',
      'server-code',
    ]);
  });

  it("writing the server's files from a cell fails: data, code, the kernel bridge, client packages, system", async () => {
    const keyFile = path.join(d.dataDir, 'master.key');
    const before = { key: sha(keyFile), code: sha(SERVER_CODE), bridge: sha(BRIDGE) };
    const run = await malloryRuns(`def append(p):
    with open(p, "a") as f:
        f.write("owned")
    return "wrote " + p
for i, p in enumerate(${JSON.stringify([keyFile, SERVER_CODE, path.join(d.dataDir, 'planted')])}):
    attack("write-%d" % i, lambda p=p: append(p))
# The bridge every later kernel runs, as this sandbox sees it (its parent's argument).
bridge = open("/proc/%d/cmdline" % os.getppid(), "rb").read().split(b"\\0")[2].decode()
print("BRIDGE", bridge)
attack("write-bridge", lambda: append(bridge))
attack("write-client", lambda: append(os.environ["PYTHONPATH"] + "/dataiku/__init__.py"))
attack("write-kernelspec", lambda: append("/usr/share/jupyter/kernels/python3/kernel.json"))
attack("write-etc", lambda: append("/etc/passwd"))
`);
    expect(run.out).toMatch(/^BRIDGE \/.*coffer_kernel_bridge\.py$/m);
    expectAllBlocked(run, [
      'write-0',
      'write-1',
      'write-2',
      'write-bridge',
      'write-client',
      'write-kernelspec',
      'write-etc',
    ]);
    expect({ key: sha(keyFile), code: sha(SERVER_CODE), bridge: sha(BRIDGE) }).toEqual(before);
    expect(readdirSync(d.dataDir)).not.toContain('planted');
  });

  it('no privilege to gain from a cell: no capabilities, no_new_privs, no root, no namespaces, no mounts', async () => {
    const run = await malloryRuns(`for line in open("/proc/self/status").read().splitlines():
    if line.startswith(("CapEff", "CapPrm", "CapBnd", "CapAmb", "NoNewPrivs")):
        print("STATUS", " ".join(line.split()))
libc = ctypes.CDLL(None, use_errno=True)
def ok(r):
    if r != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return "succeeded"
attack("setuid-root", lambda: os.setuid(0) or "became root")
attack("new-user-namespace", lambda: ok(libc.unshare(0x10000000)))
attack("mount", lambda: ok(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)))
attack("ns-enter-host", lambda: ok(libc.setns(os.open("/proc/1/ns/mnt", os.O_RDONLY), 0)))
`);
    expectAllBlocked(run, ['setuid-root', 'new-user-namespace', 'mount', 'ns-enter-host']);
    for (const cap of ['CapEff', 'CapPrm', 'CapBnd', 'CapAmb'])
      expect(run.out).toMatch(new RegExp(`^STATUS ${cap}: 0000000000000000$`, 'm'));
    expect(run.out).toMatch(/^STATUS NoNewPrivs: 1$/m);
  });
});

describe('kernel limits: a bomb in a cell ends its kernel, and the server and the kernel next door go on', () => {
  let server: TestServer;
  let carol: TestUser;
  let dave: TestUser;
  /** Dave's kernel, open beside every bomb. */
  let bystander: KernelSession;
  const as = (u: TestUser, method: string, p: string, body?: unknown) =>
    jupyterCall(server.url, u.key, method, p, body);

  beforeAll(async () => {
    server = await TestServer.start({
      COFFER_JOB_WORK_DIR: makeTempDir('coffer-nb-limits-work-'),
      COFFER_SANDBOX_MEMORY_MIB: '256',
      COFFER_SANDBOX_PROCESSES: '64',
      COFFER_SANDBOX_CPU_SECONDS: '10',
      COFFER_SANDBOX_FILES_MIB: '8',
    });
    carol = await server.createUser('carol');
    dave = await server.createUser('dave');
    for (const [u, key] of [
      [carol, 'CAROL'],
      [dave, 'DAVE'],
    ] as const) {
      expect((await as(u, 'POST', '/api/v1/projects', { key, name: key })).status).toBe(201);
      expect(
        (await as(u, 'PUT', `/api/v1/projects/${key}/notebooks/nb`, { language: 'python' })).status,
      ).toBe(201);
    }
    bystander = await openKernel(server.url, dave.key, 'DAVE/nb.ipynb');
    expect((await bystander.channels.execute('1+1')).out).toBe('2');
  }, 120_000);
  afterAll(async () => {
    bystander?.channels.ws.close();
    await server?.close();
    await removeTempDirs();
  });

  /** Why the server ended a kernel, from its log: what an administrator reads. */
  const endOf = (kernelId: string): string | undefined =>
    readFileSync(server.logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg?: string; kernel?: string; error?: string })
      .find((l) => l.msg === 'kernel ended' && l.kernel === kernelId)?.error;

  /**
   * Runs a bomb in a cell of Carol's kernel and waits for the kernel to end. What she sees: her
   * kernel's channels close ("the kernel has ended"), her session is gone from her list, and a new
   * session starts a fresh kernel that answers. Dave's kernel and the server answer throughout.
   * Returns why the server says her kernel ended.
   */
  async function bombEndsKernel(code: string): Promise<string | undefined> {
    const k = await openKernel(server.url, carol.key, 'CAROL/nb.ipynb');
    expect((await k.channels.execute('1+1')).out).toBe('2');
    k.channels.submit(code);
    const closed = await Promise.race([
      k.channels.closed,
      new Promise((r) => setTimeout(() => r('still open after 40 s'), 40_000)),
    ]);
    expect(closed).toEqual({ code: 1000, reason: 'the kernel has ended' });
    expect((await as(carol, 'GET', '/jupyter/api/sessions')).json).toEqual([]);
    await expectOthersFine();
    const next = await openKernel(server.url, carol.key, 'CAROL/nb.ipynb');
    expect(next.kernelId).not.toBe(k.kernelId);
    expect((await next.channels.execute('1+1')).out).toBe('2');
    next.channels.ws.close();
    expect((await as(carol, 'DELETE', `/jupyter/api/sessions/${next.sessionId}`)).status).toBe(204);
    return endOf(k.kernelId);
  }

  async function expectOthersFine(): Promise<void> {
    expect((await server.request('GET', '/healthz')).status).toBe(200);
    expect((await bystander.channels.execute('1+1')).out, 'Dave’s kernel must still answer').toBe('2');
  }

  it('a memory bomb across processes ends its kernel at the memory limit', async () => {
    const why = await bombEndsKernel(`import os, time
for _ in range(3):
    if os.fork() == 0:
        break
hog = []
while True:
    hog.append(bytearray(16 << 20))
    time.sleep(0.01)
`);
    expect(why).toMatch(/^memory limit of 256 MiB reached/);
  }, 90_000);

  it('one allocation past the memory limit fails the cell with MemoryError; the kernel lives on', async () => {
    const k = await openKernel(server.url, carol.key, 'CAROL/nb.ipynb');
    const { reply } = await k.channels.execute('x = bytearray(1 << 30)');
    expect(reply.content).toMatchObject({ status: 'error', ename: 'MemoryError' });
    expect((await k.channels.execute('1+1')).out).toBe('2');
    await expectOthersFine();
    k.channels.ws.close();
    await as(carol, 'DELETE', `/jupyter/api/sessions/${k.sessionId}`);
  }, 60_000);

  it('a fork bomb ends its kernel at the process limit', async () => {
    const why = await bombEndsKernel(`import os, time
while True:
    try:
        os.fork()
    except OSError:
        time.sleep(0.01)
`);
    expect(why).toMatch(/^process limit of 64 reached/);
  }, 90_000);

  it("a CPU spin ends its kernel at the CPU time limit (the kernel's own, not its neighbour's)", async () => {
    const why = await bombEndsKernel('while True:\n    pass\n');
    expect(why).toMatch(/^CPU time limit of 10 s reached/);
  }, 90_000);

  it('a file past the size limit fails the write and ends its kernel at the file size limit', async () => {
    const why = await bombEndsKernel(
      'with open("big.bin", "wb") as f:\n    for _ in range(32):\n        f.write(b"x" * (1 << 20))\n',
    );
    expect(why).toMatch(/^file size limit of 8 MiB reached/);
  }, 90_000);
});
