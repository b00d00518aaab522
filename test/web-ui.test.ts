/*
 * The web UI's files as the server serves them, over HTTP: pages are public and hold no data, carry a
 * strict Content-Security-Policy and are never cached; assets are immutable; nothing outside the build
 * is reachable. The browser suites in e2e/ click through the pages themselves.
 */
import { PAGE_CSP, UI_PAGES } from '@coffer/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type TestUser } from './support/test-server.js';

describe('web UI files', () => {
  let server: TestServer;
  let alice: TestUser;
  let session: { cookie: string; csrf: string };
  let indexHtml: string;

  beforeAll(async () => {
    server = await TestServer.start();
    alice = await server.createUser('alice');
    session = await server.login(alice.login, alice.password);
    await server.request('PUT', '/api/v1/me/secrets/token', {
      key: alice.key,
      body: { value: 'page-must-not-hold-this-value' },
    });
    indexHtml = (await server.request('GET', '/')).text;
  });
  afterAll(() => server.close());

  it.each(UI_PAGES)(
    'GET %s answers the app page to anyone, with the page CSP and no caching',
    async (page) => {
      const r = await server.request('GET', page);
      expect(r.status, r.text).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/html/);
      expect(r.headers.get('content-security-policy')).toBe(PAGE_CSP);
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(r.headers.get('x-frame-options')).toBe('DENY');
      expect(r.text).toBe(indexHtml);
    },
  );

  it('the page CSP allows only our own scripts, styles and connections, and no framing', () => {
    expect(PAGE_CSP).toContain("default-src 'none'");
    expect(PAGE_CSP).toContain("script-src 'self'");
    expect(PAGE_CSP).toContain("frame-ancestors 'none'");
    expect(PAGE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|data:|\*/);
  });

  it('the page is the same for a signed-in user: it holds no data of theirs', async () => {
    const r = await server.request('GET', '/profile', { session });
    expect(r.text).toBe(indexHtml);
    expect(r.text).not.toContain(alice.login);
    expect(r.text).not.toContain('page-must-not-hold-this-value');
  });

  it('the page has no inline script or style, only files of our own origin', () => {
    expect(indexHtml).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(indexHtml).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    const refs = [...indexHtml.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(1);
    for (const ref of refs) expect(ref, ref).toMatch(/^\/[a-z]/);
  });

  it('serves the scripts and styles the page names, cached as immutable', async () => {
    const refs = [...indexHtml.matchAll(/"(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(refs.some((r) => r.endsWith('.js'))).toBe(true);
    expect(refs.some((r) => r.endsWith('.css'))).toBe(true);
    for (const ref of refs) {
      const r = await server.request('GET', ref);
      expect(r.status, ref).toBe(200);
      expect(r.headers.get('content-type'), ref).toMatch(ref.endsWith('.js') ? /javascript/ : /text\/css/);
      expect(r.headers.get('cache-control'), ref).toMatch(/immutable/);
    }
    expect((await server.request('GET', '/favicon.svg')).headers.get('content-type')).toMatch(/svg/);
  });

  it.each([
    '/assets/nope.js',
    '/assets/..%2F..%2Fpackage.json',
    '/assets/%2e%2e%2findex.html',
    '/assets/..%5C..%5Cpackage.json',
  ])('GET %s finds nothing outside the build', async (url) => {
    const r = await server.request('GET', url);
    expect([403, 404]).toContain(r.status);
    expect(r.text).not.toContain('"name"');
  });

  it('an address that is not a page is 404, not the app', async () => {
    const r = await server.request('GET', '/profile/unknown', { session });
    expect(r.status).toBe(404);
    expect(r.text).not.toBe(indexHtml);
  });
});

describe('web UI not built', () => {
  it('pages say how to build it, with 503', async () => {
    const server = await TestServer.start({}, { webDir: undefined });
    try {
      const r = await server.request('GET', '/profile');
      expect(r.status).toBe(503);
      expect(r.text).toMatch(/npm run build/);
      expect((await server.request('GET', '/api/v1/me')).status).toBe(401);
    } finally {
      await server.close();
    }
  });
});
