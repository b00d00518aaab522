import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { Store } from '../../store/store.js';
import { pruneTrailWindow, pruneUnusedShared, SHARED_TABLES, TRAIL_TABLES } from './audit.repo.js';
import { SHARED_STAMP_INTERVAL_MS } from './audit.service.js';

/*
 * Audit retention (docs/adr/0016). In the background, each server removes the records older than the
 * retention period, oldest first, in small batches, and then the shared rows (subjects, callers, name
 * lists) that no kept record names any more. Between two batches it rests as long as the last batch
 * took, so pruning never takes more than about half of the store's time for writes, and reads, whose
 * records go through the same writer, wait at most for one batch. Several replicas may prune at once:
 * a batch only removes what is still there and old enough, so the second one to get there removes
 * nothing.
 */

const DAY_MS = 86_400_000;
/**
 * Shared rows are kept this long after their last_at beyond the records' cutoff: a server moves a
 * shared row's last_at at most once an hour, and clocks of replicas may differ a little.
 */
const SHARED_MARGIN_MS = SHARED_STAMP_INTERVAL_MS + DAY_MS;
/** How far ahead of this server's clock another's may run before its records count as dated ahead. */
const CLOCK_SKEW_MS = 5 * 60_000;

export interface PruneSummary {
  /** Records removed from audit_records, and from audit_events (written before migration 0010). */
  readonly records: number;
  /** Subjects, callers and name lists no longer named by any record. */
  readonly shared: number;
  /** Records older than this (epoch ms) were removed. */
  readonly cutoff: number;
  /** False when the pass stopped early because the server is stopping. */
  readonly complete: boolean;
}

export interface AuditPruner {
  /** Prunes now, then every interval, until stop(). */
  start(): void;
  /** Runs one pass (after the one under way, if any) and answers what it removed. */
  pruneNow(): Promise<PruneSummary>;
  /** Ends the pass under way after its current batch, and schedules no other. */
  stop(): Promise<void>;
}

export interface AuditPrunerOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  readonly retentionDays: number;
  /** Most rows one batch removes. */
  readonly batchRows?: number;
  /** Time between two passes (each one is moved by up to a tenth, so replicas drift apart). */
  readonly intervalMs?: number;
  /** Called after each batch with the rows it removed; a pass waits for it (tests watch a pass with it). */
  readonly afterBatch?: (removed: number) => void | Promise<void>;
}

export function createAuditPruner(opts: AuditPrunerOptions): AuditPruner {
  const { store, clock, logger } = opts;
  const batchRows = opts.batchRows ?? 1000;
  const intervalMs = opts.intervalMs ?? 10 * 60_000;
  const retentionMs = opts.retentionDays * DAY_MS;
  let stopping = false;
  const rest = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<PruneSummary> | undefined;

  /** Rests as long as the last batch took, so pruning takes at most about half of the store's writes. */
  const restAfter = (startedAt: number) =>
    sleep(Math.max(1, performance.now() - startedAt), undefined, { signal: rest.signal }).catch(
      () => undefined,
    );

  /**
   * Removes old records of one table, window after window from its first id, until a window holds none
   * (ids follow commit order, so the rest is within retention too) or the table ends. A window of
   * nothing old that holds a record dated ahead of now is stepped over instead: such records come from
   * a clock that ran fast, and older ones may follow them. Answers how many went and whether it got
   * to the end.
   */
  async function pruneTrail(
    table: (typeof TRAIL_TABLES)[number],
    before: number,
  ): Promise<[number, boolean]> {
    let removed = 0;
    for (let afterId = 0; !stopping;) {
      const started = performance.now();
      const window = await pruneTrailWindow(store.db, table, { afterId, before, limit: batchRows });
      if (!window) return [removed, true];
      removed += window.removed;
      await opts.afterBatch?.(window.removed);
      if (window.removed === 0 && window.newest <= clock.now() + CLOCK_SKEW_MS) return [removed, true];
      afterId = window.lastId;
      await restAfter(started);
    }
    return [removed, false];
  }

  /** Removes the shared rows of one table last named before `before`, a batch at a time. */
  async function pruneShared(
    table: (typeof SHARED_TABLES)[number],
    before: number,
  ): Promise<[number, boolean]> {
    let removed = 0;
    while (!stopping) {
      const started = performance.now();
      const n = await pruneUnusedShared(store.db, table, { before, limit: batchRows });
      removed += n;
      await opts.afterBatch?.(n);
      if (n < batchRows) return [removed, true];
      await restAfter(started);
    }
    return [removed, false];
  }

  async function pass(): Promise<PruneSummary> {
    const started = performance.now();
    const cutoff = clock.now() - retentionMs;
    let records = 0;
    let shared = 0;
    let complete = true;
    for (const table of TRAIL_TABLES) {
      const [n, done] = await pruneTrail(table, cutoff);
      records += n;
      complete &&= done;
    }
    // Only once every old record is gone can a shared row that none of the others names go too.
    if (complete)
      for (const table of SHARED_TABLES) {
        const [n, done] = await pruneShared(table, cutoff - SHARED_MARGIN_MS);
        shared += n;
        complete &&= done;
      }
    logger.info(
      {
        removed: { records, shared },
        olderThan: new Date(cutoff).toISOString(),
        retentionDays: opts.retentionDays,
        complete,
        ms: Math.round(performance.now() - started),
      },
      complete ? 'audit trail pruned' : 'audit trail pruning stopped with the server',
    );
    return { records, shared, cutoff, complete };
  }

  function pruneNow(): Promise<PruneSummary> {
    const next = (current ?? Promise.resolve()).catch(() => undefined).then(pass);
    current = next;
    // Both ways: a `finally` here would be a second promise that rejects with the pass, unhandled, and
    // an unhandled rejection ends the process (a store timing out under load took a server down).
    const done = () => {
      if (current === next) current = undefined;
    };
    next.then(done, done);
    return next;
  }

  function schedule(delayMs: number): void {
    if (stopping) return;
    timer = setTimeout(() => {
      pruneNow()
        .catch((err: unknown) =>
          // One line, not a stack: a store that is down is already reported by the requests it fails.
          logger.warn(
            { err: (err as Error).message },
            'audit trail pruning failed; it is tried again at the next pass',
          ),
        )
        .finally(() => schedule(intervalMs * (0.9 + Math.random() * 0.2)));
    }, delayMs);
    timer.unref();
  }

  return {
    start: () => schedule(0),
    pruneNow,
    async stop() {
      stopping = true;
      clearTimeout(timer);
      rest.abort();
      await current?.catch(() => undefined);
    },
  };
}
