import { isWellFormedText, malformedTextProblem } from '@coffer/client/rules';
import { Invalid } from '../../errors.js';
import { checkText, line } from '../../text-rules.js';

const LOGIN_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,79}$/;
const GROUP_RE = /^[A-Za-z0-9][A-Za-z0-9._ -]{0,79}$/;

export function checkLogin(login: string): string {
  if (!LOGIN_RE.test(login)) {
    throw new Invalid(
      'login must be 1 to 80 characters: letters, digits, ".", "_", "@" or "-", starting with a letter or digit',
    );
  }
  return login;
}

export function checkPassword(password: string): string {
  if (password.length < 8) throw new Invalid('password must be at least 8 characters long');
  if (password.length > 1024) throw new Invalid('password must be at most 1024 characters long');
  // Hashed as UTF-8, every lone surrogate would become the same U+FFFD: two passwords, one hash.
  // Anything else goes: a password is never shown, and refusing characters only makes it weaker.
  if (!isWellFormedText(password)) throw new Invalid(malformedTextProblem('password'));
  return password;
}

export function checkGroups(groups: readonly string[]): string[] {
  const out = [...new Set(groups)];
  for (const g of out) {
    if (!GROUP_RE.test(g)) {
      throw new Invalid(
        `group name ${JSON.stringify(g)} is invalid: 1 to 80 letters, digits, ".", "_", "-" or spaces`,
      );
    }
  }
  if (out.length > 100) throw new Invalid('a user can be in at most 100 groups');
  return out;
}

export function checkStringMap(field: string, value: Record<string, unknown>): Record<string, string> {
  const entries = Object.entries(value);
  if (entries.length > 200) throw new Invalid(`${field} may hold at most 200 entries`);
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw new Invalid(`${field}.${k} must be a string`);
    checkText(`a key in ${field}`, k, line(200));
    checkText(`${field}.${k}`, v, line(4096));
  }
  return value as Record<string, string>;
}

export const SOURCE_TYPES = ['LOCAL'] as const;
export function checkSourceType(t: string): string {
  if (!(SOURCE_TYPES as readonly string[]).includes(t)) {
    throw new Invalid(`sourceType ${JSON.stringify(t)} is not supported; Coffer manages LOCAL users only`);
  }
  return t;
}
