import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  killAllChildren,
  makeTempDir,
  removeTempDirs,
  request,
  runCli,
  startServe,
} from './helpers/coffer-process.js';
import { TestServer, type TestUser } from './support/test-server.js';
import { databaseFor, pgQuery, testStore } from './support/test-store.js';

/*
 * Every read of secret values is recorded before the values go out; on SQLite the records are committed
 * by a writer thread with a connection of its own, beside the request thread's. These prove what that
 * must not change, on both stores: a read whose record cannot be committed gets no value; one read's
 * failure fails no other read; writes made while reads are being recorded all succeed; and a kill -9
 * under read load loses no record of a read that was answered.
 */

const AUTH_INFO = '/dip/publicapi/auth/info?withSecrets=true';

/** Runs SQL on the store of a data directory, as another process would. */
async function onStore(dataDir: string, sqlite: string, postgres: string): Promise<void> {
  if (testStore === 'postgres') {
    await pgQuery(await databaseFor(dataDir), postgres);
    return;
  }
  const db = new Database(path.join(dataDir, 'coffer.db'));
  try {
    db.exec(sqlite);
  } finally {
    db.close();
  }
}

/** Makes the store refuse the audit record of any read of `login`'s secrets. */
const refuseReadsOf = (dataDir: string, login: string) =>
  onStore(
    dataDir,
    `create trigger refuse_reads before insert on audit_records
       when new.action = 'secret.read'
        and new.subject_id = (select id from audit_subjects where login = '${login}')
       begin select raise(abort, 'audit trail refuses this record'); end`,
    `create function refuse_reads() returns trigger language plpgsql as $$
       begin
         if new.subject_id = (select id from audit_subjects where login = '${login}') then
           raise exception 'audit trail refuses this record';
         end if;
         return new;
       end $$;
     create trigger refuse_reads before insert on audit_records for each row
       when (new.action = 'secret.read') execute function refuse_reads()`,
  );

const acceptReadsAgain = (dataDir: string) =>
  onStore(
    dataDir,
    'drop trigger refuse_reads',
    'drop trigger refuse_reads on audit_records; drop function refuse_reads()',
  );

describe('audited reads', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  const aliceValue = 'alice-value-never-unaudited-5c1e';
  const bobValue = 'bob-value-8d2a';

  beforeAll(async () => {
    server = await TestServer.start({ COFFER_JOBS_ENABLED: 'false' });
    alice = await server.createUser('alice');
    bob = await server.createUser('bob');
    for (const [u, value] of [
      [alice, aliceValue],
      [bob, bobValue],
    ] as const) {
      const r = await server.request('PUT', '/api/v1/me/secrets/db-password', {
        key: u.key,
        body: { value },
      });
      expect(r.status).toBe(201);
    }
  });
  afterAll(async () => {
    await server.close();
  });

  it('a read whose audit record cannot be committed gets an error and no value; reads work again once it can', async () => {
    await refuseReadsOf(server.dataDir, 'alice');
    try {
      const refused = await server.request('GET', AUTH_INFO, { key: alice.key });
      expect(refused.status).toBe(500);
      expect(refused.text).not.toContain(aliceValue);
      expect(refused.json.message).toMatch(/internal/i);
    } finally {
      await acceptReadsAgain(server.dataDir);
    }
    const again = await server.request('GET', AUTH_INFO, { key: alice.key });
    expect(again.status).toBe(200);
    expect(again.json.secrets).toEqual([{ key: 'db-password', value: aliceValue }]);
  });

  it('one read whose record is refused fails no other read recorded with it', async () => {
    await refuseReadsOf(server.dataDir, 'alice');
    try {
      // Sent together, so they are recorded in the same batches.
      const replies = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          server.request('GET', AUTH_INFO, { key: i % 2 === 0 ? alice.key : bob.key }),
        ),
      );
      const statuses = (u: TestUser) =>
        replies.filter((_, i) => (i % 2 === 0 ? alice : bob) === u).map((r) => r.status);
      expect(new Set(statuses(alice))).toEqual(new Set([500]));
      expect(new Set(statuses(bob))).toEqual(new Set([200]));
      for (const r of replies) expect(r.text).not.toContain(aliceValue);
    } finally {
      await acceptReadsAgain(server.dataDir);
    }
  });

  it('writes made while reads are being recorded all succeed, and every read sees a whole state', async () => {
    let reading = true;
    const readers = Array.from({ length: 6 }, async () => {
      const statuses: number[] = [];
      while (reading) statuses.push((await server.request('GET', AUTH_INFO, { key: bob.key })).status);
      return statuses;
    });
    const writes: number[] = [];
    for (let i = 0; i < 40; i++) {
      const put = await server.request('PUT', `/api/v1/me/secrets/w${i}`, {
        key: bob.key,
        body: { value: `v${i}` },
      });
      writes.push(put.status);
      const list = await server.request('GET', '/api/v1/me/secrets', { key: bob.key });
      const del = await server.request('PATCH', '/api/v1/me/secrets', {
        key: bob.key,
        body: { revision: list.json.revision, changes: [{ op: 'delete', name: `w${i}` }] },
      });
      writes.push(del.status);
    }
    reading = false;
    const reads = (await Promise.all(readers)).flat();
    expect(new Set(writes)).toEqual(new Set([200, 201]));
    expect(reads.length).toBeGreaterThan(0);
    expect(new Set(reads)).toEqual(new Set([200]));
    const after = await server.request('GET', AUTH_INFO, { key: bob.key });
    expect(after.json.secrets).toEqual([{ key: 'db-password', value: bobValue }]);
  });
});

describe('kill -9 under read load', () => {
  afterEach(killAllChildren);
  afterAll(async () => {
    await killAllChildren();
    await removeTempDirs();
  });

  /** The secret.read events of a data directory's store (its server stopped or not). */
  async function readEvents(dataDir: string): Promise<number> {
    const q = "select count(*) as n from audit_records where action = 'secret.read'";
    if (testStore === 'postgres') return Number((await pgQuery(await databaseFor(dataDir), q))[0]!.n);
    const db = new Database(path.join(dataDir, 'coffer.db'), { readonly: true, fileMustExist: true });
    try {
      return Number((db.prepare(q).get() as { n: number }).n);
    } finally {
      db.close();
    }
  }

  it('every read that was answered is in the audit trail after a restart; none is recorded twice', async () => {
    const dataDir = makeTempDir('coffer-read-crash-');
    const env = { COFFER_DATA_DIR: dataDir, COFFER_JOBS_ENABLED: 'false' };
    expect(
      await runCli(['users', 'create', 'reader'], { env, input: 'pw-reader-0123456789\n' }),
    ).toMatchObject({
      code: 0,
    });
    const key = (await runCli(['api-keys', 'create', 'reader'], { env })).stdout.trim();
    let server = await startServe(env);
    for (let i = 0; i < 5; i++) {
      const r = await request(server.url, 'PUT', `/api/v1/me/secrets/s${i}`, {
        key,
        body: { value: `v${i}` },
      });
      expect(r.status).toBe(201);
    }

    // Readers in parallel chains; kill -9 once enough reads were answered, while others are in flight.
    let answered = 0;
    let sent = 0;
    let stop = false;
    const chains = Array.from({ length: 8 }, async () => {
      while (!stop) {
        sent++;
        // A 200 that arrives even after the kill was answered, so its record must be there too.
        const r = await request(server.url, 'GET', AUTH_INFO, { key }).catch(() => undefined);
        if (r?.status === 200) answered++;
      }
    });
    while (answered < 400) await new Promise((r) => setTimeout(r, 5));
    await server.kill9();
    stop = true;
    await Promise.all(chains);

    const recorded = await readEvents(dataDir);
    expect(recorded).toBeGreaterThanOrEqual(answered);
    expect(recorded).toBeLessThanOrEqual(sent);

    // The restarted server reads (and records) as before.
    server = await startServe(env);
    const r = await request(server.url, 'GET', AUTH_INFO, { key });
    expect(r.status).toBe(200);
    expect(r.json.secrets).toHaveLength(5);
    await server.stop();
    expect(await readEvents(dataDir)).toBe(recorded + 1);
  });
});
