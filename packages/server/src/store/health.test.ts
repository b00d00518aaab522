import { describe, expect, it } from 'vitest';
import { StoreHealth, type StoreProblem } from './health.js';
import { logStoreOutages } from './outage-log.js';

const err = (code: string, message = 'driver text') => Object.assign(new Error(message), { code });
const full = () => err('SQLITE_FULL', 'database or disk is full');
const refusedConnection = () => err('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432');

function watched(opts: { diskHasNoRoom?: () => boolean } = {}) {
  let now = 1000;
  const health = new StoreHealth({ disk: 'the disk holding the data directory', now: () => now, ...opts });
  const events: string[] = [];
  health.watch({
    began: (p) => events.push(`began ${p.kind}`),
    ended: (p, o) => events.push(`ended ${p.kind} refused=${o.refused} ms=${o.durationMs}`),
  });
  return { health, events, advance: (ms: number) => (now += ms) };
}

describe('store health', () => {
  it('an outage begins at the first store failure, counts every refused request, and ends once with that count', () => {
    const { health, events, advance } = watched();
    for (let i = 0; i < 7; i++) expect(health.refused(refusedConnection())?.kind).toBe('unreachable');
    health.failed(refusedConnection()); // readiness, background work: not a refused request
    advance(2500);
    health.answered();
    health.answered();
    expect(events).toEqual(['began unreachable', 'ended unreachable refused=7 ms=2500']);
    expect(health.problem).toBeUndefined();
  });

  it('an error that is not the store failing begins nothing and is not counted', () => {
    const { health, events } = watched();
    expect(health.refused(new Error('no such secret'))).toBeUndefined();
    expect(health.refused(err('SQLITE_CONSTRAINT_UNIQUE'))).toBeUndefined();
    expect(events).toEqual([]);
  });

  it('a full disk is answered with a message naming it, and only a committed write ends it (reads still answer)', () => {
    const { health, events } = watched();
    const problem = health.refused(full());
    expect(problem).toMatchObject({
      kind: 'disk-full',
      summary: 'the store cannot write: the disk holding the data directory is full',
      message:
        'the store cannot save changes: the disk holding the data directory is full; try again once space has been freed',
      cause: 'SQLITE_FULL: database or disk is full',
    });
    health.answered();
    expect(health.problem?.kind).toBe('disk-full');
    health.wrote();
    expect(events).toEqual(['began disk-full', 'ended disk-full refused=1 ms=0']);
  });

  it("PostgreSQL's disk_full (SQLSTATE 53100) is a full disk too, not an unexplained 500", () => {
    const health = new StoreHealth({ disk: "the PostgreSQL server's disk" });
    expect(
      health.refused(err('53100', 'could not extend file "base/16384/2619": No space left on device')),
    ).toMatchObject({
      kind: 'disk-full',
      message:
        "the store cannot save changes: the PostgreSQL server's disk is full; try again once space has been freed",
      endsWith: 'write',
    });
  });

  it('an I/O error is a full disk when the disk has no room left, and an I/O error otherwise', () => {
    expect(watched({ diskHasNoRoom: () => true }).health.refused(err('SQLITE_IOERR_WRITE'))?.kind).toBe(
      'disk-full',
    );
    expect(watched({ diskHasNoRoom: () => false }).health.refused(err('SQLITE_IOERR_FSYNC'))).toMatchObject({
      kind: 'io-error',
      summary: 'the store cannot write: the disk holding the data directory reports I/O errors',
    });
  });

  it('a lock held too long keeps the existing 503 message and ends with a write', () => {
    const { health } = watched();
    expect(health.refused(err('SQLITE_BUSY', 'database is locked'))).toMatchObject({
      kind: 'locked',
      message: 'the store is unavailable; try again shortly',
      endsWith: 'write',
    });
  });

  it('during an outage a request is told what its own error means, and is counted in the outage under way', () => {
    const { health, events } = watched();
    health.refused(err('SQLITE_BUSY'));
    expect(health.refused(full())?.kind).toBe('disk-full');
    expect(health.problem?.kind).toBe('locked');
    health.wrote();
    expect(events).toEqual(['began locked', 'ended locked refused=2 ms=0']);
  });
});

describe('store outage log', () => {
  function logged() {
    const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    const log = {
      error: (fields: object, message: string) =>
        lines.push({ level: 'error', fields: fields as Record<string, unknown>, message }),
      warn: (fields: object, message: string) =>
        lines.push({ level: 'warn', fields: fields as Record<string, unknown>, message }),
    };
    return { lines, log };
  }

  it('logs one line when an outage begins (the cause, no stack) and one when it ends (count and duration)', () => {
    let now = 0;
    const health = new StoreHealth({ disk: 'the disk holding the data directory', now: () => now });
    const { lines, log } = logged();
    logStoreOutages(health, log);
    for (let i = 0; i < 314; i++) health.refused(refusedConnection());
    now += 12_300;
    health.answered();
    expect(lines).toEqual([
      {
        level: 'error',
        fields: {
          storeOutage: 'began',
          problem: 'unreachable',
          cause: 'connect ECONNREFUSED 127.0.0.1:5432',
        },
        message:
          'store outage began: the store does not answer (connect ECONNREFUSED 127.0.0.1:5432); requests that need the store are answered 503 until it ends',
      },
      {
        level: 'warn',
        fields: { storeOutage: 'ended', problem: 'unreachable', refused: 314, durationMs: 12_300 },
        message:
          'store outage ended after 12.3 s (the store does not answer): 314 requests were refused meanwhile',
      },
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/\bat \S+ \(|stack/);
  });

  it('an outage that began before the log was attached (while starting) is logged at once; one under way at stop is said with its count so far', () => {
    const health = new StoreHealth({ disk: 'the disk holding the data directory' });
    health.failed(full());
    const { lines, log } = logged();
    const stop = logStoreOutages(health, log);
    health.refused(full());
    health.refused(full());
    stop();
    health.wrote(); // after stop: not logged
    expect(lines.map((l) => [l.level, l.fields.storeOutage, l.fields.refused])).toEqual([
      ['error', 'began', undefined],
      ['warn', 'under way at stop', 2],
    ]);
    expect(lines[1]!.message).toMatch(
      /^store outage still under way at stop, after \d+\.\d s \(the store cannot write: the disk holding the data directory is full\): 2 requests were refused so far$/,
    );
  });

  it('the problem a caller is told never holds driver text', () => {
    const health = new StoreHealth({ disk: 'the disk holding the data directory' });
    const p: StoreProblem | undefined = health.refused(err('SQLITE_FULL', 'secret-looking driver text'));
    expect(p?.message).not.toContain('secret-looking');
    expect(p?.summary).not.toContain('secret-looking');
  });
});
