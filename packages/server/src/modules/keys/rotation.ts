import type { Keyring } from '../../crypto/index.js';
import type { Store } from '../../store/store.js';
import { lockUser } from '../users/user.repo.js';
import * as repo from './master-key.repo.js';
import { credentialSealName, credentialsOf, replaceCredentialSealed } from '../plugins/plugin.repo.js';

/*
 * Online master key rotation, run by `coffer keys rotate` beside live servers.
 *  - Re-wrap: every data key not wrapped under the current master key version is wrapped again under
 *    it, in small transactions, each update conditional on the wrapping it read: a rerun after an
 *    interruption (even kill -9) carries on where it stopped, and never overwrites a newer wrapping.
 *  - Re-seal (optional): each user in turn gets a new data key; all of their values are opened and
 *    sealed again under it, the old data keys deleted, in one transaction per user that holds the
 *    user's row, as saves do. Readers see the old set or the new one. Plaintext exists only inside that
 *    transaction's loop, for one user at a time. The re-seal's start is kept in the store until it
 *    finishes, so a rerun resumes with the users not done yet.
 *  - A master key version is retired once no data key is wrapped under it: servers then refuse it.
 */

const BATCH = 200;

export type Progress = (done: number, total: number) => void;

export interface RotationResult {
  rewrapped: number;
  resealedUsers: number;
  resealedValues: number;
  retired: number[];
}

export async function rotate(
  store: Store,
  keyring: Keyring,
  opts: { reseal: boolean; now: () => number; onRewrap?: Progress; onReseal?: Progress },
): Promise<RotationResult> {
  const result: RotationResult = { rewrapped: 0, resealedUsers: 0, resealedValues: 0, retired: [] };
  const current = keyring.masterVersion;

  const total = await repo.countDataKeysNotUnder(store.db, current);
  opts.onRewrap?.(0, total);
  for (;;) {
    const batch = await repo.dataKeysNotUnder(store.db, current, BATCH);
    if (batch.length === 0) break;
    await store.transaction(async (trx) => {
      for (const row of batch) {
        const wrapped = keyring.rewrap(row.user_id, row.version, row.wrapped);
        if (await repo.replaceWrapping(trx, row, wrapped, current)) result.rewrapped++;
      }
    });
    opts.onRewrap?.(Math.min(result.rewrapped, total), total);
  }

  if (opts.reseal) {
    const since = await repo.resealStart(store.db, opts.now());
    const todo = await repo.countUsersToReseal(store.db, since);
    opts.onReseal?.(0, todo);
    let after = '';
    for (;;) {
      const users = await repo.usersToReseal(store.db, since, after, BATCH);
      if (users.length === 0) break;
      for (const userId of users) {
        result.resealedValues += await resealUser(store, keyring, userId, since, opts.now());
        result.resealedUsers++;
        opts.onReseal?.(result.resealedUsers, todo);
      }
      after = users[users.length - 1]!;
    }
    await repo.resealDone(store.db);
  }

  for (const version of await repo.unusedActiveVersions(store.db, current)) {
    await repo.retireMasterKey(store.db, version, opts.now());
    result.retired.push(version);
  }
  return result;
}

/** One user's values under a new data key, in one transaction; answers how many values. */
async function resealUser(
  store: Store,
  keyring: Keyring,
  userId: string,
  since: number,
  now: number,
): Promise<number> {
  const count = await store.transaction(async (trx) => {
    await lockUser(trx, userId);
    const keys = await repo.dataKeysOf(trx, userId);
    const newest = keys[keys.length - 1];
    // Done meanwhile (a password reset makes a new key too), or the user is gone.
    if (!newest || Number(newest.created_at) >= since) return 0;
    const byVersion = new Map(keys.map((k) => [k.version, k]));
    const version = newest.version + 1;
    const { dataKey, wrapped } = keyring.newDataKey(userId, version);
    await repo.insertDataKeyRow(trx, {
      user_id: userId,
      version,
      wrapped: wrapped.wrapped,
      master_version: wrapped.masterVersion,
      created_at: now,
    });
    const sealed = await repo.sealedOf(trx, userId);
    for (const s of sealed) {
      const old = byVersion.get(s.key_version);
      if (!old)
        throw new Error(`a secret of user ${userId} needs data key ${s.key_version}, which is missing`);
      const oldKey = keyring.unwrapDataKey(userId, old.version, old.wrapped);
      const ciphertext = keyring.seal(dataKey, s.name, keyring.open(oldKey, s.name, s.ciphertext));
      await repo.replaceSealed(trx, userId, s.name, ciphertext, version);
    }
    // Users' plugin credentials are sealed under the same data keys: re-sealed with the secrets.
    const credentials = await credentialsOf(trx, userId);
    for (const c of credentials) {
      const old = byVersion.get(c.key_version);
      if (!old)
        throw new Error(
          `a plugin credential of user ${userId} needs data key ${c.key_version}, which is missing`,
        );
      const oldKey = keyring.unwrapDataKey(userId, old.version, old.wrapped);
      const name = credentialSealName(c);
      const ciphertext = keyring.seal(dataKey, name, keyring.open(oldKey, name, c.ciphertext));
      await replaceCredentialSealed(trx, userId, c, ciphertext, version);
    }
    await repo.deleteDataKeysBelow(trx, userId, version);
    return sealed.length + credentials.length;
  });
  keyring.forget(userId);
  return count;
}
