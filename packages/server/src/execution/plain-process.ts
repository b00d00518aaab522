import { prlimitOptions } from './limits.js';
import {
  accountEnv,
  type CodeSpec,
  type CodeView,
  type Launch,
  type RunDirs,
  type SandboxBackend,
} from './sandbox.js';

/*
 * COFFER_SANDBOX=off: user code runs as a plain process, for a single-user machine where bubblewrap
 * cannot run. It keeps what a process alone can give: a fresh directory, an environment built from
 * nothing, the per-process limits, its own process group (stopped as a whole), and, when the server
 * runs as root, the user's own account. It does not hide the machine: code can read whatever its
 * account can, see every process, and leave a daemon behind. The server says so at every start.
 */
export function plainProcessBackend(opts: { prlimit: string }): SandboxBackend {
  // Nothing moves: code sees the host's paths.
  const view = (dirs: RunDirs): CodeView => ({
    home: dirs.home,
    tmp: dirs.tmp,
    shared: (dir) => dir.host,
  });
  return {
    kind: 'off',
    network: 'host',
    backendHost: (listening) => listening,
    view,
    launch(spec: CodeSpec): Launch {
      return {
        program: opts.prlimit,
        // The process count would include the server's own when code runs as the server's account.
        args: [
          ...prlimitOptions(spec.limits, { processes: spec.account !== undefined }),
          spec.command,
          ...spec.args,
        ],
        env: { ...spec.env, ...accountEnv(view(spec.dirs)) },
        cwd: spec.dirs.home,
        uid: spec.account?.uid,
        gid: spec.account?.gid,
        stop: { kind: 'process-group' },
      };
    },
  };
}
