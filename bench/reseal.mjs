// Re-seal benchmark, the third part of `npm run bench`: how long `coffer keys rotate --reseal` takes to
// give every user a new data key and seal every value again, for 100 000 secrets (1 000 users × 100),
// on the embedded SQLite store, with the master key rotated at the same time. Prints the time and the
// rate. The store is seeded in-process through the services (no password hashing: users without a
// password), then the real CLI runs the rotation as an operator would. A sample is checked afterwards.
//
// Settings (environment): BENCH_RESEAL_USERS (1000), BENCH_RESEAL_PER_USER (100).

import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createServices, loadConfig, openRuntime } from '@coffer/server';
import { cleanup, installCleanupHandlers, intFromEnv, makeTempDir, phase, ROOT } from './lib.mjs';

installCleanupHandlers();
const USERS = intFromEnv('BENCH_RESEAL_USERS', 1000, 1, 1_000_000);
const PER_USER = intFromEnv('BENCH_RESEAL_PER_USER', 100, 1, 1000);
const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const operator = { kind: 'operator', name: 'cli' };
const clock = { now: () => Date.now() };

async function withServices(env, fn) {
  const config = loadConfig(env);
  const { store, keyring } = await openRuntime(config, clock);
  try {
    return await fn(createServices({ config, store, keyring, clock }), store);
  } finally {
    await store.close();
  }
}

async function main() {
  const dataDir = makeTempDir('coffer-bench-reseal-');
  const base = { COFFER_DATA_DIR: dataDir, COFFER_LOG_LEVEL: 'warn' };
  const sample = new Map();
  phase(`seeding ${USERS} users × ${PER_USER} secrets`);
  await withServices({ ...base, COFFER_MASTER_KEY: K1 }, async (s) => {
    for (let u = 0; u < USERS; u++) {
      const login = `reseal-${u}`;
      await s.users.create(operator, { login });
      const settings = await s.settings.get(operator, login);
      settings.secrets = Array.from({ length: PER_USER }, (_, i) => ({
        name: `secret-${i}`,
        value: `${login}/${i}/${randomBytes(12).toString('base64url')}`,
      }));
      await s.settings.save(operator, login, settings);
      if (u % 100 === 0)
        sample.set(
          login,
          settings.secrets.map((x) => x.value),
        );
      if ((u + 1) % 200 === 0) phase(`  ${u + 1}/${USERS} users`);
    }
  });

  phase('coffer keys rotate --reseal (new master key, every value sealed again)');
  const env = { ...process.env, ...base, COFFER_MASTER_KEY: K2, COFFER_PREVIOUS_MASTER_KEYS: K1 };
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, 'packages/cli/bin/coffer.js'), 'keys', 'rotate', '--reseal'],
    {
      env,
      encoding: 'utf8',
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`rotate failed (${r.status}):\n${r.stderr}`);
  const summary = r.stderr.trim().split('\n').pop();

  phase('checking a sample under the new key alone');
  await withServices({ ...base, COFFER_MASTER_KEY: K2 }, async (s, store) => {
    for (const [login, values] of sample) {
      const { id } = await store.db
        .selectFrom('users')
        .select('id')
        .where('login', '=', login)
        .executeTakeFirstOrThrow();
      const got = await s.secrets.valuesForMasking(id);
      if (JSON.stringify([...got].sort()) !== JSON.stringify([...values].sort()))
        throw new Error(`${login}: values differ after the re-seal`);
    }
  });

  const total = USERS * PER_USER;
  console.log('');
  console.log(`Re-seal: ${total} secrets of ${USERS} users on SQLite, master key rotated too`);
  console.log(`  ${summary}`);
  console.log(
    `  ${seconds.toFixed(1)} s in all (CLI start included): ${Math.round(total / seconds)} secrets/s, ${Math.round(USERS / seconds)} users/s`,
  );
  return 0;
}

let status = 1;
try {
  status = await main();
} catch (err) {
  console.error(`\nbench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  phase('cleaning up');
  await cleanup();
}
process.exit(status);
