import type { FastifyInstance } from 'fastify';
import { isDssUrl } from './dss-wire.js';

/**
 * Headers on every response: no sniffing, no framing, no referrer, and no caching of API answers (which
 * may carry secret values or keys). The web UI sets its own Content-Security-Policy for pages.
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply, payload) => {
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('x-frame-options', 'DENY');
    void reply.header('referrer-policy', 'no-referrer');
    if (!reply.hasHeader('content-security-policy')) {
      void reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    }
    const dss = isDssUrl(req.url);
    if (dss || req.url.startsWith('/api/')) {
      if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
    }
    if (dss) {
      // The R package reads error bodies only when the type is exactly application/json.
      const type = reply.getHeader('content-type');
      if (typeof type === 'string' && type.startsWith('application/json'))
        void reply.header('content-type', 'application/json');
    }
    return payload;
  });
}
