import { existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { prlimitOptions } from './limits.js';
import {
  accountEnv,
  type CodeSpec,
  type CodeView,
  type Launch,
  type NetworkMode,
  type RunDirs,
  type SandboxBackend,
} from './sandbox.js';

/*
 * The bubblewrap backend: each run gets an empty root holding only what code needs.
 *
 * - read-only: /usr (interpreters, system libraries, site packages), the few /etc files that programs
 *   read to link, resolve names and verify certificates, interpreters installed outside /usr, and the
 *   client packages under /opt/coffer;
 * - read-write: the run's own home (also its working directory) and /tmp, both in the run's directory;
 * - fresh /proc (its own PID namespace: it sees only its own processes) and /dev, and a small /dev/shm;
 * - private user, PID, IPC, UTS and cgroup namespaces; a new session (no terminal injection); no
 *   capabilities; no_new_privs (bubblewrap always sets it); no nested user namespaces;
 * - it dies with the server (--die-with-parent), and everything in it dies with its first process.
 *
 * Nothing of the server is there: not the data directory, not the master key, not the database, not
 * the server's environment or code, nor any other run's files. bubblewrap runs unprivileged (user
 * namespaces), as the run's account when the server runs as root, or as the server's own account.
 */

/**
 * The /etc entries bound read-only when the host has them, and no more (each is a mount at every
 * start): linking (the loader's cache, Debian's alternatives), names and addresses, TLS roots and
 * policies, time zone, fonts, R's configuration. The host's accounts are not among them: a run gets
 * a passwd and group of its own.
 */
const ETC = [
  'alternatives',
  'crypto-policies',
  'fonts',
  'gai.conf',
  'hosts',
  'ld.so.cache',
  'localtime',
  'nsswitch.conf',
  'os-release',
  'pki',
  'protocols',
  'R',
  'resolv.conf',
  'services',
  'ssl',
  'timezone',
];

/** Top-level entries that are links into /usr on merged-/usr systems, or directories elsewhere. */
const USR_LINKS = ['bin', 'lib', 'lib32', 'lib64', 'libx32', 'sbin'];

const HOME = '/home/coffer';
const TMP = '/tmp';
const SHARED = '/opt/coffer';
/** Where the relay's directory (Coffer's socket and the relay script) appears, for `coffer-only`. */
const RELAY = '/run/coffer';

export interface BubblewrapOptions {
  /** The bwrap program. */
  readonly bwrap: string;
  /** util-linux prlimit, which sets the per-process limits inside the sandbox. */
  readonly prlimit: string;
  /** Directories outside /usr that interpreters live in, bound read-only where they are. */
  readonly systemDirs: readonly string[];
  readonly network: NetworkMode;
  /** For `coffer-only`: the relay that carries code's calls to Coffer (see relay.ts), once it runs. */
  readonly relay?: () => {
    /** Host directory holding the socket and the script. */
    readonly dir: string;
    readonly socket: string;
    readonly script: string;
    /** The node program that runs the relay script inside the sandbox. */
    readonly node: string;
    /** Where the relay listens inside, and code calls: Coffer's port on loopback. */
    readonly port: number;
  };
  /** The host's /etc, for tests. */
  readonly etc?: string;
}

export function bubblewrapBackend(opts: BubblewrapOptions): SandboxBackend {
  if (opts.network === 'coffer-only' && !opts.relay)
    throw new Error('the coffer-only network needs a relay to Coffer');
  const etc = opts.etc ?? '/etc';
  // What the host has is read once: the same for every run.
  const root: string[] = ['--ro-bind', '/usr', '/usr'];
  for (const name of USR_LINKS) {
    const p = `/${name}`;
    if (!existsSync(p)) continue;
    if (lstatSync(p).isSymbolicLink()) root.push('--symlink', readlinkSync(p), p);
    else root.push('--ro-bind', p, p);
  }
  for (const name of ETC) {
    const p = path.join(etc, name);
    if (existsSync(p)) root.push('--ro-bind', p, `/etc/${name}`);
  }
  for (const name of pythonEtc(etc)) root.push('--ro-bind', path.join(etc, name), `/etc/${name}`);
  for (const dir of opts.systemDirs) root.push('--ro-bind', dir, dir);

  const view = (_dirs: RunDirs): CodeView => ({
    home: HOME,
    tmp: TMP,
    shared: (dir) => `${SHARED}/${dir.name}`,
  });

  return {
    kind: 'bubblewrap',
    network: opts.network,
    view,
    backendHost: (listening) => (opts.network === 'coffer-only' ? '127.0.0.1' : listening),

    launch(spec: CodeSpec): Launch {
      const { dirs } = spec;
      // Fail closed: the network is unshared by the mode, never by whether a relay came back.
      const cofferOnly = opts.network === 'coffer-only';
      const relay = cofferOnly ? opts.relay!() : undefined;
      const args = [
        '--unshare-user',
        '--unshare-pid',
        '--unshare-ipc',
        '--unshare-uts',
        '--unshare-cgroup-try',
        ...(cofferOnly ? ['--unshare-net'] : []),
        '--disable-userns',
        '--hostname',
        'coffer-sandbox',
        '--die-with-parent',
        '--new-session',
        '--json-status-fd',
        '3',
        '--cap-drop',
        'ALL',
        ...root,
        '--ro-bind',
        path.join(dirs.etc, 'passwd'),
        '/etc/passwd',
        '--ro-bind',
        path.join(dirs.etc, 'group'),
        '/etc/group',
        '--proc',
        '/proc',
        '--dev',
        '/dev',
        // POSIX semaphores (Python's multiprocessing) need /dev/shm; small, so it is no way around limits.
        '--perms',
        '1777',
        '--size',
        String(64 * 1024 * 1024),
        '--tmpfs',
        '/dev/shm',
        '--bind',
        dirs.home,
        HOME,
        '--bind',
        dirs.tmp,
        TMP,
        '--symlink',
        TMP,
        '/var/tmp',
        ...spec.shared.flatMap((s) => ['--ro-bind', s.host, `${SHARED}/${s.name}`]),
        ...(relay ? ['--ro-bind', relay.dir, RELAY] : []),
        '--chdir',
        HOME,
        '--',
        opts.prlimit,
        ...prlimitOptions(spec.limits, { processes: true }),
        ...(relay
          ? [relay.node, `${RELAY}/${relay.script}`, String(relay.port), `${RELAY}/${relay.socket}`, '--']
          : []),
        spec.command,
        ...spec.args,
      ];
      return {
        program: opts.bwrap,
        args,
        // Passed through bwrap's own environment rather than --setenv, so the ticket is in no argv
        // (argv is world-readable in the host's /proc; the environment only to the same account).
        env: { ...spec.env, ...accountEnv(view(dirs)) },
        cwd: '/',
        uid: spec.account?.uid,
        gid: spec.account?.gid,
        stop: { kind: 'sandbox', statusFd: 3 },
      };
    },
  };
}

/** Debian keeps Python's sitecustomize in /etc/python3.X. */
function pythonEtc(etc: string): string[] {
  return existsSync(etc) ? readdirSync(etc).filter((n) => /^python3\.\d+$/.test(n)) : [];
}
