import type { Logger } from 'pino';
import { buildApp, createServices } from './app.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { Keyring, loadMasterKey, MasterKeyError } from './crypto/index.js';
import { createLogger } from './logger.js';
import { openStore, type Store } from './store/store.js';

const KEY_CHECK = 'master_key_check';

/**
 * Opens the store and the keyring together, and refuses to go on if the master key is not the one the
 * store was written with: a wrong key must never be used to write, or values become unreadable.
 */
export async function openRuntime(
  config: Config,
  clock: Clock = systemClock,
): Promise<{ store: Store; keyring: Keyring }> {
  const store = await openStore({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    poolMax: config.databasePoolMax,
  });
  try {
    const check = await store.db
      .selectFrom('meta')
      .select('value')
      .where('key', '=', KEY_CHECK)
      .executeTakeFirst();
    const userCount = await store.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const storeIsNew = !check && Number(userCount.n) === 0;
    const keyring = new Keyring(await loadMasterKey(config.masterKey, storeIsNew));
    if (check) {
      if (!keyring.matchesKeyCheck(check.value)) {
        throw new MasterKeyError(
          'The master key does not match the one this store was created with; refusing to start. Use the original key ' +
            '(every replica must use the same one).',
        );
      }
    } else {
      await store.db
        .insertInto('meta')
        .values({ key: KEY_CHECK, value: keyring.keyCheck() })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
      const again = await store.db
        .selectFrom('meta')
        .select('value')
        .where('key', '=', KEY_CHECK)
        .executeTakeFirstOrThrow();
      if (!keyring.matchesKeyCheck(again.value))
        throw new MasterKeyError('another process initialised this store with a different master key');
    }
    void clock;
    return { store, keyring };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** Starts the HTTP server and returns a handle to stop it. */
export async function startServer(config: Config, opts: { logger?: Logger; clock?: Clock } = {}) {
  const logger = opts.logger ?? createLogger(config);
  const clock = opts.clock ?? systemClock;
  const { store, keyring } = await openRuntime(config, clock);
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
