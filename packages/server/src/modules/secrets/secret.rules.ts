import { Invalid } from '../../errors.js';

export const MAX_NAME_CHARS = 256;
export const MAX_VALUE_BYTES = 64 * 1024;
/** In unicode mode this matches only unpaired surrogates: text that has no UTF-8 encoding. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Secret names follow DSS: any text, case-sensitive, with a few rules that keep them usable as identifiers. */
export function checkSecretName(name: unknown): string {
  if (typeof name !== 'string') throw new Invalid('secret name must be a string');
  const chars = [...name].length;
  if (chars === 0) throw new Invalid('secret name must not be empty');
  if (chars > MAX_NAME_CHARS)
    throw new Invalid(`secret name must be at most ${MAX_NAME_CHARS} characters long (got ${chars})`);
  if (LONE_SURROGATE.test(name)) throw new Invalid('secret name must be valid Unicode text');
  if (/[\p{Cc}\u2028\u2029]/u.test(name))
    throw new Invalid('secret name must not contain control characters');
  if (/^\s|\s$/u.test(name)) throw new Invalid('secret name must not start or end with white space');
  return name;
}

/** Values are UTF-8 text; the message never repeats the value. */
export function checkSecretValue(name: string, value: unknown): string {
  if (typeof value !== 'string')
    throw new Invalid(`value of secret ${JSON.stringify(name)} must be a string`);
  if (value.length === 0) throw new Invalid(`value of secret ${JSON.stringify(name)} must not be empty`);
  if (LONE_SURROGATE.test(value))
    throw new Invalid(`value of secret ${JSON.stringify(name)} must be valid UTF-8 text`);
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_VALUE_BYTES) {
    throw new Invalid(
      `value of secret ${JSON.stringify(name)} is ${bytes} bytes; the limit is ${MAX_VALUE_BYTES} bytes (64 KiB)`,
    );
  }
  return value;
}
