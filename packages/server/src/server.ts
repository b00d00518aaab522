import type { Logger } from 'pino';
import { buildApp, createServices } from './app.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { loadMasterKey, parseMasterKey, type Keyring } from './crypto/index.js';
import { openKeyring } from './modules/keys/key-versions.js';
import { createLogger } from './logger.js';
import { openStore, storeOptionsOf, type Store, type StoreLog } from './store/store.js';
import { StoreCannotWrite } from './store/unavailable.js';

/**
 * Opens the store and the keyring together, and refuses to go on if the master keys are not the ones
 * the store was written with (see modules/keys/key-versions.ts): a wrong key must never be used to
 * write, or values become unreadable.
 */
export async function openRuntime(
  config: Config,
  clock: Clock = systemClock,
  log?: StoreLog,
): Promise<{ store: Store; keyring: Keyring; newKeyFile?: string }> {
  const store = await openStore({ ...storeOptionsOf(config), log });
  let newKeyFile: string | undefined;
  try {
    const versions = await store.db
      .selectFrom('master_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const users = await store.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const storeIsNew = Number(versions.n) === 0 && Number(users.n) === 0;
    const current = await loadMasterKey(config.masterKey, storeIsNew, (p) => (newKeyFile = p));
    const previous = config.previousMasterKeys.map((k, i) =>
      parseMasterKey(k, `COFFER_PREVIOUS_MASTER_KEYS (key ${i + 1})`),
    );
    const keyring = await openKeyring(store, current, previous, clock.now());
    return { store, keyring, ...(newKeyFile ? { newKeyFile } : {}) };
  } catch (err) {
    await store.close();
    throw store.kind === 'sqlite' && StoreCannotWrite.matches(err)
      ? new StoreCannotWrite(config.dataDir, err)
      : err;
  }
}

/** What the operator is told when a new master key file was written. */
export function newKeyWarning(keyFile: string): string {
  return `A new master key was written to ${keyFile}. Back it up now, somewhere other than this machine: every secret in this store is sealed under it, and without it no secret (nor any backup) can ever be read again.`;
}

export async function startServer(config: Config, opts: { logger?: Logger; clock?: Clock } = {}) {
  const logger = opts.logger ?? createLogger(config);
  const clock = opts.clock ?? systemClock;
  const { store, keyring, newKeyFile } = await openRuntime(config, clock, logger);
  if (newKeyFile) logger.warn({ keyFile: newKeyFile }, newKeyWarning(newKeyFile));
  const { app } = await buildApp({ config, store, keyring, clock, logger });
  const address = await app.listen({ host: config.host, port: config.port });
  const users = await createServices({ config, store, keyring, clock }).users.count();
  if (users === 0) {
    logger.warn(
      'No users yet. Create the first administrator with:  npx coffer users create <login> --admin   (it reads the password from stdin)',
    );
  }
  logger.info(
    { address, store: store.kind, dataDir: config.databaseUrl ? undefined : config.dataDir },
    'Coffer is listening',
  );
  return {
    app,
    address,
    async close() {
      await app.close();
      await store.close();
    },
  };
}
