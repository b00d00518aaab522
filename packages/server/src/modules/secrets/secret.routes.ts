import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Invalid } from '../../errors.js';
import { authErrors, ErrorBody } from '../../http/schemas.js';
import type { SecretService } from './secret.service.js';
import {
  ActivityList,
  ActivityQuery,
  BatchBody,
  PutSecretBody,
  SecretInfo,
  SecretList,
  SecretNameParams,
} from './secret.schema.js';

function parseIntParam(
  raw: string | undefined,
  name: string,
  min: number,
  max: number,
  fallback?: number,
): number | undefined {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new Invalid(`query parameter ${name} must be a whole number from ${min} to ${max}`);
  }
  return Number(raw);
}

/**
 * Coffer's own API for a user's secrets. No route here returns a value. A job's ticket may list and
 * change its user's secrets (what jobs need them for), but not read the activity trail.
 */
export const secretRoutes: FastifyPluginAsyncTypebox<{ secrets: SecretService }> = async (
  app,
  { secrets },
) => {
  const tags = ['secrets'];

  app.get('/api/v1/me/secrets', {
    config: { access: 'user', ticket: 'allowed' },
    schema: {
      tags,
      summary: 'List your secrets (names and metadata, never values)',
      response: { 200: SecretList, ...authErrors },
    },
    handler: (req) => secrets.list(req.caller!),
  });

  app.put('/api/v1/me/secrets/:name', {
    config: { access: 'user', ticket: 'allowed' },
    schema: {
      tags,
      summary: 'Create or replace one of your secrets',
      params: SecretNameParams,
      body: PutSecretBody,
      response: {
        200: Type.Object({ revision: Type.Integer(), secret: SecretInfo }),
        201: Type.Object({ revision: Type.Integer(), secret: SecretInfo }),
        ...authErrors,
      },
    },
    handler: async (req, reply) => {
      const r = await secrets.put(req.caller!, req.params.name, req.body.value);
      return reply.status(r.created ? 201 : 200).send({ revision: r.revision, secret: r.secret });
    },
  });

  app.delete('/api/v1/me/secrets/:name', {
    config: { access: 'user', ticket: 'allowed' },
    schema: {
      tags,
      summary: 'Delete one of your secrets',
      params: SecretNameParams,
      response: { 200: Type.Object({ revision: Type.Integer() }), ...authErrors },
    },
    handler: (req) => secrets.remove(req.caller!, req.params.name),
  });

  app.patch('/api/v1/me/secrets', {
    config: { access: 'user', ticket: 'allowed' },
    schema: {
      tags,
      summary: 'Apply adds, replacements and deletions atomically; 409 if based on a stale revision',
      body: BatchBody,
      response: { 200: SecretList, 409: ErrorBody, ...authErrors },
    },
    handler: (req) => secrets.batch(req.caller!, req.body.revision, req.body.changes),
  });

  app.get('/api/v1/me/activity', {
    config: { access: 'user', action: "read its user's activity" },
    schema: {
      tags,
      summary: 'Reads and changes of your secrets, newest first',
      querystring: ActivityQuery,
      response: { 200: ActivityList, ...authErrors },
    },
    handler: async (req) => {
      const limit = parseIntParam(req.query.limit, 'limit', 1, 500, 100)!;
      const beforeId = parseIntParam(req.query.before, 'before', 1, Number.MAX_SAFE_INTEGER);
      return { events: await secrets.activity(req.caller!, { limit, beforeId }) };
    },
  });
};
