import { describe, expect, it } from 'vitest';
import type { Store } from '../store/store.js';
import { AccountError, createAccountPolicy } from './accounts.js';

/** Nothing here reaches the store: the policy checks its settings against the machine first. */
const store = {} as Store;
const clock = { now: () => 0 };
const range = (min: number, max: number) => ({ uidRange: { min, max }, pattern: undefined });

describe('which account user code runs as', () => {
  it('a server that is not root runs code as itself, and refuses a mapping it could not follow', async () => {
    const policy = createAccountPolicy({
      store,
      clock,
      config: range(2_000_000, 2_999_999),
      serverUid: 1000,
    });
    expect(await policy.accountFor({ id: 'u1', login: 'alice' })).toBeUndefined();
    expect(() =>
      createAccountPolicy({
        store,
        clock,
        config: { uidRange: { min: 2_000_000, max: 2_999_999 }, pattern: 'coffer-{login}' },
        serverUid: 1000,
      }),
    ).toThrow(/COFFER_SANDBOX_ACCOUNT_PATTERN needs the server to run as root/);
  });

  it('as root, a uid range that holds an account of this machine is refused, naming it', () => {
    // Debian's nobody is 65534: a range around it would hand code its files.
    expect(() => createAccountPolicy({ store, clock, config: range(60_000, 70_000), serverUid: 0 })).toThrow(
      AccountError,
    );
    expect(() => createAccountPolicy({ store, clock, config: range(60_000, 70_000), serverUid: 0 })).toThrow(
      /holds nobody|holds nogroup/,
    );
    expect(() => createAccountPolicy({ store, clock, config: range(0, 10), serverUid: 0 })).toThrow(
      /1000 or above/,
    );
  });

  it('as root, a mapping to a system account (root, a daemon) is refused', async () => {
    const policy = createAccountPolicy({
      store,
      clock,
      config: { uidRange: { min: 2_000_000, max: 2_999_999 }, pattern: '{login}' },
      serverUid: 0,
    });
    await expect(policy.accountFor({ id: 'u1', login: 'root' })).rejects.toThrow(/system account/);
    await expect(policy.accountFor({ id: 'u2', login: 'daemon' })).rejects.toThrow(/system account/);
    await expect(policy.accountFor({ id: 'u3', login: 'no-such-account-here' })).rejects.toThrow(
      /no Unix account "no-such-account-here"/,
    );
  });
});
