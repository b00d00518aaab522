import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/*
 * Envelope encryption for user secrets.
 *
 *   master key (32 bytes, never stored in the database; versioned, so it can be rotated)
 *     └─ wraps one data key per user (AES-256-GCM, AAD = owner + data-key version + master version)
 *          └─ seals each secret value (AES-256-GCM, AAD = owner + secret name + data-key version)
 *
 * Blob layout, for wrapped keys and sealed values alike:
 *   version (1 byte) ‖ keyId (4 bytes, big-endian) ‖ nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)
 * keyId is the version of the key that sealed the blob (master version for wrapped data keys, data-key
 * version for values), so rotation can tell which key a blob needs.
 *
 * The associated data binds a ciphertext to its place: a value copied to another user's row or renamed
 * fails authentication instead of decrypting under the wrong identity.
 */

const BLOB_VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + 4 + NONCE_BYTES;
export const KEY_BYTES = 32;

export class DecryptionError extends Error {
  constructor(message = 'ciphertext failed authentication') {
    super(message);
    this.name = 'DecryptionError';
  }
}

/** A per-user data key in memory. The raw key is not reachable from outside this module. */
export class DataKey {
  readonly #key: Buffer;
  constructor(
    readonly ownerId: string,
    readonly version: number,
    key: Buffer,
  ) {
    if (key.length !== KEY_BYTES) throw new Error('data key must be 32 bytes');
    this.#key = key;
  }
  /** @internal */ static raw(k: DataKey): Buffer {
    return k.#key;
  }
}

/**
 * The context a blob is bound to: the blob's version and key id (its first 5 bytes, authenticated
 * too), its purpose, then length-prefixed fields, so no choice of names can make two contexts encode
 * alike. A blob opens only under the context it was sealed with.
 */
function associatedData(keyId: number, purpose: string, fields: (string | number)[]): Buffer {
  const texts = fields.map(String);
  let size = 5 + Buffer.byteLength(purpose);
  for (const t of texts) size += 4 + Buffer.byteLength(t);
  const out = Buffer.allocUnsafe(size);
  out.writeUInt8(BLOB_VERSION, 0);
  out.writeUInt32BE(keyId, 1);
  let at = 5 + out.write(purpose, 5);
  for (const t of texts) {
    const len = out.write(t, at + 4);
    out.writeUInt32BE(len, at);
    at += 4 + len;
  }
  return out;
}

function seal(key: Buffer, keyId: number, aad: Buffer, plaintext: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(BLOB_VERSION, 0);
  header.writeUInt32BE(keyId, 1);
  nonce.copy(header, 5);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}

/** Reads the key id of a blob without opening it (used to pick the key, and by rotation). */
export function blobKeyId(blob: Uint8Array): number {
  if (blob.length < HEADER_BYTES + TAG_BYTES || blob[0] !== BLOB_VERSION) {
    throw new DecryptionError('unknown ciphertext format');
  }
  return ((blob[1]! << 24) | (blob[2]! << 16) | (blob[3]! << 8) | blob[4]!) >>> 0;
}

function open(key: Buffer, expectedKeyId: number, aad: Buffer, blobIn: Uint8Array): Buffer {
  const blob = Buffer.isBuffer(blobIn)
    ? blobIn
    : Buffer.from(blobIn.buffer, blobIn.byteOffset, blobIn.byteLength);
  if (blobKeyId(blob) !== expectedKeyId) throw new DecryptionError('ciphertext was sealed by another key');
  const nonce = blob.subarray(5, HEADER_BYTES);
  const tag = blob.subarray(blob.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([
      decipher.update(blob.subarray(HEADER_BYTES, blob.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw new DecryptionError();
  }
}

export interface WrappedDataKey {
  readonly wrapped: Buffer;
  readonly masterVersion: number;
}

/** A stored value that proves, without revealing it, which master key it was made from. */
export function keyCheckOf(masterKey: Buffer): string {
  return createHmac('sha256', masterKey).update('coffer/key-check/v1').digest('base64url');
}

/**
 * Holds the master key (and, during a rotation, the previous ones, by version) and the unwrapped data
 * keys it has opened. Only data keys are cached, never decrypted values: a value exists in plaintext
 * only for the request that asked for it.
 */
export class Keyring {
  readonly #master: Buffer;
  /** Every master key this keyring can unwrap with, by version: the current one and any previous. */
  readonly #masters = new Map<number, Buffer>();
  readonly #cache = new Map<string, DataKey>();
  readonly #cacheLimit: number;
  readonly #aads = new WeakMap<DataKey, Map<string, Buffer>>();

  constructor(
    masterKey: Buffer,
    readonly masterVersion = 1,
    opts: { cacheLimit?: number; previous?: ReadonlyMap<number, Buffer> } = {},
  ) {
    for (const k of [masterKey, ...(opts.previous?.values() ?? [])])
      if (k.length !== KEY_BYTES) throw new Error('master key must be 32 bytes');
    this.#master = Buffer.from(masterKey);
    for (const [v, k] of opts.previous ?? []) this.#masters.set(v, Buffer.from(k));
    this.#masters.set(masterVersion, this.#master);
    this.#cacheLimit = opts.cacheLimit ?? 10_000;
  }

  /** The key check of the current master key. */
  keyCheck(): string {
    return keyCheckOf(this.#master);
  }

  /** Constant-time comparison of a stored key check with this keyring's. */
  matchesKeyCheck(stored: string): boolean {
    const a = Buffer.from(this.keyCheck());
    const b = Buffer.from(stored);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Makes a fresh random data key for a user and returns it with its wrapped (storable) form. */
  newDataKey(ownerId: string, version: number): { dataKey: DataKey; wrapped: WrappedDataKey } {
    const raw = randomBytes(KEY_BYTES);
    const wrapped = seal(
      this.#master,
      this.masterVersion,
      this.#wrapAad(ownerId, version, this.masterVersion),
      raw,
    );
    const dataKey = new DataKey(ownerId, version, raw);
    this.#remember(wrapped, dataKey);
    return { dataKey, wrapped: { wrapped, masterVersion: this.masterVersion } };
  }

  /**
   * Opens a stored data key with the master key version that wrapped it (the blob says which); the
   * result is cached in memory, keyed by the wrapped bytes.
   */
  unwrapDataKey(ownerId: string, version: number, wrapped: Uint8Array): DataKey {
    const cacheKey = this.#cacheKey(wrapped);
    const hit = this.#cache.get(cacheKey);
    if (hit && hit.ownerId === ownerId && hit.version === version) return hit;
    const dataKey = new DataKey(ownerId, version, this.#unwrapRaw(ownerId, version, wrapped));
    this.#remember(wrapped, dataKey);
    return dataKey;
  }

  /** A stored data key wrapped again under the current master key: same data key, new wrapping. */
  rewrap(ownerId: string, version: number, wrapped: Uint8Array): Buffer {
    const raw = this.#unwrapRaw(ownerId, version, wrapped);
    return seal(this.#master, this.masterVersion, this.#wrapAad(ownerId, version, this.masterVersion), raw);
  }

  #unwrapRaw(ownerId: string, version: number, wrapped: Uint8Array): Buffer {
    const masterVersion = blobKeyId(wrapped);
    const master = this.#masters.get(masterVersion);
    if (!master)
      throw new DecryptionError(
        `data key is wrapped under master key version ${masterVersion}, which this server was not given`,
      );
    return open(master, masterVersion, this.#wrapAad(ownerId, version, masterVersion), wrapped);
  }

  /** Drops cached data keys of a user (after the user is deleted or the key is replaced). */
  forget(ownerId: string): void {
    for (const [k, v] of this.#cache) if (v.ownerId === ownerId) this.#cache.delete(k);
  }

  /** Seals one secret value, bound to its owner and name. */
  seal(dataKey: DataKey, name: string, plaintext: string): Buffer {
    return seal(
      DataKey.raw(dataKey),
      dataKey.version,
      this.#valueAad(dataKey, name),
      Buffer.from(plaintext, 'utf8'),
    );
  }

  /** Opens one secret value; throws DecryptionError if the blob was altered or moved. */
  open(dataKey: DataKey, name: string, blob: Uint8Array): string {
    return open(DataKey.raw(dataKey), dataKey.version, this.#valueAad(dataKey, name), blob).toString('utf8');
  }

  #wrapAad(ownerId: string, version: number, masterVersion: number): Buffer {
    return associatedData(masterVersion, 'coffer/data-key/v1', [ownerId, version, masterVersion]);
  }

  /**
   * Associated data is not secret and the same for every read of a value, so it is built once per data
   * key and name, and never written to afterwards.
   */
  #valueAad(dataKey: DataKey, name: string): Buffer {
    let byName = this.#aads.get(dataKey);
    if (!byName) this.#aads.set(dataKey, (byName = new Map()));
    let aad = byName.get(name);
    if (!aad) {
      if (byName.size >= 10_000) byName.clear();
      aad = associatedData(dataKey.version, 'coffer/secret/v1', [dataKey.ownerId, name, dataKey.version]);
      byName.set(name, aad);
    }
    return aad;
  }

  #cacheKey(wrapped: Uint8Array): string {
    return Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength).toString('base64');
  }

  #remember(wrapped: Uint8Array, dataKey: DataKey): void {
    if (this.#cache.size >= this.#cacheLimit) {
      const oldest = this.#cache.keys().next();
      if (!oldest.done) this.#cache.delete(oldest.value);
    }
    this.#cache.set(this.#cacheKey(wrapped), dataKey);
  }
}
