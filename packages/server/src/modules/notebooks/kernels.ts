import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import { newId } from '../../crypto/index.js';
import { Conflict, Misdirected, NotFound } from '../../errors.js';
import { ticketLifetimeMs, type CodeRunner, type RunningCode } from '../../execution/code-runner.js';
import type { JupyterKernel } from '../../execution/runtimes.js';
import { isAdminCaller, requireUser, type Caller } from '../auth/caller.js';
import type { Db, Store } from '../../store/store.js';
import type { TicketService } from '../tickets/ticket.service.js';
import * as repo from './kernel.repo.js';
import { KERNELS } from './notebook.rules.js';
import type { NotebookService } from './notebook.service.js';

/*
 * Running notebook kernels on this replica (docs/adr/0020). A kernel is a run of the code runner: its
 * user's sandbox, account, limits and ticket (scoped to the notebook's project, revoked when the kernel
 * ends), with the bridge as its program. What the bridge prints reaches here masked with the owner's
 * values, message by message (execution/message-masker.ts); each line is one Jupyter message, passed
 * to whoever listens (the owner's WebSocket connections). A kernel belongs to the user who opened it:
 * no one else may listen, send, or see it, administrators excepted for listing and stopping.
 *
 * A kernel's row in the store (0015, 0019) names its ticket. A run that ends revokes its own ticket; a
 * server killed outright ends nothing, so its kernels' tickets are revoked by whoever finds their rows
 * gone: the same replica (host:port) when it starts again, or any replica once it has missed six
 * heartbeats. A replica whose own row has been forgotten so stops that kernel at its next heartbeat.
 */

/** 'unknown': a kernel another replica holds, whose state only that replica knows. */
export type ExecutionState = 'starting' | 'idle' | 'busy' | 'dead' | 'unknown';

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
  /** The replica that holds it (host:port). */
  replica: string;
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
  /** How often this replica says its kernels still run. */
  readonly heartbeatMs: number;
}

export type KernelService = ReturnType<typeof createKernelService>;

/** A replica that misses this many heartbeats in a row is taken for gone, with its kernels. */
const MISSED_BEATS = 6;

export function createKernelService(deps: {
  code: Pick<CodeRunner, 'start'>;
  notebooks: Pick<NotebookService, 'openable'>;
  tickets: Pick<TicketService, 'issue' | 'revokeAll' | 'revokeForNotebook'>;
  store: Store;
  /** This replica's name (host:port), known once it listens. */
  replica: () => string;
  clock: Clock;
  logger: Logger;
  settings: KernelSettings;
}) {
  const { code, notebooks, tickets, store, replica, clock, logger, settings } = deps;
  const kernels = new Map<string, Kernel>();
  /** Rows of this process's kernels are started from now on; older ones with its name are a former run's. */
  const bootedAt = clock.now();
  const liveSince = () => clock.now() - MISSED_BEATS * settings.heartbeatMs;

  /**
   * Forgets the rows of kernels gone without ending their runs and revokes their tickets, together:
   * those of replicas that stopped beating, and `atStart`, those this replica held before it was
   * restarted (on SQLite, one server per store: every kernel started before this process).
   */
  async function forgetGone(atStart: boolean): Promise<void> {
    const gone = await store.transaction(async (trx) => {
      const rows = await repo.forgetGone(trx, {
        liveSince: liveSince(),
        formerly: atStart
          ? { replica: store.kind === 'sqlite' ? undefined : replica(), startedBefore: bootedAt }
          : undefined,
        keep: [...kernels.keys()],
      });
      await tickets.revokeAll(
        rows.flatMap((r) => (r.ticket_id ? [r.ticket_id] : [])),
        trx,
      );
      return rows;
    });
    if (gone.length > 0)
      logger.warn(
        { kernels: gone.map((r) => r.id) },
        'revoked the tickets of notebook kernels whose server stopped without ending them',
      );
  }

  /**
   * Stops this replica's kernels whose rows are gone, with their tickets revoked: their notebook was
   * deleted through another replica, or another replica took this one for gone (a store outage).
   */
  function endForgotten(ids: readonly string[], recorded: Set<string>): void {
    for (const id of ids)
      if (!recorded.has(id))
        kernels
          .get(id)
          ?.run.stop(
            'cancelled',
            'ended elsewhere (its notebook deleted, or this server taken for gone), its ticket revoked',
          );
  }

  // Every replica's kernels are in the store (0015), so another replica can say where one runs. Reads
  // skip rows without a recent beat; the rows a crash left are deleted now and then, not every beat.
  let beat = 0;
  const beats = setInterval(() => {
    const forget = ++beat % MISSED_BEATS === 0;
    const ids = [...kernels.keys()];
    void repo
      .beat(store.db, ids, clock.now())
      .then((recorded) => {
        endForgotten(ids, recorded);
        return forget ? forgetGone(false) : undefined;
      })
      .catch((e: unknown) => logger.warn({ err: e }, 'kernel heartbeat failed'));
  }, settings.heartbeatMs);
  beats.unref();
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
    replica: replica(),
  });
  const rowView = (r: repo.KernelRow): KernelView => ({
    id: r.id,
    sessionId: r.session_id,
    name: r.kernel_name as JupyterKernel,
    projectKey: r.project_key,
    notebook: r.notebook,
    owner: r.owner_login,
    startedAt: Number(r.started_at),
    lastActivity: Number(r.heartbeat_at),
    executionState: 'unknown',
    connections: 0,
    replica: r.replica,
  });

  /**
   * A kernel this replica does not hold: if another holds it and the caller may reach it, say where
   * (421); otherwise it is not found, as for anyone else's.
   */
  async function elsewhere(
    caller: Caller,
    by: { id: string } | { sessionId: string },
    opts: { admin?: boolean },
  ): Promise<never> {
    const what = 'id' in by ? `kernel ${JSON.stringify(by.id)}` : `session ${JSON.stringify(by.sessionId)}`;
    const row = await repo.findKernel(store.db, by, liveSince());
    if (row && row.replica !== replica() && reaches(caller, row.owner_id, opts))
      throw new Misdirected(
        `${what} runs on replica ${row.replica}, not on this one (${replica()}): a kernel is reached through the replica that started it. Send requests for it to ${row.replica}, or have the load balancer keep each browser on one replica`,
      );
    throw new NotFound(`${what} is not running`);
  }

  /** The caller's kernel on this replica, or the error that says where it is. */
  async function locate(caller: Caller, id: string, opts: { admin?: boolean } = {}): Promise<Kernel> {
    const k = kernels.get(id);
    if (k && reaches(caller, k.owner.id, opts)) return k;
    return elsewhere(caller, { id }, opts);
  }

  /** Whether the caller may reach a kernel of this owner: its owner, or with `admin`, an administrator. */
  const reaches = (caller: Caller, ownerId: string, opts: { admin?: boolean }) =>
    ownerId === requireUser(caller).user.id || (opts.admin === true && isAdminCaller(caller));

  /** The caller's own kernel; another user's is not found (administrators may see and stop it). */
  function find(caller: Caller, id: string, opts: { admin?: boolean } = {}): Kernel {
    const k = kernels.get(id);
    if (!k || !reaches(caller, k.owner.id, opts))
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
        let message: {
          bridge?: string;
          msg_type?: string;
          content?: { execution_state?: string };
          text?: string;
          error?: string;
        };
        try {
          // The runner writes each message again after masking it: a line here is always JSON.
          message = JSON.parse(line) as typeof message;
        } catch {
          logger.error({ kernel: kernel.id }, 'a kernel line is not JSON after masking; dropped');
          continue;
        }
        if (message.bridge === 'ready') kernel.state = 'idle';
        else if (message.bridge === 'kernel-died') kernel.state = 'dead';
        else if (message.bridge === 'restarted') kernel.restarted?.();
        else if (message.bridge)
          // The bridge's complaint about a line Coffer sent (bad-input), or a line of its output that
          // was no message (stray-output, masked as text): a fault, or code that wrote to the bridge's
          // output on purpose. For the log: the client has no cell to show it in.
          logger.warn(
            {
              kernel: kernel.id,
              bridge: message.bridge,
              detail: (message.error ?? message.text)?.slice(0, 500),
            },
            'a kernel bridge reported a fault',
          );
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
          if (k.notebook !== notebook) {
            k.notebook = notebook;
            await repo.renameKernel(store.db, k.id, notebook);
          }
          return view(k);
        }
      const id = newId();
      const sessionId = newId();
      const name = KERNELS[nb.language].name;
      const now = clock.now();
      // The ticket and the kernel's row commit together, so a kernel in the store always names its
      // ticket for whoever finds it gone; the run revokes it when it ends, like one it issued itself.
      const ticket = await store.transaction(async (trx) => {
        const t = await tickets.issue(
          me.user.id,
          { notebookId: nb.id, projectId: nb.projectId, ttlMs: ticketLifetimeMs(settings.lifetimeMs) },
          trx,
        );
        await repo.recordKernel(trx, {
          id,
          session_id: sessionId,
          owner_id: me.user.id,
          owner_login: me.user.login,
          project_key: projectKey,
          notebook,
          kernel_name: name,
          replica: replica(),
          started_at: now,
          heartbeat_at: now,
          ticket_id: t.id,
          notebook_id: nb.id,
        });
        return t;
      });
      // Known once code.start has answered; the run's output callback may only come after that.
      const made: { kernel?: Kernel } = {};
      const run = code.start({
        user: { id: me.user.id, login: me.user.login },
        project: { id: nb.projectId, key: projectKey },
        notebookId: nb.id,
        ticket,
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
      const kernel: Kernel = (made.kernel = {
        id,
        sessionId,
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
        void repo
          .forgetKernel(store.db, id)
          .catch((e: unknown) => logger.warn({ err: e, kernel: id }, 'a kernel ended but its row stays'));
        kernels.delete(id);
        kernel.state = 'dead';
        for (const listen of kernel.listeners) listen(null);
        logger.info({ kernel: id, state: end.state, error: end.error }, 'kernel ended');
      });
      return view(kernel);
    },

    /**
     * At start, once this replica's name is known: revokes the tickets of the kernels it held before
     * it was restarted (and of any replica taken for gone), which no run's end revoked.
     */
    async start(): Promise<void> {
      await forgetGone(true).catch((e: unknown) =>
        logger.error({ err: e }, 'could not revoke the tickets of kernels a stopped server left'),
      );
    },

    /** The kernels running for a project's notebooks (for its members: who and when, nothing inside). */
    async running(projectKey: string): Promise<KernelView[]> {
      const here = [...kernels.values()].filter((k) => k.projectKey === projectKey && k.state !== 'dead');
      const there = (await repo.kernelsElsewhere(store.db, replica(), liveSince())).filter(
        (r) => r.project_key === projectKey,
      );
      return [...here.map(view), ...there.map(rowView)];
    },

    /** The caller's kernels (with `all`, an administrator's view: everyone's), on every replica. */
    async list(caller: Caller, opts: { all?: boolean } = {}): Promise<KernelView[]> {
      const me = requireUser(caller);
      const all = opts.all === true && isAdminCaller(caller);
      const here = [...kernels.values()].filter((k) => all || k.owner.id === me.user.id);
      const there = await repo.kernelsElsewhere(
        store.db,
        replica(),
        liveSince(),
        all ? undefined : me.user.id,
      );
      return [...here.map(view), ...there.map(rowView)];
    },

    /** One of the caller's kernels on this replica (421 naming the replica that holds it elsewhere). */
    async get(caller: Caller, id: string): Promise<KernelView> {
      return view(await locate(caller, id));
    },

    async bySession(caller: Caller, sessionId: string, opts: { admin?: boolean } = {}): Promise<KernelView> {
      for (const k of kernels.values())
        if (k.sessionId === sessionId && reaches(caller, k.owner.id, opts)) return view(k);
      return elsewhere(caller, { sessionId }, opts);
    },

    /** Stops a kernel (its owner, or an administrator); resolves once its ticket is revoked. */
    async stop(caller: Caller, id: string): Promise<void> {
      const k = await locate(caller, id, { admin: true });
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
    async interrupt(caller: Caller, id: string): Promise<void> {
      control(await locate(caller, id), 'interrupt');
    },

    /**
     * Restarts the owner's kernel in the same session (Jupyter's Kernel → Restart): a fresh kernel
     * process in the same sandbox, with the same ticket, which still ends with the session.
     */
    async restart(caller: Caller, id: string): Promise<KernelView> {
      const k = await locate(caller, id);
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
      // The bridge says restarted once the new kernel answers: ready for code.
      if (k.state === 'starting') k.state = 'idle';
      return view(k);
    },

    /** Follows its notebook to a new name in the same project (Jupyter renames the session). */
    async rename(caller: Caller, id: string, projectKey: string, notebook: string): Promise<KernelView> {
      const k = await locate(caller, id);
      if (projectKey !== k.projectKey)
        throw new Conflict(`a kernel stays in its project (${k.projectKey}): open a new session for another`);
      k.notebook = notebook;
      await repo.renameKernel(store.db, id, notebook);
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

    /**
     * In the transaction that deletes a notebook: revokes the tickets of all its kernels, whoever's and
     * wherever they run, and forgets their rows (their replicas stop them at their next heartbeat).
     */
    async forgetNotebook(db: Db, notebookId: string): Promise<void> {
      await tickets.revokeForNotebook(notebookId, db);
      await repo.forgetNotebookKernels(db, notebookId);
    },

    /** Stops this replica's kernels of a notebook (it was deleted); resolves once they have ended. */
    async stopNotebook(notebookId: string, reason: string): Promise<void> {
      const doomed = [...kernels.values()].filter((k) => k.notebookId === notebookId);
      for (const k of doomed) k.run.stop('cancelled', reason);
      await Promise.allSettled(doomed.map((k) => k.run.done));
    },

    /** Ends every kernel of this server (it is stopping): their tickets are revoked on the way. */
    async stopAll(): Promise<void> {
      clearInterval(cull);
      clearInterval(beats);
      const all = [...kernels.values()];
      for (const k of all) k.run.stop('cancelled', 'the server stopped');
      await Promise.allSettled(all.map((k) => k.run.done));
    },
  };
}
