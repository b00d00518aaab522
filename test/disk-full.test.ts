/*
 * SQLite on a full disk, made real: the data directory is a small tmpfs of its own, filled by writing
 * secrets through the API (and by filler files the test removes to give the room back). A write the
 * disk refuses is answered 503 naming the disk; /readyz says the store cannot write; the log has
 * SQLite's own error once, not a stack per request; once there is room again the server is ready and
 * writes at once; nothing acknowledged is ever lost, nothing refused is half there; a graceful stop
 * leaves no WAL behind, or, on a disk still full, keeps it and says why.
 *
 * Needs root to mount the tmpfs: CI runs as root, and there this test never skips. Elsewhere, without
 * root, it is skipped loudly. In the sqlite project only (vitest.config.ts): it is about SQLite's files.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  killAllChildren,
  request,
  runCli,
  startServe,
  type LogLine,
  type Reply,
  type ServeHandle,
} from './helpers/coffer-process.js';
import { giveRoomBack, mountTmpfs, takeRoom, unmount } from './support/tmpfs.js';

const inCi = Boolean(process.env.CI);
const isRoot = process.getuid?.() === 0;
if (!isRoot && !inCi) {
  console.warn(
    [
      '',
      '!'.repeat(100),
      '!! Not root: SKIPPING the full-disk tests (test/disk-full.test.ts), which mount a small tmpfs.',
      '!! Run the suite as root to run them; with CI set, they run and fail without root.',
      '!'.repeat(100),
      '',
    ].join('\n'),
  );
}

const DISK_BYTES = 8 * 1024 * 1024;
/** Room left for secrets before the first write is refused: a few hundred of them. */
const ROOM_FOR_SECRETS = 1536 * 1024;
const FULL_MESSAGE =
  'the store cannot save changes: the disk holding the data directory is full; try again once space has been freed';
const NOT_READY = 'the store cannot write: the disk holding the data directory is full';
const SQLITE_FULL = 'SQLITE_FULL: database or disk is full';

describe.skipIf(!isRoot && !inCi)('SQLite on a full disk', () => {
  let dir: string;
  let mounted = false;
  let env: Record<string, string>;
  let key: string;
  let server: ServeHandle;
  /** Every write the server acknowledged: name → value. */
  const acked = new Map<string, string>();

  const value = () => randomBytes(1500).toString('hex');
  const filler = (name: string) => path.join(dir, `filler-${name}`);
  const put = (name: string, v: string) =>
    request(server.url, 'PUT', `/api/v1/me/secrets/${encodeURIComponent(name)}`, { key, body: { value: v } });
  const ready = () => request(server.url, 'GET', '/readyz');
  const walBytes = (): number => {
    try {
      return statSync(path.join(dir, 'coffer.db-wal')).size;
    } catch {
      return 0;
    }
  };
  const outage = (s: ServeHandle, what: string): LogLine[] => s.lines.filter((l) => l.storeOutage === what);
  /**
   * The outage lines of one kind, once there are `count` of them: the server's log comes through a pipe
   * that the HTTP answer may overtake.
   */
  async function outageLines(s: ServeHandle, what: string, count: number): Promise<LogLine[]> {
    await expect.poll(() => outage(s, what).length).toBeGreaterThanOrEqual(count);
    return outage(s, what);
  }

  /** Writes and remembers a secret the disk has room for. */
  async function acknowledged(name: string): Promise<void> {
    const v = value();
    const r = await put(name, v);
    expect([200, 201], r.text).toContain(r.status);
    acked.set(name, v);
  }

  function expectRefusedAsFull(r: Reply): void {
    expect(r.status, r.text).toBe(503);
    expect(r.json.error).toEqual({ code: 'unavailable', message: FULL_MESSAGE });
    expect(r.headers.get('retry-after')).toBe('5');
  }

  /** Every acknowledged write reads back with its value, through the API; nothing else is there. */
  async function expectEveryAcknowledgedWrite(): Promise<void> {
    const info = await request(server.url, 'GET', '/dip/publicapi/auth/info?withSecrets=true', { key });
    expect(info.status, info.text).toBe(200);
    const stored = Object.fromEntries(
      (info.json.secrets as { key: string; value: string }[]).map((s) => [s.key, s.value]),
    );
    expect(stored).toEqual(Object.fromEntries(acked));
  }

  /** No request's failure was logged with a stack, and no rollback error hid the real one. */
  function expectQuietLog(s: ServeHandle): void {
    const text = s.lines.map((l) => JSON.stringify(l)).join('\n');
    expect(text).not.toMatch(/cannot rollback/i);
    expect(s.lines.filter((l) => l.err !== undefined || /"stack"/.test(JSON.stringify(l)))).toEqual([]);
  }

  beforeAll(async () => {
    if (!isRoot)
      throw new Error(`CI runs as root, and this test must mount a tmpfs; uid is ${process.getuid?.()}`);
    dir = mkdtempSync(path.join(tmpdir(), 'coffer-disk-full-'));
    mountTmpfs(dir, DISK_BYTES);
    mounted = true;
    env = { COFFER_DATA_DIR: dir, COFFER_JOBS_ENABLED: 'false', COFFER_MAX_SECRETS_PER_USER: '100000' };
    const created = await runCli(['users', 'create', 'alice'], { env, input: 'pw-alice-0123456789\n' });
    expect(created, created.stderr).toMatchObject({ code: 0 });
    const made = await runCli(['api-keys', 'create', 'alice', '--label', 'disk-full'], { env });
    expect(made, made.stderr).toMatchObject({ code: 0 });
    key = made.stdout.trim();
    server = await startServe(env);
  });

  afterAll(async () => {
    await killAllChildren();
    if (mounted) unmount(dir);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a write the full disk refuses is answered 503 naming the disk (five at once too), /readyz says the store cannot write, and the log says so once, with SQLite’s own error', async () => {
    takeRoom(filler('a'), ROOM_FOR_SECRETS);
    let refused: { name: string; value: string; reply: Reply } | undefined;
    for (let i = 0; i < 5000 && !refused; i++) {
      const name = `fill/${i}`;
      const v = value();
      const r = await put(name, v);
      if (r.status === 503) refused = { name, value: v, reply: r };
      else {
        expect([200, 201], r.text).toContain(r.status);
        acked.set(name, v);
      }
    }
    expect(refused, 'the disk never filled up').toBeDefined();
    expect(acked.size).toBeGreaterThan(20);
    expectRefusedAsFull(refused!.reply);

    // The same write again, five at once: the same room is missing, so each is refused, and counted.
    const again = await Promise.all(Array.from({ length: 5 }, () => put(refused!.name, refused!.value)));
    for (const r of again) expectRefusedAsFull(r);

    const r = await ready();
    expect(r.status, r.text).toBe(503);
    expect(r.json).toMatchObject({ status: 'unavailable', problem: NOT_READY });

    const began = await outageLines(server, 'began', 1);
    expect(began).toHaveLength(1);
    expect(began[0]).toMatchObject({ level: 50, problem: 'disk-full', cause: SQLITE_FULL });
    expect(began[0]!.msg).toContain(NOT_READY);
    expect(outage(server, 'ended')).toEqual([]);
    expectQuietLog(server);
  });

  it('once space returns, /readyz is ready at its next call, the outage ends with the count of refused requests, writes succeed, and every acknowledged write is there (the refused one is not)', async () => {
    giveRoomBack(filler('a'));
    const r = await ready();
    expect(r.status, r.text).toBe(200);
    const ended = await outageLines(server, 'ended', 1);
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ level: 40, problem: 'disk-full', refused: 6 });
    expect(ended[0]!.msg).toMatch(
      /^store outage ended after \d+\.\d s .*: 6 requests were refused meanwhile$/,
    );

    await acknowledged('after/1');
    await expectEveryAcknowledgedWrite();
    expectQuietLog(server);
  });

  it('a graceful stop copies the WAL into the database and truncates it', async () => {
    expect(walBytes()).toBeGreaterThan(0);
    expect(await server.stop()).toEqual({ code: 0, signal: null });
    expect(walBytes()).toBe(0);
    expect(server.lines.filter((l) => /WAL/.test(l.msg ?? ''))).toEqual([]);
  });

  it('stopped while the disk is still full, a server keeps its WAL (it holds acknowledged writes) and says why; started again on the full disk, it serves and refuses writes the same way', async () => {
    server = await startServe(env);
    for (let i = 0; i < 5; i++) await acknowledged(`second/${i}`);
    takeRoom(filler('b'));
    expectRefusedAsFull(await put('second/refused', value()));
    // Even a read of values is refused: its audit record does not fit, and no value leaves unrecorded.
    const dss = await request(server.url, 'GET', '/dip/publicapi/auth/info?withSecrets=true', { key });
    expect(dss.status, dss.text).toBe(503);
    expect(dss.json).toEqual({
      errorType: 'com.dataiku.dip.exceptions.ServiceUnavailableException',
      message: FULL_MESSAGE,
      detailedMessage: FULL_MESSAGE,
      code: 'UNAVAILABLE',
    });

    const wal = walBytes();
    expect(wal).toBeGreaterThan(0);
    expect(await server.stop()).toEqual({ code: 0, signal: null });
    expect(walBytes()).toBe(wal);
    const stopped = server;
    const kept = () => stopped.lines.filter((l) => /WAL could not be copied/.test(l.msg ?? ''));
    await expect.poll(() => kept().length).toBe(1);
    expect(kept()[0]).toMatchObject({ level: 40, walBytes: wal, cause: SQLITE_FULL });
    expect(await outageLines(server, 'under way at stop', 1)).toEqual([
      expect.objectContaining({ problem: 'disk-full', refused: 2 }),
    ]);
    expectQuietLog(server);

    server = await startServe(env);
    expectRefusedAsFull(await put('third/refused', value()));
    const r = await ready();
    expect(r.status, r.text).toBe(503);
    expect(r.json.problem).toBe(NOT_READY);
  });

  it('the server started on the full disk recovers once space returns: ready, writing, every acknowledged write there, and its stop truncates the WAL', async () => {
    giveRoomBack(filler('b'));
    expect((await ready()).status).toBe(200);
    expect(await outageLines(server, 'ended', 1)).toEqual([
      expect.objectContaining({ problem: 'disk-full', refused: 1 }),
    ]);
    await acknowledged('third/1');
    await expectEveryAcknowledgedWrite();
    expect(await server.stop()).toEqual({ code: 0, signal: null });
    expect(walBytes()).toBe(0);
    expectQuietLog(server);
  });

  it('a new store on a full disk: `coffer serve` exits 74 with one line naming the data directory and the cause', async () => {
    takeRoom(filler('c'));
    try {
      const fresh = path.join(dir, 'fresh');
      mkdirSync(fresh);
      const r = await runCli(['serve'], {
        env: { COFFER_DATA_DIR: fresh, COFFER_PORT: '0' },
        timeoutMs: 20_000,
      });
      expect(r.code, r.stderr).toBe(74);
      expect(r.stderr).toBe(
        `coffer: cannot start: the disk holding the data directory ${fresh} is full (${SQLITE_FULL}). Free space there and start again; nothing stored is lost.\n`,
      );
    } finally {
      giveRoomBack(filler('c'));
    }
  });
});
