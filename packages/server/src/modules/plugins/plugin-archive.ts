/*
 * A plugin zip read into memory and checked, never extracted to disk: an archive is an attacker's
 * chance to write outside a folder (`../`, absolute paths, symlinks) or to exhaust memory (a zip bomb's
 * headers lie about sizes). So every path is checked before its bytes are read, every size limit is
 * enforced on the bytes actually inflated, and any problem refuses the whole archive: this function only
 * reads, so a refused archive has installed nothing.
 */
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { AppError, Invalid } from '../../errors.js';
import { parseManifest } from './plugin.manifest.js';
import {
  DEFAULT_ARCHIVE_LIMITS,
  type ArchiveLimits,
  type PluginFile,
  type PluginPackage,
} from './plugin.model.js';

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const STORED = 0;
const DEFLATED = 8;
/** Finder adds AppleDouble copies of every file under this folder: metadata, not part of the plugin. */
const MAC_METADATA = '__MACOSX/';

/** What an upload over the archive limit is told, wherever it is refused (the body, or a multipart part). */
export function archiveTooLargeMessage(limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS): string {
  const mib = limits.maxArchiveBytes / (1024 * 1024);
  return `the plugin archive is larger than ${limits.maxArchiveBytes} bytes (${mib} MiB), the limit for a plugin archive; nothing was installed`;
}

function tooLarge(message: string): AppError {
  return new AppError('payload_too_large', message);
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Why `name` is not a plain relative path inside the plugin, or null. yauzl has its own check, but its
 * messages do not say what to do; names are decoded here (decodeStrings: false) so this one applies.
 */
function pathProblem(name: string): string | null {
  if (name.includes('\\')) return 'has a backslash; zip paths use "/" (and "\\" can hide a Windows path)';
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name))
    return 'is an absolute path; paths must be relative to the plugin';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'has a control character in its name';
  const segments = name.replace(/\/$/, '').split('/');
  if (segments.includes('..')) return 'has a ".." segment, which would leave the plugin folder';
  if (segments.some((s) => s === '' || s === '.')) return 'has an empty or "." path segment';
  return null;
}

function entryName(entry: Entry): string {
  // true: keep backslashes as they are, so pathProblem sees them.
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
}

/** The unix file type from the high 16 bits of the external attributes; 0 when the zip has none. */
function fileType(entry: Entry): number {
  return (entry.externalFileAttributes >>> 16) & S_IFMT;
}

function checkEntry(entry: Entry, name: string): void {
  const shown = JSON.stringify(name);
  const problem = pathProblem(name);
  if (problem) throw new Invalid(`${shown}: ${problem}`);
  const type = fileType(entry);
  if (type === S_IFLNK)
    throw new Invalid(`${shown}: is a symbolic link; a plugin archive may hold only files and folders`);
  if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) {
    throw new Invalid(`${shown}: is a special file (not a regular file or folder)`);
  }
  if (entry.isEncrypted()) throw new Invalid(`${shown}: is encrypted; zip the plugin without a password`);
  if (entry.compressionMethod !== STORED && entry.compressionMethod !== DEFLATED) {
    throw new Invalid(
      `${shown}: uses compression method ${entry.compressionMethod}; only stored and deflated files are supported`,
    );
  }
}

interface Budget {
  readonly limits: ArchiveLimits;
  totalBytes: number;
}

/** The entry's bytes, counted as they inflate: the header's size is only a claim. */
async function readContent(zipfile: ZipFile, entry: Entry, name: string, budget: Budget): Promise<Buffer> {
  const { maxFileBytes, maxTotalBytes } = budget.limits;
  const fileTooLarge = () =>
    tooLarge(`${name}: is larger than ${maxFileBytes} bytes, the limit for one file of a plugin`);
  const totalTooLarge = () =>
    tooLarge(
      `the plugin's files add up to more than ${maxTotalBytes} bytes uncompressed, the limit (at ${name})`,
    );
  if (entry.uncompressedSize > maxFileBytes) throw fileTooLarge();
  if (budget.totalBytes + entry.uncompressedSize > maxTotalBytes) throw totalTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    const stream = await zipfile.openReadStreamPromise(entry);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      // Leaving the loop destroys the stream, so no more is inflated.
      if (size > maxFileBytes) throw fileTooLarge();
      if (budget.totalBytes + size > maxTotalBytes) throw totalTooLarge();
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    // yauzl's size and CRC checks land here: a zip bomb whose header under-declares its size among them.
    throw new Invalid(
      `${name}: cannot be read; the archive is damaged or its sizes are false (${reason(error)})`,
    );
  }
  budget.totalBytes += size;
  return Buffer.concat(chunks, size);
}

async function openZip(zip: Buffer): Promise<ZipFile> {
  try {
    return await yauzl.fromBufferPromise(zip, {
      lazyEntries: true,
      decodeStrings: false,
      validateEntrySizes: true,
    });
  } catch (error) {
    throw new Invalid(`the upload is not a zip archive (${reason(error)})`);
  }
}

/** Every file of the archive, paths as written; directory entries and Finder's metadata skipped. */
async function readFiles(zip: Buffer, limits: ArchiveLimits): Promise<PluginFile[]> {
  const zipfile = await openZip(zip);
  try {
    if (zipfile.entryCount > limits.maxFiles) {
      throw tooLarge(
        `the archive has ${zipfile.entryCount} entries; a plugin may have at most ${limits.maxFiles}`,
      );
    }
    const files: PluginFile[] = [];
    const seen = new Set<string>();
    const budget: Budget = { limits, totalBytes: 0 };
    const entries = zipfile.eachEntry();
    for (;;) {
      let step: IteratorResult<Entry>;
      try {
        step = await entries.next();
      } catch (error) {
        throw new Invalid(`the archive cannot be read (${reason(error)})`);
      }
      if (step.done) break;
      const entry = step.value;
      const name = entryName(entry);
      checkEntry(entry, name);
      if (seen.has(name)) throw new Invalid(`${JSON.stringify(name)}: appears twice in the archive`);
      seen.add(name);
      if (name.endsWith('/') || fileType(entry) === S_IFDIR || name.startsWith(MAC_METADATA)) continue;
      files.push({ path: name, content: await readContent(zipfile, entry, name, budget) });
    }
    return files;
  } finally {
    zipfile.close();
  }
}

/**
 * DSS's own exports wrap the plugin in one folder (`my-plugin/plugin.json`); a zip of the folder's
 * contents has plugin.json at the top. Either is accepted, and paths are made relative to the plugin.
 */
function unwrap(files: PluginFile[]): PluginFile[] {
  if (files.some((f) => f.path === 'plugin.json')) return files;
  const tops = new Set(files.map((f) => f.path.split('/')[0]));
  const [top] = tops;
  if (tops.size === 1 && files.some((f) => f.path === `${top}/plugin.json`)) {
    return files.map((f) => ({ path: f.path.slice(top!.length + 1), content: f.content }));
  }
  throw new Invalid(
    'plugin.json: missing; put it at the top of the archive, or zip the one folder that holds it (my-plugin/plugin.json)',
  );
}

/** A path that is a file and also a folder of another file cannot be written out when a job runs. */
function checkFileFolderClash(files: readonly PluginFile[]): void {
  const paths = new Set(files.map((f) => f.path));
  for (const file of files) {
    const segments = file.path.split('/');
    for (let i = 1; i < segments.length; i += 1) {
      const folder = segments.slice(0, i).join('/');
      if (paths.has(folder)) throw new Invalid(`${folder}: is a file, and also the folder of ${file.path}`);
    }
  }
}

/**
 * Reads a plugin archive (a zip) into its checked manifest and files, all in memory. Throws
 * `payload_too_large` past a limit and Invalid (naming the file and field) for anything else wrong.
 */
export async function readPluginArchive(
  zip: Buffer,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): Promise<PluginPackage> {
  if (zip.length > limits.maxArchiveBytes) {
    throw tooLarge(`the plugin archive is ${zip.length} bytes; the limit is ${limits.maxArchiveBytes} bytes`);
  }
  const files = unwrap(await readFiles(zip, limits));
  checkFileFolderClash(files);
  return { manifest: parseManifest(files), files };
}
