/*
 * On PostgreSQL, "no plaintext at rest" is proved at the wire: every byte Coffer sends to the database
 * passes through a recording proxy, and no value — stored, replaced, deleted, saved in a batch or through
 * DSS current-user, read back, or printed by a job — crosses it in any readable form. What never reaches
 * the database cannot be in its tables, WAL, logs or backups. Then what is at rest is read too: every
 * row of every table, text and bytea columns alike (bytea as its raw bytes), holds none of the values.
 * The server's own log is searched too.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRecipe } from './support/jobs.js';
import { TestServer, type TestUser } from './support/test-server.js';
import { createTestDatabase, dropTestDatabase, pgQuery } from './support/test-store.js';

const run = Date.now().toString(36);
const V = {
  put: `PgCanary-put-${run}-correct-horse`,
  utf8: `PgCanary-ütf8-${run}-日本語の秘密-🔑`,
  replaced: `PgCanary-replaced-${run}-tr0ub4dor`,
  deleted: `PgCanary-deleted-${run}-gone`,
  batch: `PgCanary-batch-${run}-alpha-bravo`,
  dss: `PgCanary-dss-${run}-lima-€uro`,
};

/** Every readable form of a value: UTF-8, UTF-16, hex, and base64 at the three byte alignments. */
function formsOf(value: string): Buffer[] {
  const utf8 = Buffer.from(value, 'utf8');
  const out = [utf8, Buffer.from(value, 'utf16le'), Buffer.from(utf8.toString('hex'))];
  for (let align = 0; align < 3; align++) {
    const b64 = Buffer.concat([Buffer.alloc(align), utf8]).toString('base64');
    out.push(Buffer.from(b64.slice(4, b64.length - 4)));
  }
  return out;
}

/** Every column of every row of every table of the database: text as UTF-8, bytea as its bytes. */
async function everyStoredByte(url: string): Promise<Buffer> {
  const columns = await pgQuery<{ table_name: string; column_name: string; data_type: string }>(
    url,
    "select table_name, column_name, data_type from information_schema.columns where table_schema = 'public' order by table_name, ordinal_position",
  );
  const parts: Buffer[] = [];
  for (const c of columns) {
    const rows = await pgQuery<{ v: unknown }>(url, `select "${c.column_name}" as v from "${c.table_name}"`);
    for (const { v } of rows)
      if (v !== null)
        parts.push(Buffer.isBuffer(v) ? v : Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));
  }
  return Buffer.concat(parts);
}

describe('no plaintext reaches PostgreSQL', () => {
  let database: string;
  let proxy: net.Server;
  const sent: Buffer[] = [];
  let server: TestServer;
  let alice: TestUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database);
    proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      client.on('data', (d: Buffer) => sent.push(Buffer.from(d)));
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    const via = new URL(database);
    via.port = String((proxy.address() as net.AddressInfo).port);
    server = await TestServer.start({
      COFFER_DATABASE_URL: via.toString(),
    });
    alice = await server.createUser('alice');
  });
  afterAll(async () => {
    await server.close();
    proxy.close();
    await dropTestDatabase(database);
  });

  it('values sent every way the API allows, and read back, never cross to the database readable', async () => {
    const req = (method: string, p: string, body?: unknown) =>
      server.request(method, p, { key: alice.key, body });
    expect((await req('PUT', '/api/v1/me/secrets/put', { value: V.put })).status).toBe(201);
    expect((await req('PUT', '/api/v1/me/secrets/utf8', { value: V.utf8 })).status).toBe(201);
    expect((await req('PUT', '/api/v1/me/secrets/replaced', { value: V.replaced })).status).toBe(201);
    expect((await req('PUT', '/api/v1/me/secrets/replaced', { value: `${V.replaced}-2` })).status).toBe(200);
    expect((await req('PUT', '/api/v1/me/secrets/deleted', { value: V.deleted })).status).toBe(201);
    expect((await req('DELETE', '/api/v1/me/secrets/deleted')).status).toBe(200);
    const { revision } = (await req('GET', '/api/v1/me/secrets')).json;
    const batch = await req('PATCH', '/api/v1/me/secrets', {
      revision,
      changes: [{ op: 'put', name: 'batch', value: V.batch }],
    });
    expect(batch.status, batch.text).toBe(200);
    const me = (await req('GET', '/dip/publicapi/current-user')).json;
    me.secrets = [...me.secrets, { name: 'dss', value: V.dss }];
    expect((await req('PUT', '/dip/publicapi/current-user', me)).status).toBe(200);
    const info = await req('GET', '/dip/publicapi/auth/info?withSecrets=true');
    expect(info.json.secrets).toContainEqual({ key: 'dss', value: V.dss });
    await server.request('POST', '/api/v1/projects', { key: alice.key, body: { key: 'LEAK', name: 'Leak' } });
    const job = await runRecipe(
      server,
      alice,
      'LEAK',
      'prints',
      'python',
      'import dataiku\nc = dataiku.api_client()\nfor n in ["put", "utf8", "batch", "dss"]: print(c.get_secret(n))\n',
    );
    expect(job.state, job.log).toBe('succeeded');
    await server.services.audit.drain();

    const wire = Buffer.concat(sent);
    expect(wire.length).toBeGreaterThan(10_000); // the proxy saw the traffic
    expect(wire.includes(Buffer.from('insert into "secrets"'))).toBe(true);
    const log = readFileSync(server.logFile);
    const stored = await everyStoredByte(database);
    expect(stored.length).toBeGreaterThan(1000);
    // The scan sees what is there: the secrets' names are stored in clear (they are not secret).
    expect(stored.includes(Buffer.from('replaced'))).toBe(true);
    for (const [name, value] of Object.entries(V))
      for (const form of formsOf(value)) {
        expect(
          wire.includes(form),
          `${name} crossed to PostgreSQL as ${form.toString('latin1').slice(0, 24)}…`,
        ).toBe(false);
        expect(log.includes(form), `${name} is in the server log`).toBe(false);
        expect(stored.includes(form), `${name} is stored in PostgreSQL`).toBe(false);
      }
  });
});
