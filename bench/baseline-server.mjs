// Baseline servers for the benchmark (bench/run.mjs): a bare Fastify app answering
// GET /dip/publicapi/auth/info with the same JSON shape Coffer returns (auth/info with 20 {key, value}).
//
//   node bench/baseline-server.mjs <spec.json> crypto   the crypto-inclusive ceiling: every request opens
//                                                       the 20 values with AES-256-GCM (each with its own AAD)
//   node bench/baseline-server.mjs <spec.json> plain    the same JSON, values kept in plaintext
//
// spec.json: { "info": { the auth/info fields Coffer returned, without secrets },
//              "secrets": [{ "key": "...", "value": "..." }, ...] }  (so the JSON is the same as Coffer's).
// No auth, no database, no audit, no hooks, no logger: only routing, the crypto (in `crypto` mode) and
// the same response schema (so serialisation costs the same). Keys and sealed blobs are made in memory at
// start, in Coffer's blob layout: version (1) ‖ keyId (4) ‖ nonce (12) ‖ ciphertext ‖ tag (16).
// Listens on 127.0.0.1, port 0 (or BASELINE_PORT), and prints one JSON line {"port": N} on stdout.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const [specPath, mode] = process.argv.slice(2);
if (!specPath || (mode !== 'crypto' && mode !== 'plain')) {
  process.stderr.write('usage: node bench/baseline-server.mjs <spec.json> crypto|plain\n');
  process.exit(64);
}
const spec = JSON.parse(readFileSync(specPath, 'utf8'));

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + 4 + NONCE_BYTES;
const KEY_VERSION = 1;
const ownerId = randomBytes(16).toString('hex');
const dataKey = randomBytes(32);

/** Same construction as Coffer's associated data: purpose, then length-prefixed fields. */
function associatedData(purpose, fields) {
  const parts = [Buffer.from(purpose, 'utf8')];
  for (const f of fields) {
    const b = Buffer.from(String(f), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}

function seal(key, keyId, aad, plaintext) {
  const nonce = randomBytes(NONCE_BYTES);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(1, 0);
  header.writeUInt32BE(keyId, 1);
  nonce.copy(header, 5);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.concat([header.subarray(0, 5), aad]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}

// Prepared once: per secret, its sealed blob and its full AAD (blob header prefix ‖ context).
const sealed = spec.secrets.map(({ key, value }) => {
  const context = associatedData('coffer/secret/v1', [ownerId, key, KEY_VERSION]);
  const blob = seal(dataKey, KEY_VERSION, context, Buffer.from(value, 'utf8'));
  return { name: key, blob, aad: Buffer.concat([blob.subarray(0, 5), context]) };
});

function openAll() {
  return sealed.map(({ name, blob, aad }) => {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, blob.subarray(5, HEADER_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(aad);
    decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(blob.subarray(HEADER_BYTES, blob.length - TAG_BYTES)),
      decipher.final(),
    ]);
    return { key: name, value: plain.toString('utf8') };
  });
}

const plainSecrets = spec.secrets.map(({ key, value }) => ({ key, value }));

// Self-check: the sealed blobs open to the spec's values.
const opened = openAll();
for (let i = 0; i < opened.length; i++) {
  if (opened[i].key !== spec.secrets[i].key || opened[i].value !== spec.secrets[i].value) {
    process.stderr.write(`baseline self-check failed for secret #${i}\n`);
    process.exit(70);
  }
}

const AuthInfo = {
  type: 'object',
  required: ['authIdentifier', 'authSource', 'via', 'groups', 'userProfile', 'associatedDSSUser'],
  properties: {
    authIdentifier: { type: 'string' },
    authSource: { type: 'string' },
    via: { type: 'array', items: { type: 'string' } },
    groups: { type: 'array', items: { type: 'string' } },
    userProfile: { type: 'string' },
    associatedDSSUser: { type: 'string' },
    secrets: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'value'],
        properties: { key: { type: 'string' }, value: { type: 'string' } },
      },
    },
  },
};

const app = Fastify({ logger: false });
app.get('/dip/publicapi/auth/info', {
  schema: { response: { 200: AuthInfo } },
  handler: async (_req, reply) => {
    void reply.header('cache-control', 'no-store');
    return {
      ...spec.info,
      // A fresh array per request in both modes, as Coffer builds one per request.
      secrets: mode === 'crypto' ? openAll() : plainSecrets.map((s) => ({ key: s.key, value: s.value })),
    };
  },
});
app.get('/healthz', async () => ({ status: 'ok' }));

const stop = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

await app.listen({ host: '127.0.0.1', port: Number(process.env.BASELINE_PORT ?? 0) });
process.stdout.write(JSON.stringify({ port: app.server.address().port, mode }) + '\n');
