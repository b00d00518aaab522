export { buildApp, createServices, type AppDeps, type Services } from './app.js';
export { loadConfig, ConfigError, type Config } from './config.js';
export { systemClock, type Clock } from './clock.js';
export { createLogger, REDACT_PATHS } from './logger.js';
export { openRuntime, startServer } from './server.js';
export { openStore, type Store } from './store/store.js';
export { generateMasterKey, MasterKeyError } from './crypto/index.js';
export { AppError } from './errors.js';
export type { Caller } from './modules/auth/caller.js';
