import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { SandboxReport } from '../execution/index.js';

/**
 * How user code runs, in /readyz: `bubblewrap`, or `off` (the operator's opt-out, shown so it is never
 * forgotten) or `unavailable` (code is refused; the store still serves, so the server stays ready).
 */
const SandboxMode = Type.String();

/** Liveness and readiness for load balancers and orchestrators. */
export const healthRoutes: FastifyPluginAsyncTypebox<{
  /** What keeps the store from serving (it does not answer, or cannot write), or undefined. */
  storeProblem: () => Promise<string | undefined>;
  sandbox: () => SandboxReport;
}> = async (app, { storeProblem, sandbox }) => {
  app.get('/healthz', {
    config: { access: 'public' },
    schema: {
      tags: ['operations'],
      summary: 'The process is alive',
      response: { 200: Type.Object({ status: Type.String() }) },
    },
    handler: async () => ({ status: 'ok' }),
  });

  app.get('/readyz', {
    config: { access: 'public' },
    schema: {
      tags: ['operations'],
      summary:
        'The store answers, and writes if writes were failing (migrations ran and the master key was verified at start)',
      response: {
        200: Type.Object({
          status: Type.String(),
          sandbox: SandboxMode,
          warning: Type.Optional(Type.String()),
        }),
        503: Type.Object({ status: Type.String(), problem: Type.String(), sandbox: SandboxMode }),
      },
    },
    handler: async (_req, reply) => {
      const { mode, problem } = sandbox();
      const store = await storeProblem();
      if (store) return reply.status(503).send({ status: 'unavailable', problem: store, sandbox: mode });
      if (mode === 'off')
        return {
          status: 'ready',
          sandbox: mode,
          warning: 'COFFER_SANDBOX=off: user code runs without a sandbox',
        };
      if (problem)
        return { status: 'ready', sandbox: mode, warning: `user code is refused: ${problem.cause}` };
      return { status: 'ready', sandbox: mode };
    },
  });
};
