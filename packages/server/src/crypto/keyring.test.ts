import { createDecipheriv, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DataKey, DecryptionError, KEY_BYTES, Keyring, blobKeyId } from './keyring.js';

/*
 * Known-answer vectors. These blobs were produced ONCE by the keyring as it stood when these tests were
 * written and are committed here as literals: nonces are random, so a blob cannot be re-made
 * deterministically, but every blob already stored in a database must keep opening. If one of the
 * "known-answer" tests fails, the on-disk format or the associated-data construction changed; that
 * needs a new blob version and a migration, not a new vector.
 */
const KAT = {
  masterKey: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
  masterVersion: 3,
  ownerId: '6f1e0c2ab34d4e5f8091a2b3c4d5e6f7',
  dataKeyVersion: 258, // 0x00000102: makes the byte order of keyId visible
  dataKey: '271349ab07221486521375733696a67ff50e635502592cd97016b117f908335e',
  name: 'warehouse/password',
  plaintext: 'hunter2 — pässwörd ✓',
  /** the data key above, wrapped by the master key for (ownerId, dataKeyVersion, masterVersion) */
  wrappedDataKey:
    '0100000003' + // version 1, keyId = master version 3
    '15a35140745c3c12878f7a11' + // nonce
    'c757bfd5ee6044f5971617353f0754e0298cedcbc63d7e6b62ae0d2c11c357cc' + // 32-byte ciphertext
    '8aaa9d869cdc479c82a05bb6043dc276', // tag
  /** the plaintext above, sealed under the data key for (ownerId, name, dataKeyVersion) */
  sealedValue:
    '0100000102' + // version 1, keyId = data-key version 258
    '5ca676db630e294a5a33d2de' + // nonce
    'b0a444d8f67ed914e3823d66893df9e813f9d6deb25009cba0cd' + // 26-byte ciphertext
    'b97a2d72bdfb7f4cfc7e6552fb3ce9e8', // tag
  /** HMAC-SHA256(master, "coffer/key-check/v1"), base64url */
  keyCheck: 'vID44_bVkc4BKj-_beIOPiyChXv-2Sw9F1IsBat2eGY',
} as const;

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const katMaster = (): Buffer => hex(KAT.masterKey);
const katKeyring = (opts?: { cacheLimit?: number }): Keyring =>
  new Keyring(katMaster(), KAT.masterVersion, opts);
const katDataKey = (): DataKey => new DataKey(KAT.ownerId, KAT.dataKeyVersion, hex(KAT.dataKey));

/** Length-prefixed field, as the associated data is specified: u32be(len(utf8)) ‖ utf8. */
function field(v: string | number): Buffer {
  const b = Buffer.from(String(v), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** An independent AES-256-GCM opener, written from the format description rather than from keyring.ts. */
function openByHand(key: Buffer, blob: Buffer, aadAfterHeader: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, blob.subarray(5, 17), { authTagLength: 16 });
  d.setAAD(Buffer.concat([blob.subarray(0, 5), aadAfterHeader]));
  d.setAuthTag(blob.subarray(blob.length - 16));
  return Buffer.concat([d.update(blob.subarray(17, blob.length - 16)), d.final()]);
}

/** Runs `open` on the blob with every single bit flipped in turn; returns the flips that did NOT throw DecryptionError. */
function bitFlipsThatSurvive(blob: Buffer, open: (b: Buffer) => unknown): string[] {
  const survivors: string[] = [];
  for (let i = 0; i < blob.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const copy = Buffer.from(blob);
      copy[i] = copy[i]! ^ (1 << bit);
      try {
        const result = open(copy);
        survivors.push(`byte ${i} bit ${bit}: returned ${JSON.stringify(String(result))}`);
      } catch (err) {
        if (!(err instanceof DecryptionError)) survivors.push(`byte ${i} bit ${bit}: threw ${String(err)}`);
      }
    }
  }
  return survivors;
}

/** Every strict prefix of the blob, and the blob with bytes appended; returns those that did not throw DecryptionError. */
function resizesThatSurvive(blob: Buffer, open: (b: Buffer) => unknown): string[] {
  const variants: [string, Buffer][] = [];
  for (let len = 0; len < blob.length; len++) variants.push([`truncated to ${len}`, blob.subarray(0, len)]);
  variants.push(['one zero byte appended', Buffer.concat([blob, Buffer.alloc(1)])]);
  variants.push(['last byte repeated', Buffer.concat([blob, blob.subarray(-1)])]);
  variants.push(['16 bytes appended', Buffer.concat([blob, Buffer.alloc(16, 0xaa)])]);
  variants.push(['blob doubled', Buffer.concat([blob, blob])]);
  variants.push(['tag duplicated', Buffer.concat([blob, blob.subarray(-16)])]);
  variants.push([
    'byte inserted after header',
    Buffer.concat([blob.subarray(0, 17), Buffer.alloc(1), blob.subarray(17)]),
  ]);
  const survivors: string[] = [];
  for (const [label, v] of variants) {
    try {
      open(v);
      survivors.push(label);
    } catch (err) {
      if (!(err instanceof DecryptionError)) survivors.push(`${label}: threw ${String(err)}`);
    }
  }
  return survivors;
}

function expectDecryptionError(fn: () => unknown): void {
  expect(fn).toThrow(DecryptionError);
}

describe('Keyring known-answer vectors (pin the blob format and the associated data)', () => {
  it('opens the committed wrapped data key to the committed data key bytes', () => {
    const dk = katKeyring().unwrapDataKey(KAT.ownerId, KAT.dataKeyVersion, hex(KAT.wrappedDataKey));
    expect(dk.ownerId).toBe(KAT.ownerId);
    expect(dk.version).toBe(KAT.dataKeyVersion);
    expect(DataKey.raw(dk).toString('hex')).toBe(KAT.dataKey);
  });

  it('opens the committed sealed value to the committed UTF-8 plaintext', () => {
    expect(katKeyring().open(katDataKey(), KAT.name, hex(KAT.sealedValue))).toBe(KAT.plaintext);
  });

  it('opens the committed sealed value with the data key obtained by unwrapping the committed wrapped key', () => {
    const kr = katKeyring();
    const dk = kr.unwrapDataKey(KAT.ownerId, KAT.dataKeyVersion, hex(KAT.wrappedDataKey));
    expect(kr.open(dk, KAT.name, hex(KAT.sealedValue))).toBe(KAT.plaintext);
  });

  it('opens the committed blobs when they are given as Uint8Array views into a larger buffer', () => {
    const kr = katKeyring();
    const embed = (h: string): Uint8Array => {
      const big = Buffer.concat([Buffer.alloc(7, 0xee), hex(h), Buffer.alloc(5, 0xee)]);
      return new Uint8Array(big.buffer, big.byteOffset + 7, big.length - 12);
    };
    const dk = kr.unwrapDataKey(KAT.ownerId, KAT.dataKeyVersion, embed(KAT.wrappedDataKey));
    expect(DataKey.raw(dk).toString('hex')).toBe(KAT.dataKey);
    expect(kr.open(dk, KAT.name, embed(KAT.sealedValue))).toBe(KAT.plaintext);
    expect(blobKeyId(embed(KAT.sealedValue))).toBe(KAT.dataKeyVersion);
  });

  it('the wrapped data key is plain AES-256-GCM with AAD = header[0..5] ‖ "coffer/data-key/v1" ‖ lp(owner) ‖ lp(version) ‖ lp(masterVersion)', () => {
    const aad = Buffer.concat([
      Buffer.from('coffer/data-key/v1', 'utf8'),
      field(KAT.ownerId),
      field(KAT.dataKeyVersion),
      field(KAT.masterVersion),
    ]);
    expect(openByHand(katMaster(), hex(KAT.wrappedDataKey), aad).toString('hex')).toBe(KAT.dataKey);
  });

  it('the sealed value is plain AES-256-GCM with AAD = header[0..5] ‖ "coffer/secret/v1" ‖ lp(owner) ‖ lp(name) ‖ lp(version)', () => {
    const aad = Buffer.concat([
      Buffer.from('coffer/secret/v1', 'utf8'),
      field(KAT.ownerId),
      field(KAT.name),
      field(KAT.dataKeyVersion),
    ]);
    expect(openByHand(hex(KAT.dataKey), hex(KAT.sealedValue), aad).toString('utf8')).toBe(KAT.plaintext);
  });

  it('the key check of the fixed master key is the committed HMAC-SHA256 of "coffer/key-check/v1"', () => {
    expect(katKeyring().keyCheck()).toBe(KAT.keyCheck);
    expect(createHmac('sha256', katMaster()).update('coffer/key-check/v1').digest('base64url')).toBe(
      KAT.keyCheck,
    );
  });
});

describe('Keyring blob header', () => {
  it('a sealed value is version byte 1 ‖ big-endian data-key version ‖ 12-byte nonce ‖ ciphertext of plaintext length ‖ 16-byte tag', () => {
    const kr = katKeyring();
    const dk = new DataKey('owner', 0x01020304, hex(KAT.dataKey));
    const plaintext = 'abc€'; // 6 UTF-8 bytes
    const blob = kr.seal(dk, 'n', plaintext);
    expect(blob.length).toBe(1 + 4 + 12 + 6 + 16);
    expect(blob[0]).toBe(1);
    expect(blob.subarray(1, 5).toString('hex')).toBe('01020304');
    expect(blobKeyId(blob)).toBe(0x01020304);
    // the nonce is the IV: opening by hand with bytes 5..17 as the IV works
    const aad = Buffer.concat([
      Buffer.from('coffer/secret/v1'),
      field('owner'),
      field('n'),
      field(0x01020304),
    ]);
    expect(openByHand(hex(KAT.dataKey), blob, aad).toString('utf8')).toBe(plaintext);
  });

  it('a wrapped data key is version byte 1 ‖ big-endian master version ‖ 12-byte nonce ‖ 32-byte ciphertext ‖ 16-byte tag', () => {
    const kr = new Keyring(katMaster(), 0xa0b0c0d);
    const { dataKey, wrapped } = kr.newDataKey('owner', 5);
    expect(wrapped.masterVersion).toBe(0xa0b0c0d);
    expect(wrapped.wrapped.length).toBe(1 + 4 + 12 + 32 + 16);
    expect(wrapped.wrapped[0]).toBe(1);
    expect(wrapped.wrapped.subarray(1, 5).toString('hex')).toBe('0a0b0c0d');
    expect(blobKeyId(wrapped.wrapped)).toBe(0xa0b0c0d);
    const aad = Buffer.concat([
      Buffer.from('coffer/data-key/v1'),
      field('owner'),
      field(5),
      field(0xa0b0c0d),
    ]);
    expect(openByHand(katMaster(), wrapped.wrapped, aad).equals(DataKey.raw(dataKey))).toBe(true);
  });

  it('the committed vectors carry the expected header bytes and blobKeyId reads their key ids', () => {
    const value = hex(KAT.sealedValue);
    const wrapped = hex(KAT.wrappedDataKey);
    expect([value[0], wrapped[0]]).toEqual([1, 1]);
    expect(value.subarray(1, 5).toString('hex')).toBe('00000102');
    expect(wrapped.subarray(1, 5).toString('hex')).toBe('00000003');
    expect(blobKeyId(value)).toBe(KAT.dataKeyVersion);
    expect(blobKeyId(wrapped)).toBe(KAT.masterVersion);
  });

  it('blobKeyId refuses a blob with another version byte or shorter than header plus tag, with DecryptionError', () => {
    const blob = hex(KAT.sealedValue);
    for (const version of [0, 2, 0xff]) {
      const other = Buffer.from(blob);
      other[0] = version;
      expectDecryptionError(() => blobKeyId(other));
    }
    expectDecryptionError(() => blobKeyId(Buffer.alloc(0)));
    expectDecryptionError(() => blobKeyId(blob.subarray(0, 32)));
    const minimal = Buffer.concat([blob.subarray(0, 17), Buffer.alloc(16)]);
    expect(blobKeyId(minimal)).toBe(KAT.dataKeyVersion);
  });

  it('the smallest blob (an empty value) is exactly 33 bytes and opens to the empty string', () => {
    const kr = katKeyring();
    const blob = kr.seal(katDataKey(), 'n', '');
    expect(blob.length).toBe(33);
    expect(kr.open(katDataKey(), 'n', blob)).toBe('');
  });
});

describe('Keyring tamper resistance', () => {
  it('flipping any single bit of any byte of the committed sealed value makes open throw DecryptionError', () => {
    const kr = katKeyring();
    const dk = katDataKey();
    expect(bitFlipsThatSurvive(hex(KAT.sealedValue), (b) => kr.open(dk, KAT.name, b))).toEqual([]);
  });

  it('flipping any single bit of any byte of the committed wrapped data key makes unwrapDataKey throw DecryptionError', () => {
    const kr = katKeyring();
    const blob = hex(KAT.wrappedDataKey);
    expect(
      bitFlipsThatSurvive(blob, (b) =>
        DataKey.raw(kr.unwrapDataKey(KAT.ownerId, KAT.dataKeyVersion, b)).toString('hex'),
      ),
    ).toEqual([]);
    // and the untouched blob still opens afterwards (no failed attempt poisoned the cache)
    expect(DataKey.raw(kr.unwrapDataKey(KAT.ownerId, KAT.dataKeyVersion, blob)).toString('hex')).toBe(
      KAT.dataKey,
    );
  });

  it('flipping any single bit of a freshly sealed empty value, and of a fresh wrapped key already in the cache, throws DecryptionError', () => {
    const kr = katKeyring();
    const { dataKey, wrapped } = kr.newDataKey('owner-x', 1); // the untampered bytes are now cached
    expect(bitFlipsThatSurvive(kr.seal(dataKey, 'n', ''), (b) => kr.open(dataKey, 'n', b))).toEqual([]);
    expect(bitFlipsThatSurvive(wrapped.wrapped, (b) => kr.unwrapDataKey('owner-x', 1, b))).toEqual([]);
  });

  it('truncating the sealed value to any shorter length, or extending it, makes open throw DecryptionError', () => {
    const kr = katKeyring();
    const dk = katDataKey();
    expect(resizesThatSurvive(hex(KAT.sealedValue), (b) => kr.open(dk, KAT.name, b))).toEqual([]);
    const empty = kr.seal(dk, 'n', '');
    expect(resizesThatSurvive(empty, (b) => kr.open(dk, 'n', b))).toEqual([]);
  });

  it('truncating the wrapped data key to any shorter length, or extending it, makes unwrapDataKey throw DecryptionError', () => {
    const kr = katKeyring();
    expect(
      resizesThatSurvive(hex(KAT.wrappedDataKey), (b) =>
        kr.unwrapDataKey(KAT.ownerId, KAT.dataKeyVersion, b),
      ),
    ).toEqual([]);
  });

  it('an altered blob throws DecryptionError whose message does not contain the plaintext', () => {
    const kr = katKeyring();
    const blob = hex(KAT.sealedValue);
    blob[20] = blob[20]! ^ 1;
    try {
      kr.open(katDataKey(), KAT.name, blob);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DecryptionError);
      expect((err as Error).name).toBe('DecryptionError');
      expect((err as Error).message).not.toContain('hunter2');
    }
  });
});

describe('Keyring moved-ciphertext protection', () => {
  const kr = katKeyring();
  const raw = hex(KAT.dataKey);
  const a = new DataKey('owner-a', 1, raw);
  const blob = kr.seal(a, 'db-password', 's3cret');

  it('a value sealed for (owner A, name N) opens as (owner A, name N)', () => {
    expect(kr.open(a, 'db-password', blob)).toBe('s3cret');
  });

  it('a value sealed for owner A does not open for owner B under the very same key bytes and name', () => {
    expectDecryptionError(() => kr.open(new DataKey('owner-b', 1, raw), 'db-password', blob));
  });

  it('a value sealed under name N does not open under another name of the same owner', () => {
    expectDecryptionError(() => kr.open(a, 'db-password2', blob));
    expectDecryptionError(() => kr.open(a, 'DB-PASSWORD', blob));
    expectDecryptionError(() => kr.open(a, '', blob));
  });

  it('a value sealed under data-key version 1 does not open under a version-2 data key, with the same or other key bytes', () => {
    expectDecryptionError(() => kr.open(new DataKey('owner-a', 2, raw), 'db-password', blob));
    expectDecryptionError(() => kr.open(new DataKey('owner-a', 2, Buffer.alloc(32, 7)), 'db-password', blob));
  });

  it('a value does not open when its keyId header is rewritten to match another data-key version (the header is authenticated)', () => {
    const relabelled = Buffer.from(blob);
    relabelled.writeUInt32BE(2, 1);
    expectDecryptionError(() => kr.open(new DataKey('owner-a', 2, raw), 'db-password', relabelled));
  });

  it('a value does not open under another data key of the same owner, name and version', () => {
    expectDecryptionError(() => kr.open(new DataKey('owner-a', 1, Buffer.alloc(32, 1)), 'db-password', blob));
  });

  it('a wrapped data key does not unwrap for another owner', () => {
    expectDecryptionError(() =>
      katKeyring().unwrapDataKey('someone-else', KAT.dataKeyVersion, hex(KAT.wrappedDataKey)),
    );
  });

  it('a wrapped data key does not unwrap as another data-key version', () => {
    expectDecryptionError(() =>
      katKeyring().unwrapDataKey(KAT.ownerId, KAT.dataKeyVersion + 1, hex(KAT.wrappedDataKey)),
    );
  });

  it('a wrapped data key does not unwrap under another master key with the same master version', () => {
    const other = new Keyring(Buffer.alloc(32, 0x42), KAT.masterVersion);
    expectDecryptionError(() =>
      other.unwrapDataKey(KAT.ownerId, KAT.dataKeyVersion, hex(KAT.wrappedDataKey)),
    );
  });

  it('a wrapped data key does not unwrap by a keyring holding the same master bytes under another master version', () => {
    const other = new Keyring(katMaster(), KAT.masterVersion + 1);
    expectDecryptionError(() =>
      other.unwrapDataKey(KAT.ownerId, KAT.dataKeyVersion, hex(KAT.wrappedDataKey)),
    );
  });

  it('a wrapped data key whose keyId header is rewritten to another master version still does not unwrap there', () => {
    const relabelled = hex(KAT.wrappedDataKey);
    relabelled.writeUInt32BE(KAT.masterVersion + 1, 1);
    const other = new Keyring(katMaster(), KAT.masterVersion + 1);
    expectDecryptionError(() => other.unwrapDataKey(KAT.ownerId, KAT.dataKeyVersion, relabelled));
  });

  it('a wrapped data key cannot be opened as a sealed value, nor a sealed value unwrapped as a data key (domain separation)', () => {
    // Same key bytes, owner and keyId on both sides: only the purpose string in the AAD differs.
    const master = katMaster();
    const krv = new Keyring(master, 1);
    const asDataKey = new DataKey('o', 1, master);
    const { wrapped } = krv.newDataKey('o', 1);
    expectDecryptionError(() => krv.open(asDataKey, '1', wrapped.wrapped));
    const sealed = krv.seal(asDataKey, '1', 'x'.repeat(32));
    expectDecryptionError(() => new Keyring(master, 1).unwrapDataKey('o', 1, sealed));
  });
});

describe('Keyring round trips', () => {
  const kr = new Keyring(Buffer.alloc(32, 9));
  const { dataKey } = kr.newDataKey('owner-1', 1);

  it.each([
    ['the empty string', ''],
    ['a single space', ' '],
    ['a single character', 'x'],
    ['a NUL character', '\u0000'],
    ['whitespace and newlines', ' \n\t\r\n '],
    ['JSON', '{"user":"a","password":"p@ss\\"w0rd"}'],
    ['non-ASCII text', 'Grüße, 世界! 🔐 пароль'],
  ])('seal then open returns %s unchanged', (_label, value) => {
    expect(kr.open(dataKey, 'name', kr.seal(dataKey, 'name', value))).toBe(value);
  });

  it('seal then open returns a 64 KiB multi-byte UTF-8 value unchanged', () => {
    const unit = 'aé€😀'; // 1 + 2 + 3 + 4 = 10 bytes
    const value = unit.repeat(6553) + 'abcdef'; // 65,536 bytes
    const bytes = Buffer.byteLength(value, 'utf8');
    expect(bytes).toBe(64 * 1024);
    const blob = kr.seal(dataKey, 'big', value);
    expect(blob.length).toBe(17 + bytes + 16);
    const opened = kr.open(dataKey, 'big', blob);
    expect(opened.length).toBe(value.length);
    expect(opened === value).toBe(true); // not toBe(): a failure would print 64 KiB twice
  });

  it.each([
    ['an emoji name', '🔑 prod 🐘'],
    ['a CJK name', '数据库密码'],
    ['a right-to-left name', 'كلمة السر'],
    ['a name with separators', 'a/b:c|d\u0000e'],
    ['the empty name', ''],
  ])('values under %s round-trip and are bound to that exact name', (_label, name) => {
    const blob = kr.seal(dataKey, name, 'v');
    expect(kr.open(dataKey, name, blob)).toBe('v');
    expectDecryptionError(() => kr.open(dataKey, name + ' ', blob));
  });

  it('names are bound byte-exactly: a value sealed under an NFC name does not open under the NFD spelling', () => {
    const nfc = 'café'.normalize('NFC');
    const nfd = 'café'.normalize('NFD');
    const blob = kr.seal(dataKey, nfc, 'v');
    expectDecryptionError(() => kr.open(dataKey, nfd, blob));
  });

  it('owner "a" with name "bc" and owner "ab" with name "c" are not interchangeable, even with identical key bytes', () => {
    const raw = Buffer.alloc(32, 3);
    const a = new DataKey('a', 1, raw);
    const ab = new DataKey('ab', 1, raw);
    const blobA = kr.seal(a, 'bc', 'value-a');
    const blobAb = kr.seal(ab, 'c', 'value-ab');
    expect(kr.open(a, 'bc', blobA)).toBe('value-a');
    expect(kr.open(ab, 'c', blobAb)).toBe('value-ab');
    expectDecryptionError(() => kr.open(ab, 'c', blobA));
    expectDecryptionError(() => kr.open(a, 'bc', blobAb));
  });

  it('a name that ends in digits and the data-key version are not interchangeable (name "n1" v23 vs name "n12" v3 share the key)', () => {
    // keyId already differs here, so also check the AAD by relabelling the header to the other version.
    const raw = Buffer.alloc(32, 4);
    const blob = kr.seal(new DataKey('o', 23, raw), 'n1', 'v');
    const relabelled = Buffer.from(blob);
    relabelled.writeUInt32BE(3, 1);
    expectDecryptionError(() => kr.open(new DataKey('o', 3, raw), 'n12', relabelled));
  });

  it('wrapped keys for owner "a1" version 2 and owner "a" version 12 are not interchangeable (no naive concatenation)', () => {
    const k = new Keyring(Buffer.alloc(32, 5), 1);
    const { wrapped } = k.newDataKey('a1', 2);
    expectDecryptionError(() => new Keyring(Buffer.alloc(32, 5), 1).unwrapDataKey('a', 12, wrapped.wrapped));
    expect(new Keyring(Buffer.alloc(32, 5), 1).unwrapDataKey('a1', 2, wrapped.wrapped).ownerId).toBe('a1');
  });

  it('a data key made by newDataKey unwraps, in a fresh keyring with the same master key, to the same key bytes', () => {
    const master = Buffer.alloc(32, 6);
    const { dataKey: dk, wrapped } = new Keyring(master, 2).newDataKey('owner-2', 4);
    expect(dk.ownerId).toBe('owner-2');
    expect(dk.version).toBe(4);
    const again = new Keyring(master, 2).unwrapDataKey('owner-2', 4, wrapped.wrapped);
    expect(DataKey.raw(again).equals(DataKey.raw(dk))).toBe(true);
    expect(new Keyring(master, 2).open(again, 'n', new Keyring(master, 2).seal(dk, 'n', 'ok'))).toBe('ok');
  });
});

describe('Keyring nonces and fresh keys', () => {
  const kr = new Keyring(Buffer.alloc(32, 10));
  const dk = new DataKey('o', 1, Buffer.alloc(32, 11));

  it('sealing the same plaintext twice under the same key and name gives different blobs that both open', () => {
    const one = kr.seal(dk, 'n', 'same');
    const two = kr.seal(dk, 'n', 'same');
    expect(one.equals(two)).toBe(false);
    expect(one.subarray(5, 17).equals(two.subarray(5, 17))).toBe(false);
    expect(kr.open(dk, 'n', one)).toBe('same');
    expect(kr.open(dk, 'n', two)).toBe('same');
  });

  it('a thousand seals of the same plaintext use a thousand distinct nonces', () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 1000; i++) nonces.add(kr.seal(dk, 'n', 'same').subarray(5, 17).toString('hex'));
    expect(nonces.size).toBe(1000);
  });

  it('newDataKey makes a different random key and a different wrapped blob each time, even for the same owner and version', () => {
    const one = kr.newDataKey('o', 1);
    const two = kr.newDataKey('o', 1);
    expect(DataKey.raw(one.dataKey).equals(DataKey.raw(two.dataKey))).toBe(false);
    expect(one.wrapped.wrapped.equals(two.wrapped.wrapped)).toBe(false);
  });

  it('the wrapped data key does not contain the raw data key bytes', () => {
    const { dataKey, wrapped } = kr.newDataKey('o', 1);
    expect(wrapped.wrapped.includes(DataKey.raw(dataKey))).toBe(false);
  });
});

describe('Keyring and DataKey construction', () => {
  it('Keyring refuses a master key that is not exactly 32 bytes', () => {
    expect(KEY_BYTES).toBe(32);
    for (const n of [0, 16, 31, 33, 64]) expect(() => new Keyring(Buffer.alloc(n))).toThrow(/32 bytes/);
  });

  it('DataKey refuses key bytes that are not exactly 32 bytes', () => {
    for (const n of [0, 31, 33]) expect(() => new DataKey('o', 1, Buffer.alloc(n))).toThrow(/32 bytes/);
  });

  it("Keyring copies the master key, so zeroing the caller's buffer afterwards does not change it", () => {
    const master = katMaster();
    const kr = new Keyring(master, KAT.masterVersion);
    master.fill(0);
    expect(kr.keyCheck()).toBe(KAT.keyCheck);
    expect(
      DataKey.raw(kr.unwrapDataKey(KAT.ownerId, KAT.dataKeyVersion, hex(KAT.wrappedDataKey))).toString('hex'),
    ).toBe(KAT.dataKey);
  });

  it('the master version defaults to 1', () => {
    const kr = new Keyring(Buffer.alloc(32));
    expect(kr.masterVersion).toBe(1);
    expect(blobKeyId(kr.newDataKey('o', 1).wrapped.wrapped)).toBe(1);
  });
});

describe('Keyring key check', () => {
  it('a keyring matches the key check of another keyring holding the same master key', () => {
    expect(katKeyring().matchesKeyCheck(new Keyring(katMaster(), 99).keyCheck())).toBe(true);
    expect(katKeyring().matchesKeyCheck(KAT.keyCheck)).toBe(true);
  });

  it('a keyring does not match the key check of another master key, differing in one bit', () => {
    const other = katMaster();
    other[31] = other[31]! ^ 1;
    expect(katKeyring().matchesKeyCheck(new Keyring(other).keyCheck())).toBe(false);
    expect(new Keyring(other).matchesKeyCheck(KAT.keyCheck)).toBe(false);
  });

  it('matchesKeyCheck is false for the empty string, a truncated, an extended or an altered check', () => {
    const kr = katKeyring();
    expect(kr.matchesKeyCheck('')).toBe(false);
    expect(kr.matchesKeyCheck(KAT.keyCheck.slice(0, -1))).toBe(false);
    expect(kr.matchesKeyCheck(KAT.keyCheck + 'A')).toBe(false);
    expect(kr.matchesKeyCheck('A' + KAT.keyCheck.slice(1))).toBe(false);
    expect(kr.matchesKeyCheck(` ${KAT.keyCheck}`)).toBe(false);
  });

  it('the key check does not contain the master key in hex, base64 or base64url, nor as bytes', () => {
    const master = katMaster();
    const check = katKeyring().keyCheck();
    expect(check).not.toContain(master.toString('hex'));
    expect(check).not.toContain(master.toString('base64'));
    expect(check).not.toContain(master.toString('base64url'));
    expect(check).not.toContain(master.toString('base64url').slice(0, 16));
    expect(Buffer.from(check, 'base64url').includes(master.subarray(0, 8))).toBe(false);
    expect(check).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('Keyring data-key cache', () => {
  it('unwrapping the same wrapped bytes twice returns the same cached DataKey object', () => {
    const kr = katKeyring();
    const one = kr.unwrapDataKey(KAT.ownerId, KAT.dataKeyVersion, hex(KAT.wrappedDataKey));
    const two = kr.unwrapDataKey(KAT.ownerId, KAT.dataKeyVersion, hex(KAT.wrappedDataKey));
    expect(two).toBe(one);
  });

  it('unwrapping the blob returned by newDataKey returns the very DataKey newDataKey made', () => {
    const kr = new Keyring(Buffer.alloc(32, 12));
    const { dataKey, wrapped } = kr.newDataKey('o', 1);
    expect(kr.unwrapDataKey('o', 1, Buffer.from(wrapped.wrapped))).toBe(dataKey);
  });

  it('a cached data key is not handed out for another owner or version: those requests still fail authentication', () => {
    const kr = katKeyring();
    const blob = hex(KAT.wrappedDataKey);
    kr.unwrapDataKey(KAT.ownerId, KAT.dataKeyVersion, blob);
    expectDecryptionError(() => kr.unwrapDataKey('someone-else', KAT.dataKeyVersion, blob));
    expectDecryptionError(() => kr.unwrapDataKey(KAT.ownerId, KAT.dataKeyVersion + 1, blob));
  });

  it("forget(owner) drops that owner's cached data keys, so the next unwrap opens the blob again", () => {
    const kr = katKeyring();
    const blob = hex(KAT.wrappedDataKey);
    const before = kr.unwrapDataKey(KAT.ownerId, KAT.dataKeyVersion, blob);
    kr.forget(KAT.ownerId);
    const after = kr.unwrapDataKey(KAT.ownerId, KAT.dataKeyVersion, blob);
    expect(after).not.toBe(before);
    expect(DataKey.raw(after).equals(DataKey.raw(before))).toBe(true);
  });

  it("forget(owner) keeps other owners' cached data keys, and forgetting an unknown owner is harmless", () => {
    const maker = new Keyring(Buffer.alloc(32, 13));
    const a = maker.newDataKey('owner-a', 1).wrapped.wrapped;
    const a2 = maker.newDataKey('owner-a', 2).wrapped.wrapped;
    const b = maker.newDataKey('owner-b', 1).wrapped.wrapped;
    const kr = new Keyring(Buffer.alloc(32, 13));
    const ka = kr.unwrapDataKey('owner-a', 1, a);
    const ka2 = kr.unwrapDataKey('owner-a', 2, a2);
    const kb = kr.unwrapDataKey('owner-b', 1, b);
    kr.forget('nobody');
    kr.forget('owner-a');
    expect(kr.unwrapDataKey('owner-b', 1, b)).toBe(kb);
    expect(kr.unwrapDataKey('owner-a', 1, a)).not.toBe(ka);
    expect(kr.unwrapDataKey('owner-a', 2, a2)).not.toBe(ka2);
  });

  it('with cacheLimit 2, unwrapping a third key evicts the oldest entry and keeps the two newest', () => {
    const maker = new Keyring(Buffer.alloc(32, 14));
    const w = [1, 2, 3].map((v) => maker.newDataKey(`o${v}`, v).wrapped.wrapped);
    const kr = new Keyring(Buffer.alloc(32, 14), 1, { cacheLimit: 2 });
    const k1 = kr.unwrapDataKey('o1', 1, w[0]!);
    const k2 = kr.unwrapDataKey('o2', 2, w[1]!);
    const k3 = kr.unwrapDataKey('o3', 3, w[2]!);
    expect(kr.unwrapDataKey('o3', 3, w[2]!)).toBe(k3);
    expect(kr.unwrapDataKey('o2', 2, w[1]!)).toBe(k2);
    const k1again = kr.unwrapDataKey('o1', 1, w[0]!);
    expect(k1again).not.toBe(k1);
    expect(DataKey.raw(k1again).equals(DataKey.raw(k1))).toBe(true);
  });

  it('with cacheLimit 2, keys made by newDataKey count against the limit too', () => {
    const kr = new Keyring(Buffer.alloc(32, 15), 1, { cacheLimit: 2 });
    const one = kr.newDataKey('o1', 1);
    const two = kr.newDataKey('o2', 1);
    const three = kr.newDataKey('o3', 1);
    expect(kr.unwrapDataKey('o1', 1, one.wrapped.wrapped)).not.toBe(one.dataKey);
    expect(kr.unwrapDataKey('o3', 1, three.wrapped.wrapped)).toBe(three.dataKey);
    // o1's re-unwrap pushed o2 out
    expect(kr.unwrapDataKey('o2', 1, two.wrapped.wrapped)).not.toBe(two.dataKey);
  });
});

describe('master key versions (rotation)', () => {
  const k1 = Buffer.alloc(KEY_BYTES, 1);
  const k2 = Buffer.alloc(KEY_BYTES, 2);
  const owner = 'owner-rotation';

  it('a keyring given the previous key opens data keys wrapped under either version', () => {
    const old = new Keyring(k1, 1);
    const { dataKey, wrapped } = old.newDataKey(owner, 1);
    const sealed = old.seal(dataKey, 'n', 'value');
    const both = new Keyring(k2, 2, { previous: new Map([[1, k1]]) });
    expect(both.open(both.unwrapDataKey(owner, 1, wrapped.wrapped), 'n', sealed)).toBe('value');
    const fresh = both.newDataKey(owner, 2);
    expect(blobKeyId(fresh.wrapped.wrapped)).toBe(2);
  });

  it('rewrap keeps the data key and moves its wrapping to the current version; the old key alone then fails', () => {
    const old = new Keyring(k1, 1);
    const { dataKey, wrapped } = old.newDataKey(owner, 7);
    const sealed = old.seal(dataKey, 'n', 'value');
    const both = new Keyring(k2, 2, { previous: new Map([[1, k1]]) });
    const rewrapped = both.rewrap(owner, 7, wrapped.wrapped);
    expect(blobKeyId(rewrapped)).toBe(2);
    const onlyNew = new Keyring(k2, 2);
    expect(onlyNew.open(onlyNew.unwrapDataKey(owner, 7, rewrapped), 'n', sealed)).toBe('value');
    expect(() => onlyNew.unwrapDataKey(owner, 7, wrapped.wrapped)).toThrow(
      /master key version 1, which this server was not given/,
    );
    expect(() => old.unwrapDataKey(owner, 7, rewrapped)).toThrow(DecryptionError);
  });

  it('a wrapped key relabelled with another master version does not open (the version is authenticated)', () => {
    const both = new Keyring(k2, 2, { previous: new Map([[1, k2]]) });
    const { wrapped } = both.newDataKey(owner, 1);
    const relabelled = Buffer.from(wrapped.wrapped);
    relabelled.writeUInt32BE(1, 1); // claims master version 1 (same key bytes here, so only the AAD differs)
    expect(() => both.unwrapDataKey(owner, 1, relabelled)).toThrow(DecryptionError);
  });
});
