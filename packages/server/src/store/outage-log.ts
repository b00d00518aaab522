import type { StoreHealth, StoreProblem } from './health.js';

export interface OutageLogger {
  error(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * Logs each store outage twice: when it begins (what is wrong and the driver's own error, no stack) and
 * when it ends (how long it lasted and how many requests were refused meanwhile). The requests refused
 * in between are not logged one by one: a database restart is one event, not hundreds of stacks.
 * Answers a function that stops the logging, and says so if an outage is still under way then.
 */
export function logStoreOutages(
  health: Pick<StoreHealth, 'watch' | 'problem' | 'outage'>,
  log: OutageLogger,
): () => void {
  const began = (problem: StoreProblem) =>
    log.error(
      { storeOutage: 'began', problem: problem.kind, cause: problem.cause },
      `store outage began: ${problem.summary} (${problem.cause}); requests that need the store are answered 503 until it ends`,
    );
  const counted = (refused: number) => `${refused} request${refused === 1 ? ' was' : 's were'} refused`;
  // One that began before anyone listened (while the server was starting) is logged now.
  if (health.problem) began(health.problem);
  const unwatch = health.watch({
    began,
    ended: (problem, { refused, durationMs }) =>
      log.warn(
        { storeOutage: 'ended', problem: problem.kind, refused, durationMs },
        `store outage ended after ${seconds(durationMs)} (${problem.summary}): ${counted(refused)} meanwhile`,
      ),
  });
  return () => {
    unwatch();
    const outage = health.outage;
    if (outage)
      log.warn(
        {
          storeOutage: 'under way at stop',
          problem: outage.problem.kind,
          refused: outage.refused,
          durationMs: outage.durationMs,
        },
        `store outage still under way at stop, after ${seconds(outage.durationMs)} (${outage.problem.summary}): ${counted(outage.refused)} so far`,
      );
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
