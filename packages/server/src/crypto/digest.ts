import { createHash } from 'node:crypto';

/** A running SHA-256, for checksums of files we write (backups); not for secrets or passwords. */
export function sha256Digest(): { update(text: string): void; hex(): string } {
  const h = createHash('sha256');
  return { update: (text) => void h.update(text), hex: () => h.digest('hex') };
}

/**
 * A short fixed-size name for a text (SHA-256, base64url): the key under which the audit trail keeps a
 * list of names or a caller once. Not for secrets or passwords.
 */
export function digestOf(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}
