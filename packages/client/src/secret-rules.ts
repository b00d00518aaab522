/*
 * The rules a secret's name and value must follow. The server enforces them; the web UI checks them as
 * a person types, so both say the same thing in the same words. Pure functions: no Node or DOM APIs.
 */

export const MAX_NAME_CHARS = 256;
export const MAX_VALUE_BYTES = 64 * 1024;
/** In unicode mode this matches only unpaired surrogates: text that has no UTF-8 encoding. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const utf8 = new TextEncoder();

/** Why a secret name is refused, or null if it is fine. Names follow DSS: any text, case-sensitive. */
export function secretNameProblem(name: string): string | null {
  const chars = [...name].length;
  if (chars === 0) return 'secret name must not be empty';
  if (chars > MAX_NAME_CHARS)
    return `secret name must be at most ${MAX_NAME_CHARS} characters long (got ${chars})`;
  if (LONE_SURROGATE.test(name)) return 'secret name must be valid Unicode text';
  if (/[\p{Cc}\u2028\u2029]/u.test(name)) return 'secret name must not contain control characters';
  if (/^\s|\s$/u.test(name)) return 'secret name must not start or end with white space';
  return null;
}

/** Why a value is refused, or null. The message names the secret and never repeats the value. */
export function secretValueProblem(name: string, value: string): string | null {
  const which = JSON.stringify(name);
  if (value.length === 0) return `value of secret ${which} must not be empty`;
  if (LONE_SURROGATE.test(value)) return `value of secret ${which} must be valid UTF-8 text`;
  const bytes = utf8.encode(value).byteLength;
  if (bytes > MAX_VALUE_BYTES)
    return `value of secret ${which} is ${bytes} bytes; the limit is ${MAX_VALUE_BYTES} bytes (64 KiB)`;
  return null;
}
