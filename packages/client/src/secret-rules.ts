/*
 * The rules a secret's name and value must follow. The server enforces them; the web UI checks them as
 * a person types, so both say the same thing in the same words. Pure functions: no Node or DOM APIs.
 */
import { malformedTextProblem, isWellFormedText, textProblem } from './text-rules.js';

export const MAX_NAME_CHARS = 256;
export const MAX_VALUE_BYTES = 64 * 1024;
const utf8 = new TextEncoder();

/** Why a secret name is refused, or null if it is fine. Names follow DSS: any text, case-sensitive. */
export function secretNameProblem(name: string): string | null {
  const problem = textProblem('secret name', name, { required: true, max: MAX_NAME_CHARS });
  if (problem) return problem;
  if (/^\s|\s$/u.test(name)) return 'secret name must not start or end with white space';
  return null;
}

/**
 * Why a value is refused, or null. The message names the secret and never repeats the value. A value is
 * an opaque credential (a PEM key has line breaks, a FIX password may hold SOH), so of the control
 * characters only NUL is refused: the R client's JSON parser cuts a string at NUL and an environment
 * variable cannot hold one, so the value a job would see is not the one stored (docs/adr/0018).
 */
export function secretValueProblem(name: string, value: string): string | null {
  const which = `value of secret ${JSON.stringify(name)}`;
  if (value.length === 0) return `${which} must not be empty`;
  if (!isWellFormedText(value)) return malformedTextProblem(which);
  if (value.includes('\u0000'))
    return `${which} must not contain NUL (U+0000): the R client and environment variables cannot carry it`;
  const bytes = utf8.encode(value).byteLength;
  if (bytes > MAX_VALUE_BYTES)
    return `${which} is ${bytes} bytes; the limit is ${MAX_VALUE_BYTES} bytes (64 KiB)`;
  return null;
}
