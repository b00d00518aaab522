/*
 * Saves that race: on PostgreSQL several replicas (or connections) write at once, so "a save based on a
 * stale view is refused with 409" must hold under concurrency, not only in sequence. Many saves based on
 * one revision, sent at once: exactly one applies, every other gets 409, nothing is half applied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type TestUser } from './support/test-server.js';

describe('concurrent saves of one user', () => {
  let server: TestServer;
  let alice: TestUser;
  beforeAll(async () => {
    server = await TestServer.start({ COFFER_JOBS_ENABLED: 'false', COFFER_MAX_SECRETS_PER_USER: '5' });
    alice = await server.createUser('alice');
  });
  afterAll(() => server.close());

  it('of many batch saves based on one revision, exactly one applies and the others get 409', async () => {
    const { revision } = (await server.request('GET', '/api/v1/me/secrets', { key: alice.key })).json;
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        server.request('PATCH', '/api/v1/me/secrets', {
          key: alice.key,
          body: {
            revision,
            changes: [
              { op: 'put', name: `tab-${i}-a`, value: `a${i}` },
              { op: 'put', name: `tab-${i}-b`, value: `b${i}` },
            ],
          },
        }),
      ),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(11);
    const winner = answers.findIndex((a) => a.status === 200);
    const names = (await server.request('GET', '/api/v1/me/secrets', { key: alice.key })).json.secrets.map(
      (s: { name: string }) => s.name,
    );
    expect(names.sort()).toEqual([`tab-${winner}-a`, `tab-${winner}-b`]);
  });

  it('the per-user limit holds when single writes race', async () => {
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        server.request('PUT', `/api/v1/me/secrets/race-${i}`, { key: alice.key, body: { value: `v${i}` } }),
      ),
    );
    // Two secrets exist already; the limit is 5.
    expect(answers.filter((a) => a.status === 201)).toHaveLength(3);
    expect(answers.filter((a) => a.status === 400)).toHaveLength(7);
    const list = (await server.request('GET', '/api/v1/me/secrets', { key: alice.key })).json.secrets;
    expect(list).toHaveLength(5);
  });
});
