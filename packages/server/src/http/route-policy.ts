import type { FastifyRequest } from 'fastify';
import './types.js';
import { beyondDelegatedKey, beyondTicket, type UserCaller } from '../modules/auth/caller.js';

/*
 * The per-route limits on credentials that are not the user's own hand: a job's ticket, and a key an
 * administrator made for the user. Each route declares them in its config (http/types.ts); the auth hook
 * checks them here, once, so no service has to remember (docs/adr/0013).
 */

/** What a refusal says the caller tried, when the route does not say. */
function actionOf(req: FastifyRequest): string {
  const config = req.routeOptions.config;
  if (config.action) return config.action;
  if (config.access === 'admin') return 'use administrator rights, even when its user is an administrator';
  return `call ${req.method} ${req.routeOptions.url ?? req.url}`;
}

/** The project a route names: its `:key` parameter, or on a route without one, `?project=`. */
function projectNamedBy(req: FastifyRequest): string | undefined {
  const params = req.params as Record<string, unknown> | undefined;
  const query = req.query as Record<string, unknown> | undefined;
  const key = params?.key ?? query?.project;
  return typeof key === 'string' ? key : undefined;
}

/** Throws 403 naming the limit unless the route lets this ticket do what is asked. */
export function checkTicketScope(req: FastifyRequest, caller: UserCaller): void {
  const scope = caller.ticket;
  switch (req.routeOptions.config.ticket) {
    case 'allowed':
      return;
    case 'own-project': {
      // Keys, not ids: the ticket's key was read by id when it was authenticated, and a project key is
      // unique. The answer is the same whether or not another project exists, so none is revealed.
      const key = projectNamedBy(req);
      if (key !== undefined && scope?.projectKey != null && key === scope.projectKey) return;
      throw beyondTicket(
        key === undefined ? 'act outside its own project (name it: ?project=<key>)' : `act on project ${key}`,
        scope,
      );
    }
    case 'own-job': {
      const id = (req.params as Record<string, unknown> | undefined)?.id;
      if (typeof id === 'string' && scope?.jobId != null && id === scope.jobId) return;
      throw beyondTicket(`see job ${String(id)}, which is not its own`, scope);
    }
    default:
      throw beyondTicket(actionOf(req), scope);
  }
}

/** Throws 403 if the route needs the user's own credential and this is a delegated key. */
export function checkOwnCredential(req: FastifyRequest, caller: UserCaller): void {
  if (req.routeOptions.config.ownCredential && caller.restriction === 'delegated-key')
    throw beyondDelegatedKey(actionOf(req));
}
