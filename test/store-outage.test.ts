/*
 * When PostgreSQL goes away: a server that cannot reach it at start says where and exits; a running one
 * answers 503 fast (readiness too) instead of hanging or answering 500, stays alive, and serves again
 * as soon as the database is back. The outages are real: the server reaches PostgreSQL through a TCP
 * proxy that the test cuts (connections dropped, new ones refused), freezes (connections stay open but
 * nothing gets through: a partition or a frozen host), and restores.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllChildren, runCli } from './helpers/coffer-process.js';
import { TestServer, type TestUser } from './support/test-server.js';
import { createTestDatabase, dropTestDatabase } from './support/test-store.js';

/** A TCP proxy to PostgreSQL that can be cut, frozen, and restored. */
class CuttableProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** While frozen, bytes are held here (per destination) instead of forwarded. */
  private held: { to: net.Socket; data: Buffer }[] | undefined;
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
        s.on('error', () => undefined);
      }
      const forward = (to: net.Socket) => (data: Buffer) => {
        if (this.held) this.held.push({ to, data });
        else to.write(data);
      };
      client.on('data', forward(upstream));
      upstream.on('data', forward(client));
    });
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async cut(): Promise<void> {
    const closed = new Promise((r) => this.server!.close(r));
    for (const s of this.sockets) s.destroy();
    this.held = undefined;
    await closed;
  }

  /** Nothing gets through either way, but every connection stays open (and new ones are accepted). */
  freeze(): void {
    this.held = [];
  }

  thaw(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const { to, data } of held) if (!to.destroyed) to.write(data);
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
    server = await TestServer.start({
      COFFER_DATABASE_URL: via.toString(),
      COFFER_JOBS_ENABLED: 'false',
      // Short, so the frozen-network case is quick to test: a silent connection is dropped after 2 + 1 s.
      COFFER_DATABASE_STATEMENT_TIMEOUT_SECONDS: '2',
      COFFER_DATABASE_CONNECT_TIMEOUT_SECONDS: '1',
    });
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

  it('an outage is logged twice, not once per refused request: when it begins (the cause, no stack) and when it ends, with the exact count of requests refused meanwhile', async () => {
    const logged = readFileSync(server.logFile, 'utf8').length;
    await proxy.cut();
    // Twelve at once, of three kinds: reads, writes, and DSS reads of values.
    const refused = await Promise.all([
      ...Array.from({ length: 4 }, () => server.request('GET', '/api/v1/me/secrets', { key: alice.key })),
      ...Array.from({ length: 4 }, (_, i) =>
        server.request('PUT', `/api/v1/me/secrets/cut-${i}`, { key: alice.key, body: { value: 'w' } }),
      ),
      ...Array.from({ length: 4 }, () =>
        server.request('GET', '/dip/publicapi/auth/info?withSecrets=true', { key: alice.key }),
      ),
    ]);
    for (const r of refused) expect(r.status, r.text).toBe(503);

    await proxy.open();
    await expect
      .poll(async () => (await server.request('GET', '/readyz')).status, { timeout: 15_000, interval: 250 })
      .toBe(200);
    const lines = readFileSync(server.logFile, 'utf8')
      .slice(logged)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const began = lines.filter((l) => l.storeOutage === 'began');
    expect(began).toHaveLength(1);
    expect(began[0]).toMatchObject({ level: 50, problem: 'unreachable' });
    // The driver's own words: the first request met a pooled connection the cut closed, or a refusal.
    expect(began[0]!.cause).toMatch(/Connection terminated unexpectedly|ECONNREFUSED/);
    const ended = lines.filter((l) => l.storeOutage === 'ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ level: 40, problem: 'unreachable', refused: 12 });
    expect(ended[0]!.msg).toMatch(/: 12 requests were refused meanwhile$/);
    // No request's failure was logged with a stack.
    expect(lines.filter((l) => l.err !== undefined || JSON.stringify(l).includes('"stack"'))).toEqual([]);
  });

  it('a frozen network: 503 once the connection has been silent too long, not a hang; then serves again', async () => {
    const ok = await server.request('GET', '/dip/publicapi/auth/info?withSecrets=true', { key: alice.key });
    expect(ok.status).toBe(200);
    proxy.freeze();
    try {
      const t0 = Date.now();
      const frozen = await server.request('GET', '/dip/publicapi/auth/info?withSecrets=true', {
        key: alice.key,
      });
      expect(frozen.status, frozen.text).toBe(503);
      expect(Date.now() - t0).toBeLessThan(8000);
      expect(frozen.json.message).toBe('the store is unavailable; try again shortly');
      const ready = await server.request('GET', '/readyz');
      expect(ready.status).toBe(503);
      expect((await server.request('GET', '/healthz')).status).toBe(200);
    } finally {
      proxy.thaw();
    }
    await expect
      .poll(async () => (await server.request('GET', '/readyz')).status, { timeout: 15_000, interval: 250 })
      .toBe(200);
    const back = await server.request('GET', '/dip/publicapi/auth/info?withSecrets=true', { key: alice.key });
    expect(back.status, back.text).toBe(200);
    expect(back.json.secrets).toEqual([{ key: 's', value: 'v' }]);
  });

  it('connections cut while requests wait on them: those requests get 503 at once and the server lives on', async () => {
    proxy.freeze();
    // Writes and reads now wait on connections that hear nothing; then every connection is cut.
    const pending = [
      server.request('PUT', '/api/v1/me/secrets/during-cut', { key: alice.key, body: { value: 'w' } }),
      server.request('GET', '/dip/publicapi/auth/info?withSecrets=true', { key: alice.key }),
      server.request('GET', '/api/v1/me/secrets', { key: alice.key }),
    ];
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    await proxy.cut();
    const answers = await Promise.all(pending);
    expect(Date.now() - t0).toBeLessThan(2500);
    for (const a of answers) expect(a.status, a.text).toBe(503);
    expect((await server.request('GET', '/healthz')).status).toBe(200);

    await proxy.open();
    await expect
      .poll(async () => (await server.request('GET', '/readyz')).status, { timeout: 15_000, interval: 250 })
      .toBe(200);
    const list = await server.request('GET', '/api/v1/me/secrets', { key: alice.key });
    expect(list.status).toBe(200);
    // The write caught by the cut was not acknowledged, and was not half applied either.
    expect(list.json.secrets.map((x: { name: string }) => x.name)).toEqual(['s']);
  });

  it('connections reused many times gather no listeners (no MaxListenersExceededWarning)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 40; i++)
        expect((await server.request('GET', '/api/v1/me/secrets', { key: alice.key })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 50)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => /MaxListeners/.test(w))).toEqual([]);
  });

  it('a server PostgreSQL turns down at start (no such role) says so, without the password, and exits 78', async () => {
    const target = new URL(database);
    const r = await runCli(['serve'], {
      env: {
        COFFER_DATABASE_URL: `postgres://no_such_role:s3cr3t-pw@${target.host}${target.pathname}`,
        COFFER_PORT: '0',
      },
      timeoutMs: 20_000,
    });
    expect(r.code, r.stderr).toBe(78);
    expect(r.stderr).toMatch(
      new RegExp(
        `PostgreSQL refused the connection at ${target.hostname.replace(/\./g, '\\.')}:${target.port}${target.pathname}: .*no_such_role`,
      ),
    );
    expect(r.stderr).not.toContain('s3cr3t-pw');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
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
