import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/*
 * The launcher: a small process the server forks once, which starts every run of user code for it
 * (spawner.ts). Forking from a small process is cheaper than from the server, and the server's event
 * loop never waits for a fork. It forwards each child's output to the server as it comes (pausing the
 * child while too much is in flight), reads bubblewrap's status and reports the sandbox's init, and
 * reports the end once all output is through. If the server goes away it exits, and the sandboxes die
 * with it (--die-with-parent).
 */

interface Request {
  id: number;
  program: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  uid?: number;
  gid?: number;
  /** One more pipe, on fd 3 (bubblewrap's status). */
  statusPipe: boolean;
  /** The child reads standard input from the server (a kernel's bridge); otherwise it has none. */
  stdin?: boolean;
}

/** Bytes for a child's standard input, or its end. */
type Input = { id: number; input: Uint8Array } | { id: number; inputEnd: true };

/** Output messages in flight before a child's output is paused (each up to a pipe read, 64 KiB). */
const MAX_IN_FLIGHT = 32;

const send = (message: object, done?: () => void) => process.send?.(message, undefined, {}, done);

/** Children that read standard input from the server, until they end. */
const inputs = new Map<number, Writable>();

process.on('disconnect', () => process.exit(0));
process.on('message', (m: Request | Input) => {
  if ('input' in m) return void inputs.get(m.id)?.write(Buffer.from(m.input));
  if ('inputEnd' in m) return void inputs.get(m.id)?.end();
  const child = spawn(m.program, m.args, {
    cwd: m.cwd,
    env: m.env,
    uid: m.uid,
    gid: m.gid,
    detached: true, // its own process group, apart from ours and the server's signals
    stdio: [m.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', ...(m.statusPipe ? (['pipe'] as const) : [])],
  });
  if (m.stdin && child.stdin) {
    // A child that stops reading (or has ended) is not an error of the launcher's.
    child.stdin.on('error', () => undefined);
    inputs.set(m.id, child.stdin);
  }
  child.once('error', (e: NodeJS.ErrnoException) => send({ id: m.id, error: e.message, code: e.code }));
  if (child.pid === undefined) return;
  send({ id: m.id, pid: child.pid });
  let inFlight = 0;
  const outputs = [child.stdout!, child.stderr!];
  const forward = (name: 'stdout' | 'stderr', stream: Readable) =>
    stream.on('data', (data: Buffer) => {
      if (++inFlight >= MAX_IN_FLIGHT) for (const s of outputs) s.pause();
      send({ id: m.id, stream: name, data }, () => {
        if (--inFlight === MAX_IN_FLIGHT / 2) for (const s of outputs) s.resume();
      });
    });
  forward('stdout', child.stdout!);
  forward('stderr', child.stderr!);
  const status = child.stdio[3] as Readable | null | undefined;
  if (m.statusPipe && status) onSandboxInit(status, (init) => send({ id: m.id, init }));
  // After the output: 'close' comes once the child has exited and its pipes are drained.
  child.once('close', (code, signal) => {
    inputs.delete(m.id);
    send({ id: m.id, exit: { code, signal } });
  });
});

/** Calls back with the pid of the sandbox's init, from bubblewrap's JSON status lines. */
function onSandboxInit(stream: Readable, found: (pid: number) => void): void {
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
    let nl;
    while ((nl = text.indexOf('\n')) >= 0) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      try {
        const pid = (JSON.parse(line) as { 'child-pid'?: unknown })['child-pid'];
        if (typeof pid === 'number' && Number.isInteger(pid) && pid > 1) found(pid);
      } catch {
        // not a status line
      }
    }
  });
  stream.on('error', () => undefined);
}
