import { describe, expect, it } from 'vitest';
import { apiKeyFromAuthorization } from './auth.hook.js';
import { isDssUrl, parseQueryBool } from './dss-wire.js';

describe('query-string booleans', () => {
  it.each([
    ['True', true],
    ['TRUE', true],
    ['true', true],
    ['False', false],
    ['FALSE', false],
    ['false', false],
  ])('reads %s as %s', (raw, expected) =>
    expect(parseQueryBool(raw, 'withSecrets', !expected)).toBe(expected),
  );
  it('uses the default when absent', () =>
    expect(parseQueryBool(undefined, 'withSecrets', false)).toBe(false));
  it.each([['yes'], ['1'], ['tru']])('refuses %s, naming the parameter', (raw) =>
    expect(() => parseQueryBool(raw, 'withSecrets', false)).toThrow(/withSecrets must be true or false/),
  );
  it('refuses a repeated parameter', () =>
    expect(() => parseQueryBool(['true', 'false'], 'x', false)).toThrow(/given once/));
});

describe('API key in the Authorization header', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  it('reads Basic key: (what dataikuapi sends)', () =>
    expect(apiKeyFromAuthorization(`Basic ${b64('k1:')}`)).toBe('k1'));
  it('reads Basic :key', () => expect(apiKeyFromAuthorization(`Basic ${b64(':k2')}`)).toBe('k2'));
  it('reads Bearer key', () => expect(apiKeyFromAuthorization('Bearer k3')).toBe('k3'));
  it('refuses other schemes and empty credentials', () => {
    expect(() => apiKeyFromAuthorization('Digest x')).toThrow(/Authorization header/);
    expect(() => apiKeyFromAuthorization(`Basic ${b64(':')}`)).toThrow(/Authorization header/);
  });
});

describe('DSS URLs', () => {
  it('recognises both prefixes, with repeated slashes', () => {
    expect(isDssUrl('/dip/publicapi/auth/info')).toBe(true);
    expect(isDssUrl('//dip/publicapi/auth/info')).toBe(true);
    expect(isDssUrl('/public/api/current-user')).toBe(true);
    expect(isDssUrl('/api/v1/me')).toBe(false);
    expect(isDssUrl('/dip/publicapix')).toBe(false);
  });
});
