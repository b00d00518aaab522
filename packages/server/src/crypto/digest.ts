import { createHash } from 'node:crypto';

/** A running SHA-256, for checksums of files we write (backups); not for secrets or passwords. */
export function sha256Digest(): { update(text: string): void; hex(): string } {
  const h = createHash('sha256');
  return { update: (text) => void h.update(text), hex: () => h.digest('hex') };
}
