import { hostname } from 'node:os';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Keyring } from './crypto/index.js';
import { registerAuthHook } from './http/auth.hook.js';
import { registerJsonBodyParser } from './http/body-parser.js';
import { DSS_PREFIXES } from './http/dss-wire.js';
import { errorSender, registerErrorHandler } from './http/error-handler.js';
import { healthRoutes } from './http/health.routes.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import { requestIdOf } from './http/request-id.js';
import { validatorCompiler } from './http/validator.js';
import { registerWebUi } from './http/web-ui.js';
import { registerResponseHeaders } from './http/response-headers.js';
import { registerUrlTextCheck } from './http/url-text.js';
import './http/types.js';
import { apiKeyRoutes } from './modules/api-keys/api-key.routes.js';
import { createApiKeyService } from './modules/api-keys/api-key.service.js';
import { createAuditPruner, type AuditPruner } from './modules/audit/audit.pruner.js';
import { createAuditLog } from './modules/audit/audit.service.js';
import { createAuthService } from './modules/auth/auth.service.js';
import { sessionRoutes } from './modules/auth/session.routes.js';
import { createDssSettingsService } from './modules/dss/dss-settings.service.js';
import { dssRoutes } from './modules/dss/dss.routes.js';
import { secretRoutes } from './modules/secrets/secret.routes.js';
import { createSecretService } from './modules/secrets/secret.service.js';
import { createTicketService } from './modules/tickets/ticket.service.js';
import { userRoutes } from './modules/users/user.routes.js';
import { createUserService } from './modules/users/user.service.js';
import { logStoreOutages } from './store/outage-log.js';
import { storeProblem, type Store } from './store/store.js';
import type { Listening } from './execution/code-runner.js';
import { createUserCodeExecution } from './execution/index.js';
import { createJobRunner } from './modules/jobs/job.runner.js';
import { sandboxRoutes } from './http/sandbox.routes.js';
import { jobRoutes } from './modules/jobs/job.routes.js';
import { createJobService, type LocalRunner } from './modules/jobs/job.service.js';
import { forgetProjectKernels } from './modules/notebooks/kernel.repo.js';
import type { NotebookKernels } from './modules/notebooks/notebook.service.js';
import { projectRoutes } from './modules/projects/project.routes.js';
import { createProjectService } from './modules/projects/project.service.js';
import { createPluginCredentialService } from './modules/plugins/plugin-credential.service.js';
import { createPluginRunner } from './modules/plugins/plugin-run.js';
import { createPluginService } from './modules/plugins/plugin.service.js';
import { pluginRoutes } from './modules/plugins/plugin.routes.js';
import { pluginDssRoutes } from './modules/plugins/plugin.dss-routes.js';
import { notebookDssRoutes } from './modules/notebooks/notebook.dss-routes.js';
import { notebookRoutes } from './modules/notebooks/notebook.routes.js';
import { jupyterRoutes } from './modules/notebooks/jupyter.routes.js';
import { jupyterContentsRoutes } from './modules/notebooks/jupyter-contents.routes.js';
import { JUPYTER_PYTHON } from './execution/runtimes.js';
import { jupyterFrontEnd } from './modules/notebooks/jupyter-front-end.js';
import { jupyterPageRoutes } from './modules/notebooks/jupyter-page.routes.js';
import { createKernelService } from './modules/notebooks/kernels.js';
import websocket from '@fastify/websocket';
import { createNotebookService } from './modules/notebooks/notebook.service.js';

export interface AppDeps {
  readonly config: Config;
  readonly store: Store;
  readonly keyring: Keyring;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Wires the services once; the HTTP app and the CLI both use this. */
export function createServices(
  deps: Omit<AppDeps, 'logger'> & { runner?: LocalRunner; kernels?: NotebookKernels; metrics?: Metrics },
) {
  const { config, store, keyring, clock } = deps;
  const auditLog = createAuditLog({ store, clock });
  const audit = deps.metrics ? deps.metrics.countReads(auditLog) : auditLog;
  const users = createUserService({ store, keyring, clock, audit });
  const secrets = createSecretService({ store, keyring, clock, audit, limits: config.limits });
  const apiKeys = createApiKeyService({ store, clock, audit, users });
  const tickets = createTicketService({ store, clock });
  const auth = createAuthService({ store, clock, audit, users, config: config.limits });

  const plugins = createPluginService({
    store,
    clock,
    audit,
    // Bound late: projects need plugins to check their forms, plugins need projects to restamp them.
    recipes: { restampPluginRecipes: (...a) => projects.restampPluginRecipes(...a) },
  });
  const pluginCredentials = createPluginCredentialService({ store, keyring, clock, audit });
  const pluginRuns = createPluginRunner({ store, credentials: pluginCredentials, secrets });
  const settings = createDssSettingsService({ store, users, secrets, credentials: pluginCredentials });
  const projects = createProjectService({
    store,
    clock,
    audit,
    users,
    plugins: {
      checkRecipe: (id, recipe, config) => plugins.checkRecipe(id, recipe, config),
      broken: (id, recipe) => pluginRuns.broken(id, recipe),
    },
    kernels: {
      endInProject: async (db, key, ownerId) =>
        tickets.revokeAll(await forgetProjectKernels(db, key, ownerId), db),
    },
  });
  const jobs = createJobService({
    store,
    clock,
    audit,
    projects,
    pluginReadiness: (caller, code) => pluginRuns.readiness(caller, code),
    limits: { timeoutSeconds: config.jobs.timeoutSeconds },
    runner: deps.runner,
  });
  const notebooks = createNotebookService({
    store,
    clock,
    audit,
    projects,
    secrets,
    kernels: deps.kernels,
    limits: { maskMinLength: config.jobs.maskMinLength, maxNotebookBytes: config.limits.bodyBytes },
  });
  return {
    audit,
    users,
    secrets,
    apiKeys,
    tickets,
    auth,
    settings,
    projects,
    jobs,
    notebooks,
    plugins,
    pluginCredentials,
    pluginRuns,
  };
}

export type Services = ReturnType<typeof createServices>;

/** The composition root: builds the HTTP app from its dependencies. Nothing here reads the environment. */
export async function buildApp(deps: AppDeps): Promise<{
  app: FastifyInstance;
  services: Services;
  routes: { method: string; url: string; access: string; ticket: string }[];
  /** Removes audit records past retention in the background while the app listens. */
  auditPruner: AuditPruner;
}> {
  const { config, store } = deps;
  // The runner needs the services, and the job service the runner: bound once both exist. So do the
  // kernels (they open notebooks) and the notebook service (a deleted notebook's kernels stop).
  const local: { runner?: LocalRunner; kernels?: NotebookKernels } = {};
  const metrics = createMetrics(store);
  const services = createServices({
    ...deps,
    metrics,
    runner: { reserve: () => local.runner?.reserve(), wake: () => local.runner?.wake() },
    kernels: {
      forgetNotebook: (...a) => local.kernels!.forgetNotebook(...a),
      stopNotebook: (...a) => local.kernels!.stopNotebook(...a),
    },
  });
  const sendError = errorSender(store);
  const stopLoggingOutages = logStoreOutages(store.health, deps.logger);
  const app = Fastify({
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    bodyLimit: config.limits.bodyBytes,
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    // Malformed URLs and the like are rendered by our handler too, in the caller's error shape.
    frameworkErrors: (err, req, reply) => sendError(err, req, reply),
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 4096 },
    genReqId: requestIdOf,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);

  // Every route, so tests can prove that each one has an authorization test (tickets included).
  const routes: { method: string; url: string; access: string; ticket: string }[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) {
      if (method !== 'HEAD')
        routes.push({
          method,
          url: r.url,
          access: r.config?.access ?? 'user',
          ticket: r.config?.ticket ?? 'refused',
        });
    }
  });
  registerJsonBodyParser(app);
  registerUrlTextCheck(app);
  registerErrorHandler(app, sendError);
  registerResponseHeaders(app);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Coffer API',
        version: '1',
        description:
          'Personal encrypted secrets for data-platform users. Values are returned only by GET /api/v1/auth/info?withSecrets=true (and its DSS twin) to their owner.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'personal API key' },
          session: { type: 'apiKey', in: 'cookie', name: 'coffer_session' },
        },
      },
      security: [{ apiKey: [] }, { session: [] }],
    },
  });
  registerAuthHook(app, services.auth, { metricsToken: config.metricsToken });
  // Jupyter kernel channels (modules/notebooks): the upgrade passes the same auth hook as any GET.
  await app.register(websocket, { options: { maxPayload: 16 * 1024 * 1024 } });
  metrics.register(app as unknown as FastifyInstance);

  const execution = createUserCodeExecution({
    config,
    store,
    clock: deps.clock,
    logger: deps.logger,
    tickets: services.tickets,
    secrets: services.secrets,
  });
  await app.register(healthRoutes, { storeProblem: () => storeProblem(store), sandbox: execution.state });
  await app.register(sandboxRoutes, { sandbox: execution.state });
  if (config.metricsToken) {
    app.get('/metrics', { config: { access: 'metrics' }, schema: { hide: true } }, async (_req, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
    );
  }
  await app.register(sessionRoutes, {
    auth: services.auth,
    secureCookies: config.publicUrl?.startsWith('https:') ?? false,
  });
  await app.register(userRoutes, { users: services.users, secrets: services.secrets });
  await app.register(secretRoutes, { secrets: services.secrets });
  await app.register(apiKeyRoutes, { apiKeys: services.apiKeys });
  for (const prefix of DSS_PREFIXES) {
    await app.register(dssRoutes, { prefix, ...services });
    await app.register(pluginDssRoutes, { prefix, plugins: services.plugins });
  }
  await registerWebUi(app as unknown as FastifyInstance, config.webDir);
  app.get('/api/v1/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () =>
    app.swagger(),
  );
  await app.register(projectRoutes, { projects: services.projects, jobs: services.jobs });
  await app.register(pluginRoutes, { plugins: services.plugins, credentials: services.pluginCredentials });
  await app.register(notebookRoutes, { notebooks: services.notebooks });
  await app.register(jupyterContentsRoutes, { notebooks: services.notebooks, projects: services.projects });
  await app.register(jobRoutes, { jobs: services.jobs });

  const runner = createJobRunner({
    store,
    clock: deps.clock,
    logger: deps.logger,
    config: config.jobs,
    tickets: services.tickets,
    code: execution.code,
    plugins: services.pluginRuns,
  });
  local.runner = runner;
  let replica = `${hostname()}:${config.port}`;
  const kernels = createKernelService({
    code: execution.code,
    notebooks: services.notebooks,
    tickets: services.tickets,
    store,
    replica: () => replica,
    clock: deps.clock,
    logger: deps.logger,
    settings: {
      idleMs: config.jobs.kernelIdleSeconds * 1000,
      lifetimeMs: KERNEL_LIFETIME_MS,
      maxOutputBytes: KERNEL_MAX_OUTPUT_BYTES,
      heartbeatMs: config.jobs.heartbeatSeconds * 1000,
    },
  });
  local.kernels = kernels;
  await app.register(jupyterRoutes, { kernels });
  await app.register(jupyterPageRoutes, {
    notebooks: services.notebooks,
    frontEnd: jupyterFrontEnd({ python: JUPYTER_PYTHON, clientsDir: config.jobs.clientsDir }),
    clientsDir: config.jobs.clientsDir,
  });
  for (const prefix of DSS_PREFIXES)
    await app.register(notebookDssRoutes, { prefix, notebooks: services.notebooks, kernels });
  const auditPruner = createAuditPruner({
    store,
    clock: deps.clock,
    logger: deps.logger,
    retentionDays: config.audit.retentionDays,
  });
  app.addHook('onListen', async () => {
    // Taken once: a job starting while the server shuts down still knows where it was.
    const listening = backendOf(app.server.address());
    // How other replicas name this one when they point at a kernel it holds.
    replica = `${hostname()}:${listening.port}`;
    await kernels.start();
    await execution.start(listening);
    await runner.start();
    auditPruner.start();
  });
  app.addHook('onClose', async () => {
    await kernels.stopAll();
    await auditPruner.stop();
    await runner.stop();
    await execution.stop();
    await services.audit.drain();
    stopLoggingOutages();
  });
  return { app: app as unknown as FastifyInstance, services, routes, auditPruner };
}

/** A kernel lives at most a day, and may send at most 1 GiB over its life (the sandbox's limits apply too). */
const KERNEL_LIFETIME_MS = 24 * 3600 * 1000;
const KERNEL_MAX_OUTPUT_BYTES = 1024 * 1024 * 1024;

/** Where user code on this machine reaches the server: its own listening address, loopback if wildcard. */
function backendOf(address: ReturnType<FastifyInstance['server']['address']>): Listening {
  if (!address || typeof address === 'string') throw new Error('the server is not listening on TCP');
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const host = wildcard ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { host, port: address.port, protocol: 'http' };
}
