import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';
import { openSqliteConnection } from './sqlite-connection.js';
import type { WriteRequest, WriteResult, WriterData } from './sqlite-writer.js';

/*
 * The SQLite writer thread (see sqlite-writer.ts): its own connection to the store's file. Requests that
 * arrive while a commit is under way are committed together in the next transaction (group commit: one
 * fsync for all of them), in the order sent; each is answered once the commit has returned, that is,
 * with synchronous=FULL, once it is on disk.
 */

const port = parentPort!;
const db = openSqliteConnection((workerData as WriterData).file);
const statements = new Map<string, SQLite.Statement>();

const statementFor = (sql: string): SQLite.Statement => {
  let s = statements.get(sql);
  if (!s) statements.set(sql, (s = db.prepare(sql)));
  return s;
};

// IMMEDIATE: the write lock is taken (waiting up to the busy timeout) before anything is read.
// Answers the rows each request changed.
const commit = db.transaction((requests: WriteRequest[]) =>
  requests.map((request) => {
    let changes = 0;
    for (const { sql, rows } of request.statements) {
      const s = statementFor(sql);
      for (const params of rows) changes += s.run(...params).changes;
    }
    return changes;
  }),
).immediate;

function failure(id: number, err: unknown): WriteResult {
  const e = err as { message?: unknown; code?: unknown };
  return {
    ids: [id],
    error: { message: String(e.message), code: typeof e.code === 'string' ? e.code : undefined },
  };
}

function commitAll(requests: WriteRequest[]): void {
  try {
    const changes = commit(requests);
    port.postMessage({ ids: requests.map((r) => r.id), changes } satisfies WriteResult);
  } catch (err) {
    if (requests.length === 1) return port.postMessage(failure(requests[0]!.id, err));
    // One request's failure must not fail the others: each again, on its own.
    for (const r of requests) commitAll([r]);
  }
}

port.on('message', (first: WriteRequest | 'close') => {
  const requests: WriteRequest[] = [];
  let closing = first === 'close';
  if (!closing) requests.push(first as WriteRequest);
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
    const message = m.message as WriteRequest | 'close';
    if (message === 'close') closing = true;
    else requests.push(message);
  }
  if (requests.length > 0) commitAll(requests);
  if (closing) {
    db.close();
    port.close();
  }
});
