/*
 * What an operator watches: Prometheus metrics behind their own token (never a user's credential), with
 * route patterns and no user input in labels; and request ids that tie a response to its log lines.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type TestUser } from './support/test-server.js';

const TOKEN = 'metrics-token-3f9a1c7e5b2d8a4f6c0e';

describe('metrics', () => {
  let server: TestServer;
  let alice: TestUser;
  let admin: TestUser;
  const scrape = (authorization?: string) =>
    server.request('GET', '/metrics', { headers: authorization ? { authorization } : {} });

  beforeAll(async () => {
    server = await TestServer.start({ COFFER_METRICS_TOKEN: TOKEN });
    alice = await server.createUser('alice');
    admin = await server.createUser('root', { admin: true });
  });
  afterAll(() => server.close());

  it('counts requests by route pattern, secret reads by auth source, refused credentials and jobs', async () => {
    const name = 'metrics-secret-name-9d1e';
    const value = 'metrics-secret-value-7a2c';
    await server.request('PUT', `/api/v1/me/secrets/${name}`, { key: alice.key, body: { value } });
    const read = await server.request('GET', '/dip/publicapi/auth/info?withSecrets=true', { key: alice.key });
    expect(read.status).toBe(200);
    await server.request('GET', '/api/v1/me', { key: 'cofk_not-a-key' });
    await server.request('GET', '/api/v1/admin/users', { key: alice.key });

    const r = await scrape(`Bearer ${TOKEN}`);
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const m = r.text;
    expect(m).toMatch(
      /coffer_http_requests_total\{method="PUT",route="\/api\/v1\/me\/secrets\/:name",status="201"\} 1/,
    );
    expect(m).toMatch(
      /coffer_http_request_duration_seconds_bucket\{le="[^"]+",method="GET",route="\/dip\/publicapi\/auth\/info"\}/,
    );
    expect(m).toMatch(/coffer_secret_reads_total\{auth_source="PERSONAL_API_KEY"\} 1/);
    expect(m).toMatch(/coffer_auth_failures_total\{status="401"\} 1/);
    expect(m).toMatch(/coffer_auth_failures_total\{status="403"\} 1/);
    expect(m).toContain('# TYPE coffer_jobs gauge');
    expect(m).toMatch(/coffer_process_cpu_seconds_total/);
    // Nothing a user typed is a label: not the secret's name, its value, a login or a key.
    for (const s of [name, value, alice.login, alice.key, 'cofk_not-a-key']) expect(m).not.toContain(s);
  });

  it('refuses every credential but the metrics token: anonymous, a user, an admin, a ticket, a wrong token', async () => {
    const { ticket } = await server.issueTicket(alice.login);
    const attempts = [
      await scrape(),
      await scrape(`Bearer ${alice.key}`),
      await scrape(`Bearer ${admin.key}`),
      await server.request('GET', '/metrics', { key: admin.key }),
      await server.request('GET', '/metrics', { ticket }),
      await server.request('GET', '/metrics', { session: await server.login(admin.login, admin.password) }),
      await scrape(`Bearer ${TOKEN}x`),
      await scrape(`Basic ${Buffer.from(`${TOKEN}:`).toString('base64')}`),
    ];
    for (const r of attempts) {
      expect(r.status, r.text).toBe(401);
      expect(r.json.error.message).toMatch(/COFFER_METRICS_TOKEN/);
    }
  });

  it('does not exist when no metrics token is configured', async () => {
    const plain = await TestServer.start();
    try {
      // Like any unknown path: 404 for a signed-in caller (and 401, as everywhere, for anyone else).
      const root = await plain.createUser('root', { admin: true });
      expect((await plain.request('GET', '/metrics', { key: root.key })).status).toBe(404);
    } finally {
      await plain.close();
    }
  });

  it('a weak or malformed metrics token is a configuration error', async () => {
    await expect(TestServer.start({ COFFER_METRICS_TOKEN: 'short' })).rejects.toThrow(
      /COFFER_METRICS_TOKEN: must be 24 to 256 printable characters/,
    );
  });
});

describe('request ids', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start();
  });
  afterAll(() => server.close());

  it('every answer, refusals included, carries X-Request-Id, and the log lines of that request carry it too', async () => {
    const r = await server.request('GET', '/api/v1/me');
    expect(r.status).toBe(401);
    const id = r.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
    const lines = readFileSync(server.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes(id!));
    expect(lines.length).toBeGreaterThanOrEqual(2); // incoming request, request completed
    for (const l of lines) expect(JSON.parse(l).requestId).toBe(id);
  });

  it("keeps a load balancer's request id, and replaces one that could inject into logs", async () => {
    const kept = await server.request('GET', '/healthz', { headers: { 'x-request-id': 'lb-7f3a:0001' } });
    expect(kept.headers.get('x-request-id')).toBe('lb-7f3a:0001');
    const bad = await server.request('GET', '/healthz', { headers: { 'x-request-id': 'a b"}{' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
  });
});
