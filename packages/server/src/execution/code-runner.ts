import { mkdirSync, writeFileSync } from 'node:fs';
import { constants, hostname } from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { SecretService } from '../modules/secrets/secret.service.js';
import type { IssuedTicket, TicketService } from '../modules/tickets/ticket.service.js';
import type { RecipeLanguage } from '../store/schema.js';
import type { AccountPolicy } from './accounts.js';
import { limitBehindExit, limitReached, type Limits } from './limits.js';
import { compileMasking, type Masking } from './log-masker.js';
import { createMessageMasker } from './message-masker.js';
import { probeSandbox, type SandboxProblem } from './probe.js';
import { processStartTime, readStat } from './process-tree.js';
import type { ProcessWatch } from './process-watch.js';
import { CODE_PATH, recipeFile, type JupyterKernel, type Runtimes } from './runtimes.js';
import type { Launch, RunDirs, SandboxBackend } from './sandbox.js';
import type { Spawned, Spawner } from './spawner.js';
import { diskUsage, handOver, makeRunDirs, removeRunDirs } from './workdir.js';

/*
 * Runs one piece of user code as a user: the one path every front door (recipes now, notebooks and
 * plugin recipes next) goes through. It issues the run's ticket, makes its directory, starts it in the
 * sandbox as the user's account, masks everything it prints with the user's values, holds it to its
 * limits, and — however it ends — kills whatever is left, revokes the ticket and removes the directory
 * in one `finally`. The user's values live in this closure for the run, and nowhere else.
 */

/** Where Coffer listens, as code on this machine reaches it. */
export interface Listening {
  host: string;
  port: number;
  protocol: 'http' | 'https';
}

export type RunState = 'succeeded' | 'failed' | 'cancelled' | 'timed_out';
export interface CodeOutcome {
  state: RunState;
  exitCode: number | null;
  error: string | null;
}

export type OutputStream = 'stdout' | 'stderr';

export interface CodeRequest {
  readonly user: { readonly id: string; readonly login: string };
  readonly project: { readonly id: string; readonly key: string };
  /** The job this run is: its ticket is bound to it, so any replica can revoke it. */
  readonly jobId?: string | undefined;
  /** The notebook this run is the kernel of: its ticket names it, and so do the reads made with it. */
  readonly notebookId?: string | undefined;
  readonly language: RecipeLanguage;
  /** The recipe's code; unused when `kernel` is set. */
  readonly code: string;
  /** Instead of a recipe, a notebook's Jupyter kernel, started beside its bridge (docs/adr/0020). */
  readonly kernel?: JupyterKernel | undefined;
  /** Instead of `code`, a plugin's recipe: its files, resolved for this run's user (docs/adr/0021). */
  readonly plugin?: PluginCode | undefined;
  /**
   * The run's ticket when it was issued in the transaction that recorded the run (a job started at
   * once), sparing the run a commit before it starts; revoked at the end like one issued here. Issued
   * with `ticketLifetimeMs` of the run's time limit, for its user, job and project.
   */
  readonly ticket?: IssuedTicket | undefined;
  /** The code reads standard input from `RunningCode.input` (a kernel's bridge); else it has none. */
  readonly input?: boolean;
  /** More environment for the code (COFFER_JOB_ID, DKU_CALL_ORIGIN, …). */
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  /**
   * What the code prints, masked, in order. A kernel's standard output is its bridge's messages, one
   * JSON line each, each string in them masked (message-masker.ts).
   */
  output(stream: OutputStream, text: string): void;
  /** The run's first process, once started, for restart recovery. */
  started?(proc: { host: string; pid: number; pidStarted: string | null }): void;
}

/** A plugin recipe as a run needs it: its files (placed in the run's home), code file and config. */
export interface PluginCode {
  readonly files: readonly { readonly path: string; readonly content: Buffer }[];
  /** The code file's path among `files`. */
  readonly codeFile: string;
  /** DSS's DKU_CUSTOM_RECIPE_* variables; DKU_CUSTOM_RESOURCE_FOLDER is added where the files land. */
  readonly env: Readonly<Record<string, string>>;
  /** Credential values in `env`: masked in what the code prints, as the user's secrets are. */
  readonly maskValues: readonly string[];
}

/** Where a plugin's files are placed in a run's home. */
const PLUGIN_DIR = 'plugin';

export interface RunningCode {
  /** Stops the run (at once, or as soon as it has started). */
  stop(state: 'cancelled' | 'failed' | 'timed_out', error: string): void;
  readonly done: Promise<CodeOutcome>;
  /** With `input`: what is written here reaches the code's standard input, once it has started. */
  readonly input?: Writable;
}

/** How this server runs user code, for /readyz and the admin page. */
export type SandboxState =
  | { readonly mode: 'bubblewrap' | 'off'; readonly problem?: undefined }
  | { readonly mode: 'unavailable'; readonly problem: SandboxProblem };

export interface CodeRunnerDeps {
  backend: SandboxBackend;
  accounts: AccountPolicy;
  tickets: Pick<TicketService, 'issue' | 'revoke'>;
  secrets: Pick<SecretService, 'valuesForMasking'>;
  runtimes: Runtimes;
  watch: ProcessWatch;
  spawner: Spawner;
  config: { workRoot: string; limits: Limits; maskMinLength: number };
  serverUid: number;
  listening: () => Listening;
}

/** The ticket outlives the time limit a little, so the final calls of a run at its limit still work. */
const TICKET_MARGIN_MS = 60_000;
export const ticketLifetimeMs = (timeoutMs: number) => timeoutMs + TICKET_MARGIN_MS;
const KILL_GRACE_MS = 2_000;
const STDERR_TAIL = 4096;

export function createCodeRunner(deps: CodeRunnerDeps) {
  const { backend, config } = deps;
  let state: SandboxState | undefined;

  /** Makes a test sandbox; a machine that could not make one is tried again at the next run. */
  async function check(): Promise<SandboxState> {
    if (backend.kind === 'off') return (state = { mode: 'off' });
    const problem = await probeSandbox(backend, deps.spawner, {
      workRoot: config.workRoot,
      account: deps.accounts.probeAccount,
      serverUid: deps.serverUid,
    });
    state = problem ? { mode: 'unavailable', problem } : { mode: 'bubblewrap' };
    return state;
  }

  function start(req: CodeRequest): RunningCode {
    let stopped: { state: RunState; error: string } | undefined;
    let kill: (() => void) | undefined;
    const stop = (s: RunState, error: string) => {
      if (stopped) return;
      stopped = { state: s, error };
      kill?.();
    };
    // Read through a function: a stop can come at any await, which flow analysis does not see.
    const currentStop = () => stopped;

    // Written before the process exists, input waits here; it is dropped with the run.
    const input = req.input ? new PassThrough() : undefined;
    const done = (async (): Promise<CodeOutcome> => {
      let ticketId: string | undefined = req.ticket?.id;
      let dirs: RunDirs | undefined;
      try {
        const sandbox = state?.mode === 'bubblewrap' || state?.mode === 'off' ? state : await check();
        if (sandbox.mode === 'unavailable')
          return failed(
            `no sandbox can be made on this machine, and user code never runs without one: ${sandbox.problem.cause}. Fix: ${sandbox.problem.fix}`,
          );
        // Independent lookups, at once: they are most of a run's start-up before its process.
        const issued = req.ticket
          ? Promise.resolve(req.ticket)
          : deps.tickets
              .issue(req.user.id, {
                jobId: req.jobId,
                notebookId: req.notebookId,
                projectId: req.project.id,
                ttlMs: ticketLifetimeMs(req.timeoutMs),
              })
              .then((t) => ((ticketId = t.id), t));
        const [account, ticket, values] = await settledAll([
          deps.accounts.accountFor(req.user),
          issued,
          deps.secrets.valuesForMasking(req.user.id),
        ] as const);
        const stoppedEarly = currentStop();
        if (stoppedEarly) return { ...stoppedEarly, exitCode: null };

        dirs = makeRunDirs(config.workRoot, account, deps.serverUid);
        const view = backend.view(dirs);
        let command;
        let pluginEnv: Record<string, string> = {};
        if (req.kernel) command = await deps.runtimes.prepareKernel(req.kernel, view);
        else if (req.plugin) {
          writePluginFiles(path.join(dirs.home, PLUGIN_DIR), req.plugin.files);
          command = await deps.runtimes.prepare(req.language, dirs.home, view, {
            file: `${PLUGIN_DIR}/${req.plugin.codeFile}`,
            pythonPath: [`${view.home}/${PLUGIN_DIR}/python-lib`],
          });
          pluginEnv = {
            ...req.plugin.env,
            DKU_CUSTOM_RESOURCE_FOLDER: `${view.home}/${PLUGIN_DIR}/resource`,
          };
        } else {
          writeFileSync(path.join(dirs.home, recipeFile(req.language)), req.code, { mode: 0o644 });
          command = await deps.runtimes.prepare(req.language, dirs.home, view);
        }
        const stoppedMeanwhile = currentStop(); // while R's package was being installed, say
        if (stoppedMeanwhile) return { ...stoppedMeanwhile, exitCode: null };
        handOver(dirs, account);
        const at = deps.listening();
        const launch = backend.launch({
          dirs,
          command: command.command,
          args: command.args,
          env: {
            PATH: CODE_PATH,
            LANG: 'C.UTF-8',
            LC_ALL: 'C.UTF-8',
            DKU_API_TICKET: ticket.ticket,
            DKU_BACKEND_HOST: backend.backendHost(at.host),
            DKU_BACKEND_PORT: String(at.port),
            DKU_BACKEND_PROTOCOL: at.protocol,
            DKU_CURRENT_PROJECT_KEY: req.project.key,
            ...req.env,
            ...pluginEnv,
            ...command.env,
          },
          shared: command.shared,
          account,
          limits: config.limits,
        });
        const runDirs = dirs;
        // Compiled before the code starts, once for both its streams.
        // The run's own ticket is masked like a value: a notebook's outputs are saved and shown to the
        // project's members, and a printed ticket works as its user until the run ends.
        const masking = compileMasking([...values, ...(req.plugin?.maskValues ?? []), ticket.ticket], {
          minLength: config.maskMinLength,
        });
        return await supervise(launch, req, masking, input, {
          onKill: (k) => {
            kill = k;
            if (stopped) k();
          },
          stopped: currentStop,
          stop,
          dirs: runDirs,
        });
      } catch (e) {
        return failed(e instanceof Error ? e.message : String(e));
      } finally {
        input?.destroy();
        try {
          if (ticketId) await deps.tickets.revoke(ticketId);
        } finally {
          if (dirs) removeRunDirs(dirs);
        }
      }
    })();
    return { stop, done, ...(input ? { input } : {}) };
  }

  /** Starts the launch and follows it to its end. */
  async function supervise(
    launch: Launch,
    req: CodeRequest,
    masking: Masking,
    input: PassThrough | undefined,
    run: {
      onKill: (kill: () => void) => void;
      stopped: () => { state: RunState; error: string } | undefined;
      stop: (state: RunState, error: string) => void;
      dirs: RunDirs;
    },
  ): Promise<CodeOutcome> {
    const { limits } = config;
    let child: Spawned;
    try {
      child = await deps.spawner.spawn(launch, { input: input !== undefined });
    } catch (e) {
      return failed(`could not start ${launch.program}: ${(e as Error).message}`);
    }
    const { pid } = child;
    if (input && child.stdin) input.pipe(child.stdin);
    const sandboxed = launch.stop.kind === 'sandbox';
    // A sandbox ends with its init: the kernel kills everything in a PID namespace whose first process
    // dies. bubblewrap names the init once it exists; killing bubblewrap itself instead could orphan an
    // init still being set up, before it has asked to die with its parent.
    let init: number | undefined;
    let killRequested = false;
    const killInit = () => {
      if (init === undefined || readStat(init)?.ppid !== pid) return;
      try {
        process.kill(init, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    void child.init.then((initPid) => {
      init = initPid;
      if (killRequested) killInit();
    });
    run.onKill(() => {
      if (sandboxed) {
        killRequested = true;
        return killInit();
      }
      const group = (signal: NodeJS.Signals) => {
        try {
          process.kill(-pid, signal);
        } catch {
          // already gone
        }
      };
      group('SIGTERM');
      setTimeout(() => group('SIGKILL'), KILL_GRACE_MS).unref();
    });
    const timer = setTimeout(
      () => run.stop('timed_out', `stopped after its time limit of ${Math.round(req.timeoutMs / 1000)} s`),
      req.timeoutMs,
    );
    req.started?.({ host: hostname(), pid, pidStarted: processStartTime(pid) ?? null });
    const unwatch = deps.watch.watch({
      pid,
      wrapperFirst: sandboxed,
      dirs: run.dirs,
      limits,
      onLimit: (name) => run.stop('failed', limitReached(name, limits)),
    });

    let outBytes = 0;
    let stderrTail = '';
    const pipe = (stream: OutputStream, source: Readable) => {
      // A kernel's bridge writes Jupyter messages as JSON lines: masked message by message, on the
      // strings a client will read, not on their JSON escapes.
      const masker = stream === 'stdout' && req.kernel ? createMessageMasker(masking) : masking.stream();
      const text = new StringDecoder('utf8');
      const emit = (s: string) => {
        if (!s) return;
        if (stream === 'stderr') stderrTail = (stderrTail + s).slice(-STDERR_TAIL);
        req.output(stream, s);
      };
      source.on('data', (chunk: Buffer) => {
        outBytes += chunk.length;
        if (outBytes > req.maxOutputBytes) {
          run.stop('failed', `output limit of ${req.maxOutputBytes} bytes exceeded`);
          return;
        }
        emit(text.write(masker.push(chunk)));
      });
      source.on('end', () => emit(text.write(masker.end()) + text.end()));
    };
    pipe('stdout', child.stdout);
    pipe('stderr', child.stderr);

    const { code, signal } = await child.closed.finally(() => {
      clearTimeout(timer);
      unwatch();
    });
    const stopped = run.stopped();
    if (stopped) return { state: stopped.state, exitCode: code, error: stopped.error };
    if (code === 0) return { state: 'succeeded', exitCode: 0, error: null };
    // A sandbox's first process exits with 128 + the signal that killed the code.
    const signalName = signal ?? (sandboxed && code !== null && code > 128 ? nameOfSignal(code - 128) : null);
    const how = signalName ? `killed by signal ${signalName}` : `exited with code ${code}`;
    const { largestFile } = await diskUsage(run.dirs).catch(() => ({ largestFile: 0 }));
    const limit = limitBehindExit(
      { exitCode: code, signal: signalName },
      { largestFile, stderrTail },
      limits,
    );
    return {
      state: 'failed',
      exitCode: code,
      error: limit ? `${limitReached(limit, limits)} (${how})` : how,
    };
  }

  return {
    check,
    /** How this server runs user code; undefined before the first check. */
    state: () => state,
    start,
  };
}

export type CodeRunner = ReturnType<typeof createCodeRunner>;

/**
 * Like Promise.all, but rejects only once every promise has settled: a ticket issued beside a lookup
 * that failed is known (and revoked) before the run gives up.
 */
async function settledAll<T extends readonly unknown[]>(promises: {
  readonly [K in keyof T]: Promise<T[K]>;
}): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failure = results.find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/**
 * Writes a plugin's files under `root`. Their paths were checked when the plugin was installed; this
 * checks again that each stays inside, as a file written outside the run's home would be the server's.
 */
function writePluginFiles(root: string, files: PluginCode['files']): void {
  for (const f of files) {
    const target = path.resolve(root, f.path);
    if (!target.startsWith(root + path.sep))
      throw new Error(`plugin file ${f.path} would leave the run's directory`);
    mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    writeFileSync(target, f.content, { mode: 0o644, flag: 'wx' });
  }
}

function failed(error: string): CodeOutcome {
  return { state: 'failed', exitCode: null, error };
}

function nameOfSignal(n: number): string | null {
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0] ?? null;
}
