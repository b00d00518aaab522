import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyCheckOf, MasterKeyError } from '../../crypto/index.js';
import { matchKeyVersions } from './key-versions.js';

/* The rules openKeyring applies at start and `coffer doctor` applies without writing, on rows as read. */

const K1 = randomBytes(32);
const K2 = randomBytes(32);
const K3 = randomBytes(32);
const row = (version: number, key: Buffer, state: 'active' | 'retired' = 'active') => ({
  version,
  key_check: keyCheckOf(key),
  state,
  created_at: 0,
  retired_at: state === 'retired' ? 1 : null,
});

describe('matchKeyVersions', () => {
  it('a new store: the key is unknown and nothing is refused (it becomes version 1)', () => {
    expect(matchKeyVersions([], K1, [])).toEqual({ known: undefined, given: new Map() });
  });

  it('the current key of the store is its version', () => {
    expect(matchKeyVersions([row(1, K1)], K1, []).known?.version).toBe(1);
  });

  it('another key, with no previous key given, is refused', () => {
    expect(() => matchKeyVersions([row(1, K1)], K2, [])).toThrow(
      /does not match the one this store was created with/,
    );
  });

  it('a new key with the active one as previous begins a rotation', () => {
    const r = matchKeyVersions([row(1, K1)], K2, [K1]);
    expect(r.known).toBeUndefined();
    expect([...r.given.keys()]).toEqual([1]);
  });

  it('a retired key, an unknown previous key, and a missing active version are refused', () => {
    expect(() => matchKeyVersions([row(1, K1, 'retired'), row(2, K2)], K1, [])).toThrow(/retired/);
    expect(() => matchKeyVersions([row(1, K1)], K1, [K3])).toThrow(/not a master key this store has used/);
    expect(() => matchKeyVersions([row(1, K1), row(2, K2)], K2, [])).toThrow(MasterKeyError);
    expect(() => matchKeyVersions([row(1, K1), row(2, K2)], K2, [])).toThrow(/version 1/);
  });
});
