import { fastifyCookie } from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import './types.js';
import { safeEqual } from '../crypto/index.js';
import { Forbidden, Unauthenticated } from '../errors.js';
import type { AuthService } from '../modules/auth/auth.service.js';
import { requireAdmin, type UserCaller } from '../modules/auth/caller.js';
import { checkOwnCredential, checkTicketScope } from './route-policy.js';

export const SESSION_COOKIE = 'coffer_session';
export const CSRF_HEADER = 'x-coffer-csrf';
/** The same token under the name Jupyter's front end sends it (from its `_xsrf` cookie). */
const JUPYTER_CSRF_HEADER = 'x-xsrftoken';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Reads the personal API key from `Basic base64(key:)`, `Basic base64(:key)`, `Bearer key`, or
 * `token key` (what Jupyter and JupyterHub clients send).
 */
export function apiKeyFromAuthorization(header: string): string {
  const [scheme, rest = ''] = header.trim().split(/\s+/, 2);
  if ((scheme?.toLowerCase() === 'bearer' || scheme?.toLowerCase() === 'token') && rest) return rest;
  if (scheme?.toLowerCase() === 'basic' && rest) {
    const decoded = Buffer.from(rest, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const user = i < 0 ? decoded : decoded.slice(0, i);
    const pass = i < 0 ? '' : decoded.slice(i + 1);
    const key = user || pass;
    if (key) return key;
  }
  throw new Unauthenticated(
    'Authorization header must be "Basic base64(<api key>:)", "Bearer <api key>" or "token <api key>"',
  );
}

function sessionCookieOf(header: string | undefined): string | undefined {
  return header ? fastifyCookie.parse(header)[SESSION_COOKIE] : undefined;
}

/**
 * The one place where a request becomes a caller. Order: ticket header, then Authorization, then the
 * session cookie; a credential that is present but bad is refused, never skipped in favour of another.
 * Cookie-authenticated writes must carry the session's CSRF token in a header that a cross-site form
 * cannot set. Then the route's own limits on credentials (route-policy.ts): what a job's ticket may do
 * there, and whether a key an administrator made for the user may.
 */
export function registerAuthHook(
  app: FastifyInstance,
  auth: AuthService,
  opts: { metricsToken?: string | undefined } = {},
): void {
  app.decorateRequest('caller', null);
  app.decorateRequest('csrfToken', null);

  app.addHook('onRequest', async (req: FastifyRequest) => {
    const access = req.routeOptions.config.access ?? 'user';
    if (access === 'public') return;
    if (access === 'metrics') {
      // A scraper, not a user: only the operator's metrics token opens it, never a user's credential.
      const sent = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (!opts.metricsToken || !sent || !safeEqual(sent, opts.metricsToken))
        throw new Unauthenticated('metrics need "Authorization: Bearer <COFFER_METRICS_TOKEN>"');
      return;
    }
    if (req.headers['x-dku-proxyuser'] !== undefined) {
      throw new Forbidden(
        'impersonation (X-DKU-ProxyUser) is not supported: Coffer never acts as another user',
      );
    }
    const ticket = req.headers['x-dku-apiticket'];
    const authorization = req.headers.authorization;
    let cookie: string | undefined;
    let caller: UserCaller;
    if (typeof ticket === 'string' && ticket !== '') {
      caller = await auth.authenticateTicket(ticket, req.ip);
    } else if (authorization) {
      caller = await auth.authenticateApiKey(apiKeyFromAuthorization(authorization), req.ip);
    } else if ((cookie = sessionCookieOf(req.headers.cookie))) {
      const s = await auth.authenticateSession(cookie, req.ip);
      if (!SAFE_METHODS.has(req.method)) {
        const sent = req.headers[CSRF_HEADER] ?? req.headers[JUPYTER_CSRF_HEADER];
        if (typeof sent !== 'string' || !safeEqual(sent, s.csrfToken)) {
          throw new Forbidden(
            `missing or wrong ${CSRF_HEADER} header: a signed-in browser must send its session's CSRF token`,
          );
        }
      }
      caller = s.caller;
      req.csrfToken = s.csrfToken;
    } else {
      throw new Unauthenticated(
        'authentication required: send a personal API key (HTTP Basic or Bearer), a ticket (X-DKU-APITicket), or sign in',
      );
    }
    req.caller = caller;
    if (caller.restriction === 'password-change-required' && !req.routeOptions.config.beforePasswordChange) {
      throw new Forbidden(
        'your password was set by an administrator: choose a new one first (PUT /api/v1/me/password)',
      );
    }
    // A request that matched no route gets its 404 from the not-found handler, whatever the credential.
    if (req.routeOptions.url !== undefined) {
      if (caller.source === 'TICKET') checkTicketScope(req, caller);
      checkOwnCredential(req, caller);
    }
    if (access === 'admin') requireAdmin(caller);
  });
}
