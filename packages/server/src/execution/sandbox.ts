import type { Limits } from './limits.js';

/*
 * The one contract for running user code (recipes, notebooks, plugin recipes): a backend turns "run
 * this command as this account, with these files, environment and limits" into a launch description,
 * a plain value that tests can read; one spawner (code-runner.ts) starts it. The bubblewrap backend is
 * the default and the only safe one; the plain-process backend exists for COFFER_SANDBOX=off.
 */

/** A Unix account that user code runs as (chosen only when the server runs as root). */
export interface Account {
  readonly uid: number;
  readonly gid: number;
}

/** `host`: the machine's network, as the server has it. `coffer-only`: loopback, and Coffer through a relay. */
export type NetworkMode = 'host' | 'coffer-only';

/** A read-only directory that code needs, such as a client package; the backend decides where it appears. */
export interface SharedDir {
  readonly name: string;
  readonly host: string;
}

/** Where code sees its own files and the shared directories. */
export interface CodeView {
  readonly home: string;
  readonly tmp: string;
  shared(dir: SharedDir): string;
}

/** Where a backend finds a run's directories on the host: made by workdir.ts. */
export interface RunDirs {
  /** The run's own directory, holding the three below. */
  readonly root: string;
  /** Read-write: the code's home and working directory. */
  readonly home: string;
  /** Read-write: the code's temporary directory. */
  readonly tmp: string;
  /** The account files (passwd, group) the code sees. */
  readonly etc: string;
}

export interface CodeSpec {
  readonly dirs: RunDirs;
  readonly command: string;
  readonly args: readonly string[];
  /** The environment, built from nothing; the backend adds HOME, TMPDIR, USER and LOGNAME. */
  readonly env: Readonly<Record<string, string>>;
  readonly shared: readonly SharedDir[];
  /** Undefined: the server's own account (it cannot change account unless it runs as root). */
  readonly account: Account | undefined;
  readonly limits: Limits;
}

/** How to start one run. */
export interface Launch {
  readonly program: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly uid?: number | undefined;
  readonly gid?: number | undefined;
  /**
   * How the whole run is stopped. `sandbox`: the first process is bubblewrap, which reports its
   * sandbox's init (pid 1 inside) as JSON on file descriptor `statusFd`; killing that init ends its PID
   * namespace, daemons included. `process-group`: the first process's group, all a plain process offers.
   */
  readonly stop: { readonly kind: 'sandbox'; readonly statusFd: 3 } | { readonly kind: 'process-group' };
}

export interface SandboxBackend {
  readonly kind: 'bubblewrap' | 'off';
  readonly network: NetworkMode;
  view(dirs: RunDirs): CodeView;
  launch(spec: CodeSpec): Launch;
  /** Where code reaches Coffer, given where Coffer listens. */
  backendHost(listening: string): string;
}

/** The name code sees for its account, in its passwd file and USER. */
export const CODE_ACCOUNT_NAME = 'coffer';

/** HOME, TMPDIR, USER and LOGNAME as the code sees them. */
export function accountEnv(view: CodeView): Record<string, string> {
  return { HOME: view.home, TMPDIR: view.tmp, USER: CODE_ACCOUNT_NAME, LOGNAME: CODE_ACCOUNT_NAME };
}
