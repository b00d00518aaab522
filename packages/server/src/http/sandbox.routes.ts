import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { SandboxReport } from '../execution/index.js';
import { authErrors } from './schemas.js';

const Problem = Type.Object({ cause: Type.String(), fix: Type.String() });

/** How this server runs user code, for administrators (the admin page shows it). */
export const sandboxRoutes: FastifyPluginAsyncTypebox<{ sandbox: () => SandboxReport }> = async (
  app,
  { sandbox },
) => {
  app.get('/api/v1/admin/sandbox', {
    config: { access: 'admin' },
    schema: {
      tags: ['operations'],
      summary: 'How this server isolates user code: sandbox, accounts, network and limits',
      response: {
        200: Type.Object({
          mode: Type.String(),
          accounts: Type.String(),
          network: Type.String(),
          limits: Type.Object({
            memoryBytes: Type.Integer(),
            processes: Type.Integer(),
            cpuSeconds: Type.Integer(),
            fileBytes: Type.Integer(),
          }),
          problem: Type.Optional(Problem),
        }),
        ...authErrors,
      },
    },
    handler: async () => sandbox(),
  });
};
