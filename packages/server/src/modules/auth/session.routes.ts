import cookie from '@fastify/cookie';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Invalid } from '../../errors.js';
import { SESSION_COOKIE } from '../../http/auth.hook.js';
import { authErrors, ErrorBody } from '../../http/schemas.js';
import { UserView, userView } from '../users/user.schema.js';
import type { AuthService } from './auth.service.js';
import { requireUser } from './caller.js';

const SessionView = Type.Object({
  user: UserView,
  authSource: Type.String(),
  csrfToken: Type.Union([Type.String(), Type.Null()]),
  mustChangePassword: Type.Boolean({
    description: 'an administrator set the password: it must be changed before anything else',
  }),
});

/** Web sign-in: a session cookie (HttpOnly, SameSite=Strict, Secure over TLS) and a CSRF token. */
export const sessionRoutes: FastifyPluginAsyncTypebox<{ auth: AuthService; secureCookies: boolean }> = async (
  app,
  opts,
) => {
  const tags = ['session'];
  // Only these routes set or clear the cookie; registered here, its reply hook runs on their answers
  // alone. The auth hook reads the cookie itself, on the requests that send no other credential.
  await app.register(cookie, { hook: false });

  app.post('/api/v1/session', {
    config: { access: 'public' },
    schema: {
      tags,
      summary: 'Sign in with login and password',
      body: Type.Object(
        { login: Type.String({ maxLength: 200 }), password: Type.String({ maxLength: 1024 }) },
        { additionalProperties: false },
      ),
      response: { 200: SessionView, 400: ErrorBody, 401: ErrorBody, 415: ErrorBody, 429: ErrorBody },
    },
    handler: async (req, reply) => {
      // A JSON content type forces a CORS preflight, so a cross-site form cannot sign a victim in.
      if (
        !String(req.headers['content-type'] ?? '')
          .toLowerCase()
          .startsWith('application/json')
      ) {
        throw new Invalid('sign-in requires Content-Type: application/json');
      }
      const s = await opts.auth.login(req.body.login, req.body.password, req.ip);
      void reply.setCookie(SESSION_COOKIE, s.token, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: opts.secureCookies || req.protocol === 'https',
        expires: new Date(s.expiresAt),
      });
      return {
        user: userView(s.user),
        authSource: 'SESSION',
        csrfToken: s.csrfToken,
        mustChangePassword: s.user.passwordMustChange,
      };
    },
  });

  app.get('/api/v1/session', {
    config: { access: 'user', beforePasswordChange: true, action: 'use the sign-in session routes' },
    schema: { tags, summary: 'Who is signed in', response: { 200: SessionView, ...authErrors } },
    handler: async (req) => {
      const c = requireUser(req.caller!);
      return {
        user: userView(c.user),
        authSource: c.source,
        csrfToken: req.csrfToken,
        mustChangePassword: c.restriction === 'password-change-required',
      };
    },
  });

  app.delete('/api/v1/session', {
    config: { access: 'user', beforePasswordChange: true, action: 'sign out' },
    schema: { tags, summary: 'Sign out', response: { 204: Type.Null(), ...authErrors } },
    handler: async (req, reply) => {
      const c = requireUser(req.caller!);
      if (c.source !== 'SESSION') throw new Invalid('only a browser session can sign out');
      await opts.auth.logout(c);
      void reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.status(204).send(null);
    },
  });
};
