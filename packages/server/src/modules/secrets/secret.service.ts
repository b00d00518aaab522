import type { Clock } from '../../clock.js';
import type { DataKey, Keyring } from '../../crypto/index.js';
import { newTag } from '../../crypto/index.js';
import { Conflict, Forbidden, Invalid, NotFound } from '../../errors.js';
import { oncePerObject } from '../../memo.js';
import type { Db, Store } from '../../store/store.js';
import type { AuditEvent, AuditLog } from '../audit/audit.service.js';
import { isAdminCaller, requireOwnCredential, requireUser, type Caller } from '../auth/caller.js';
import type { User } from '../users/user.model.js';
import { claimSecretsRevision } from '../users/user.repo.js';
import { currentDataKey } from './data-key.repo.js';
import * as repo from './secret.repo.js';
import { checkSecretName, checkSecretValue } from './secret.rules.js';

/*
 * The only code that encrypts or decrypts user secrets. Every call takes the caller first and checks it:
 * values go out only to their owner's code (revealForOwnerCode); everything else sees names and metadata.
 * Another user's secret is reported as not found, never as forbidden, so names do not leak.
 */

export type SecretChange = { op: 'put'; name: string; value: string } | { op: 'delete'; name: string };

export interface SecretInfo {
  name: string;
  createdAt: number;
  updatedAt: number;
  lastUsedAt: number | null;
}

export interface SecretList {
  revision: number;
  secrets: SecretInfo[];
}

/** DSS clients edit secrets by read-modify-write; on read they get this marker instead of the value. */
export const MARKER_PREFIX = 'e:AES:';
const markerOf = (tag: string) => `${MARKER_PREFIX}${tag}`;

export type SecretService = ReturnType<typeof createSecretService>;

export function createSecretService(deps: {
  store: Store;
  keyring: Keyring;
  clock: Clock;
  audit: AuditLog;
  limits: { secretsPerUser: number };
}) {
  const { store, keyring, clock, audit, limits } = deps;

  const info = (m: repo.SecretMeta): SecretInfo => ({
    name: m.name,
    createdAt: Number(m.created_at),
    updatedAt: Number(m.updated_at),
    lastUsedAt: m.last_used_at === null ? null : Number(m.last_used_at),
  });

  /**
   * A user's sealed values and the wrapped data keys they need. Two reads: a re-seal (or a password
   * reset) committed between them replaces a data key version, so a version the values need and the
   * keys lack means "read again"; a version that is there is the right key (a version's key never
   * changes, only how it is wrapped).
   */
  async function sealedOf(userId: string) {
    for (let attempt = 1; ; attempt++) {
      const rows = await repo.listSealed(store.db, userId);
      const keys = byVersion(await repo.listWrappedKeys(store.db, userId));
      if (rows.every((r) => keys.has(r.key_version)) || attempt === 3) return { rows, keys };
    }
  }

  /** Wrapped data keys by version; made once per list, as the read path keeps its lists. */
  const byVersion = oncePerObject(
    (wrapped: readonly repo.WrappedKey[]): ReadonlyMap<number, Uint8Array> =>
      new Map(wrapped.map((k) => [k.version, k.wrapped])),
  );

  /** The names in a list of sealed rows; made once per list, as the read path keeps its lists. */
  const namesOf = oncePerObject((rows: readonly { name: string }[]): readonly string[] =>
    rows.map((r) => r.name),
  );

  /** Opens sealed rows, unwrapping each data key they need once. */
  function openAll(
    userId: string,
    rows: readonly { name: string; ciphertext: Uint8Array; key_version: number }[],
    wrapped: ReadonlyMap<number, Uint8Array>,
  ): { key: string; value: string }[] {
    const keys = new Map<number, DataKey>();
    return rows.map((r) => {
      let dk = keys.get(r.key_version);
      if (!dk) {
        const w = wrapped.get(r.key_version);
        if (!w)
          throw new Error(`a secret of user ${userId} needs data key ${r.key_version}, which is missing`);
        dk = keyring.unwrapDataKey(userId, r.key_version, w);
        keys.set(r.key_version, dk);
      }
      return { key: r.name, value: keyring.open(dk, r.name, r.ciphertext) };
    });
  }

  async function revisionOf(db: Db, userId: string): Promise<number> {
    const r = await db
      .selectFrom('users')
      .select('secrets_revision')
      .where('id', '=', userId)
      .executeTakeFirst();
    if (!r) throw new NotFound('user does not exist');
    return Number(r.secrets_revision);
  }

  async function listOf(db: Db, userId: string): Promise<SecretList> {
    const [revision, metas] = await Promise.all([revisionOf(db, userId), repo.listSecretMeta(db, userId)]);
    return { revision, secrets: metas.map(info) };
  }

  /** Validates a batch without touching the store: every problem is found before anything changes. */
  function validateChanges(changes: readonly SecretChange[]): SecretChange[] {
    const seen = new Set<string>();
    return changes.map((c) => {
      const name = checkSecretName(c.name);
      if (seen.has(name))
        throw new Invalid(`secret ${JSON.stringify(name)} appears more than once in one save`);
      seen.add(name);
      return c.op === 'put'
        ? { op: 'put', name, value: checkSecretValue(name, c.value) }
        : { op: 'delete', name };
    });
  }

  /**
   * Applies validated changes to one user's secrets inside the caller's transaction: revision check,
   * limit check, sealing under the user's current data key, audit records. Returns the new revision
   * and which of the names existed before (read under the user's row lock, so it is exact).
   */
  async function applyChanges(
    trx: Db,
    caller: Caller,
    target: Pick<User, 'id' | 'login'>,
    changes: readonly SecretChange[],
    expectedRevision?: number,
  ): Promise<{ revision: number; existed: ReadonlySet<string> }> {
    const stale = async () =>
      new Conflict(
        'your secrets were changed elsewhere since this page was loaded; reload and apply your changes again',
        { currentRevision: await revisionOf(trx, target.id) },
      );
    const revision = await revisionOf(trx, target.id);
    if (expectedRevision !== undefined && expectedRevision !== revision) throw await stale();
    if (changes.length === 0) return { revision, existed: new Set() };
    const now = clock.now();
    // First, before reading anything the changes depend on: this takes the user's row and re-checks the
    // revision in one statement, so of two saves based on one revision only one passes, and the count
    // and data key read below cannot change until this transaction ends.
    const next = await claimSecretsRevision(trx, target.id, now, expectedRevision);
    if (next === undefined) throw await stale();
    // Only the names this save touches are looked up, and the user's secrets counted only when it adds
    // some: a write costs the same whether the user has three secrets or a thousand.
    const names = changes.map((c) => c.name);
    const existing = new Set((await repo.findSecretMeta(trx, target.id, names)).map((m) => m.name));
    let added = 0;
    for (const c of changes) {
      if (c.op === 'delete' && !existing.has(c.name))
        throw new NotFound(`secret ${JSON.stringify(c.name)} does not exist`);
      if (c.op === 'put' && !existing.has(c.name)) added += 1;
      if (c.op === 'delete') added -= 1;
    }
    if (added > 0) {
      const count = (await repo.countSecrets(trx, target.id)) + added;
      if (count > limits.secretsPerUser) {
        throw new Invalid(
          `this save would leave ${count} secrets; a user may have at most ${limits.secretsPerUser}`,
        );
      }
    }
    let dataKey: DataKey | undefined;
    const events: AuditEvent[] = [];
    for (const c of changes) {
      if (c.op === 'delete') {
        await repo.deleteSecret(trx, target.id, c.name);
        events.push({ action: 'secret.deleted', target, secretName: c.name });
        continue;
      }
      if (!dataKey) {
        const dk = await currentDataKey(trx, target.id);
        if (!dk) throw new Error(`user ${target.id} has no data key`);
        dataKey = keyring.unwrapDataKey(target.id, dk.version, dk.wrapped);
      }
      const ciphertext = keyring.seal(dataKey, c.name, c.value);
      await repo.upsertSecret(
        trx,
        {
          user_id: target.id,
          name: c.name,
          ciphertext,
          key_version: dataKey.version,
          tag: newTag(),
          revision: next,
          written_by: caller.kind === 'user' ? caller.credentialId : null,
        },
        now,
      );
      events.push({
        action: existing.has(c.name) ? 'secret.replaced' : 'secret.created',
        target,
        secretName: c.name,
      });
    }
    await audit.record(trx, caller, events);
    return { revision: next, existed: existing };
  }

  return {
    /** The caller's own secrets: names and metadata, never values. */
    async list(caller: Caller): Promise<SecretList> {
      const me = requireUser(caller);
      return listOf(store.db, me.user.id);
    },

    /** Creates or replaces one of the caller's secrets. */
    async put(
      caller: Caller,
      name: string,
      value: string,
    ): Promise<{ revision: number; secret: SecretInfo; created: boolean }> {
      const me = requireUser(caller);
      const [change] = validateChanges([{ op: 'put', name, value }]);
      return store.transaction(async (trx) => {
        const { revision, existed } = await applyChanges(trx, caller, me.user, [change!]);
        const [meta] = await repo.findSecretMeta(trx, me.user.id, [name]);
        return { revision, secret: info(meta!), created: !existed.has(name) };
      });
    },

    async remove(caller: Caller, name: string): Promise<{ revision: number }> {
      const me = requireUser(caller);
      checkSecretName(name);
      const { revision } = await store.transaction((trx) =>
        applyChanges(trx, caller, me.user, [{ op: 'delete', name }]),
      );
      return { revision };
    },

    /** Adds, replaces and deletes in one transaction, refused with 409 if based on a stale revision. */
    async batch(caller: Caller, expectedRevision: number, changes: SecretChange[]): Promise<SecretList> {
      const me = requireUser(caller);
      const valid = validateChanges(changes);
      return store.transaction(async (trx) => {
        await applyChanges(trx, caller, me.user, valid, expectedRevision);
        return listOf(trx, me.user.id);
      });
    },

    /**
     * Decrypts all of the caller's secrets for their own code. The read is audited durably before any
     * value is decrypted; values are not kept anywhere after this returns.
     */
    async revealForOwnerCode(caller: Caller): Promise<{ key: string; value: string }[]> {
      const me = requireOwnCredential(caller, 'reading secret values');
      const { rows, keys } = await sealedOf(me.user.id);
      // Opened only once the read is on record: no plaintext while waiting, none if the record fails.
      await audit.recordRead({ caller: me, names: namesOf(rows) });
      return openAll(me.user.id, rows, keys);
    },

    /**
     * A job's runner's values, for one purpose: masking them in that job's log. Nothing leaves the
     * server; the job runner holds them only while the job runs. Not an audited read: no code got them.
     */
    async valuesForMasking(userId: string): Promise<string[]> {
      const { rows, keys } = await sealedOf(userId);
      return openAll(userId, rows, keys).map((s) => s.value);
    },

    /**
     * A user's values with their names, for one purpose: keeping them out of what a save of theirs
     * would store (a notebook's cells). Nothing leaves the server; the caller drops them after the check.
     */
    async valuesForChecking(userId: string): Promise<{ key: string; value: string }[]> {
      const { rows, keys } = await sealedOf(userId);
      return openAll(userId, rows, keys);
    },

    /** DSS read view: one marker per secret, for the owner or an administrator. Never a value. */
    async markers(
      caller: Caller,
      target: User,
    ): Promise<{ revision: number; entries: { name: string; value: string; secret: true }[] }> {
      const self = caller.kind === 'user' && caller.user.id === target.id;
      if (!self && !isAdminCaller(caller))
        throw new NotFound(`user ${JSON.stringify(target.login)} does not exist`);
      // The revision first: a secret written between the two reads then counts as unseen (kept by a
      // save), never as seen (which a save that leaves it out would delete).
      const revision = await revisionOf(store.db, target.id);
      const metas = await repo.listSecretMeta(store.db, target.id);
      return {
        revision,
        entries: metas.map((m) => ({ name: m.name, value: markerOf(m.tag), secret: true as const })),
      };
    },

    /** Checks a DSS secrets list before any transaction: names, values, duplicates. */
    validateDssEntries(
      entries: readonly { name: unknown; value: unknown }[],
    ): { name: string; value: string }[] {
      const seen = new Set<string>();
      return entries.map((e) => {
        const name = checkSecretName(e.name);
        if (seen.has(name))
          throw new Invalid(`secret ${JSON.stringify(name)} appears more than once in secrets`);
        seen.add(name);
        if (typeof e.value !== 'string')
          throw new Invalid(`value of secret ${JSON.stringify(name)} must be a string`);
        return { name, value: e.value };
      });
    },

    /**
     * Applies a DSS secrets list inside the caller's transaction, which already holds the user's row.
     * `readRevision` is the secrets revision the client's GET saw (docs/adr/0015). A secret written
     * since then by another credential is one this client never saw; one it wrote itself (a settings
     * object saved more than once) it knows. So:
     * - a current marker keeps the stored value; an older marker of a secret written or deleted since
     *   keeps what that later write left; any other marker is refused;
     * - a plain value is new plaintext, unless another credential wrote the secret since: a conflict;
     * - a stored secret left out is deleted if the client saw it as it is. One another credential
     *   created since is kept (the client never saw it); one replaced since, or one this client created
     *   since and now leaves out, is a conflict: what it meant cannot be told apart from a lost update.
     * Without a read revision the client saw nothing it could have left out, so leaving a stored secret
     * out is refused rather than taken as a deletion.
     */
    async applyDssEntries(
      trx: Db,
      caller: Caller,
      target: User,
      entries: { name: string; value: string }[],
      readRevision: number | undefined,
    ): Promise<void> {
      const self = caller.kind === 'user' && caller.user.id === target.id;
      if (!self && !isAdminCaller(caller)) throw new Forbidden("you cannot change another user's secrets");
      const revision = await revisionOf(trx, target.id);
      const read = readRevision ?? revision;
      if (read > revision)
        throw new Invalid('cofferReadVersion is newer than the stored settings; send back what GET returned');
      const credential = caller.kind === 'user' ? caller.credentialId : undefined;
      const current = new Map((await repo.listSecretMeta(trx, target.id)).map((m) => [m.name, m]));
      const changes: SecretChange[] = [];
      const conflicts: string[] = [];
      const listed = new Set<string>();
      for (const e of entries) {
        listed.add(e.name);
        const stored = current.get(e.name);
        const writtenSince = stored ? stored.revision > read : revision > read;
        if (e.value.startsWith(MARKER_PREFIX)) {
          if (stored && markerOf(stored.tag) === e.value) continue;
          if (writtenSince) continue;
          throw new Invalid(
            `secret ${JSON.stringify(e.name)} carries a stored-value marker that is not its current one; send the plain value to change it`,
          );
        }
        if (stored && writtenSince && stored.written_by !== credential) conflicts.push(e.name);
        else changes.push({ op: 'put', name: e.name, value: checkSecretValue(e.name, e.value) });
      }
      const leftOut: string[] = [];
      for (const [name, m] of current) {
        if (listed.has(name)) continue;
        const mine = m.written_by === credential;
        if (m.created_revision > read && !mine) continue;
        if (m.revision > read) conflicts.push(name);
        else if (readRevision === undefined) leftOut.push(name);
        else changes.push({ op: 'delete', name });
      }
      if (conflicts.length > 0) {
        throw new Conflict(
          `${conflicts.length === 1 ? 'secret' : 'secrets'} ${conflicts.map((n) => JSON.stringify(n)).join(', ')} changed after these settings were read; nothing was saved. Read the settings again and repeat your change.`,
          { secrets: conflicts, currentRevision: revision },
        );
      }
      if (leftOut.length > 0) {
        throw new Invalid(
          `this save leaves out stored ${leftOut.length === 1 ? 'secret' : 'secrets'} ${leftOut.map((n) => JSON.stringify(n)).join(', ')} but does not say which settings it read (cofferReadVersion); nothing was saved. Send back the object GET returned, with cofferReadVersion as it was.`,
        );
      }
      await applyChanges(trx, caller, target, changes);
    },

    async activity(caller: Caller, opts: { limit: number; beforeId?: number | undefined }) {
      const me = requireUser(caller);
      return audit.activity(me.user.id, opts);
    },
  };
}
