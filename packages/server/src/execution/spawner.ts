import { fork, type ChildProcess } from 'node:child_process';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { Launch } from './sandbox.js';

/*
 * The one spawner of user code. Node's spawn forks the calling process and waits for the child's exec:
 * from a server holding a large heap that takes milliseconds each time, during which the event loop
 * serves no one. So runs are started by a small launcher process (spawner-process.ts), forked once on
 * first use, which forwards each child's output here; only the fork of the launcher costs the server.
 */

export interface Spawned {
  readonly pid: number;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /**
   * A sandbox's init (pid 1 inside, as the host numbers it), once bubblewrap has made it: killing it
   * ends the sandbox. Undefined for a plain process, or a sandbox that ended before it had one.
   */
  readonly init: Promise<number | undefined>;
  /**
   * Once the process has exited and its output has been read to the end (stdout and stderr must be
   * read for this to come): the last line of output is never behind the end of the run.
   */
  readonly closed: Promise<Exit>;
  /** The process's standard input, when it was spawned with `input`; ending it closes the pipe. */
  readonly stdin?: Writable;
}

export interface Spawner {
  /** With `input`, the process reads standard input from `Spawned.stdin`; otherwise it has none. */
  spawn(launch: Launch, opts?: { input?: boolean }): Promise<Spawned>;
  /** Ends the launcher (and with it, through --die-with-parent, any sandbox still running). */
  stop(): void;
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };

interface Run {
  stdout: PassThrough;
  stderr: PassThrough;
  found(init: number | undefined): void;
  exit(e: Exit): void;
  started(pid: number): void;
  failed(e: NodeJS.ErrnoException): void;
}

/** What a run that lost its launcher reports: it was killed with it. */
const LAUNCHER_GONE: Exit = { code: null, signal: 'SIGKILL' };

type Message = { id: number } & (
  | { error: string; code?: string }
  | { pid: number }
  | { init: number }
  | { stream: 'stdout' | 'stderr'; data: Uint8Array }
  | { exit: Exit }
);

export function createSpawner(): Spawner {
  const script = fileURLToPath(new URL('./spawner-process.js', import.meta.url));
  let launcher: ChildProcess | undefined;
  let next = 0;
  const runs = new Map<number, Run>();

  function end(id: number, run: Run, exit: Exit): void {
    runs.delete(id);
    run.stdout.end();
    run.stderr.end();
    run.found(undefined);
    run.exit(exit);
  }

  function start(): ChildProcess {
    // Nothing of the server's environment or flags: it needs neither, and holds no secret.
    const child = fork(script, [], {
      env: { PATH: '/usr/bin:/bin' },
      execArgv: [],
      serialization: 'advanced', // output travels as bytes
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('message', (m: Message) => {
      const run = runs.get(m.id);
      if (!run) return;
      if ('data' in m) (m.stream === 'stdout' ? run.stdout : run.stderr).write(Buffer.from(m.data));
      else if ('pid' in m) run.started(m.pid);
      else if ('init' in m) run.found(m.init);
      else if ('exit' in m) end(m.id, run, m.exit);
      else {
        runs.delete(m.id);
        run.failed(Object.assign(new Error(m.error), { code: m.code }));
      }
    });
    child.once('exit', () => {
      if (launcher === child) launcher = undefined;
      for (const [id, run] of runs) {
        run.failed(new Error('the launcher of user code stopped'));
        end(id, run, LAUNCHER_GONE);
      }
    });
    // The launcher holds no work of the server's own: it must not keep the server alive.
    child.unref();
    child.channel?.unref();
    return child;
  }

  return {
    spawn(launch, opts = {}) {
      const l = (launcher ??= start());
      const id = ++next;
      const statusPipe = launch.stop.kind === 'sandbox';
      return new Promise<Spawned>((resolve, reject) => {
        let exit!: (e: Exit) => void;
        const exited = new Promise<Exit>((r) => (exit = r));
        let found!: (init: number | undefined) => void;
        const init = new Promise<number | undefined>((r) => (found = r));
        const stdout = new PassThrough();
        const stderr = new PassThrough();
        // The exit can be known before the last chunks written to the streams have reached their reader.
        const drained = (s: PassThrough) => finished(s).catch(() => undefined);
        const closed = Promise.all([exited, drained(stdout), drained(stderr)]).then(([e]) => e);
        runs.set(id, {
          stdout,
          stderr,
          found: (pid) => found(statusPipe ? pid : undefined),
          exit,
          started: (pid) =>
            resolve({ pid, stdout, stderr, init, closed, ...(opts.input ? { stdin: inputTo(l, id) } : {}) }),
          failed: reject,
        });
        const request = {
          id,
          program: launch.program,
          args: launch.args,
          env: launch.env,
          cwd: launch.cwd,
          uid: launch.uid,
          gid: launch.gid,
          statusPipe,
          stdin: opts.input === true,
        };
        l.send(request, (err: Error | null) => {
          if (!err) return;
          runs.delete(id);
          reject(new Error(`the launcher of user code is gone: ${err.message}`));
        });
      });
    },
    stop() {
      launcher?.disconnect();
      launcher = undefined;
    },
  };
}

/** A writable whose bytes reach run `id`'s standard input through the launcher. */
function inputTo(launcher: ChildProcess, id: number): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!launcher.connected) return done(new Error('the launcher of user code is gone'));
      launcher.send({ id, input: chunk }, (err) => done(err ?? null));
    },
    final(done) {
      if (launcher.connected) launcher.send({ id, inputEnd: true });
      done();
    },
  });
}
