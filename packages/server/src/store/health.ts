import {
  driverErrorText,
  isDiskFull,
  isStorageIoError,
  isStoreLocked,
  isStoreUnreachable,
} from './dialect/errors.js';

/*
 * What this process has seen go wrong with its store, and for how long. A store failure is not a bug in
 * a request: it is one outage that many requests run into. The outage begins with the first failure,
 * counts the requests refused meanwhile, and ends with the first success of what it prevented — any
 * answer when the database was unreachable, a committed write when writes failed (on SQLite, reads go
 * on working through a full disk). Listeners hear of the beginning and the end, once each, so the log
 * holds two lines per outage rather than a stack per refused request.
 */

export type StoreProblemKind = 'unreachable' | 'locked' | 'disk-full' | 'io-error';

/** Something that keeps the store from doing its job. */
export interface StoreProblem {
  readonly kind: StoreProblemKind;
  /** What is wrong, for /readyz and the log: no driver text, no path. */
  readonly summary: string;
  /** What a refused caller is told. */
  readonly message: string;
  /** The driver's own error (code and message), for the log only. */
  readonly cause: string;
  /** When it was first seen (epoch ms). */
  readonly since: number;
  /** What ends it: any answer from the store, or only a committed write. */
  readonly endsWith: 'answer' | 'write';
}

export interface OutageListener {
  began(problem: StoreProblem): void;
  ended(problem: StoreProblem, outcome: { refused: number; durationMs: number }): void;
}

export interface StoreHealthOptions {
  /** Where the store's data lies, in words that suit a caller: "the disk holding the data directory". */
  readonly disk: string;
  /**
   * Asked when the store reports an I/O error: whether its disk has no room left, which is how some
   * file systems report a full disk. Absent: an I/O error is reported as such.
   */
  readonly diskHasNoRoom?: () => boolean;
  readonly now?: () => number;
}

const UNAVAILABLE = 'the store is unavailable; try again shortly';

const isStoreFailure = (err: Error): boolean =>
  isStoreLocked(err) || isStoreUnreachable(err) || isDiskFull(err) || isStorageIoError(err);

export class StoreHealth {
  #outage: { problem: StoreProblem; refused: number } | undefined;
  readonly #listeners = new Set<OutageListener>();
  readonly #now: () => number;

  constructor(private readonly opts: StoreHealthOptions) {
    this.#now = opts.now ?? Date.now;
  }

  /** The outage under way, if any. */
  get problem(): StoreProblem | undefined {
    return this.#outage?.problem;
  }

  /** The outage under way with the requests it has refused so far, and for how long it has lasted. */
  get outage(): { problem: StoreProblem; refused: number; durationMs: number } | undefined {
    const o = this.#outage;
    return o && { ...o, durationMs: Math.max(0, this.#now() - o.problem.since) };
  }

  /**
   * A request is refused because of err. When err is the store failing (rather than the request being
   * wrong), counts the request in the outage, beginning one if none is under way, and answers what is
   * wrong with it (an outage keeps the problem it began with); otherwise answers undefined.
   */
  refused(err: unknown): StoreProblem | undefined {
    const problem = this.failed(err);
    if (problem) this.#outage!.refused++;
    return problem;
  }

  /** Like refused(), for a failure outside any request (readiness, background work): counts nothing. */
  failed(err: unknown): StoreProblem | undefined {
    const problem = this.#describe(err);
    if (!problem || this.#outage) return problem;
    this.#outage = { problem, refused: 0 };
    for (const l of this.#listeners) l.began(problem);
    return problem;
  }

  /** The store answered a query: ends an outage that only needed an answer. Called for every query. */
  answered(): void {
    if (this.#outage?.problem.endsWith === 'answer') this.#end();
  }

  /** The store committed a write: ends any outage. */
  wrote(): void {
    if (this.#outage) this.#end();
  }

  /** Calls listener when an outage begins and when it ends; answers a function that stops that. */
  watch(listener: OutageListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #end(): void {
    const { problem, refused } = this.#outage!;
    this.#outage = undefined;
    const outcome = { refused, durationMs: Math.max(0, this.#now() - problem.since) };
    for (const l of this.#listeners) l.ended(problem, outcome);
  }

  #describe(err: unknown): StoreProblem | undefined {
    // Asked of every error a request ends with: the common answer, "not the store", costs two lookups.
    if (!(err instanceof Error) || !isStoreFailure(err)) return undefined;
    const since = this.#now();
    const cause = driverErrorText(err);
    const { disk } = this.opts;
    // Checked first: a lock held too long is also "unreachable" to the code that answers 503.
    if (isStoreLocked(err))
      return {
        kind: 'locked',
        summary: 'the store stayed locked by another connection',
        message: UNAVAILABLE,
        cause,
        since,
        endsWith: 'write',
      };
    if (isStoreUnreachable(err))
      return {
        kind: 'unreachable',
        summary: 'the store does not answer',
        message: UNAVAILABLE,
        cause,
        since,
        endsWith: 'answer',
      };
    const full = isDiskFull(err) || (isStorageIoError(err) && (this.opts.diskHasNoRoom?.() ?? false));
    if (full)
      return {
        kind: 'disk-full',
        summary: `the store cannot write: ${disk} is full`,
        message: `the store cannot save changes: ${disk} is full; try again once space has been freed`,
        cause,
        since,
        endsWith: 'write',
      };
    if (isStorageIoError(err))
      return {
        kind: 'io-error',
        summary: `the store cannot write: ${disk} reports I/O errors`,
        message: `the store cannot save changes: ${disk} reports I/O errors; try again shortly`,
        cause,
        since,
        endsWith: 'write',
      };
    return undefined;
  }
}
