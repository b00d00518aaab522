/*
 * `coffer audit export --since <time>` as an operator runs it, a child process beside a running server
 * on the same store (SQLite file or PostgreSQL database): JSON lines, one record per line, oldest first,
 * saying who, how, which key or ticket and which names — and never a value.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllChildren, makeTempDir, removeTempDirs, runCli } from './helpers/coffer-process.js';
import { TestServer, type TestUser } from './support/test-server.js';

const HOUR = 3_600_000;
const AUTH_INFO = '/dip/publicapi/auth/info?withSecrets=true';
const VALUES = ['alice-db-value-7f3a', 'alice-api-value-9c1d', 'bob-token-value-4e2b'];

interface Line {
  id: number;
  at: string;
  action: string;
  target: { userId: string; login: string } | null;
  actor: { userId: string; login: string | null } | null;
  authSource: string | null;
  credentialId: string | null;
  jobId: string | null;
  ip: string | null;
  names: string[];
  detail: Record<string, unknown> | null;
}

const linesOf = (stdout: string): Line[] =>
  stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);

describe('coffer audit export', () => {
  let server: TestServer;
  let env: Record<string, string>;
  let alice: TestUser;
  let bob: TestUser;
  let bobTicket: { ticket: string; id: string };
  let earlier: number;

  const put = async (user: TestUser, name: string, value: string) => {
    const r = await server.request('PUT', `/api/v1/me/secrets/${name}`, { key: user.key, body: { value } });
    expect(r.status, r.text).toBe(201);
  };

  beforeAll(async () => {
    server = await TestServer.start();
    env = { COFFER_DATA_DIR: server.dataDir };
    // Three hours ago: the users, alice's first secret and a read of it.
    server.clock.offset = -3 * HOUR;
    earlier = server.clock.now();
    alice = await server.createUser('alice');
    bob = await server.createUser('bob');
    await put(alice, 'db-password', VALUES[0]!);
    expect((await server.request('GET', AUTH_INFO, { key: alice.key })).status).toBe(200);
    // Now: another secret and a read of both; bob reads with a ticket.
    server.clock.offset = 0;
    await put(alice, 'api-token', VALUES[1]!);
    expect((await server.request('GET', AUTH_INFO, { key: alice.key })).status).toBe(200);
    await put(bob, 'token', VALUES[2]!);
    bobTicket = await server.issueTicket('bob');
    expect((await server.request('GET', AUTH_INFO, { ticket: bobTicket.ticket })).status).toBe(200);
    await server.services.audit.drain();
  });
  afterAll(async () => {
    await server.close();
    await killAllChildren();
    await removeTempDirs();
  });

  it('writes one JSON line per record since --since, oldest first: who, how, which key or ticket, which names', async () => {
    const r = await runCli(['audit', 'export', '--since', '2h'], { env });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    const lines = linesOf(r.stdout);
    expect(lines.map((l) => [l.action, l.target?.login, l.names])).toEqual([
      ['secret.created', 'alice', ['api-token']],
      ['secret.read', 'alice', ['api-token', 'db-password']],
      ['secret.created', 'bob', ['token']],
      ['secret.read', 'bob', ['token']],
    ]);
    const aliceId = lines[0]!.target!.userId;
    expect(lines[1]).toEqual({
      id: expect.any(Number),
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      action: 'secret.read',
      target: { userId: aliceId, login: 'alice' },
      actor: { userId: aliceId, login: 'alice' },
      authSource: 'PERSONAL_API_KEY',
      credentialId: /^cofk_([0-9a-f]+)\./.exec(alice.key)![1],
      jobId: null,
      projectKey: null,
      notebook: null,
      ip: '127.0.0.1',
      names: ['api-token', 'db-password'],
      detail: null,
    });
    expect(lines[3]).toMatchObject({
      authSource: 'TICKET',
      credentialId: bobTicket.id,
      actor: { login: 'bob' },
    });
    const ids = lines.map((l) => l.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const times = lines.map((l) => l.at);
    expect(times).toEqual([...times].sort());
    expect(Date.parse(times[0]!)).toBeGreaterThan(Date.now() - 2 * HOUR);
    expect(r.stderr).toMatch(
      new RegExp(`coffer: exported 4 audit records since .*Z \\(the last has id ${ids[3]}\\)`),
    );
    for (const v of VALUES) expect(r.stdout + r.stderr).not.toContain(v);
  });

  it('--since an ISO-8601 time takes every record from that instant on, changes by the operator included', async () => {
    const since = new Date(earlier - 60_000).toISOString();
    const r = await runCli(['audit', 'export', '--since', since], { env });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    const lines = linesOf(r.stdout);
    const all = await server.store.db.selectFrom('audit_records').select('id').orderBy('id').execute();
    expect(lines.map((l) => l.id)).toEqual(all.map((a) => Number(a.id)));
    expect(lines.find((l) => l.action === 'user.created' && l.target?.login === 'bob')).toMatchObject({
      actor: null,
      authSource: 'CLI',
      credentialId: null,
      names: [],
      detail: { groups: [] },
    });
    expect(lines.filter((l) => l.action === 'secret.read').map((l) => l.names)).toEqual([
      ['db-password'],
      ['api-token', 'db-password'],
      ['token'],
    ]);
    // An instant after the last record: nothing, and still success.
    const none = await runCli(['audit', 'export', '--since', new Date(Date.now() + HOUR).toISOString()], {
      env,
    });
    expect(none).toMatchObject({ code: 0, stdout: '' });
    expect(none.stderr).toMatch(/exported 0 audit records/);
  });

  it('--output writes the lines to a new file readable by its owner only, and refuses a file that exists', async () => {
    const file = path.join(makeTempDir('coffer-audit-export-'), 'audit.jsonl');
    const r = await runCli(['audit', 'export', '--since', '2h', '--output', file], { env });
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: '' });
    expect(r.stderr).toMatch(new RegExp(`exported 4 audit records .* to ${file}`));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const toStdout = await runCli(['audit', 'export', '--since', '2h'], { env });
    expect(readFileSync(file, 'utf8')).toBe(toStdout.stdout);

    const again = await runCli(['audit', 'export', '--since', '2h', '--output', file], { env });
    expect(again).toMatchObject({ code: 64, stdout: '' });
    expect(again.stderr).toMatch(/already exists: choose a new file name/);
    expect(readFileSync(file, 'utf8')).toBe(toStdout.stdout);
  });

  it('refuses a missing or malformed --since with exit 64, saying which forms it takes, and writes nothing', async () => {
    const file = path.join(makeTempDir('coffer-audit-export-'), 'never.jsonl');
    const cases: [string[], RegExp][] = [
      [
        [],
        /audit export needs --since: an ISO-8601 date or date-time with its zone .* or an age \(30m, 12h, 7d, 2w\)/,
      ],
      [['--since', 'yesterday'], /--since "yesterday" must be an ISO-8601 date or date-time/],
      [['--since', '2025-01-31T08:00'], /--since "2025-01-31T08:00" a date-time must end with its time zone/],
      [['--since', '2025-02-30'], /--since "2025-02-30" is not a date and time that exists/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['audit', 'export', ...args, '--output', file], { env });
      expect(r, args.join(' ')).toMatchObject({ code: 64, stdout: '' });
      expect(r.stderr).toMatch(message);
      expect(existsSync(file)).toBe(false);
    }
  });
});
