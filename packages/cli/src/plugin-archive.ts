import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import yazl from 'yazl';

/*
 * `coffer plugins install` takes a zip or a plugin's folder. A folder is zipped here, in memory, so the
 * server reads one kind of archive and checks it one way; a link in the folder is refused rather than
 * followed (the server refuses links in archives too).
 */

/** The archive to install: the file's bytes, or the folder zipped. */
export async function pluginArchiveFrom(source: string): Promise<Buffer> {
  const st = await lstat(source).catch(() => undefined);
  if (!st) throw new Error(`${source}: no such file or folder`);
  if (st.isFile()) return readFile(source);
  if (!st.isDirectory()) throw new Error(`${source}: neither a zip file nor a plugin's folder`);
  return zipFolder(source);
}

async function zipFolder(root: string): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full).split(path.sep).join('/');
      const st = await lstat(full);
      if (st.isSymbolicLink())
        throw new Error(
          `${rel}: a link; plugins hold only files and folders (copy what it points to instead)`,
        );
      if (st.isDirectory()) await walk(full);
      else if (st.isFile()) zip.addBuffer(await readFile(full), rel, { mode: 0o100644 });
    }
  };
  await walk(root);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
