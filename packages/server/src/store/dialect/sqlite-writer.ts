import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

/*
 * Writes that a request must wait for but need not make itself — the audit records of secret reads —
 * are committed by a thread of their own, on its own connection to the same file. The commit, and the
 * fsync that makes it durable, then costs the request thread nothing: it goes on answering other
 * requests, and the reads that arrive meanwhile are committed together in the next transaction.
 * A caller is answered only once its transaction is on disk, so nothing acknowledged is lost.
 *
 * The thread starts on the first write (a CLI command that records no read never starts it).
 */

/** One statement and the parameters of each row it writes. */
export interface WriteStatement {
  readonly sql: string;
  readonly rows: readonly (readonly unknown[])[];
}

/** @internal The messages between this module and sqlite-writer.worker.ts. */
export interface WriteRequest {
  readonly id: number;
  readonly statements: readonly WriteStatement[];
}
/** @internal */
export interface WriteResult {
  /** The requests this answers: committed together, or failed with one error. */
  readonly ids: readonly number[];
  /** On success, the rows each request's statements changed (inserted, updated or deleted). */
  readonly changes?: readonly number[];
  readonly error?: { message: string; code: string | undefined };
}
/** @internal */
export interface WriterData {
  readonly file: string;
}

type Waiter = { resolve: (changes: number) => void; reject: (err: Error) => void };

export class SqliteWriter {
  #worker: Worker | undefined;
  readonly #waiting = new Map<number, Waiter>();
  #lastId = 0;
  #closed = false;
  #onIdle: (() => void) | undefined;

  /** onCommitted: called after each commit that succeeded (it ends an outage of writes). */
  constructor(
    private readonly file: string,
    private readonly onCommitted: () => void = () => {},
  ) {}

  /**
   * Runs the statements as one transaction on the writer thread; resolves once it is durable, with the
   * number of rows they changed.
   */
  commit(statements: readonly WriteStatement[]): Promise<number> {
    if (this.#closed) return Promise.reject(new Error('the store is closed'));
    const worker = this.#worker ?? this.#start();
    const id = ++this.#lastId;
    return new Promise<number>((resolve, reject) => {
      // Keeps the process alive only while a commit is waited for.
      if (this.#waiting.size === 0) worker.ref();
      this.#waiting.set(id, { resolve, reject });
      worker.postMessage({ id, statements } satisfies WriteRequest);
    });
  }

  /** Waits for the commits under way, then stops the thread. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#waiting.size > 0) await new Promise<void>((done) => (this.#onIdle = done));
    const worker = this.#worker;
    if (!worker) return;
    const exited = once(worker, 'exit');
    // An idle thread is unref'd; waiting for its exit must keep the process alive, or a process with
    // nothing else left to do ends here, before the store is closed (and its WAL checkpointed).
    worker.ref();
    worker.postMessage('close');
    await exited;
  }

  #start(): Worker {
    const worker = new Worker(new URL('./sqlite-writer.worker.js', import.meta.url), {
      workerData: { file: this.file } satisfies WriterData,
    });
    worker.unref();
    worker.on('message', ({ ids, changes, error }: WriteResult) => {
      // A commit that wrote nothing (a prune with nothing to remove) can succeed on a full disk: only
      // one that changed rows shows that writes work again.
      if (!error && changes?.some((n) => n > 0)) this.onCommitted();
      for (const [i, id] of ids.entries()) {
        const waiter = this.#waiting.get(id);
        if (!waiter) continue;
        this.#waiting.delete(id);
        if (!error) waiter.resolve(changes?.[i] ?? 0);
        else waiter.reject(Object.assign(new Error(error.message), { code: error.code }));
      }
      if (this.#waiting.size === 0) {
        worker.unref();
        this.#onIdle?.();
      }
    });
    worker.on('error', (err) => this.#lost(worker, err));
    worker.on('exit', (code) =>
      this.#lost(worker, new Error(`the SQLite writer thread stopped (exit ${code})`)),
    );
    this.#worker = worker;
    return worker;
  }

  /** The thread is gone: what it was asked and has not answered fails; the next commit starts a new one. */
  #lost(worker: Worker, err: Error): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    for (const w of this.#waiting.values()) w.reject(err);
    this.#waiting.clear();
    this.#onIdle?.();
  }
}
