/*
 * When PostgreSQL goes away: a server that cannot reach it at start says where and exits; a running one
 * answers 503 at once (readiness too) instead of hanging or answering 500, stays alive, and serves again
 * as soon as the database is back. The outage is real: the server reaches PostgreSQL through a TCP
 * proxy that the test cuts and restores.
 */
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllChildren, runCli } from './helpers/coffer-process.js';
import { TestServer, type TestUser } from './support/test-server.js';
import { createTestDatabase, dropTestDatabase } from './support/test-store.js';

/** A TCP proxy to PostgreSQL that can be cut (every connection dropped, new ones refused) and restored. */
class CuttableProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async cut(): Promise<void> {
    const closed = new Promise((r) => this.server!.close(r));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

// In the postgres project only (vitest.config.ts): it needs PostgreSQL, which CI always has.
describe('a PostgreSQL outage', () => {
  let database: string;
  let proxy: CuttableProxy;
  let server: TestServer;
  let alice: TestUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database);
    proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port) });
    await proxy.open();
    const via = new URL(database);
    via.port = String(proxy.port);
    server = await TestServer.start({ COFFER_DATABASE_URL: via.toString(), COFFER_JOBS_ENABLED: 'false' });
    alice = await server.createUser('alice');
    await server.request('PUT', '/api/v1/me/secrets/s', { key: alice.key, body: { value: 'v' } });
  });
  afterAll(async () => {
    await server.close();
    await proxy.cut().catch(() => undefined);
    await killAllChildren();
    await dropTestDatabase(database);
  });

  it('answers 503 at once while it lasts, names the problem, stays alive, and serves again when it ends', async () => {
    await proxy.cut();
    const t0 = Date.now();
    const dss = await server.request('GET', '/dip/publicapi/auth/info?withSecrets=true', { key: alice.key });
    expect(dss.status, dss.text).toBe(503);
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(dss.headers.get('retry-after')).toBe('5');
    expect(dss.json).toMatchObject({ errorType: 'com.dataiku.dip.exceptions.ServiceUnavailableException' });
    expect(dss.json.message).toBe('the store is unavailable; try again shortly');
    const own = await server.request('GET', '/api/v1/me/secrets', { key: alice.key });
    expect(own.status).toBe(503);
    expect(own.json.error).toEqual({
      code: 'unavailable',
      message: 'the store is unavailable; try again shortly',
    });
    const ready = await server.request('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json.problem).toBe('the store does not answer');
    expect((await server.request('GET', '/healthz')).status).toBe(200);

    await proxy.open();
    await expect
      .poll(async () => (await server.request('GET', '/readyz')).status, { timeout: 15_000, interval: 250 })
      .toBe(200);
    const back = await server.request('GET', '/dip/publicapi/auth/info?withSecrets=true', { key: alice.key });
    expect(back.status, back.text).toBe(200);
    expect(back.json.secrets).toEqual([{ key: 's', value: 'v' }]);
  });

  it('a server that cannot reach PostgreSQL at start says where, without the password, and exits 69', async () => {
    const r = await runCli(['serve'], {
      env: { COFFER_DATABASE_URL: 'postgres://coffer:s3cr3t-pw@127.0.0.1:1/nowhere', COFFER_PORT: '0' },
      timeoutMs: 20_000,
    });
    expect(r.code, r.stderr).toBe(69);
    expect(r.stderr).toMatch(/cannot reach PostgreSQL at 127\.0\.0\.1:1\/nowhere: .*ECONNREFUSED/);
    expect(r.stderr).not.toContain('s3cr3t-pw');
  });
});
