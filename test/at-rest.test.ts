import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type TestUser } from './support/test-server.js';

/*
 * No secret value may ever reach the disk in a form that can be read without the master key: not in the
 * database, not in its WAL or shared-memory file, not in the log, not in any other file of the data dir.
 * Values are stored every way the API allows, replaced, deleted, rejected and read back, and then every
 * file is searched for each value's bytes (raw UTF-8, UTF-16, hex, base64 at every byte alignment),
 * once while the server still runs with an un-checkpointed WAL and once after it has closed.
 */

/** Deterministic, printable, incompressible-looking text: a 60 KiB value no file holds by chance. */
function pseudoRandomText(seed: number, bytes: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:;!?@#$%^&*()[]{}<>=+~';
  let x = seed >>> 0;
  let out = '';
  while (out.length < bytes) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out += alphabet[x % alphabet.length];
  }
  return out;
}

const run = Date.now().toString(36);

/** Every value this suite sends. `stored` ones must read back; all of them must be absent from disk. */
const V = {
  ascii: `AtRestCanary-ascii-${run}-correct-horse-battery-staple`,
  utf8: `AtRestCanary-ütf8-${run}-Kanarienvögel-日本語の秘密-🔑🗝️-ÆØÅ`,
  big: `AtRestCanary-big-${run}-` + pseudoRandomText(0x5eed, 60 * 1024),
  replacedOld: `AtRestCanary-replaced-old-${run}-tr0ub4dor&3`,
  replacedNew: `AtRestCanary-replaced-new-${run}-hunter2hunter2`,
  deleted: `AtRestCanary-deleted-${run}-gone-but-not-forgotten`,
  batchA: `AtRestCanary-batch-a-${run}-alpha-bravo-charlie`,
  batchB: `AtRestCanary-batch-b-${run}-ünïcødé-delta-echo`,
  batchOld: `AtRestCanary-batch-old-${run}-foxtrot-golf`,
  batchNew: `AtRestCanary-batch-new-${run}-hotel-india`,
  batchDeleted: `AtRestCanary-batch-deleted-${run}-juliet-kilo`,
  dss: `AtRestCanary-dss-${run}-lima-mike-€uro`,
  dssOld: `AtRestCanary-dss-old-${run}-november-oscar`,
  dssNew: `AtRestCanary-dss-new-${run}-papa-quebec`,
  dssRemoved: `AtRestCanary-dss-removed-${run}-romeo-sierra`,
  rejectedUnknownField: `AtRestCanary-rejected-unknown-field-${run}-tango`,
  rejectedInBadBatch: `AtRestCanary-rejected-in-bad-batch-${run}-uniform`,
  rejectedOversize: `AtRestCanary-rejected-oversize-${run}-` + pseudoRandomText(0xbad, 64 * 1024 + 10),
  rejectedStale: `AtRestCanary-rejected-stale-${run}-victor`,
  rejectedDssMarker: `AtRestCanary-rejected-dss-${run}-whiskey`,
} as const;

const N = {
  ascii: `at-rest/ascii ${run}`,
  utf8: `at-rest/utf8 ${run} ü`,
  big: `at-rest/big ${run}`,
  replaced: `at-rest/replaced ${run}`,
  deleted: `at-rest/deleted ${run}`,
  batchA: `at-rest/batch-a ${run}`,
  batchB: `at-rest/batch-b ${run}`,
  batchReplaced: `at-rest/batch-replaced ${run}`,
  batchDeleted: `at-rest/batch-deleted ${run}`,
  dss: `at-rest/dss ${run}`,
  dssReplaced: `at-rest/dss-replaced ${run}`,
  dssRemoved: `at-rest/dss-removed ${run}`,
  missing: `at-rest/no-such-secret ${run}`,
};

/** What auth/info must return at the end. */
const EXPECTED_STORED: Record<string, string> = {
  [N.ascii]: V.ascii,
  [N.utf8]: V.utf8,
  [N.big]: V.big,
  [N.replaced]: V.replacedNew,
  [N.batchA]: V.batchA,
  [N.batchB]: V.batchB,
  [N.batchReplaced]: V.batchNew,
  [N.dss]: V.dss,
  [N.dssReplaced]: V.dssNew,
};

/** The byte sequences that would give a value away, each named. */
function encodingsOf(value: string): { encoding: string; bytes: Buffer }[] {
  const raw = Buffer.from(value, 'utf8');
  const out = [
    { encoding: 'utf-8', bytes: raw },
    { encoding: 'utf-16le', bytes: Buffer.from(value, 'utf16le') },
    { encoding: 'hex', bytes: Buffer.from(raw.toString('hex')) },
    { encoding: 'HEX', bytes: Buffer.from(raw.toString('hex').toUpperCase()) },
  ];
  // Base64 of the value alone, and of the value at byte offsets 1 and 2 inside a longer base64 text:
  // only the characters that depend on the value's bytes alone are searched for.
  for (const shift of [0, 1, 2]) {
    const b64 = Buffer.concat([Buffer.alloc(shift), raw]).toString('base64');
    const interior = b64.slice(shift === 0 ? 0 : 4, Math.floor((shift + raw.length) / 3) * 4);
    out.push({ encoding: `base64@${shift}`, bytes: Buffer.from(interior) });
    out.push({
      encoding: `base64url@${shift}`,
      bytes: Buffer.from(interior.replace(/\+/g, '-').replace(/\//g, '_')),
    });
  }
  if (raw.length % 3 !== 0)
    out.push({ encoding: 'base64 (padded)', bytes: Buffer.from(raw.toString('base64')) });
  return out;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

interface Finding {
  file: string;
  what: string;
  encoding: string;
  offset: number;
}

function scan(files: string[], needles: Record<string, string>): Finding[] {
  const findings: Finding[] = [];
  for (const file of files) {
    const content = readFileSync(file);
    for (const [what, value] of Object.entries(needles)) {
      for (const { encoding, bytes } of encodingsOf(value)) {
        const offset = content.indexOf(bytes);
        if (offset >= 0) findings.push({ file: path.basename(file), what, encoding, offset });
      }
    }
  }
  return findings;
}

describe('secret values are never on disk in readable form', () => {
  let server: TestServer | undefined;
  let alice: TestUser;
  let root: string;
  let dataDir: string;
  let logDir: string;
  let readBack: { key: string; value: string }[];
  let closed = false;

  const req = (method: string, p: string, opts: Parameters<TestServer['request']>[2] = {}) =>
    server!.request(method, p, { key: alice.key, ...opts });
  const enc = encodeURIComponent;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'coffer-at-rest-'));
    // A data dir the server must create itself, so its mode is the server's doing.
    dataDir = path.join(root, 'data');
    server = await TestServer.start({ COFFER_DATA_DIR: dataDir });
    logDir = server.dataDir; // TestServer's own directory, where it writes server.log
    alice = await server.createUser('alice');

    // Single PUTs: ASCII, UTF-8, 60 KiB; one replaced, one deleted.
    for (const [name, value] of [
      [N.ascii, V.ascii],
      [N.utf8, V.utf8],
      [N.big, V.big],
      [N.replaced, V.replacedOld],
      [N.deleted, V.deleted],
    ] as const) {
      expect((await req('PUT', `/api/v1/me/secrets/${enc(name)}`, { body: { value } })).status).toBe(201);
    }
    expect(
      (await req('PUT', `/api/v1/me/secrets/${enc(N.replaced)}`, { body: { value: V.replacedNew } })).status,
    ).toBe(200);
    expect((await req('DELETE', `/api/v1/me/secrets/${enc(N.deleted)}`)).status).toBe(200);

    // Batches: adds, then a replacement and a deletion.
    let rev = (await req('GET', '/api/v1/me/secrets')).json.revision as number;
    let r = await req('PATCH', '/api/v1/me/secrets', {
      body: {
        revision: rev,
        changes: [
          { op: 'put', name: N.batchA, value: V.batchA },
          { op: 'put', name: N.batchB, value: V.batchB },
          { op: 'put', name: N.batchReplaced, value: V.batchOld },
          { op: 'put', name: N.batchDeleted, value: V.batchDeleted },
        ],
      },
    });
    expect(r.status).toBe(200);
    rev = r.json.revision;
    r = await req('PATCH', '/api/v1/me/secrets', {
      body: {
        revision: rev,
        changes: [
          { op: 'put', name: N.batchReplaced, value: V.batchNew },
          { op: 'delete', name: N.batchDeleted },
        ],
      },
    });
    expect(r.status).toBe(200);

    // DSS current-user saves, read-modify-write as dataikuapi does: markers keep the other values.
    const dssSave = async (
      edit: (s: { name: string; value: string }[]) => { name: string; value: string }[],
    ) => {
      const current = await req('GET', '/dip/publicapi/current-user');
      expect(current.status).toBe(200);
      const body = { ...current.json, secrets: edit(current.json.secrets) };
      return req('PUT', '/dip/publicapi/current-user', { body });
    };
    expect(
      (
        await dssSave((s) => [
          ...s,
          { name: N.dss, value: V.dss },
          { name: N.dssReplaced, value: V.dssOld },
          { name: N.dssRemoved, value: V.dssRemoved },
        ])
      ).status,
    ).toBe(200);
    expect(
      (
        await dssSave((s) =>
          s
            .filter((e) => e.name !== N.dssRemoved)
            .map((e) => (e.name === N.dssReplaced ? { name: e.name, value: V.dssNew } : e)),
        )
      ).status,
    ).toBe(200);

    // Error paths, each naming a secret, some carrying a value that must not be kept anywhere.
    r = await req('DELETE', `/api/v1/me/secrets/${enc(N.missing)}`);
    expect(r.status).toBe(404);
    expect(r.json.error.message).toContain(N.missing);
    r = await req('PUT', `/api/v1/me/secrets/${enc(N.ascii + ' ')}`, { body: { value: V.ascii } });
    expect(r.status).toBe(400);
    r = await req('PUT', `/api/v1/me/secrets/${enc(N.ascii)}`, {
      body: { value: V.rejectedUnknownField, note: 1 },
    });
    expect(r.status).toBe(400);
    r = await req('PUT', `/api/v1/me/secrets/${enc(N.big)}`, { body: { value: V.rejectedOversize } });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toContain(N.big);
    rev = (await req('GET', '/api/v1/me/secrets')).json.revision;
    r = await req('PATCH', '/api/v1/me/secrets', {
      body: {
        revision: rev,
        changes: [
          { op: 'put', name: N.batchA, value: V.rejectedInBadBatch },
          { op: 'put', name: `${N.batchB}\u0000`, value: V.rejectedInBadBatch },
        ],
      },
    });
    expect(r.status).toBe(400);
    r = await req('PATCH', '/api/v1/me/secrets', {
      body: { revision: rev - 1, changes: [{ op: 'put', name: N.batchA, value: V.rejectedStale }] },
    });
    expect(r.status).toBe(409);
    r = await req('PUT', '/dip/publicapi/current-user', {
      body: {
        secrets: [
          { name: N.dss, value: 'e:AES:not-the-current-marker' },
          { name: N.ascii, value: V.rejectedDssMarker },
        ],
      },
    });
    expect(r.status).toBe(400);
    expect(r.json.message).toContain(N.dss);

    // The owner's code reads the values, as a job would.
    const info = await req('GET', '/dip/publicapi/auth/info?withSecrets=true');
    expect(info.status).toBe(200);
    readBack = info.json.secrets;
  });

  afterAll(async () => {
    if (server && !closed) await server.close({ keepData: true });
    if (logDir) rmSync(logDir, { recursive: true, force: true });
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('(scanner self-check) finds a value planted in a file in each encoding it searches for, at any base64 alignment', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'coffer-at-rest-self-'));
    try {
      const raw = Buffer.from(V.utf8, 'utf8');
      const junk = Buffer.from('\u0000\u0001prefix-junk ');
      const planted: Record<string, Buffer> = {
        'utf-8': raw,
        'utf-16le': Buffer.from(V.utf8, 'utf16le'),
        hex: Buffer.from(raw.toString('hex')),
        'base64@0': Buffer.from(raw.toString('base64')),
        'base64@1': Buffer.from(Buffer.concat([Buffer.from('x'), raw]).toString('base64')),
        'base64@2': Buffer.from(Buffer.concat([Buffer.from('xy'), raw]).toString('base64url')),
      };
      for (const [label, bytes] of Object.entries(planted)) {
        const file = path.join(dir, label);
        writeFileSync(file, Buffer.concat([junk, bytes, junk]));
        expect({ label, found: scan([file], { v: V.utf8 }).length > 0 }).toEqual({ label, found: true });
      }
      const clean = path.join(dir, 'clean');
      writeFileSync(clean, Buffer.concat([junk, raw.subarray(0, raw.length - 1), junk]));
      expect(scan([clean], { v: V.utf8 })).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('returns every stored value, and only those, byte for byte through auth/info?withSecrets=true', () => {
    expect(Object.fromEntries(readBack.map((s) => [s.key, s.value]))).toEqual(EXPECTED_STORED);
  });

  it('while the server runs with an un-checkpointed WAL, no file in the data dir or log dir holds any value (UTF-8, UTF-16, hex or base64)', () => {
    // Copy with a separate process: opening and closing the database files from this process would drop
    // the POSIX locks SQLite holds on them.
    const snapshot = mkdtempSync(path.join(tmpdir(), 'coffer-at-rest-snap-'));
    try {
      execFileSync('cp', ['-a', `${dataDir}/.`, path.join(snapshot, 'data')]);
      execFileSync('cp', ['-a', server!.logFile, path.join(snapshot, 'server.log')]);
      const files = filesUnder(snapshot);
      const names = files.map((f) => path.relative(snapshot, f)).sort();
      expect(names).toEqual(
        expect.arrayContaining(['data/coffer.db', 'data/coffer.db-wal', 'server.log', 'data/master.key']),
      );
      // The WAL holds the recent commits, not yet copied into coffer.db: that is the case worth checking.
      expect(statSync(path.join(snapshot, 'data/coffer.db-wal')).size).toBeGreaterThan(0);

      // Controls: the scanner does see database contents (names are stored in clear by design) and the
      // log (it holds the error messages naming secrets).
      expect(scan(files, { name: N.batchA }).length).toBeGreaterThan(0);
      expect(scan([path.join(snapshot, 'server.log')], { name: N.missing }).length).toBeGreaterThan(0);

      expect(scan(files, V)).toEqual([]);
    } finally {
      rmSync(snapshot, { recursive: true, force: true });
    }
  });

  it('keeps the data dir at mode 0700 and coffer.db, its WAL and shared-memory files and master.key at 0600', () => {
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    for (const f of ['coffer.db', 'coffer.db-wal', 'coffer.db-shm', 'master.key']) {
      const p = path.join(dataDir, f);
      if (f.endsWith('-shm') && !existsSync(p)) continue;
      expect({ file: f, mode: (statSync(p).mode & 0o777).toString(8) }).toEqual({ file: f, mode: '600' });
    }
  });

  it('after the server closes, no file in the data dir or log dir holds any value (UTF-8, UTF-16, hex or base64)', async () => {
    closed = true;
    await server!.close({ keepData: true });
    const files = [...filesUnder(dataDir), ...filesUnder(logDir)];
    const names = files.map((f) => path.basename(f));
    expect(names).toEqual(expect.arrayContaining(['coffer.db', 'master.key', 'server.log']));
    expect(scan(files, { name: N.batchA }).length).toBeGreaterThan(0);
    expect(scan(files, V)).toEqual([]);
    expect(statSync(path.join(dataDir, 'coffer.db')).mode & 0o777).toBe(0o600);
  });
});
