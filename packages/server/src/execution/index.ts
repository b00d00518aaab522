import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { SecretService } from '../modules/secrets/secret.service.js';
import type { TicketService } from '../modules/tickets/ticket.service.js';
import type { Store } from '../store/store.js';
import { AccountError, createAccountPolicy, probeAccountFor } from './accounts.js';
import { bubblewrapBackend } from './bubblewrap.js';
import { createCodeRunner, type Listening } from './code-runner.js';
import type { Limits } from './limits.js';
import { plainProcessBackend } from './plain-process.js';
import { createProcessWatch } from './process-watch.js';
import { startCofferRelay, type CofferRelay } from './relay.js';
import { probeSandbox, type SandboxProblem } from './probe.js';
import { createRuntimes, type Runtimes } from './runtimes.js';
import { createSpawner } from './spawner.js';
import type { NetworkMode, SandboxBackend } from './sandbox.js';

/*
 * The composition of execution/: the only place that picks a sandbox backend. Everything that runs
 * user code gets `code` (the code runner) from here.
 */

/** How user code runs on this server, as /readyz and the admin page show it. */
export interface SandboxReport {
  /** `bubblewrap`: sandboxed. `off`: the operator's opt-out. `unavailable`: code is refused. `starting`. */
  mode: 'bubblewrap' | 'off' | 'unavailable' | 'starting';
  accounts: string;
  network: NetworkMode;
  limits: Limits;
  problem?: { cause: string; fix: string };
}

/** The one choice of a sandbox backend, for the server and for `coffer doctor` alike. */
function backendFor(
  config: Config,
  runtimes: Runtimes,
  relay: () => { relay: CofferRelay; port: number },
): SandboxBackend {
  const { sandbox } = config;
  return sandbox.mode === 'off'
    ? plainProcessBackend({ prlimit: sandbox.prlimit })
    : bubblewrapBackend({
        bwrap: sandbox.bwrap,
        prlimit: sandbox.prlimit,
        systemDirs: runtimes.systemDirs(),
        network: sandbox.network,
        relay: () => {
          const r = relay();
          return {
            dir: r.relay.dir,
            socket: r.relay.socket,
            script: r.relay.script,
            node: runtimes.node,
            port: r.port,
          };
        },
      });
}

/**
 * For `coffer doctor`: whether this machine can make the sandbox these settings ask for, found as the
 * server finds it at start (the same backend, account and work directory, a real launch of `true`).
 * Undefined when it can; `off` when the operator opted out.
 */
export async function checkSandbox(config: Config): Promise<SandboxProblem | 'off' | undefined> {
  if (config.sandbox.mode === 'off') return 'off';
  const serverUid = process.getuid?.() ?? -1;
  let account;
  try {
    account = probeAccountFor(
      { uidRange: config.sandbox.uidRange, pattern: config.sandbox.accountPattern },
      serverUid,
    );
  } catch (e) {
    if (!(e instanceof AccountError)) throw e;
    return {
      cause: e.message,
      fix: 'change COFFER_SANDBOX_UIDS or COFFER_SANDBOX_ACCOUNT_PATTERN as it says',
    };
  }
  const runtimes = createRuntimes(config.jobs);
  let relay: CofferRelay | undefined;
  const spawner = createSpawner();
  // The launcher is unref'd so that it never keeps a server alive; a command with nothing else to do
  // would exit in the middle of the probe without this.
  const keepAlive = setInterval(() => undefined, 60_000);
  try {
    if (config.sandbox.network === 'coffer-only')
      // Nothing calls Coffer from `true`: the relay only has to exist, as it does beside a server.
      relay = await startCofferRelay(config.jobs.workRoot, () => ({
        host: '127.0.0.1',
        port: config.port,
        protocol: 'http',
      }));
    const backend = backendFor(config, runtimes, () => {
      if (!relay) throw new Error('the relay to Coffer is not running');
      return { relay, port: config.port };
    });
    return await probeSandbox(backend, spawner, { workRoot: config.jobs.workRoot, account, serverUid });
  } finally {
    clearInterval(keepAlive);
    spawner.stop();
    await relay?.close();
  }
}

export function createUserCodeExecution(deps: {
  config: Config;
  store: Store;
  clock: Clock;
  logger: Logger;
  tickets: Pick<TicketService, 'issue' | 'revoke'>;
  secrets: Pick<SecretService, 'valuesForMasking'>;
}) {
  const { config, logger } = deps;
  const serverUid = process.getuid?.() ?? -1;
  const accounts = createAccountPolicy({
    store: deps.store,
    clock: deps.clock,
    config: { uidRange: config.sandbox.uidRange, pattern: config.sandbox.accountPattern },
    serverUid,
  });
  const runtimes = createRuntimes(config.jobs);
  let listening: Listening | undefined;
  let relay: CofferRelay | undefined;
  const { sandbox } = config;
  const backend = backendFor(config, runtimes, () => {
    if (!relay || !listening) throw new Error('the relay to Coffer is not running yet');
    return { relay, port: listening.port };
  });
  const watch = createProcessWatch();
  const spawner = createSpawner();
  const code = createCodeRunner({
    backend,
    accounts,
    tickets: deps.tickets,
    secrets: deps.secrets,
    runtimes,
    watch,
    spawner,
    config: {
      workRoot: config.jobs.workRoot,
      limits: sandbox.limits,
      maskMinLength: config.jobs.maskMinLength,
    },
    serverUid,
    listening: () => {
      if (!listening) throw new Error('the server is not listening yet');
      return listening;
    },
  });

  const report = (): SandboxReport => {
    const state = code.state();
    return {
      mode: state?.mode ?? 'starting',
      accounts: sandbox.mode === 'off' && serverUid !== 0 ? 'the server’s own account' : accounts.description,
      network: backend.network,
      limits: sandbox.limits,
      ...(state?.problem ? { problem: state.problem } : {}),
    };
  };

  return {
    code,
    state: report,

    /** Once the server listens: starts the relay if code may reach only Coffer, and checks the sandbox. */
    async start(at: Listening): Promise<void> {
      listening = at;
      if (backend.kind === 'bubblewrap' && backend.network === 'coffer-only')
        relay = await startCofferRelay(config.jobs.workRoot, () => at);
      const state = await code.check();
      const r = report();
      if (state.mode === 'off') {
        logger.warn(
          { sandbox: r },
          'COFFER_SANDBOX=off: USER CODE RUNS WITHOUT A SANDBOX. Any user’s recipe can read the server’s files (on an ordinary account: the master key and the database), see every process and outlive its job. Only for a single-user machine.',
        );
      } else if (state.mode === 'unavailable') {
        logger.error(
          { sandbox: r },
          `NO SANDBOX CAN BE MADE: user code will be refused. Cause: ${state.problem.cause}. Fix: ${state.problem.fix}`,
        );
      } else {
        logger.info({ sandbox: r }, 'user code runs in a bubblewrap sandbox');
      }
    },

    async stop(): Promise<void> {
      watch.stop();
      spawner.stop();
      await relay?.close();
    },
  };
}
