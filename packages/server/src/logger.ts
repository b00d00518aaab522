import pino, { type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';
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

/**
 * The server's logger: JSON lines for log collectors, or with `pretty` (a person at a terminal) one
 * readable line per event. Redaction happens before either is written, so both hide the same fields.
 */
export function createLogger(
  config: Pick<Config, 'logLevel'>,
  destination?: pino.DestinationStream | NodeJS.WritableStream,
  opts: { pretty?: boolean } = {},
): Logger {
  const options = { level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (!opts.pretty) return pino(options, destination as pino.DestinationStream | undefined);
  return pino(
    options,
    PinoPretty({
      destination: destination ?? 1,
      // Synchronous, so the last lines before an exit (a refusal to start, a shutdown) are not lost.
      sync: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
    }),
  );
}
