/*
 * A user's write costs the same however many secrets they have: it reads only the names it touches.
 * Proven by what the store returns, not by time: every row the write's transaction reads is counted
 * (a plugin on the transaction the app is given), for a user with 3 secrets and one with 600.
 */
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '@coffer/server';
import { TestServer, type TestUser } from './support/test-server.js';

describe("a write's cost", () => {
  let server: TestServer;
  let few: TestUser;
  let many: TestUser;
  let rows = 0;
  const counter: KyselyPlugin = {
    transformQuery: (args: PluginTransformQueryArgs) => args.node,
    transformResult: async (args: PluginTransformResultArgs) => {
      rows += args.result.rows.length;
      return args.result;
    },
  };
  const counting = (s: Store): Store => ({
    ...s,
    transaction: (fn) => s.transaction((trx) => fn(trx.withPlugin(counter))),
  });

  beforeAll(async () => {
    server = await TestServer.start(
      { COFFER_JOBS_ENABLED: 'false', COFFER_MAX_SECRETS_PER_USER: '1000' },
      {},
      { store: counting },
    );
    few = await server.createUser('few');
    many = await server.createUser('many');
    const fill = async (u: TestUser, n: number) => {
      for (let i = 0; i < n; i++)
        await server.request('PUT', `/api/v1/me/secrets/s-${i}`, { key: u.key, body: { value: `v${i}` } });
    };
    await fill(few, 3);
    await fill(many, 600);
  });
  afterAll(() => server.close());

  /** Rows the transaction of one request read. */
  const rowsOf = async (u: TestUser, method: string, name: string, value?: string) => {
    rows = 0;
    const r = await server.request(method, `/api/v1/me/secrets/${name}`, {
      key: u.key,
      body: value === undefined ? undefined : { value },
    });
    expect(r.status).toBeLessThan(300);
    return rows;
  };

  it('replacing a secret reads the same rows for a user with 3 secrets as for one with 600', async () => {
    const a = await rowsOf(few, 'PUT', 's-0', 'new');
    const b = await rowsOf(many, 'PUT', 's-0', 'new');
    expect(a).toBeGreaterThan(0);
    expect(b).toBe(a);
  });

  it('adding and deleting a secret read no more rows for a user with 600 secrets', async () => {
    const addFew = await rowsOf(few, 'PUT', 'added', 'x');
    const addMany = await rowsOf(many, 'PUT', 'added', 'x');
    expect(addMany).toBe(addFew);
    const delFew = await rowsOf(few, 'DELETE', 'added');
    const delMany = await rowsOf(many, 'DELETE', 'added');
    expect(delMany).toBe(delFew);
  });
});
