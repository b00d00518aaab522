/*
 * Plugin archives for tests: a folder zipped as an administrator would, and hand-made archives with
 * exactly the flaw a test needs. yazl refuses to write some of those (`../x`, `/abs`, `a\b`), and has no
 * option for an encrypted flag or a lying size header, so those are written with a placeholder and then
 * patched in the zip's bytes (both the local header and the central directory record).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import yazl from 'yazl';

export interface ZipEntrySpec {
  /** The name written in the archive, as is: it may be one a safe writer would refuse. */
  path: string;
  /** A file's content; a path ending in "/" without content is a directory entry. */
  content?: string | Buffer;
  /** Makes the entry a symbolic link to this target (unix mode 0o120777). */
  symlinkTo?: string;
  /** Unix mode, file type bits included (default 0o100644). */
  mode?: number;
  /** Sets the "encrypted" flag (general purpose bit 0) without encrypting anything. */
  encrypted?: boolean;
  /** Writes this uncompressed size in the headers instead of the true one: a zip bomb's lie. */
  declaredSize?: number;
}

const SAFE_FOR_YAZL = (name: string) =>
  !name.includes('\\') && !/^(\/|[A-Za-z]:)/.test(name) && !name.split('/').includes('..');

async function collect(zipfile: yazl.ZipFile): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    zipfile.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    zipfile.outputStream.on('end', resolve);
    zipfile.outputStream.on('error', reject);
    zipfile.on('error', reject);
  });
  zipfile.end();
  await done;
  return Buffer.concat(chunks);
}

/** A name of the same UTF-8 length that yazl accepts and that cannot occur by chance elsewhere. */
function placeholder(name: string, index: number): string {
  const length = Buffer.byteLength(name);
  const tag = `~${index.toString(36)}`;
  if (tag.length > length)
    throw new Error(`zipEntries: name ${JSON.stringify(name)} is too short to patch in`);
  return tag.padEnd(length, '~');
}

interface Patch {
  name?: Buffer;
  encrypted?: boolean;
  declaredSize?: number;
}

/** Applies patches to the entries of a zip that has no zip64 records (yazl's output for small files). */
function patchZip(zip: Buffer, patches: ReadonlyMap<number, Patch>): Buffer {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(eocd + 10);
  let central = zip.readUInt32LE(eocd + 16);
  for (let index = 0; index < count; index += 1) {
    const nameLength = zip.readUInt16LE(central + 28);
    const recordLength = 46 + nameLength + zip.readUInt16LE(central + 30) + zip.readUInt16LE(central + 32);
    const local = zip.readUInt32LE(central + 42);
    const patch = patches.get(index);
    if (patch?.name) {
      patch.name.copy(zip, central + 46);
      patch.name.copy(zip, local + 30);
    }
    if (patch?.encrypted) {
      zip.writeUInt16LE(zip.readUInt16LE(central + 8) | 1, central + 8);
      zip.writeUInt16LE(zip.readUInt16LE(local + 6) | 1, local + 6);
    }
    if (patch?.declaredSize !== undefined) {
      zip.writeUInt32LE(patch.declaredSize, central + 24);
      zip.writeUInt32LE(patch.declaredSize, local + 22);
    }
    central += recordLength;
  }
  return zip;
}

/** A zip of these entries, in this order, flaws included. */
export async function zipEntries(entries: readonly ZipEntrySpec[]): Promise<Buffer> {
  const zipfile = new yazl.ZipFile();
  const patches = new Map<number, Patch>();
  const mtime = new Date('2024-01-01T00:00:00Z');
  entries.forEach((entry, index) => {
    const safe = SAFE_FOR_YAZL(entry.path);
    const written = safe ? entry.path : placeholder(entry.path, index);
    patches.set(index, {
      ...(safe ? {} : { name: Buffer.from(entry.path) }),
      ...(entry.encrypted ? { encrypted: true } : {}),
      ...(entry.declaredSize !== undefined ? { declaredSize: entry.declaredSize } : {}),
    });
    if (entry.symlinkTo !== undefined) {
      zipfile.addBuffer(Buffer.from(entry.symlinkTo), written, {
        mtime,
        mode: entry.mode ?? 0o120777,
        compress: false,
      });
    } else if (entry.content === undefined && written.endsWith('/')) {
      zipfile.addEmptyDirectory(written, { mtime, ...(entry.mode ? { mode: entry.mode } : {}) });
    } else {
      const content =
        typeof entry.content === 'string' ? Buffer.from(entry.content) : (entry.content ?? Buffer.alloc(0));
      zipfile.addBuffer(content, written, { mtime, mode: entry.mode ?? 0o100644, compress: true });
    }
  });
  return patchZip(await collect(zipfile), patches);
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) found.push(...(await listFiles(dir, relative)));
    else if (entry.isFile()) found.push(relative);
  }
  return found.sort();
}

/**
 * The files under `dir` (regular files only), zipped with paths relative to it; with `under`, inside
 * that one top folder, the way DSS exports a plugin.
 */
export async function zipDirectory(dir: string, options: { under?: string } = {}): Promise<Buffer> {
  return zipEntries(await filesOf(dir, options));
}

/** The entries zipDirectory would zip: to zip them with others (a plugin's next version, say). */
export async function filesOf(dir: string, options: { under?: string } = {}): Promise<ZipEntrySpec[]> {
  const files = await listFiles(dir);
  return Promise.all(
    files.map(async (file) => ({
      path: options.under ? `${options.under}/${file}` : file,
      content: await readFile(path.join(dir, file)),
    })),
  );
}
