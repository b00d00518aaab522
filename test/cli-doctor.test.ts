/*
 * `coffer doctor` on this machine, as an operator runs it: the real command against real data
 * directories. It must find what a server with the same settings would find, name a fix for each
 * problem, exit 3 only for what Coffer needs, and never make a store or a key (a first start does).
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllChildren, makeTempDir, removeTempDirs, runCli } from './helpers/coffer-process.js';
import { testAccount } from './support/test-account.js';
import { databaseDigest, databaseFor, testStore } from './support/test-store.js';

afterAll(async () => {
  await killAllChildren();
  await removeTempDirs();
});

const CHECKS = ['settings', 'store', 'master key', 'sandbox', 'python', 'R', 'node', 'jupyter', 'IRkernel'];

/** The doctor's lines, by check: status, summary and fix. */
function findings(stdout: string): Map<string, { status: string; text: string }> {
  const out = new Map<string, { status: string; text: string }>();
  let last: { status: string; text: string } | undefined;
  for (const line of stdout.split('\n')) {
    const m =
      /^(ok|warning|PROBLEM) +(settings|store|master key|sandbox|python|R|node|jupyter|IRkernel) +(.*)$/.exec(
        line,
      );
    if (m) out.set(m[2]!, (last = { status: m[1]!, text: m[3]! }));
    else if (last && /^ +fix: /.test(line)) last.text += `\n${line.trim()}`;
  }
  return out;
}

const doctor = (env: Record<string, string>, as?: { uid: number; gid: number }) =>
  runCli(['doctor'], { env, timeoutMs: 120_000, ...(as ? { as } : {}) });

describe('coffer doctor before the first start', () => {
  it('finds everything needed on this machine, exits 0, and makes neither a store nor a key', async () => {
    const dataDir = path.join(makeTempDir('coffer-doctor-'), 'data');
    const r = await doctor({ COFFER_DATA_DIR: dataDir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const f = findings(r.stdout);
    expect([...f.keys()]).toEqual(CHECKS);
    for (const [check, { status, text }] of f) expect(status, `${check}: ${text}`).toBe('ok');
    expect(f.get('store')!.text).toMatch(
      testStore === 'postgres'
        ? /an empty database; the first start creates the tables/
        : /no store yet .*the first start creates it/,
    );
    expect(f.get('master key')!.text).toMatch(/none yet: the first start writes .*master\.key/);
    expect(r.stdout).toMatch(/everything Coffer needs is in order/);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('a setting that is wrong is a problem (exit 3) that names it', async () => {
    const r = await doctor({
      COFFER_DATA_DIR: path.join(makeTempDir('coffer-doctor-'), 'data'),
      COFFER_PORT: 'x',
    });
    expect(r.code, r.stdout).toBe(3);
    expect(findings(r.stdout).get('settings')).toMatchObject({ status: 'PROBLEM' });
    expect(r.stdout).toMatch(/COFFER_PORT="x": must be a whole number/);
    expect(r.stdout).toMatch(/fix: correct the settings named \(coffer serve --help/);
  });
});

describe('coffer doctor on a store in use', () => {
  let dataDir: string;
  let env: Record<string, string>;
  const keyFile = () => path.join(dataDir, 'master.key');
  // SQLite's own files beside the database aside (a read-only connection may leave an empty WAL), the
  // store and the key keep their bytes.
  const dbFile = () => path.join(dataDir, 'coffer.db');
  const snapshot = async () => ({
    names: readdirSync(dataDir)
      .filter((n) => !/-(shm|wal)$/.test(n))
      .sort(),
    db:
      testStore === 'postgres'
        ? await databaseDigest(await databaseFor(dataDir))
        : createHash('sha256').update(readFileSync(dbFile())).digest('hex'),
    wal: existsSync(`${dbFile()}-wal`) ? statSync(`${dbFile()}-wal`).size : 0,
    key: existsSync(keyFile()) ? readFileSync(keyFile(), 'utf8') : undefined,
  });

  beforeAll(async () => {
    const root = makeTempDir('coffer-doctor-');
    chmodSync(root, 0o755); // for the other account below
    dataDir = path.join(root, 'data');
    env = { COFFER_DATA_DIR: dataDir };
    for (const login of ['ann', 'ben']) {
      const r = await runCli(['users', 'create', login], { env, input: `pw-${login}-0123456789\n` });
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it('opens the store read-only, unwraps every data key with the master key, and changes nothing', async () => {
    const before = await snapshot();
    const r = await doctor(env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const f = findings(r.stdout);
    expect(f.get('store')).toEqual({
      status: 'ok',
      text: `${testStore === 'postgres' ? f.get('store')!.text.split(' opens')[0] : dbFile()} opens; its schema is current`,
    });
    if (testStore === 'postgres') expect(f.get('store')!.text).toMatch(/^PostgreSQL at /);
    expect(f.get('master key')!.text).toMatch(
      /\(mode 0600\) is version 1 and opens all 2 data keys of the store/,
    );
    expect(await snapshot()).toEqual(before);
  });

  it('a fake bubblewrap and a missing Python (the settings the server uses) are problems with a fix each', async () => {
    const r = await doctor({
      ...env,
      COFFER_SANDBOX_BWRAP: '/nonexistent/bwrap',
      COFFER_JOB_PYTHON: '/nonexistent/python3',
    });
    expect(r.code, r.stdout).toBe(3);
    const f = findings(r.stdout);
    expect(f.get('sandbox')!.status).toBe('PROBLEM');
    expect(f.get('sandbox')!.text).toMatch(
      /\/nonexistent\/bwrap was not found[\s\S]*fix: .*apt-get install bubblewrap/,
    );
    expect(f.get('python')!.status).toBe('PROBLEM');
    expect(f.get('python')!.text).toMatch(/fix: apt-get install -y python3, or set COFFER_JOB_PYTHON/);
    expect(r.stdout).toMatch(/coffer doctor: 2 problems to fix/);
  });

  it('a missing R is a warning with its fix: R is not needed for Coffer to work (exit 0)', async () => {
    const r = await doctor({ ...env, COFFER_JOB_RSCRIPT: '/nonexistent/Rscript' });
    expect(r.code, r.stdout).toBe(0);
    const f = findings(r.stdout);
    expect(f.get('R')!.status).toBe('warning');
    expect(f.get('R')!.text).toMatch(/fix: apt-get install -y r-base-core r-cran-jsonlite r-cran-httr/);
  });

  it('a key file others can read is a problem: chmod 600', async () => {
    chmodSync(keyFile(), 0o644);
    try {
      const r = await doctor(env);
      expect(r.code, r.stdout).toBe(3);
      expect(findings(r.stdout).get('master key')!.text).toMatch(
        new RegExp(`mode 0644[\\s\\S]*fix: chmod 600 ${keyFile()}`),
      );
    } finally {
      chmodSync(keyFile(), 0o600);
    }
  });

  it('a key file this account cannot read is a problem that says whose it must be', async () => {
    const account = testAccount();
    if ('missing' in account) throw new Error(account.missing);
    chmodSync(dataDir, 0o755); // the account may look in, but the key stays 0600 and root's
    try {
      const r = await doctor(env, account);
      expect(r.code, r.stdout + r.stderr).toBe(3);
      expect(findings(r.stdout).get('master key')!.text).toMatch(
        /cannot be read by this account \(uid \d+\): EACCES[\s\S]*fix: .*chown <account> .*master\.key && chmod 600/,
      );
    } finally {
      chmodSync(dataDir, 0o700);
    }
  });

  it('a missing key file for a store with data is a problem, and no new key is made', async () => {
    renameSync(keyFile(), `${keyFile()}.away`);
    try {
      const r = await doctor(env);
      expect(r.code, r.stdout).toBe(3);
      expect(findings(r.stdout).get('master key')!.text).toMatch(
        /is missing and the store holds data sealed under it[\s\S]*fix: restore .*master\.key from your backup/,
      );
      expect(existsSync(keyFile())).toBe(false);
    } finally {
      renameSync(`${keyFile()}.away`, keyFile());
    }
  });

  it('a key that is not the store’s is a problem', async () => {
    const other = path.join(makeTempDir('coffer-doctor-key-'), 'other.key');
    writeFileSync(other, (await runCli(['keys', 'generate'], { env })).stdout, { mode: 0o600 });
    const r = await doctor({ ...env, COFFER_MASTER_KEY_FILE: other });
    expect(r.code, r.stdout).toBe(3);
    expect(findings(r.stdout).get('master key')!.text).toMatch(
      /does not match the one this store was created with/,
    );
  });
});
