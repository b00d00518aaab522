import { Keyring, keyCheckOf, MasterKeyError } from '../../crypto/index.js';
import type { Store } from '../../store/store.js';
import * as repo from './master-key.repo.js';

/*
 * Which master key versions this server holds. The store knows every version by its key check; the
 * server is given its current key and, during a rotation, the previous ones. It starts only if:
 *  - its current key is a known, active version (or the store is new: it becomes version 1; or one of
 *    its previous keys is known: then the current key is registered as the next version, which is how a
 *    rotation begins);
 *  - every version still active (data keys may be wrapped under it) is among the keys it was given.
 * Otherwise it refuses, and writes nothing: a wrong key must never be used to write.
 */

const EVERY_REPLICA = 'every replica must be given the same keys';

export async function openKeyring(
  store: Store,
  current: Buffer,
  previous: readonly Buffer[],
  now: number,
): Promise<Keyring> {
  for (let attempt = 1; ; attempt++) {
    const { known, given } = matchKeyVersions(await repo.listMasterKeys(store.db), current, previous);
    if (known) return new Keyring(current, known.version, { previous: given });
    await repo.addMasterKeyVersion(store.db, keyCheckOf(current), now);
    // Another replica may have registered it (or another new key) at the same moment: read again.
    if (attempt >= 3) throw new MasterKeyError('could not register the new master key version; try again');
  }
}

type MasterKeyRow = Awaited<ReturnType<typeof repo.listMasterKeys>>[number];

/**
 * The rules above, on the store's versions as read, writing nothing: the version the current key is
 * (`known`; undefined when it is new to the store and may be registered), and the previous keys by
 * version. Throws MasterKeyError, saying what to do, when the keys must not be used.
 */
export function matchKeyVersions(
  rows: readonly MasterKeyRow[],
  current: Buffer,
  previous: readonly Buffer[],
): { known: MasterKeyRow | undefined; given: Map<number, Buffer> } {
  const byCheck = new Map(rows.map((r) => [r.key_check, r]));
  const known = byCheck.get(keyCheckOf(current));
  if (known?.state === 'retired')
    throw new MasterKeyError(
      `The master key is version ${known.version}, retired by a rotation: nothing is encrypted under it any more. Start with the current master key.`,
    );
  const given = new Map<number, Buffer>();
  for (const [i, key] of previous.entries()) {
    const r = byCheck.get(keyCheckOf(key));
    if (!r)
      throw new MasterKeyError(
        `COFFER_PREVIOUS_MASTER_KEYS: key ${i + 1} is not a master key this store has used; remove it.`,
      );
    if (r.state === 'active') given.set(r.version, key);
  }
  if (known) {
    const missing = rows.filter(
      (r) => r.state === 'active' && r.version !== known.version && !given.has(r.version),
    );
    if (missing.length > 0)
      throw new MasterKeyError(
        `Data keys may still be wrapped under master key version${missing.length > 1 ? 's' : ''} ${missing.map((r) => r.version).join(', ')}: give ${missing.length > 1 ? 'those keys' : 'that key'} in COFFER_PREVIOUS_MASTER_KEYS until \`coffer keys rotate\` has retired ${missing.length > 1 ? 'them' : 'it'} (${EVERY_REPLICA}).`,
      );
    return { known, given };
  }
  // The current key is new to the store.
  const active = rows.filter((r) => r.state === 'active');
  if (active.length > 0 && given.size === 0)
    throw new MasterKeyError(
      `The master key does not match the one this store was created with; refusing to start. Use the original key (${EVERY_REPLICA}); to rotate to a new key, also give the current one in COFFER_PREVIOUS_MASTER_KEYS.`,
    );
  const unknownActive = active.filter((r) => !given.has(r.version));
  if (unknownActive.length > 0)
    throw new MasterKeyError(
      `Master key version${unknownActive.length > 1 ? 's' : ''} ${unknownActive.map((r) => r.version).join(', ')} ${unknownActive.length > 1 ? 'are' : 'is'} active and this server was not given ${unknownActive.length > 1 ? 'them' : 'it'}: give every active key in COFFER_PREVIOUS_MASTER_KEYS (${EVERY_REPLICA}).`,
    );
  return { known: undefined, given };
}
