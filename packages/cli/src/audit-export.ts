import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

/**
 * Writes each record as one line of JSON to `out`, waiting whenever the reader is behind (a large trail
 * never sits in memory). Answers the count, and the id of the last record written (where a later
 * export can pick up). A reader that goes away (`| head`) ends the export quietly.
 */
export async function writeJsonLines(
  records: AsyncIterable<{ id: number }>,
  out: Writable,
): Promise<{ count: number; lastId: number | undefined }> {
  let count = 0;
  let lastId: number | undefined;
  let failure: NodeJS.ErrnoException | undefined;
  const onError = (err: NodeJS.ErrnoException) => (failure ??= err);
  out.on('error', onError);
  for await (const record of records) {
    if (failure) break;
    // once() rejects if the stream fails while we wait: onError has kept why.
    if (!out.write(JSON.stringify(record) + '\n')) await once(out, 'drain').catch(() => undefined);
    count += 1;
    lastId = record.id;
  }
  if (failure && failure.code !== 'EPIPE') throw failure;
  return { count, lastId };
}

/** A new file for an export, readable by its owner only: records name users, credentials and addresses. */
export function newExportFile(file: string): Writable {
  return createWriteStream(file, { flags: 'wx', mode: 0o600 });
}

/** Ends a file written by writeJsonLines and waits until it is on its way to disk. */
export async function closeExportFile(out: Writable): Promise<void> {
  out.end();
  await finished(out);
}
