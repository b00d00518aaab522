import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import { newId } from '../../crypto/index.js';
import { Conflict, NotFound } from '../../errors.js';
import type { CodeRunner, RunningCode } from '../../execution/code-runner.js';
import type { JupyterKernel } from '../../execution/runtimes.js';
import { isAdminCaller, requireUser, type Caller } from '../auth/caller.js';
import { KERNELS } from './notebook.rules.js';
import type { NotebookService } from './notebook.service.js';

/*
 * Running notebook kernels on this replica (docs/adr/0021). A kernel is a run of the code runner: its
 * user's sandbox, account, limits and ticket (scoped to the notebook's project, revoked when the kernel
 * ends), with the bridge as its program. What the bridge prints is already masked with the owner's
 * values when it reaches here; each line is one Jupyter message, passed to whoever listens (the
 * owner's WebSocket connections). A kernel belongs to the user who opened it: no one else may listen,
 * send, or see it, administrators excepted for listing and stopping.
 */

export type ExecutionState = 'starting' | 'idle' | 'busy' | 'dead';

export interface KernelView {
  id: string;
  sessionId: string;
  name: JupyterKernel;
  projectKey: string;
  notebook: string;
  owner: string;
  startedAt: number;
  lastActivity: number;
  executionState: ExecutionState;
  connections: number;
}

interface Kernel {
  readonly id: string;
  readonly sessionId: string;
  readonly name: JupyterKernel;
  readonly projectKey: string;
  readonly owner: { id: string; login: string };
  readonly startedAt: number;
  readonly run: RunningCode;
  readonly notebookId: string;
  /** Renamed with its notebook (Jupyter's rename), within the project its ticket is for. */
  notebook: string;
  lastActivity: number;
  /** Waiting for the bridge to say a restart is done. */
  restarted?: () => void;
  state: ExecutionState;
  /** Each gets every message as a JSON line, then null when the kernel ends. */
  readonly listeners: Set<(message: string | null) => void>;
}

export interface KernelSettings {
  /** A kernel with no activity (no message either way) for this long is stopped. */
  readonly idleMs: number;
  /** Longest a kernel lives, busy or not. */
  readonly lifetimeMs: number;
  /** Most output one kernel may send over its life. */
  readonly maxOutputBytes: number;
}

export type KernelService = ReturnType<typeof createKernelService>;

export function createKernelService(deps: {
  code: Pick<CodeRunner, 'start'>;
  notebooks: Pick<NotebookService, 'openable'>;
  clock: Clock;
  logger: Logger;
  settings: KernelSettings;
}) {
  const { code, notebooks, clock, logger, settings } = deps;
  const kernels = new Map<string, Kernel>();
  const cull = setInterval(
    () => {
      const now = clock.now();
      for (const k of kernels.values())
        if (now - k.lastActivity > settings.idleMs && k.listeners.size === 0)
          k.run.stop('cancelled', `stopped after ${Math.round(settings.idleMs / 1000)} s without activity`);
    },
    Math.min(30_000, Math.max(200, settings.idleMs / 4)),
  );
  cull.unref();

  const view = (k: Kernel): KernelView => ({
    id: k.id,
    sessionId: k.sessionId,
    name: k.name,
    projectKey: k.projectKey,
    notebook: k.notebook,
    owner: k.owner.login,
    startedAt: k.startedAt,
    lastActivity: k.lastActivity,
    executionState: k.state,
    connections: k.listeners.size,
  });

  /** Whether the caller may reach a kernel: its owner, or with `admin`, an administrator. */
  const reaches = (caller: Caller, k: Kernel, opts: { admin?: boolean }) =>
    k.owner.id === requireUser(caller).user.id || (opts.admin === true && isAdminCaller(caller));

  /** The caller's own kernel; another user's is not found (administrators may see and stop it). */
  function find(caller: Caller, id: string, opts: { admin?: boolean } = {}): Kernel {
    const k = kernels.get(id);
    if (!k || !reaches(caller, k, opts))
      throw new NotFound(`kernel ${JSON.stringify(id)} is not running on this server`);
    return k;
  }

  /** Coffer's own requests to the bridge, beside the user's messages (which carry a channel). */
  function control(k: Kernel, bridge: 'interrupt' | 'restart'): void {
    if (k.state === 'dead') throw new Conflict(`kernel ${k.id} has ended; start a new one`);
    k.lastActivity = clock.now();
    k.run.input!.write(`${JSON.stringify({ bridge })}\n`);
  }

  /** Reads the bridge's lines: its own (ready, died) update the kernel; the rest go to listeners. */
  function reader(k: () => Kernel | undefined) {
    let pending = '';
    return (text: string) => {
      pending += text;
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        const kernel = k();
        if (!kernel || !line) continue;
        kernel.lastActivity = clock.now();
        let message: { bridge?: string; msg_type?: string; content?: { execution_state?: string } };
        try {
          message = JSON.parse(line) as typeof message;
        } catch {
          logger.warn({ kernel: kernel.id }, 'a kernel bridge sent a line that is not JSON; dropped');
          continue;
        }
        if (message.bridge === 'ready') kernel.state = 'idle';
        else if (message.bridge === 'kernel-died') kernel.state = 'dead';
        else if (message.bridge === 'restarted') kernel.restarted?.();
        if (message.bridge) continue;
        if (message.msg_type === 'status' && message.content?.execution_state)
          kernel.state = message.content.execution_state === 'busy' ? 'busy' : 'idle';
        for (const listen of kernel.listeners) listen(line);
      }
    };
  }

  return {
    /**
     * The caller's kernel for a notebook: the one they already have, or a new one, as them, in the
     * sandbox. Two users on one notebook never share one.
     */
    async open(caller: Caller, projectKey: string, notebook: string): Promise<KernelView> {
      const me = requireUser(caller);
      const nb = await notebooks.openable(caller, projectKey, notebook);
      // By the notebook's id: a notebook renamed since (from the project page) keeps its kernel.
      for (const k of kernels.values())
        if (k.owner.id === me.user.id && k.notebookId === nb.id && k.state !== 'dead') {
          k.notebook = notebook;
          return view(k);
        }
      const id = newId();
      const name = KERNELS[nb.language].name;
      // Known once code.start has answered; the run's output callback may only come after that.
      const made: { kernel?: Kernel } = {};
      const run = code.start({
        user: { id: me.user.id, login: me.user.login },
        project: { id: nb.projectId, key: projectKey },
        notebookId: nb.id,
        language: nb.language,
        code: '',
        kernel: name,
        input: true,
        env: { DKU_CALL_ORIGIN: 'notebook' },
        timeoutMs: settings.lifetimeMs,
        maxOutputBytes: settings.maxOutputBytes,
        output: (stream, text) => {
          if (stream === 'stdout') read(text);
          else logger.debug({ kernel: id }, 'kernel stderr: %s', text.slice(0, 500));
        },
      });
      const read = reader(() => made.kernel);
      const now = clock.now();
      const kernel: Kernel = (made.kernel = {
        id,
        sessionId: newId(),
        name,
        projectKey,
        notebookId: nb.id,
        notebook,
        owner: { id: me.user.id, login: me.user.login },
        startedAt: now,
        run,
        lastActivity: now,
        state: 'starting',
        listeners: new Set(),
      });
      kernels.set(id, kernel);
      void run.done.then((end) => {
        kernels.delete(id);
        kernel.state = 'dead';
        for (const listen of kernel.listeners) listen(null);
        logger.info({ kernel: id, state: end.state, error: end.error }, 'kernel ended');
      });
      return view(kernel);
    },

    /** The kernels running for a project's notebooks (for its members: who and when, nothing inside). */
    running(projectKey: string): KernelView[] {
      return [...kernels.values()].filter((k) => k.projectKey === projectKey && k.state !== 'dead').map(view);
    },

    list(caller: Caller, opts: { all?: boolean } = {}): KernelView[] {
      const me = requireUser(caller);
      const all = opts.all && isAdminCaller(caller);
      return [...kernels.values()].filter((k) => all || k.owner.id === me.user.id).map(view);
    },

    get(caller: Caller, id: string): KernelView {
      return view(find(caller, id));
    },

    bySession(caller: Caller, sessionId: string, opts: { admin?: boolean } = {}): KernelView {
      for (const k of kernels.values())
        if (k.sessionId === sessionId && reaches(caller, k, opts)) return view(k);
      throw new NotFound(`session ${JSON.stringify(sessionId)} is not running on this server`);
    },

    /** Stops a kernel (its owner, or an administrator); resolves once its ticket is revoked. */
    async stop(caller: Caller, id: string): Promise<void> {
      const k = find(caller, id, { admin: true });
      k.run.stop('cancelled', `stopped by ${requireUser(caller).user.login}`);
      await k.run.done;
    },

    /** Sends one message (a Jupyter message with its channel) from the owner to their kernel. */
    send(caller: Caller, id: string, message: { channel: string; msg: unknown }): void {
      const k = find(caller, id);
      if (k.state === 'dead') throw new Conflict(`kernel ${id} has ended; start a new one`);
      k.lastActivity = clock.now();
      k.run.input!.write(`${JSON.stringify(message)}\n`);
    },

    /** Interrupts what the owner's kernel is running (Jupyter's Kernel → Interrupt). */
    interrupt(caller: Caller, id: string): void {
      control(find(caller, id), 'interrupt');
    },

    /**
     * Restarts the owner's kernel in the same session (Jupyter's Kernel → Restart): a fresh kernel
     * process in the same sandbox, with the same ticket, which still ends with the session.
     */
    async restart(caller: Caller, id: string): Promise<KernelView> {
      const k = find(caller, id);
      const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Conflict(`kernel ${id} did not restart in time`)), 120_000);
        k.restarted = () => {
          clearTimeout(timer);
          resolve();
        };
        void k.run.done.then(() => {
          clearTimeout(timer);
          reject(new Conflict(`kernel ${id} ended while restarting; start a new one`));
        });
      });
      control(k, 'restart');
      k.state = 'starting';
      await done;
      k.restarted = undefined;
      return view(k);
    },

    /** Follows its notebook to a new name in the same project (Jupyter renames the session). */
    rename(caller: Caller, id: string, projectKey: string, notebook: string): KernelView {
      const k = find(caller, id);
      if (projectKey !== k.projectKey)
        throw new Conflict(`a kernel stays in its project (${k.projectKey}): open a new session for another`);
      k.notebook = notebook;
      return view(k);
    },

    /** Follows the owner's kernel: every message it sends, masked; returns the unfollow. */
    listen(caller: Caller, id: string, listener: (message: string | null) => void): () => void {
      const k = find(caller, id);
      k.listeners.add(listener);
      return () => {
        k.listeners.delete(listener);
        k.lastActivity = clock.now();
      };
    },

    /** Ends every kernel of this server (it is stopping): their tickets are revoked on the way. */
    async stopAll(): Promise<void> {
      clearInterval(cull);
      const all = [...kernels.values()];
      for (const k of all) k.run.stop('cancelled', 'the server stopped');
      await Promise.allSettled(all.map((k) => k.run.done));
    },
  };
}
