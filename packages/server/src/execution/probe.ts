import { DEFAULT_LIMITS } from './limits.js';
import type { Account, Launch, SandboxBackend } from './sandbox.js';
import type { Spawner } from './spawner.js';
import { handOver, makeRunDirs, removeRunDirs } from './workdir.js';

/*
 * Whether this machine can make a sandbox, found by making one: the backend's real launch of `true`,
 * as the account code would run as. When it cannot, user code is refused, and the message says why
 * and what to do — the usual causes are bubblewrap missing, user namespaces switched off, and a
 * container whose seccomp profile forbids them.
 */

export type SandboxProblem = { cause: string; fix: string };

const OFF_HINT =
  'On a single-user machine, COFFER_SANDBOX=off runs code without a sandbox (every user’s code can then read the server’s files).';

export async function probeSandbox(
  backend: SandboxBackend,
  spawner: Spawner,
  opts: { workRoot: string; account: Account | undefined; serverUid: number },
): Promise<SandboxProblem | undefined> {
  let dirs;
  try {
    dirs = makeRunDirs(opts.workRoot, opts.account, opts.serverUid);
  } catch (e) {
    return {
      cause: `the work directory ${opts.workRoot} cannot be used (${(e as Error).message})`,
      fix: 'set COFFER_JOB_WORK_DIR to a directory the server can write, outside the data directory',
    };
  }
  try {
    handOver(dirs, opts.account);
    const launch = backend.launch({
      dirs,
      command: '/bin/true',
      args: [],
      env: { PATH: '/usr/bin:/bin' },
      shared: [],
      account: opts.account,
      limits: DEFAULT_LIMITS,
    });
    const result = await runToEnd(spawner, launch);
    if (result.code === 0) return undefined;
    return explainProbeFailure(launch.program, result);
  } finally {
    removeRunDirs(dirs);
  }
}

/** Runs a launch through the spawner, as a run would be, and keeps what it said on stderr. */
async function runToEnd(
  spawner: Spawner,
  launch: Launch,
): Promise<{ code: number | null; error?: NodeJS.ErrnoException; stderr: string }> {
  let child;
  try {
    child = await spawner.spawn(launch);
  } catch (error) {
    return { code: null, error: error as NodeJS.ErrnoException, stderr: '' };
  }
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  child.stdout.resume();
  // As for a run, a sandbox is ended through its init: killing bubblewrap alone could orphan it.
  const timer = setTimeout(
    () =>
      void child.init.then((init) => {
        try {
          process.kill(init ?? child.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }),
    20_000,
  );
  const { code } = await child.closed.finally(() => clearTimeout(timer));
  return { code, stderr };
}

/** Turns a failed probe into a cause and a fix an operator can act on. */
export function explainProbeFailure(
  program: string,
  result: { code: number | null; error?: NodeJS.ErrnoException | undefined; stderr: string },
): SandboxProblem {
  const said = result.stderr.trim().split('\n').slice(-3).join(' ').trim();
  if (result.error?.code === 'ENOENT')
    return {
      cause: `bubblewrap is not installed (${program} was not found)`,
      fix: `install it (Debian and Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap), or set COFFER_SANDBOX_BWRAP to where it is. ${OFF_HINT}`,
    };
  if (result.error)
    return {
      cause: `${program} could not be started (${result.error.message})`,
      fix: `check that ${program} is bubblewrap and executable. ${OFF_HINT}`,
    };
  if (/prlimit/.test(said) && /No such file|not found/.test(said))
    return {
      cause: `util-linux prlimit is missing inside the sandbox (${said})`,
      fix: `install util-linux (it provides /usr/bin/prlimit). ${OFF_HINT}`,
    };
  if (/namespace|uid map/i.test(said))
    return {
      cause: `user namespaces cannot be created here (bubblewrap said: ${said || `exit ${result.code}`})`,
      fix: `allow unprivileged user namespaces: sysctl user.max_user_namespaces must be above 0 (and kernel.unprivileged_userns_clone=1 on older Debian kernels; on Ubuntu 23.10 and later, kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap). In a container, its seccomp profile must allow them (Docker: --security-opt seccomp=unconfined, or a profile allowing unshare/clone with namespace flags). ${OFF_HINT}`,
    };
  return {
    cause: `a test sandbox failed (exit ${result.code}${said ? `: ${said}` : ''})`,
    fix: `run ${program} by hand to see why. ${OFF_HINT}`,
  };
}
