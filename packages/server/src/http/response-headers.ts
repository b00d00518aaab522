import type { FastifyInstance } from 'fastify';
import { isDssUrl } from './dss-wire.js';

const ALWAYS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/**
 * Headers on every response, refusals included: the request id (X-Request-Id, which ties the answer to
 * the server's log lines), no sniffing, no framing, no referrer, and no caching of API answers (which
 * may carry secret values or keys). The web UI sets its own Content-Security-Policy for pages.
 * Synchronous (callback style), one hook: it runs on every response, including the hot auth/info path.
 */
export function registerResponseHeaders(app: FastifyInstance): void {
  app.addHook('onSend', (req, reply, payload, done) => {
    void reply.header('x-request-id', req.id);
    void reply.headers(ALWAYS);
    if (!reply.hasHeader('content-security-policy')) {
      void reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    }
    const url = req.url;
    const dss = url.startsWith('/api/') ? false : isDssUrl(url);
    if (dss || url.startsWith('/api/')) {
      if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
    }
    if (dss) {
      // The R package reads error bodies only when the type is exactly application/json.
      const type = reply.getHeader('content-type');
      if (typeof type === 'string' && type.startsWith('application/json'))
        void reply.header('content-type', 'application/json');
    }
    done(null, payload);
  });
}
