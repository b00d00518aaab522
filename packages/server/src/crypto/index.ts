export { Keyring, DataKey, DecryptionError, blobKeyId, keyCheckOf } from './keyring.js';
export { newToken, parseToken, tokenMatches, newId, newTag, safeEqual, type TokenPrefix } from './tokens.js';
export { hashPassword, verifyPassword } from './passwords.js';
export { loadMasterKey, parseMasterKey, generateMasterKey, MasterKeyError } from './master-key.js';
export { sha256Digest, digestOf } from './digest.js';
