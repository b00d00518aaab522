import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../store/store.js';
import { createAuditPruner } from './audit.pruner.js';

/*
 * A pass that fails (the store times out) is reported to whoever asked for it and to the log, and
 * leaves no other promise rejecting unhandled: in Node that ends the server.
 */
describe('audit pruner, when the store fails', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  it('rejects the pass that failed, and nothing else', async () => {
    process.on('unhandledRejection', onUnhandled);
    const failing = new Error('timeout exceeded when trying to connect');
    const db = new Proxy(
      {},
      {
        get: () => () => {
          throw failing;
        },
      },
    );
    const pruner = createAuditPruner({
      store: { db, kind: 'postgres' } as unknown as Store,
      clock: { now: () => Date.now() },
      logger: { info: () => {}, warn: () => {} } as never,
      retentionDays: 7,
    });
    await expect(pruner.pruneNow()).rejects.toBe(failing);
    await expect(pruner.pruneNow()).rejects.toBe(failing);
    // Unhandled rejections are reported after the microtasks that could still handle them.
    await new Promise((r) => setTimeout(r, 50));
    expect(unhandled).toEqual([]);
    await pruner.stop();
  });
});
