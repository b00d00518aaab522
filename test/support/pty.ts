import { execFile } from 'node:child_process';
import { CLI, withStore } from '../helpers/coffer-process.js';

/*
 * Runs the real `coffer` command on a pseudo-terminal, as an operator at a shell would: stdin, stdout
 * and stderr are the terminal (isTTY), so what the command does for a person is what is tested. The
 * terminal is driven by Python's pty module (Node has none); a script of steps waits for a pattern in
 * the output, then types a line or sends a signal.
 */

export interface PtyStep {
  /** A regular expression (Python syntax) the output since the previous step must match. */
  expect: string;
  /** Then type this (a line ends with \r, as a terminal sends Enter). */
  send?: string;
  /** Or send this signal to the command (e.g. SIGTERM). */
  signal?: 'SIGTERM' | 'SIGINT';
}

export interface PtyResult {
  /** Everything the terminal showed (stdout and stderr together), colour codes removed. */
  output: string;
  code: number | null;
  signal: string | null;
  /** The steps whose pattern never came. */
  unmet: string[];
  timedOut: boolean;
}

const DRIVER = String.raw`
import json, os, pty, re, select, signal, sys, time
spec = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execve(spec["argv"][0], spec["argv"], spec["env"])
out, pos, steps = b"", 0, spec["steps"]
deadline = time.time() + spec["timeout"]
timed_out, status = False, None
while True:
    if steps:
        m = re.search(steps[0]["expect"].encode(), out[pos:])
        if m:
            pos += m.end()
            step = steps.pop(0)
            if "send" in step:
                os.write(fd, step["send"].encode())
            if "signal" in step:
                os.kill(pid, getattr(signal, step["signal"]))
            continue
    if time.time() > deadline:
        timed_out = True
        os.kill(pid, signal.SIGKILL)
        break
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            break
        out += data
_, status = os.waitpid(pid, 0)
code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
sig = signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status) else None
print(json.dumps({"output": out.decode("utf-8", "replace"), "code": code, "signal": sig,
                  "unmet": [s["expect"] for s in steps], "timedOut": timed_out}))
`;

/** Runs `coffer <args>` on a terminal through `steps`, until it exits (or `timeoutMs`). */
export async function runCliInPty(
  args: string[],
  opts: { env: Record<string, string>; steps?: PtyStep[]; timeoutMs?: number },
): Promise<PtyResult> {
  const env: Record<string, string> = { LANG: 'C.UTF-8', TERM: 'xterm' };
  for (const k of ['PATH', 'HOME', 'TMPDIR']) if (process.env[k]) env[k] = process.env[k];
  // The store under test, as runCli gives it: on PostgreSQL, the data directory's own database.
  const spec = {
    argv: [process.execPath, CLI, ...args],
    env: { ...env, ...(await withStore(opts.env)) },
    steps: opts.steps ?? [],
    timeout: (opts.timeoutMs ?? 30_000) / 1000,
  };
  return new Promise((resolve, reject) => {
    execFile(
      '/usr/bin/python3',
      ['-c', DRIVER, JSON.stringify(spec)],
      { maxBuffer: 16 * 1024 * 1024, timeout: (opts.timeoutMs ?? 30_000) + 10_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`the pty driver failed: ${err.message}\n${stderr}`));
        const r = JSON.parse(stdout) as PtyResult;
        // eslint-disable-next-line no-control-regex
        resolve({ ...r, output: r.output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '') });
      },
    );
  });
}
