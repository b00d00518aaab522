import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, Conflict, RateLimited, StoreUnavailable } from '../errors.js';
import type { StoreHealth } from '../store/health.js';
import { isUniqueViolation } from '../store/unavailable.js';
import { isDssUrl } from './dss-wire.js';

/** DSS clients show `errorType: detailedMessage`; these names read well there. */
const DSS_ERROR_TYPE: Record<string, string> = {
  not_found: 'com.dataiku.dip.exceptions.NotFoundException',
  forbidden: 'com.dataiku.dip.exceptions.UnauthorizedException',
  unauthenticated: 'com.dataiku.dip.exceptions.NotAuthenticatedException',
  invalid: 'com.dataiku.dip.exceptions.InvalidArgumentException',
  conflict: 'com.dataiku.dip.exceptions.ConflictException',
  approval_required: 'com.dataiku.dip.exceptions.ConflictException',
  rate_limited: 'com.dataiku.dip.exceptions.TooManyRequestsException',
  payload_too_large: 'com.dataiku.dip.exceptions.PayloadTooLargeException',
  unsupported_media_type: 'com.dataiku.dip.exceptions.InvalidArgumentException',
  internal_error: 'com.dataiku.dip.exceptions.InternalErrorException',
  unavailable: 'com.dataiku.dip.exceptions.ServiceUnavailableException',
  misdirected: 'com.dataiku.dip.exceptions.ServiceUnavailableException',
};

interface Rendered {
  status: number;
  code: string;
  message: string;
  details?: Record<string, unknown> | undefined;
  fields?: Record<string, unknown> | undefined;
}

/** Turns the first schema violation into one sentence that names the field and the rule. */
function describeValidation(fe: FastifyError): string {
  const where = fe.validationContext ?? 'request';
  const errors = fe.validation ?? [];
  const extra = errors.find((e) => e.keyword === 'additionalProperties');
  const first = extra ?? errors.find((e) => e.keyword !== 'boolean') ?? errors[0];
  if (!first) return `${where}: ${fe.message}`;
  const field = first.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const at = field ? `${where}.${field}` : where;
  const params = first.params as Record<string, unknown>;
  if (first.keyword === 'additionalProperties') {
    const names = (params.additionalProperties as string[] | undefined) ?? [];
    return `${at}: unknown field${names.length > 1 ? 's' : ''} ${names.map((n) => JSON.stringify(n)).join(', ')}`;
  }
  if (first.keyword === 'required') {
    const names = (params.requiredProperties as string[] | undefined) ?? [];
    return `${at}: missing required field${names.length > 1 ? 's' : ''} ${names.map((n) => JSON.stringify(n)).join(', ')}`;
  }
  if (first.keyword === 'type' && !field && where === 'body') return 'body: a JSON object is required';
  return `${at}: ${first.message ?? 'is invalid'}`;
}

/** `tooLarge`: what the route says of a body over its limit (its `tooLarge` config), if it says. */
function render(err: FastifyError | AppError | Error, tooLarge?: string): Rendered {
  // Services answer the races they know of; any other lost race on a unique name is still a conflict.
  if (isUniqueViolation(err)) err = new Conflict('changed by another request at the same time; try again');
  if (err instanceof AppError)
    return {
      status: err.status,
      code: err.code,
      message: err.message,
      details: err.details,
      fields: err.fields,
    };
  const fe = err as FastifyError;
  if (fe.validation) return { status: 400, code: 'invalid', message: describeValidation(fe) };
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return { status: 413, code: 'payload_too_large', message: tooLarge ?? 'request body is too large' };
  if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY')
    return { status: 400, code: 'invalid', message: 'request body is empty; a JSON body is required' };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return {
      status: fe.statusCode,
      code: fe.statusCode === 415 ? 'unsupported_media_type' : 'invalid',
      message: fe.message,
    };
  }
  return { status: 500, code: 'internal_error', message: 'internal error; the server log has the details' };
}

export type SendError = (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) => unknown;

/**
 * Renders an error as the response; also given to Fastify for the errors it raises before routing.
 * A store failure is answered 503 with what is wrong, and counted in the store's outage: the outage
 * is logged when it begins and ends (store/outage-log.ts), so each refused request is not.
 */
export function errorSender(store: { health: Pick<StoreHealth, 'refused'> }): SendError {
  return (err, req, reply) => {
    const problem = store.health.refused(err);
    if (problem) {
      req.log.debug({ code: 'unavailable', status: 503, storeProblem: problem.kind }, problem.message);
      return send(new StoreUnavailable(problem.message), req, reply);
    }
    const r = render(err, req.routeOptions.config.tooLarge);
    if (r.status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ code: r.code, status: r.status }, r.message);
    return send(err, req, reply, r);
  };
}

function send(
  err: FastifyError | Error,
  req: FastifyRequest,
  reply: FastifyReply,
  r = render(err, req.routeOptions.config.tooLarge),
) {
  if (err instanceof RateLimited) void reply.header('retry-after', String(err.retryAfterSeconds));
  if (r.status === 503) void reply.header('retry-after', '5');
  if (req.routeOptions.config.page) return sendPage(req, reply, r);
  if (isDssUrl(req.url)) {
    const body = {
      errorType: DSS_ERROR_TYPE[r.code] ?? DSS_ERROR_TYPE.internal_error,
      message: r.message,
      detailedMessage: r.message,
      code: r.code.toUpperCase(),
    };
    // The R client reads the error only when the type is exactly application/json.
    return reply.status(r.status).header('content-type', 'application/json').send(JSON.stringify(body));
  }
  // Jupyter Server's own shape, which Jupyter's front end and clients read.
  if (isJupyterUrl(req.url)) return reply.status(r.status).send({ message: r.message, reason: r.code });
  return reply.status(r.status).send({
    error: { code: r.code, message: r.message, ...r.fields, ...(r.details ? { details: r.details } : {}) },
  });
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A page's error, for a person: an anonymous visitor goes to sign in and comes back here; anything
 * else is a short page that says what is wrong, with the way back to Coffer.
 */
function sendPage(req: FastifyRequest, reply: FastifyReply, r: Rendered) {
  if (r.status === 401) return reply.redirect(`/login?next=${encodeURIComponent(req.url)}`, 303);
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Coffer: ${escapeHtml(
    r.message.slice(0, 80),
  )}</title></head><body><main><h1>${r.status === 404 ? 'Not found' : 'This page cannot be shown'}</h1><p>${escapeHtml(
    r.message,
  )}</p><p><a href="/projects">Back to your projects</a></p></main></body></html>`;
  return reply
    .status(r.status)
    .header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
    .type('text/html; charset=utf-8')
    .send(html);
}

function isJupyterUrl(url: string): boolean {
  const path = url.replace(/\/{2,}/g, '/');
  return path === '/jupyter' || path.startsWith('/jupyter/');
}

/**
 * Renders every error in one place: the DSS shape on DSS routes (what dataikuapi and the R package
 * parse), Coffer's own shape elsewhere. Unknown errors are logged and answered without driver text.
 */
export function registerErrorHandler(app: FastifyInstance, sendError: SendError): void {
  app.setErrorHandler(sendError);

  app.setNotFoundHandler((req, reply) => {
    const message = `no such route: ${req.method} ${req.url.split('?')[0]}`;
    if (isDssUrl(req.url)) {
      const body = {
        errorType: DSS_ERROR_TYPE.not_found,
        message,
        detailedMessage: message,
        code: 'NOT_FOUND',
      };
      return reply.status(404).header('content-type', 'application/json').send(JSON.stringify(body));
    }
    // As every other answer under /jupyter: Jupyter's front end shows `message` from this shape.
    if (isJupyterUrl(req.url)) return reply.status(404).send({ message, reason: 'not_found' });
    return reply.status(404).send({ error: { code: 'not_found', message } });
  });
}
