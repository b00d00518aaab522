import { describe, expect, it } from 'vitest';
import { bubblewrapBackend } from './bubblewrap.js';
import { DEFAULT_LIMITS } from './limits.js';
import type { CodeSpec } from './sandbox.js';

/*
 * The sandbox is a value: these read the launch description bubblewrap gets. The attack tests in
 * test/sandbox-attacks.test.ts prove the same from inside a real sandbox.
 */

const dirs = {
  root: '/w/run-1',
  home: '/w/run-1/home',
  tmp: '/w/run-1/tmp',
  etc: '/w/run-1/etc',
};
const spec: CodeSpec = {
  dirs,
  command: '/usr/bin/python3',
  args: ['-u', 'recipe.py'],
  env: { DKU_API_TICKET: 'coft_abc.secret-part', PATH: '/usr/bin' },
  shared: [{ name: 'python', host: '/srv/coffer/clients/python' }],
  account: { uid: 2000007, gid: 2000007 },
  limits: DEFAULT_LIMITS,
};
const base = { bwrap: '/usr/bin/bwrap', prlimit: '/usr/bin/prlimit', systemDirs: [] as string[] };

/** [flag, source, destination] of every bind in an argument list. */
function binds(args: readonly string[]): [string, string, string][] {
  const out: [string, string, string][] = [];
  args.forEach((a, i) => {
    if (a === '--bind' || a === '--ro-bind') out.push([a, args[i + 1]!, args[i + 2]!]);
  });
  return out;
}

const beforeCommand = (args: readonly string[]) => args.slice(0, args.indexOf('--'));

describe('bubblewrap launch', () => {
  const launch = bubblewrapBackend({ ...base, network: 'host' }).launch(spec);

  it('unshares every namespace but the network, in a new session, without capabilities', () => {
    const opts = beforeCommand(launch.args);
    for (const flag of [
      '--unshare-user',
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--unshare-cgroup-try',
      '--disable-userns',
      '--die-with-parent',
      '--new-session',
      '--proc',
      '--dev',
    ])
      expect(opts).toContain(flag);
    expect(opts.join(' ')).toContain('--cap-drop ALL');
    expect(opts).not.toContain('--unshare-net');
    expect(opts).not.toContain('--share-net');
  });

  it('binds only /usr and /etc files read-only, the run’s own home and tmp read-write, and the shared dirs', () => {
    const all = binds(beforeCommand(launch.args));
    const writable = all.filter(([flag]) => flag === '--bind');
    expect(writable).toEqual([
      ['--bind', dirs.home, '/home/coffer'],
      ['--bind', dirs.tmp, '/tmp'],
    ]);
    for (const [, source, dest] of all.filter(([flag]) => flag === '--ro-bind')) {
      const allowed =
        source === '/usr' ||
        (source.startsWith('/etc/') && dest === source) ||
        (source.startsWith(dirs.etc) && ['/etc/passwd', '/etc/group'].includes(dest)) ||
        (source === '/srv/coffer/clients/python' && dest === '/opt/coffer/python');
      expect(allowed, `${source} -> ${dest}`).toBe(true);
    }
    // The host's accounts are not there: the run's own passwd and group are.
    expect(all.some(([, s]) => s === '/etc/passwd' || s === '/etc/shadow' || s === '/etc/group')).toBe(false);
  });

  it('runs the command through prlimit with every limit, as the account', () => {
    const command = launch.args.slice(launch.args.indexOf('--') + 1);
    expect(command).toEqual([
      '/usr/bin/prlimit',
      `--data=${DEFAULT_LIMITS.memoryBytes}`,
      `--cpu=${DEFAULT_LIMITS.cpuSeconds}:${DEFAULT_LIMITS.cpuSeconds + 1}`,
      `--fsize=${DEFAULT_LIMITS.fileBytes}`,
      '--core=0',
      `--nproc=${DEFAULT_LIMITS.processes}`,
      '/usr/bin/python3',
      '-u',
      'recipe.py',
    ]);
    expect(launch.uid).toBe(2000007);
    expect(launch.gid).toBe(2000007);
    expect(launch.program).toBe('/usr/bin/bwrap');
  });

  it('passes the ticket in the environment, never on the command line (argv is world-readable)', () => {
    expect(launch.env.DKU_API_TICKET).toBe('coft_abc.secret-part');
    expect(launch.args.join(' ')).not.toContain('secret-part');
    expect(launch.env.HOME).toBe('/home/coffer');
    expect(launch.env.TMPDIR).toBe('/tmp');
  });

  it('names its init on a status descriptor, so a stop kills the whole PID namespace', () => {
    expect(launch.stop).toEqual({ kind: 'sandbox', statusFd: 3 });
    expect(launch.args.join(' ')).toContain('--json-status-fd 3');
  });

  it('coffer-only unshares the network and starts the relay to Coffer before the code', () => {
    const relay = {
      dir: '/w/relay-1',
      socket: 'coffer.sock',
      script: 'relay.js',
      node: '/usr/bin/node',
      port: 11200,
    };
    const l = bubblewrapBackend({ ...base, network: 'coffer-only', relay: () => relay }).launch(spec);
    expect(beforeCommand(l.args)).toContain('--unshare-net');
    expect(binds(l.args)).toContainEqual(['--ro-bind', '/w/relay-1', '/run/coffer']);
    const command = l.args.slice(l.args.indexOf('--') + 1);
    const node = command.indexOf('/usr/bin/node');
    expect(command.slice(node, node + 5)).toEqual([
      '/usr/bin/node',
      '/run/coffer/relay.js',
      '11200',
      '/run/coffer/coffer.sock',
      '--',
    ]);
    expect(command.slice(-3)).toEqual(['/usr/bin/python3', '-u', 'recipe.py']);
  });

  it('coffer-only fails closed: no relay running, no launch (never a shared network)', () => {
    const backend = bubblewrapBackend({
      ...base,
      network: 'coffer-only',
      relay: () => {
        throw new Error('the relay to Coffer is not running yet');
      },
    });
    expect(() => backend.launch(spec)).toThrow(/not running/);
    expect(() => bubblewrapBackend({ ...base, network: 'coffer-only' })).toThrow(/needs a relay/);
  });

  it('binds interpreters installed outside /usr where they are, read-only', () => {
    const l = bubblewrapBackend({ ...base, network: 'host', systemDirs: ['/opt/node'] }).launch(spec);
    expect(binds(l.args)).toContainEqual(['--ro-bind', '/opt/node', '/opt/node']);
  });
});
