import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import path from 'node:path';

/*
 * A small disk of its own for tests that fill one: a tmpfs mounted on a directory (root only; CI runs
 * as root), and files that take its room and give it back.
 */

/** Mounts a tmpfs of sizeBytes on dir; throws what mount said if it cannot. */
export function mountTmpfs(dir: string, sizeBytes: number): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir], {
    stdio: 'pipe',
  });
}

/** Unmounts dir (its files go with it). */
export function unmount(dir: string): void {
  execFileSync('umount', [dir], { stdio: 'pipe' });
}

/** Bytes an unprivileged write could still use under dir. */
export function freeBytes(dir: string): number {
  const fs = statfsSync(dir);
  return fs.bavail * fs.bsize;
}

/**
 * Writes file until the disk under it has at most leaveBytes free (0: until it is full to the last
 * page). The file is the room taken; removing it gives the room back.
 */
export function takeRoom(file: string, leaveBytes = 0): void {
  const fd = openSync(file, 'a');
  try {
    for (const chunk of [1 << 20, 1 << 16, 1 << 12]) {
      const block = Buffer.alloc(chunk, 0x5a);
      while (freeBytes(path.dirname(file)) - chunk >= leaveBytes) {
        try {
          writeSync(fd, block);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

export function giveRoomBack(file: string): void {
  rmSync(file, { force: true });
}
