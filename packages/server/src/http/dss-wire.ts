import { Invalid } from '../errors.js';

/** The DSS public API is served under both prefixes. */
export const DSS_PREFIXES = ['/dip/publicapi', '/public/api'] as const;

export function isDssUrl(url: string): boolean {
  const path = url.replace(/\/{2,}/g, '/');
  return DSS_PREFIXES.some((p) => path === p || path.startsWith(p + '/'));
}

/**
 * Booleans in query strings arrive as True/False (Python), TRUE/FALSE (R) or true/false; anything else
 * is refused rather than guessed.
 */
export function parseQueryBool(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'string')
    throw new Invalid(`query parameter ${name} must be given once, as true or false`);
  const v = value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new Invalid(
    `query parameter ${name} must be true or false (got ${JSON.stringify(value.slice(0, 40))})`,
  );
}
