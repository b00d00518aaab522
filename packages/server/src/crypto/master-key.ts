import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MasterKeySource } from '../config.js';
import { KEY_BYTES } from './keyring.js';

const HOW_TO =
  'A master key is 32 random bytes written in base64 (44 characters); make one with `npx coffer keys generate` ' +
  'or `openssl rand -base64 32`.';

export class MasterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MasterKeyError';
  }
}

export function generateMasterKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/** Accepts exactly 32 bytes in standard base64; anything else is refused with a message saying how to make one. */
export function parseMasterKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]{43}=$/.test(trimmed)) {
    throw new MasterKeyError(`${where} does not hold a valid master key. ${HOW_TO}`);
  }
  return Buffer.from(trimmed, 'base64');
}

function runCommand(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { timeout: 30_000, maxBuffer: 64 * 1024 }, (err, stdout) =>
      err
        ? reject(new MasterKeyError(`COFFER_MASTER_KEY_COMMAND failed: ${err.message.split('\n')[0]}`))
        : resolve(stdout),
    );
  });
}

/**
 * Loads the master key from its configured source. The data-directory key file is created (mode 0600)
 * only when the store is new: for an existing store a missing key is an error, never a fresh key, since a
 * fresh key would make every stored value unreadable.
 */
export async function loadMasterKey(
  source: MasterKeySource,
  storeIsNew: boolean,
  /** Told where a new key file was written, so the operator can be told to back it up. */
  onCreated?: (path: string) => void,
): Promise<Buffer> {
  switch (source.kind) {
    case 'env':
      return parseMasterKey(source.value, 'COFFER_MASTER_KEY');
    case 'file':
      return parseMasterKey(
        await readKeyFile(source.path, 'COFFER_MASTER_KEY_FILE'),
        `COFFER_MASTER_KEY_FILE (${source.path})`,
      );
    case 'command':
      return parseMasterKey(await runCommand(source.command), 'the output of COFFER_MASTER_KEY_COMMAND');
    case 'data-dir-file': {
      let text: string | undefined;
      try {
        text = await readFile(source.path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      if (text !== undefined) return parseMasterKey(text, `the key file ${source.path}`);
      if (!storeIsNew) {
        throw new MasterKeyError(
          `The store already holds data but the master key file ${source.path} is missing. Restore the key file ` +
            '(or set COFFER_MASTER_KEY / COFFER_MASTER_KEY_FILE / COFFER_MASTER_KEY_COMMAND); a new key would make every stored secret unreadable.',
        );
      }
      await mkdir(path.dirname(source.path), { recursive: true, mode: 0o700 });
      const key = generateMasterKey();
      // Written whole to a private temporary file, then linked into place: no reader ever sees a partial
      // key, and link() fails if another process got there first, whose key then wins.
      const tmp = `${source.path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(tmp, key + '\n', { mode: 0o600, flag: 'wx' });
      try {
        await link(tmp, source.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        return parseMasterKey(await readFile(source.path, 'utf8'), `the key file ${source.path}`);
      } finally {
        await unlink(tmp);
      }
      onCreated?.(source.path);
      return parseMasterKey(key, 'the new key file');
    }
  }
}

async function readKeyFile(file: string, setting: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new MasterKeyError(
      `${setting}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}). ${HOW_TO}`,
    );
  }
}
