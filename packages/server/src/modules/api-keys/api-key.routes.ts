import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { authErrors } from '../../http/schemas.js';
import { ApiKeyIdParams, ApiKeyView, NewApiKeyView } from './api-key.schema.js';
import type { ApiKeyService } from './api-key.service.js';

/**
 * Personal API keys in Coffer's API. The key is returned once, at creation. A job's ticket may list
 * them, as dataikuapi does, but never make, change or revoke one: a key would outlive the job.
 */
export const apiKeyRoutes: FastifyPluginAsyncTypebox<{ apiKeys: ApiKeyService }> = async (
  app,
  { apiKeys },
) => {
  const tags = ['api-keys'];
  const config = { access: 'user' as const };

  app.get('/api/v1/me/api-keys', {
    config: { ...config, ticket: 'allowed' },
    schema: {
      tags,
      summary: 'Your personal API keys',
      response: { 200: Type.Object({ keys: Type.Array(ApiKeyView) }), ...authErrors },
    },
    handler: async (req) => ({ keys: await apiKeys.listOwn(req.caller!) }),
  });

  app.post('/api/v1/me/api-keys', {
    config: { ...config, action: 'create lasting API keys' },
    schema: {
      tags,
      summary: 'Create a personal API key (shown once)',
      body: Type.Object(
        {
          label: Type.Optional(Type.String()),
          description: Type.Optional(Type.String()),
          expiresOn: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
        },
        { additionalProperties: false },
      ),
      response: { 201: NewApiKeyView, ...authErrors },
    },
    handler: async (req, reply) => {
      const r = await apiKeys.create(req.caller!, req.body);
      void reply.header('cache-control', 'no-store');
      return reply.status(201).send({ ...r.info, key: r.key });
    },
  });

  app.patch('/api/v1/me/api-keys/:id', {
    config: { ...config, action: 'change API keys' },
    schema: {
      tags,
      summary: 'Change the label or description of a key',
      params: ApiKeyIdParams,
      body: Type.Object(
        { label: Type.Optional(Type.String()), description: Type.Optional(Type.String()) },
        { additionalProperties: false },
      ),
      response: { 200: ApiKeyView, ...authErrors },
    },
    handler: (req) => apiKeys.update(req.caller!, req.params.id, req.body),
  });

  app.delete('/api/v1/me/api-keys/:id', {
    config: { ...config, action: 'revoke API keys' },
    schema: {
      tags,
      summary: 'Revoke a key at once',
      params: ApiKeyIdParams,
      response: { 204: Type.Null(), ...authErrors },
    },
    handler: async (req, reply) => {
      await apiKeys.revoke(req.caller!, req.params.id);
      return reply.status(204).send(null);
    },
  });
};
