import type { Caller } from '../modules/auth/caller.js';

/** Who may call a route. Every route says it; a route that does not is treated as 'user'. */
export type RouteAccess = 'public' | 'user' | 'admin' | 'metrics';

/**
 * What a job's ticket may do on a route (docs/adr/0013); a route that does not say refuses tickets.
 * - 'allowed': any live ticket (its user's own identity and secrets, the DSS read calls);
 * - 'own-project': only for the project its job runs in, named by the route's `:key` parameter or, on a
 *   route without one, its `project` query parameter;
 * - 'own-job': only for the ticket's own job, named by the route's `:id` parameter.
 */
export type TicketRule = 'allowed' | 'own-project' | 'own-job';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
    /** Open to a user who must first replace a password an administrator set (sign-out, change password). */
    beforePasswordChange?: boolean;
    /** What a job's ticket may do here; absent, a ticket is refused with 403 naming the limit. */
    ticket?: TicketRule;
    /**
     * Refused to a key an administrator created for the user (delegated): the route changes code, who
     * may change it, or runs it — what would let the administrator's code run with the user's values.
     */
    ownCredential?: boolean;
    /**
     * A page for a person, not an API: errors answer as HTML, and an anonymous visitor is sent to
     * sign in and brought back (http/error-handler.ts).
     */
    page?: boolean;
    /**
     * What a body over the route's limit is, as its 413 says it ("the plugin archive is larger than
     * …"); absent, the generic "request body is too large".
     */
    tooLarge?: string;
    /** What the route does, as its refusals name it: "change project membership". */
    action?: string;
  }
  interface FastifyRequest {
    /** The resolved caller; set by the auth hook for every non-public route. */
    caller: Caller | null;
    /** The session's CSRF token when the caller came in with a session cookie. */
    csrfToken: string | null;
  }
}
