import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MasterKeyError, generateMasterKey, loadMasterKey, parseMasterKey } from './master-key.js';

/** A fixed key whose standard base64 contains '+', so its base64url spelling differs. */
const KEY_HEX = 'fb20456a8fb4d9fe23486d92b7dc01264b7095badf04294e7398bde2072c5176';
const KEY_B64 = '+yBFao+02f4jSG2St9wBJktwlbrfBClOc5i94gcsUXY=';
const KEY_B64URL = '-yBFao-02f4jSG2St9wBJktwlbrfBClOc5i94gcsUXY';
const KEY = Buffer.from(KEY_HEX, 'hex');

async function expectMasterKeyError(p: Promise<unknown>, ...patterns: RegExp[]): Promise<MasterKeyError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MasterKeyError);
  for (const re of patterns) expect((err as Error).message).toMatch(re);
  return err as MasterKeyError;
}

function parseError(text: string, where = 'SOMEWHERE'): MasterKeyError {
  try {
    parseMasterKey(text, where);
  } catch (err) {
    expect(err).toBeInstanceOf(MasterKeyError);
    return err as MasterKeyError;
  }
  throw new Error(`parseMasterKey accepted ${JSON.stringify(text)}`);
}

describe('parseMasterKey', () => {
  it('the fixture key is what the tests claim: 32 bytes whose base64 and base64url spellings differ', () => {
    expect(KEY.toString('base64')).toBe(KEY_B64);
    expect(KEY.toString('base64url')).toBe(KEY_B64URL);
    expect(KEY.length).toBe(32);
  });

  it('accepts 32 bytes in standard padded base64 and returns those bytes', () => {
    expect(parseMasterKey(KEY_B64, 'test').equals(KEY)).toBe(true);
  });

  it.each([
    ['a trailing newline', `${KEY_B64}\n`],
    ['a trailing CRLF', `${KEY_B64}\r\n`],
    ['leading and trailing spaces', `   ${KEY_B64}   `],
    ['tabs and blank lines around it', `\n\t${KEY_B64}\t\n\n`],
  ])('accepts the key surrounded by %s', (_label, text) => {
    expect(parseMasterKey(text, 'test').equals(KEY)).toBe(true);
  });

  it.each([
    ['the same key in hex', KEY_HEX],
    ['the same key in base64url without padding', KEY_B64URL],
    ['the same key in base64url with padding', `${KEY_B64URL}=`],
    ['the base64 key without its padding', KEY_B64.slice(0, -1)],
    ['31 bytes of base64', Buffer.alloc(31, 7).toString('base64')],
    ['33 bytes of base64', Buffer.alloc(33, 7).toString('base64')],
    ['16 bytes of base64', Buffer.alloc(16, 7).toString('base64')],
    ['64 bytes of base64', Buffer.alloc(64, 7).toString('base64')],
    ['the key with a space inside', `${KEY_B64.slice(0, 20)} ${KEY_B64.slice(20)}`],
    ['the key wrapped over two lines', `${KEY_B64.slice(0, 20)}\n${KEY_B64.slice(20)}`],
    ['the key in quotes', `"${KEY_B64}"`],
    ['an assignment line', `COFFER_MASTER_KEY=${KEY_B64}`],
    ['the empty string', ''],
    ['only whitespace', ' \n'],
    ['a passphrase of 44 characters', 'this is my very secret passphrase, 44 chars!'],
  ])('rejects %s with a MasterKeyError', (_label, text) => {
    parseError(text);
  });

  it('the rejection names where the key came from and says how to make one ("coffer keys generate", openssl)', () => {
    const err = parseError(KEY_HEX, 'COFFER_MASTER_KEY');
    expect(err.name).toBe('MasterKeyError');
    expect(err.message).toMatch(/^COFFER_MASTER_KEY does not hold a valid master key/);
    expect(err.message).toContain('coffer keys generate');
    expect(err.message).toContain('openssl rand -base64 32');
    expect(err.message).toMatch(/32 random bytes/);
  });

  it('the rejection message does not repeat the rejected text (it may be a real key in the wrong encoding)', () => {
    expect(parseError(KEY_HEX).message).not.toContain(KEY_HEX);
    expect(parseError(KEY_B64URL).message).not.toContain(KEY_B64URL);
  });
});

describe('generateMasterKey', () => {
  it('returns 44 characters of standard base64 that parseMasterKey turns into 32 bytes', () => {
    const text = generateMasterKey();
    expect(text).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(parseMasterKey(text, 'generated').length).toBe(32);
  });

  it('returns a different key each time', () => {
    const keys = new Set(Array.from({ length: 100 }, () => generateMasterKey()));
    expect(keys.size).toBe(100);
  });
});

describe('loadMasterKey', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'coffer-master-key-test-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('from the environment (env)', () => {
    it('returns the key given in COFFER_MASTER_KEY, whether or not the store is new', async () => {
      expect((await loadMasterKey({ kind: 'env', value: KEY_B64 }, false)).equals(KEY)).toBe(true);
      expect((await loadMasterKey({ kind: 'env', value: `${KEY_B64}\n` }, true)).equals(KEY)).toBe(true);
    });

    it('refuses an invalid value with a MasterKeyError naming COFFER_MASTER_KEY and not echoing the value', async () => {
      const err = await expectMasterKeyError(
        loadMasterKey({ kind: 'env', value: KEY_HEX }, true),
        /COFFER_MASTER_KEY/,
        /coffer keys generate/,
      );
      expect(err.message).not.toContain(KEY_HEX);
    });
  });

  describe('from a file (file)', () => {
    it('returns the key read from a readable file with a trailing newline', async () => {
      const file = path.join(dir, 'key.txt');
      await writeFile(file, `${KEY_B64}\n`);
      expect((await loadMasterKey({ kind: 'file', path: file }, false)).equals(KEY)).toBe(true);
    });

    it('a missing file is a MasterKeyError naming the setting, the path and ENOENT, and no file is created', async () => {
      const file = path.join(dir, 'missing.key');
      await expectMasterKeyError(
        loadMasterKey({ kind: 'file', path: file }, true),
        /COFFER_MASTER_KEY_FILE/,
        new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
        /ENOENT/,
        /coffer keys generate/,
      );
      expect(existsSync(file)).toBe(false);
    });

    it('a path that is a directory is a MasterKeyError', async () => {
      await expectMasterKeyError(loadMasterKey({ kind: 'file', path: dir }, false), /COFFER_MASTER_KEY_FILE/);
    });

    it('a file holding an invalid key is a MasterKeyError naming the file, and the file is left as it was', async () => {
      const file = path.join(dir, 'bad.key');
      await writeFile(file, `${KEY_HEX}\n`);
      const err = await expectMasterKeyError(loadMasterKey({ kind: 'file', path: file }, true), /bad\.key/);
      expect(err.message).not.toContain(KEY_HEX);
      expect(await readFile(file, 'utf8')).toBe(`${KEY_HEX}\n`);
    });
  });

  describe('from a command (command)', () => {
    it('returns the key printed by the command (echo)', async () => {
      const key = await loadMasterKey({ kind: 'command', command: `echo '${KEY_B64}'` }, false);
      expect(key.equals(KEY)).toBe(true);
    });

    it('accepts the key printed with a CRLF line end', async () => {
      const key = await loadMasterKey({ kind: 'command', command: `printf '%s\\r\\n' '${KEY_B64}'` }, false);
      expect(key.equals(KEY)).toBe(true);
    });

    it('a command that exits non-zero is a MasterKeyError naming COFFER_MASTER_KEY_COMMAND, even if it printed a key', async () => {
      await expectMasterKeyError(
        loadMasterKey({ kind: 'command', command: `echo '${KEY_B64}'; exit 3` }, false),
        /COFFER_MASTER_KEY_COMMAND failed/,
      );
    });

    it('a command that does not exist is a MasterKeyError', async () => {
      await expectMasterKeyError(
        loadMasterKey({ kind: 'command', command: path.join(dir, 'no-such-helper') }, false),
        /COFFER_MASTER_KEY_COMMAND failed/,
      );
    });

    it('a command that prints something other than a key (or prints it only on stderr) is a MasterKeyError', async () => {
      await expectMasterKeyError(
        loadMasterKey({ kind: 'command', command: 'echo not-a-key' }, false),
        /output of COFFER_MASTER_KEY_COMMAND/,
        /coffer keys generate/,
      );
      await expectMasterKeyError(
        loadMasterKey({ kind: 'command', command: `echo '${KEY_B64}' >&2` }, false),
        /output of COFFER_MASTER_KEY_COMMAND/,
      );
    });
  });

  describe('from the data-directory key file (data-dir-file)', () => {
    it('creates the key file with mode 0600 (and its directory with 0700) when the store is new, and returns the key it wrote', async () => {
      const keyDir = path.join(dir, 'data', 'nested');
      const file = path.join(keyDir, 'master.key');
      const key = await loadMasterKey({ kind: 'data-dir-file', path: file }, true);
      expect(key.length).toBe(32);
      const text = await readFile(file, 'utf8');
      expect(text).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
      expect(Buffer.from(text.trim(), 'base64').equals(key)).toBe(true);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await stat(keyDir)).mode & 0o777).toBe(0o700);
    });

    it('a second load after the file was created returns the same key, even when the store is no longer new', async () => {
      const file = path.join(dir, 'master.key');
      const created = await loadMasterKey({ kind: 'data-dir-file', path: file }, true);
      const again = await loadMasterKey({ kind: 'data-dir-file', path: file }, false);
      const againNew = await loadMasterKey({ kind: 'data-dir-file', path: file }, true);
      expect(again.equals(created)).toBe(true);
      expect(againNew.equals(created)).toBe(true);
    });

    it.each([
      ['not new', false],
      ['new', true],
    ])('reuses an existing key file, unchanged, when the store is %s', async (_label, storeIsNew) => {
      const file = path.join(dir, 'master.key');
      await writeFile(file, `${KEY_B64}\n`, { mode: 0o600 });
      const before = await stat(file);
      const key = await loadMasterKey({ kind: 'data-dir-file', path: file }, storeIsNew);
      expect(key.equals(KEY)).toBe(true);
      expect(await readFile(file, 'utf8')).toBe(`${KEY_B64}\n`);
      expect((await stat(file)).mtimeMs).toBe(before.mtimeMs);
    });

    it('refuses with a MasterKeyError, creating no file and no directory, when the file is missing and the store is not new', async () => {
      const keyDir = path.join(dir, 'data');
      const file = path.join(keyDir, 'master.key');
      await expectMasterKeyError(
        loadMasterKey({ kind: 'data-dir-file', path: file }, false),
        /already holds data/,
        /master\.key is missing/,
        /Restore the key file/,
        /COFFER_MASTER_KEY/,
      );
      expect(existsSync(file)).toBe(false);
      expect(existsSync(keyDir)).toBe(false);
    });

    it('refuses with a MasterKeyError, creating no file, when the file is missing from an existing directory and the store is not new', async () => {
      const file = path.join(dir, 'master.key');
      await expectMasterKeyError(loadMasterKey({ kind: 'data-dir-file', path: file }, false), /is missing/);
      expect(existsSync(file)).toBe(false);
    });

    it.each([
      ['invalid', `${KEY_HEX}\n`],
      ['empty', ''],
    ])(
      'an %s existing key file is a MasterKeyError even for a new store, and is never replaced by a fresh key',
      async (_label, content) => {
        const file = path.join(dir, 'master.key');
        await writeFile(file, content);
        await expectMasterKeyError(loadMasterKey({ kind: 'data-dir-file', path: file }, true), /master\.key/);
        expect(await readFile(file, 'utf8')).toBe(content);
      },
    );

    it('concurrent first loads on a new store all return the one key that ends up in the file', async () => {
      const file = path.join(dir, 'master.key');
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () => loadMasterKey({ kind: 'data-dir-file', path: file }, true)),
      );
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
      expect(failures).toEqual([]);
      const onDisk = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
      for (const r of results) {
        if (r.status === 'fulfilled') expect(r.value.equals(onDisk)).toBe(true);
      }
    });

    it('an unreadable path other than a missing file (a directory) is an error, and nothing is created', async () => {
      const asDir = path.join(dir, 'master.key');
      await mkdir(asDir);
      await expect(loadMasterKey({ kind: 'data-dir-file', path: asDir }, true)).rejects.toThrow();
      expect((await stat(asDir)).isDirectory()).toBe(true);
    });
  });
});
