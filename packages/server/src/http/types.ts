import type { Caller } from '../modules/auth/caller.js';

/** Who may call a route. Every route says it; a route that does not is treated as 'user'. */
export type RouteAccess = 'public' | 'user' | 'admin' | 'metrics';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
    /** Open to a user who must first replace a password an administrator set (sign-out, change password). */
    beforePasswordChange?: boolean;
  }
  interface FastifyRequest {
    /** The resolved caller; set by the auth hook for every non-public route. */
    caller: Caller | null;
    /** The session's CSRF token when the caller came in with a session cookie. */
    csrfToken: string | null;
  }
}
