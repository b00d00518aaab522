import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

/** Liveness and readiness for load balancers and orchestrators. */
export const healthRoutes: FastifyPluginAsyncTypebox<{ ping: () => Promise<void> }> = async (
  app,
  { ping },
) => {
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
      summary: 'The store answers (migrations ran and the master key was verified at start)',
      response: {
        200: Type.Object({ status: Type.String() }),
        503: Type.Object({ status: Type.String(), problem: Type.String() }),
      },
    },
    handler: async (_req, reply) => {
      try {
        await ping();
        return { status: 'ready' };
      } catch {
        return reply.status(503).send({ status: 'unavailable', problem: 'the store does not answer' });
      }
    },
  });
};
