/*
 * The SQLite read path keeps the rows it read (ciphertext and metadata only) until the database changes.
 * These prove "until the database changes" through HTTP: a change made by this server, or committed by
 * another process on the same file, is seen by the very next request; and no decrypted value is kept.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type TestUser } from './support/test-server.js';

describe('the kept read rows never outlive a change', () => {
  let server: TestServer;
  let alice: TestUser;
  let other: Database.Database;
  const info = () => server.request('GET', '/dip/publicapi/auth/info?withSecrets=true', { key: alice.key });

  beforeAll(async () => {
    server = await TestServer.start({ COFFER_JOBS_ENABLED: 'false' });
    alice = await server.createUser('alice');
    await server.request('PUT', '/api/v1/me/secrets/one', {
      key: alice.key,
      body: { value: 'kept-value-1' },
    });
    // Another process's connection to the same file, as the CLI or a rotation would have.
    other = new Database(path.join(server.dataDir, 'coffer.db'));
  });
  afterAll(async () => {
    other.close();
    await server.close();
  });

  it('a change through the API shows in the next read', async () => {
    expect((await info()).json.secrets).toEqual([{ key: 'one', value: 'kept-value-1' }]);
    await server.request('PUT', '/api/v1/me/secrets/one', {
      key: alice.key,
      body: { value: 'kept-value-2' },
    });
    expect((await info()).json.secrets).toEqual([{ key: 'one', value: 'kept-value-2' }]);
  });

  it("another process's commit shows in the next read: a deleted secret, then a revoked key", async () => {
    expect((await info()).status).toBe(200); // the rows are kept now
    other.prepare('delete from secrets where name = ?').run('one');
    expect((await info()).json.secrets).toEqual([]);
    other.prepare('update api_keys set revoked_at = ?').run(Date.now());
    const r = await info();
    expect(r.status).toBe(401);
  });

  it("what the read path writes itself (audit records, last-used stamps) does not drop what it keeps; a value's change does", async () => {
    const counter = () => Number(other.prepare('select n from change_counter').pluck().get());
    const before = counter();
    const carol = await server.createUser('carol');
    await server.request('PUT', '/api/v1/me/secrets/c', { key: carol.key, body: { value: 'c-1' } });
    const afterWrites = counter();
    expect(afterWrites).toBeGreaterThan(before);
    for (let i = 0; i < 5; i++) {
      const r = await server.request('GET', '/dip/publicapi/auth/info?withSecrets=true', { key: carol.key });
      expect(r.json.secrets).toEqual([{ key: 'c', value: 'c-1' }]);
    }
    other.prepare('update secrets set last_used_at = ?').run(Date.now());
    expect(counter()).toBe(afterWrites);
    other.prepare("update secrets set key_version = key_version where name = 'c'").run();
    expect(counter()).toBe(afterWrites + 1);
  });

  it('keeps no decrypted value: the process holds the ciphertext only', async () => {
    const bob = await server.createUser('bob');
    const value = 'never-kept-in-memory-7d3f';
    await server.request('PUT', '/api/v1/me/secrets/x', { key: bob.key, body: { value } });
    const r = await server.request('GET', '/dip/publicapi/auth/info?withSecrets=true', { key: bob.key });
    expect(r.json.secrets).toEqual([{ key: 'x', value }]);
    const kept = server.store.keptRows?.() ?? [];
    expect(kept.length).toBeGreaterThan(0);
    expect(
      JSON.stringify(kept, (_k, v: unknown) =>
        v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v,
      ),
    ).not.toContain(value);
  });
});
