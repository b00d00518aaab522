import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { authErrors, ErrorBody } from '../../http/schemas.js';
import { AuthInfo, authInfoFor } from '../auth/auth-info.js';
import { requireUser } from '../auth/caller.js';
import type { SecretService } from '../secrets/secret.service.js';
import { LoginParams, NewUserBody, UserPatchBody, UserView, userView } from './user.schema.js';
import type { UserService } from './user.service.js';

/** The signed-in user's own account, and user administration, in Coffer's API. */
export const userRoutes: FastifyPluginAsyncTypebox<{ users: UserService; secrets: SecretService }> = async (
  app,
  { users, secrets },
) => {
  app.get('/api/v1/me', {
    config: { access: 'user', beforePasswordChange: true, ticket: 'allowed' },
    schema: { tags: ['me'], summary: 'Your account', response: { 200: UserView, ...authErrors } },
    handler: async (req) => userView(requireUser(req.caller!).user),
  });

  app.get('/api/v1/auth/info', {
    config: { access: 'user', ticket: 'allowed' },
    schema: {
      tags: ['me'],
      summary: 'Who you are; with withSecrets=true, your own secret values (for your code)',
      querystring: Type.Object(
        { withSecrets: Type.Optional(Type.String()) },
        { additionalProperties: false },
      ),
      response: { 200: AuthInfo, ...authErrors },
    },
    handler: (req) => authInfoFor(req.caller!, req.query, secrets),
  });

  app.put('/api/v1/me/password', {
    config: { access: 'user', beforePasswordChange: true, action: 'change a password' },
    schema: {
      tags: ['me'],
      summary: 'Change your password (ends your other sessions)',
      body: Type.Object(
        { currentPassword: Type.String(), newPassword: Type.String() },
        { additionalProperties: false },
      ),
      response: { 204: Type.Null(), ...authErrors },
    },
    handler: async (req, reply) => {
      const me = requireUser(req.caller!);
      await users.changeOwnPassword(me, req.body.currentPassword, req.body.newPassword);
      return reply.status(204).send(null);
    },
  });

  const admin = { config: { access: 'admin' as const } };
  const tags = ['admin'];

  app.get('/api/v1/admin/users', {
    ...admin,
    schema: {
      tags,
      summary: 'List users',
      response: { 200: Type.Object({ users: Type.Array(UserView) }), ...authErrors },
    },
    handler: async (req) => ({ users: (await users.list(req.caller!)).map(userView) }),
  });

  app.post('/api/v1/admin/users', {
    ...admin,
    schema: {
      tags,
      summary: 'Create a user',
      body: NewUserBody,
      response: { 201: UserView, 409: ErrorBody, ...authErrors },
    },
    handler: async (req, reply) =>
      reply.status(201).send(userView(await users.create(req.caller!, req.body))),
  });

  app.get('/api/v1/admin/users/:login', {
    ...admin,
    schema: { tags, summary: 'Get a user', params: LoginParams, response: { 200: UserView, ...authErrors } },
    handler: async (req) => userView(await users.get(req.caller!, req.params.login)),
  });

  app.patch('/api/v1/admin/users/:login', {
    ...admin,
    schema: {
      tags,
      summary: 'Change a user (disabling ends their sessions, tickets and API keys at once)',
      params: LoginParams,
      body: UserPatchBody,
      response: { 200: UserView, 409: ErrorBody, ...authErrors },
    },
    handler: async (req) => userView(await users.update(req.caller!, req.params.login, req.body)),
  });

  app.put('/api/v1/admin/users/:login/password', {
    ...admin,
    schema: {
      tags,
      summary:
        "Reset another user's password: account recovery. Their secrets and credentials are destroyed (an administrator who knows a user's password could read them) and they must choose a new password at the next sign-in.",
      params: LoginParams,
      body: Type.Object({ password: Type.String() }, { additionalProperties: false }),
      response: { 200: Type.Object({ secretsDeleted: Type.Integer() }), ...authErrors },
    },
    handler: async (req) => {
      return users.resetPassword(req.caller!, req.params.login, req.body.password);
    },
  });

  app.delete('/api/v1/admin/users/:login', {
    ...admin,
    schema: {
      tags,
      summary: 'Delete a user and destroy their data key',
      params: LoginParams,
      response: { 204: Type.Null(), 409: ErrorBody, ...authErrors },
    },
    handler: async (req, reply) => {
      await users.delete(req.caller!, req.params.login, { allowSelfDeletion: false });
      return reply.status(204).send(null);
    },
  });
};
