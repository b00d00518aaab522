import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** The web UI's pages. Each answers the app's index.html; the app shows the page for its address. */
export const UI_PAGES = [
  '/',
  '/login',
  '/profile',
  '/profile/api-keys',
  '/profile/activity',
  '/profile/credentials',
  '/projects',
  '/projects/:key',
  '/projects/:key/recipes/:name',
  '/jobs/:id',
  '/admin/users',
  '/admin/plugins',
];

/**
 * Pages may load only our own scripts, styles and images and talk only to us: no inline code, no eval,
 * no third-party origin, no framing, and DOM sinks take no raw strings (Trusted Types).
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
].join('; ');

/**
 * Serves the built web UI (packages/web/dist): hashed assets cached for a year, pages never cached.
 * Public routes: the files hold no data; everything a page shows comes from the API under the caller's
 * own credentials. Without a build, the pages say how to make one.
 */
export async function registerWebUi(app: FastifyInstance, dir: string | undefined): Promise<void> {
  const publicRoute = { config: { access: 'public' as const }, schema: { hide: true } };
  if (!dir || !existsSync(path.join(dir, 'index.html'))) {
    for (const page of UI_PAGES) {
      app.get(page, publicRoute, async (_req, reply) =>
        reply
          .status(503)
          .type('text/plain; charset=utf-8')
          .send('The Coffer web UI is not built. Run `npm run build` in the repository, then restart.'),
      );
    }
    return;
  }

  await app.register(fastifyStatic, { root: dir, serve: false });

  app.get<{ Params: { file: string } }>('/assets/:file', publicRoute, async (req, reply) =>
    reply.sendFile(req.params.file, path.join(dir, 'assets'), { immutable: true, maxAge: '365d' }),
  );
  app.get('/favicon.svg', publicRoute, async (_req, reply) =>
    reply.sendFile('favicon.svg', { maxAge: '1d' }),
  );
  for (const page of UI_PAGES) {
    app.get(page, publicRoute, async (_req, reply) => {
      void reply.header('content-security-policy', PAGE_CSP).header('cache-control', 'no-store');
      return reply.sendFile('index.html', { cacheControl: false });
    });
  }
}
