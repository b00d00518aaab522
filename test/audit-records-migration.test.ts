/*
 * Migration 0010 on a store whose audit trail was written before it (audit_events): those records stay
 * where they are, new ones follow them in one id order, and users' activity, `coffer audit export`
 * and retention see both — also in a store restored from a backup taken before any new record.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type Migration } from 'kysely';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import {
  createAuditPruner,
  createBackup,
  Keyring,
  loadConfig,
  loadMasterKey,
  openRuntime,
  openStore,
  restoreBackup,
  storeOptionsOf,
} from '@coffer/server';
import * as m0001 from '../packages/server/src/store/migrations/0001-initial.js';
import * as m0002 from '../packages/server/src/store/migrations/0002-delegated-credentials.js';
import * as m0003 from '../packages/server/src/store/migrations/0003-projects-and-jobs.js';
import * as m0004 from '../packages/server/src/store/migrations/0004-master-key-versions.js';
import * as m0005 from '../packages/server/src/store/migrations/0005-change-counter.js';
import * as m0006 from '../packages/server/src/store/migrations/0006-sandbox-accounts.js';
import * as m0007 from '../packages/server/src/store/migrations/0007-ticket-scope.js';
import * as m0008 from '../packages/server/src/store/migrations/0008-recipe-revisions.js';
import { killAllChildren, makeTempDir, removeTempDirs, runCli } from './helpers/coffer-process.js';
import { TestServer } from './support/test-server.js';
import { databaseFor, testStore } from './support/test-store.js';

const DAY = 86_400_000;

afterAll(async () => {
  await killAllChildren();
  await removeTempDirs();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function storeBefore0010(dataDir: string): Promise<Kysely<any>> {
  mkdirSync(dataDir, { recursive: true });
  const db =
    testStore === 'postgres'
      ? new Kysely({
          dialect: new PostgresDialect({
            pool: new pg.Pool({ connectionString: await databaseFor(dataDir) }),
          }),
        })
      : new Kysely({
          dialect: new SqliteDialect({ database: new Database(path.join(dataDir, 'coffer.db')) }),
        });
  type Up = { up(db: Kysely<unknown>, d: typeof testStore): Promise<void> };
  const through0008 = { m0001, m0002, m0003, m0004, m0005, m0006, m0007, m0008 } as Record<string, Up>;
  const names = [
    '0001-initial',
    '0002-delegated-credentials',
    '0003-projects-and-jobs',
    '0004-master-key-versions',
    '0005-change-counter',
    '0006-sandbox-accounts',
    '0007-ticket-scope',
    '0008-recipe-revisions',
  ];
  const migrations: Record<string, Migration> = {};
  Object.values(through0008).forEach((m, i) => (migrations[names[i]!] = { up: (d) => m.up(d, testStore) }));
  const r = await new Migrator({ db, provider: { getMigrations: async () => migrations } }).migrateToLatest();
  expect(r.error).toBeUndefined();
  return db;
}

/** Records as the audit log wrote them before 0010, about the user LEGACY (renamed to a real one later). */
const legacyRows = (now: number) => [
  {
    at: now - 60 * DAY,
    action: 'user.created',
    outcome: 'success',
    actor_user_id: null,
    actor_login: null,
    auth_source: 'CLI',
    credential_id: null,
    target_user_id: 'LEGACY',
    target_login: 'alice',
    secret_name: null,
    ip: null,
    detail: '{"groups":[]}',
  },
  {
    at: now - 60 * DAY,
    action: 'secret.created',
    outcome: 'success',
    actor_user_id: 'LEGACY',
    actor_login: 'alice',
    auth_source: 'SESSION',
    credential_id: 's-old',
    target_user_id: 'LEGACY',
    target_login: 'alice',
    secret_name: 'old-name',
    ip: '10.0.0.1',
    detail: '{}',
  },
  {
    at: now - 10 * DAY,
    action: 'secret.read',
    outcome: 'success',
    actor_user_id: 'LEGACY',
    actor_login: 'alice',
    auth_source: 'PERSONAL_API_KEY',
    credential_id: 'k-old',
    target_user_id: 'LEGACY',
    target_login: 'alice',
    secret_name: null,
    ip: '10.0.0.2',
    detail: '{"names":["a","b"]}',
  },
  {
    at: now - 5 * DAY,
    action: 'secret.read',
    outcome: 'success',
    actor_user_id: 'LEGACY',
    actor_login: 'alice',
    auth_source: 'TICKET',
    credential_id: 't-old',
    target_user_id: 'LEGACY',
    target_login: 'alice',
    secret_name: null,
    ip: '10.0.0.3',
    detail: '{"names":["a"],"viaJob":"job-old"}',
  },
];

it("earlier records stay in the user's activity and the export, follow the new ones in one order, and retention removes them", async () => {
  const dataDir = path.join(makeTempDir('coffer-migration-0010-'), 'data');
  const old = await storeBefore0010(dataDir);
  await old.insertInto('audit_events').values(legacyRows(Date.now())).execute();
  await old.destroy();

  // The default retention (90 days) keeps them all at start; a 30-day one removes the two oldest below.
  const server = await TestServer.start({ COFFER_DATA_DIR: dataDir });
  try {
    const alice = await server.createUser('alice');
    const aliceId = (await server.services.users.get({ kind: 'operator', name: 'cli' }, 'alice')).id;
    for (const column of ['target_user_id', 'actor_user_id'] as const)
      await server.store.db
        .updateTable('audit_events')
        .set(column, aliceId)
        .where(column, '=', 'LEGACY')
        .execute();
    await server.request('PUT', '/api/v1/me/secrets/a', { key: alice.key, body: { value: 'value-a-0001' } });
    expect(
      (await server.request('GET', '/dip/publicapi/auth/info?withSecrets=true', { key: alice.key })).status,
    ).toBe(200);
    await server.services.audit.drain();

    const newIds = (await server.store.db.selectFrom('audit_records').select('id').execute()).map((r) =>
      Number(r.id),
    );
    expect(Math.min(...newIds)).toBeGreaterThan(4);

    type Event = {
      id: number;
      action: string;
      secretNames: string[];
      jobId: string | null;
      ip: string | null;
    };
    const activity = async (query = 'limit=100') =>
      (await server.request('GET', `/api/v1/me/activity?${query}`, { key: alice.key })).json
        .events as Event[];
    const all = await activity();
    expect(all.map((e) => [e.action, e.secretNames, e.jobId, e.ip])).toEqual([
      ['secret.read', ['a'], null, '127.0.0.1'],
      ['secret.created', ['a'], null, '127.0.0.1'],
      ['secret.read', ['a'], 'job-old', '10.0.0.3'],
      ['secret.read', ['a', 'b'], null, '10.0.0.2'],
      ['secret.created', ['old-name'], null, '10.0.0.1'],
    ]);
    // Paged one at a time, across the two tables, the same events in the same order.
    const paged: Event[] = [];
    for (
      let page = await activity('limit=1');
      page.length > 0;
      page = await activity(`limit=1&before=${page[0]!.id}`)
    )
      paged.push(...page);
    expect(paged).toEqual(all);

    const exported = await runCli(['audit', 'export', '--since', '200d'], {
      env: { COFFER_DATA_DIR: dataDir },
    });
    expect(exported, exported.stderr).toMatchObject({ code: 0 });
    const lines = exported.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.slice(0, 4)).toEqual([
      expect.objectContaining({
        id: 1,
        action: 'user.created',
        actor: null,
        authSource: 'CLI',
        detail: { groups: [] },
      }),
      expect.objectContaining({ id: 2, action: 'secret.created', names: ['old-name'], detail: null }),
      expect.objectContaining({
        id: 3,
        action: 'secret.read',
        names: ['a', 'b'],
        credentialId: 'k-old',
        jobId: null,
      }),
      {
        id: 4,
        at: expect.any(String),
        action: 'secret.read',
        target: { userId: aliceId, login: 'alice' },
        actor: { userId: aliceId, login: 'alice' },
        authSource: 'TICKET',
        credentialId: 't-old',
        jobId: 'job-old',
        projectKey: null,
        notebook: null,
        ip: '10.0.0.3',
        names: ['a'],
        detail: null,
      },
    ]);
    expect(lines.slice(4).map((l) => l.id)).toEqual(newIds.sort((a, b) => a - b));

    const pruner = createAuditPruner({
      store: server.store,
      clock: server.clock,
      logger: { info: () => {}, warn: () => {} } as never,
      retentionDays: 30,
    });
    const summary = await pruner.pruneNow();
    expect(summary.records).toBe(2);
    expect((await activity()).map((e) => e.secretNames)).toEqual([['a'], ['a'], ['a'], ['a', 'b']]);
  } finally {
    await server.close();
  }
});

it('a store restored from a backup taken before any new record still writes new ones after the earlier ones', async () => {
  const masterKey = randomBytes(32).toString('base64');
  const source = path.join(makeTempDir('coffer-migration-0010-source-'), 'data');
  const old = await storeBefore0010(source);
  await old.insertInto('audit_events').values(legacyRows(Date.now())).execute();
  await old.destroy();
  const sourceConfig = loadConfig({
    COFFER_DATA_DIR: source,
    COFFER_MASTER_KEY: masterKey,
    ...(testStore === 'postgres' ? { COFFER_DATABASE_URL: await databaseFor(source) } : {}),
  });
  const file = path.join(makeTempDir('coffer-migration-0010-backup-'), 'backup.coffer');
  const { store: sourceStore } = await openRuntime(sourceConfig);
  try {
    expect(await sourceStore.db.selectFrom('audit_records').select('id').execute()).toEqual([]);
    await createBackup(sourceStore, file);
  } finally {
    await sourceStore.close();
  }

  const target = path.join(makeTempDir('coffer-migration-0010-target-'), 'data');
  const env = {
    COFFER_DATA_DIR: target,
    COFFER_MASTER_KEY: masterKey,
    ...(testStore === 'postgres' ? { COFFER_DATABASE_URL: await databaseFor(target) } : {}),
  };
  const targetStore = await openStore(storeOptionsOf(loadConfig(env)));
  try {
    await restoreBackup(
      targetStore,
      new Keyring(await loadMasterKey({ kind: 'env', value: masterKey }, false)),
      file,
    );
  } finally {
    await targetStore.close();
  }

  const server = await TestServer.start(env);
  try {
    await server.createUser('after-restore');
    const ids = (await server.store.db.selectFrom('audit_records').select('id').execute()).map((r) =>
      Number(r.id),
    );
    expect(ids.length).toBeGreaterThan(0);
    expect(Math.min(...ids)).toBeGreaterThan(4);
  } finally {
    await server.close();
  }
});
