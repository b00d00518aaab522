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

  it('pretty (at a terminal) writes readable lines, not JSON, and redacts the same fields', () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const logger = createLogger({ logLevel: 'info' }, sink, { pretty: true });
    logger.info(
      { password: 'pw-s3cr3t', req: { headers: { authorization: 'Bearer tok-s3cr3t' } } },
      'signed in',
    );
    logger.info({ databaseUrl: 'postgres://coffer:s3cr3t-pw@db/coffer' }, 'starting');
    logger.warn('No users yet');
    // eslint-disable-next-line no-control-regex -- colour codes, as a terminal gets them
    const text = out.replace(/\x1b\[[0-9;]*m/g, '');
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: signed in$/m);
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: No users yet$/m);
    expect(() => JSON.parse(text.split('\n')[0]!)).toThrow();
    expect(text).toContain('[redacted]');
    expect(text).not.toMatch(/s3cr3t/);
  });
});
