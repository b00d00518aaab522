import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

describe('the logger', () => {
  it('never writes the database password: not from a config, nor from a pool client on an error', () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const logger = createLogger({ logLevel: 'info' }, sink);
    const err = Object.assign(new Error('Connection terminated unexpectedly'), {
      client: { connectionParameters: { user: 'coffer', password: 's3cr3t-pw', host: 'db' } },
    });
    logger.error({ err, config: { databaseUrl: 'postgres://coffer:s3cr3t-pw@db/coffer' } }, 'pool error');
    logger.info({ databaseUrl: 'postgres://coffer:s3cr3t-pw@db/coffer' }, 'starting');
    expect(out).toContain('Connection terminated unexpectedly');
    expect(out).not.toContain('s3cr3t-pw');
  });
});
