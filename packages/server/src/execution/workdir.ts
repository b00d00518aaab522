import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { CODE_ACCOUNT_NAME, type Account, type RunDirs } from './sandbox.js';

/*
 * Each run's own directory under the work root: home/ and tmp/ (the code's, read-write), and etc/
 * (its passwd and group, read-only). The work root lets accounts pass through but not list it; a
 * run's directory belongs to the server and only its home and tmp to the run's account.
 */

export function makeRunDirs(workRoot: string, account: Account | undefined, serverUid: number): RunDirs {
  mkdirSync(workRoot, { recursive: true, mode: 0o711 });
  chmodSync(workRoot, 0o711);
  const root = mkdtempSync(path.join(workRoot, 'run-'));
  chmodSync(root, 0o711);
  const dirs: RunDirs = {
    root,
    home: path.join(root, 'home'),
    tmp: path.join(root, 'tmp'),
    etc: path.join(root, 'etc'),
  };
  mkdirSync(dirs.home, { mode: 0o700 });
  mkdirSync(dirs.tmp, { mode: 0o700 });
  mkdirSync(dirs.etc, { mode: 0o755 });
  const uid = account?.uid ?? serverUid;
  const gid = account?.gid ?? uid;
  // Programs look their account up (getpass, Sys.info, os.userInfo): give them one, never the host's.
  writeFileSync(
    path.join(dirs.etc, 'passwd'),
    `${CODE_ACCOUNT_NAME}:x:${uid}:${gid}:Coffer user code:/home/${CODE_ACCOUNT_NAME}:/bin/sh\n`,
    { mode: 0o644 },
  );
  writeFileSync(path.join(dirs.etc, 'group'), `${CODE_ACCOUNT_NAME}:x:${gid}:\n`, { mode: 0o644 });
  return dirs;
}

/** Gives what the server wrote into the run's home and tmp to the run's account. */
export function handOver(dirs: RunDirs, account: Account | undefined): void {
  if (!account) return;
  for (const dir of [dirs.home, dirs.tmp]) chownTree(dir, account);
}

function chownTree(p: string, account: Account): void {
  // lchown semantics for links: the node_modules link must not hand over its target.
  const st = lstatSync(p);
  if (st.isSymbolicLink()) return;
  chownSync(p, account.uid, account.gid);
  if (st.isDirectory()) for (const name of readdirSync(p)) chownTree(path.join(p, name), account);
}

/**
 * Removes a run's directory, whatever the code left in it: a directory it made unreadable is made
 * readable again first (a server that is not root cannot remove what it cannot list).
 */
export function removeRunDirs(dirs: RunDirs): void {
  try {
    rmSync(dirs.root, { recursive: true, force: true });
  } catch {
    openUp(dirs.root);
    rmSync(dirs.root, { recursive: true, force: true });
  }
}

function openUp(p: string): void {
  let st;
  try {
    st = lstatSync(p);
  } catch {
    return;
  }
  if (!st.isDirectory()) return;
  try {
    chmodSync(p, 0o700);
    for (const name of readdirSync(p)) openUp(path.join(p, name));
  } catch {
    // not ours: rmSync reports it
  }
}

/** Bytes on disk under a run's home and tmp, and its largest file; stops early past `cap` entries. */
export async function diskUsage(
  dirs: RunDirs,
  opts: { cap: number } = { cap: 100_000 },
): Promise<{ bytes: number; largestFile: number }> {
  let bytes = 0;
  let largestFile = 0;
  let seen = 0;
  const walk = async (p: string): Promise<void> => {
    if (++seen > opts.cap) return;
    let st;
    try {
      st = await lstat(p);
    } catch {
      return;
    }
    bytes += st.blocks * 512;
    if (st.isFile()) largestFile = Math.max(largestFile, st.size);
    if (!st.isDirectory()) return;
    let names: string[];
    try {
      names = await readdir(p);
    } catch {
      return;
    }
    for (const name of names) await walk(path.join(p, name));
  };
  await walk(dirs.home);
  await walk(dirs.tmp);
  return { bytes, largestFile };
}
