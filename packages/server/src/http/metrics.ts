import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AuditLog } from '../modules/audit/audit.service.js';
import type { Store } from '../store/store.js';

/*
 * Prometheus metrics. Labels are route patterns (`/api/v1/me/secrets/:name`), methods, statuses, auth
 * sources and job states — never a URL as sent, a login, a secret name or a value, so nothing a user
 * typed reaches a label. One registry per app, so several servers in one process stay apart.
 */

export interface Metrics {
  readonly registry: Registry;
  /** Counts requests, their latency and refused credentials, by route pattern. */
  register(app: FastifyInstance): void;
  /** The audit log, counting the secret values it records as read. */
  countReads(audit: AuditLog): AuditLog;
}

export function createMetrics(store: Store): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'coffer_' });
  const registers = [registry];
  const requests = new Counter({
    name: 'coffer_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const latency = new Histogram({
    name: 'coffer_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers,
  });
  const authFailures = new Counter({
    name: 'coffer_auth_failures_total',
    help: 'Requests refused for their credentials (401) or their rights (403)',
    labelNames: ['status'] as const,
    registers,
  });
  const secretReads = new Counter({
    name: 'coffer_secret_reads_total',
    help: "Secret values handed to their owner's code, by how the code authenticated",
    labelNames: ['auth_source'] as const,
    registers,
  });
  new Gauge({
    name: 'coffer_jobs',
    help: 'Jobs in the store, by state',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      const rows = await store.db
        .selectFrom('jobs')
        .select((eb) => ['state', eb.fn.countAll<number>().as('n')])
        .groupBy('state')
        .execute();
      this.reset();
      for (const r of rows) this.set({ state: r.state }, Number(r.n));
    },
  });
  new Gauge({
    name: 'coffer_db_pool_connections',
    help: 'Database connections of this replica (PostgreSQL): total, idle, and requests waiting for one',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const s = store.poolStats?.();
      if (!s) return;
      this.set({ state: 'total' }, s.total);
      this.set({ state: 'idle' }, s.idle);
      this.set({ state: 'waiting' }, s.waiting);
    },
  });

  return {
    registry,
    register(app) {
      app.addHook('onResponse', (req, reply, done) => {
        const route = req.routeOptions.url ?? 'unmatched';
        const status = reply.statusCode;
        requests.inc({ method: req.method, route, status });
        latency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
        if (status === 401 || status === 403) authFailures.inc({ status });
        done();
      });
    },
    countReads(audit) {
      return {
        ...audit,
        async recordRead(read) {
          await audit.recordRead(read);
          if (read.names.length > 0) secretReads.inc({ auth_source: read.caller.source }, read.names.length);
        },
      };
    },
  };
}
