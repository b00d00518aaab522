import { createReadStream, type WriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { sha256Digest } from '../../crypto/index.js';

/*
 * The backup file: gzip'd JSON lines. A header (format, schema migrations, row counts), one line per row,
 * and a trailer with the SHA-256 of every line before it, so a truncated or altered file is refused
 * before anything it holds is committed. Binary columns travel as {"$b64": …}. Values are the stored
 * ciphertext: the file is useless without the master key.
 */

export const FORMAT = 'coffer-backup/1';

export interface BackupHeader {
  format: typeof FORMAT;
  createdAt: number;
  store: 'sqlite' | 'postgres';
  migrations: string[];
  rows: Record<string, number>;
}

export type Row = Record<string, unknown>;

export class BackupFileError extends Error {
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'BackupFileError';
  }
}

function encodeRow(row: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row))
    out[k] = v instanceof Uint8Array ? { $b64: Buffer.from(v).toString('base64') } : v;
  return out;
}

function decodeRow(row: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) {
    const b64 = v && typeof v === 'object' ? (v as { $b64?: unknown }).$b64 : undefined;
    out[k] = typeof b64 === 'string' ? Buffer.from(b64, 'base64') : v;
  }
  return out;
}

/**
 * Writes to `<file>.partial` (mode 0600, never readable by others) and renames it into place only once
 * it is complete and flushed to disk: no reader ever sees half a backup under the final name.
 */
export class BackupWriter {
  readonly #hash = sha256Digest();
  readonly #gzip = createGzip();
  readonly #partial: string;
  readonly #done: Promise<void>;
  #out: WriteStream;
  #rows = 0;

  private constructor(
    readonly file: string,
    out: WriteStream,
  ) {
    this.#partial = `${file}.partial`;
    this.#out = out;
    this.#done = pipeline(this.#gzip, out);
  }

  static async create(file: string, header: BackupHeader): Promise<BackupWriter> {
    const handle = await open(`${file}.partial`, 'w', 0o600);
    const w = new BackupWriter(file, handle.createWriteStream());
    await w.#line(header);
    return w;
  }

  async row(table: string, row: Row): Promise<void> {
    this.#rows++;
    await this.#line({ t: table, r: encodeRow(row) });
  }

  async #line(value: unknown): Promise<void> {
    const line = JSON.stringify(value) + '\n';
    this.#hash.update(line);
    if (!this.#gzip.write(line)) await new Promise((r) => this.#gzip.once('drain', r));
  }

  async finish(): Promise<void> {
    this.#gzip.end(JSON.stringify({ end: true, rows: this.#rows, sha256: this.#hash.hex() }) + '\n');
    await this.#done;
    const handle = await open(this.#partial, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(this.#partial, this.file);
  }

  async abort(): Promise<void> {
    this.#gzip.destroy();
    this.#out.destroy();
    await rm(this.#partial, { force: true });
  }
}

/** Reads a backup: the header, then each row; throws BackupFileError at the first sign of damage. */
export async function* readBackup(
  file: string,
): AsyncGenerator<{ header: BackupHeader } | { table: string; row: Row }> {
  const source = createReadStream(file);
  const text = new PassThrough();
  const unreadable = (e: unknown) =>
    e instanceof BackupFileError
      ? e
      : new BackupFileError(file, `not a readable gzip file (${(e as Error).message})`);
  const piping = pipeline(source, createGunzip(), text).catch((e: unknown) => {
    text.destroy(unreadable(e));
  });
  const lines = createInterface({ input: text, crlfDelay: Infinity });
  const hash = sha256Digest();
  let header: BackupHeader | undefined;
  let rows = 0;
  let ended = false;
  try {
    for await (const line of lines) {
      if (ended) throw new BackupFileError(file, 'holds data after its end marker');
      let value: Record<string, unknown>;
      try {
        value = JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new BackupFileError(file, `line ${rows + 2} is not JSON: the file is damaged`);
      }
      if (!header) {
        if (value.format !== FORMAT)
          throw new BackupFileError(file, `is not a Coffer backup (format ${JSON.stringify(value.format)})`);
        header = value as unknown as BackupHeader;
        hash.update(line + '\n');
        yield { header };
        continue;
      }
      if (value.end === true) {
        if (value.sha256 !== hash.hex() || value.rows !== rows)
          throw new BackupFileError(file, 'does not match its checksum: the file is damaged or was altered');
        ended = true;
        continue;
      }
      hash.update(line + '\n');
      if (typeof value.t !== 'string' || typeof value.r !== 'object' || value.r === null)
        throw new BackupFileError(file, `line ${rows + 2} is not a row`);
      rows++;
      yield { table: value.t, row: decodeRow(value.r as Row) };
    }
    if (!header) throw new BackupFileError(file, 'is empty');
    if (!ended) throw new BackupFileError(file, 'ends early (no end marker): the file is truncated');
  } catch (e) {
    // zlib and file errors reach the reader before the pipeline's own handler: name them the same way.
    throw (e as NodeJS.ErrnoException).code?.startsWith('Z_') ? unreadable(e) : e;
  } finally {
    await piping;
  }
}
