import pino, { type Logger } from 'pino';
import type { Config } from './config.js';

/**
 * Paths the logger blanks out wherever they appear. Services never log values in the first place; this
 * is the second line of defence for anything that logs a request, body or error object.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-dku-apiticket"]',
  'req.headers["x-coffer-csrf"]',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'value',
  '*.value',
  'secrets',
  '*.secrets',
  'key',
  '*.key',
  'token',
  '*.token',
  'body',
  '*.body',
  // The database URL holds its password; pg-pool puts the client (with its connection parameters) on
  // the errors it emits.
  'databaseUrl',
  '*.databaseUrl',
  'err.client',
];

export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): Logger {
  return pino({ level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
}
