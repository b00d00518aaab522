/*
 * The launcher that starts every run of user code (execution/spawner.ts): output comes through whole
 * and in order however much there is, the launcher holds nothing of the server's environment, and runs
 * whose launcher dies end with it. Real processes; no store involved, so this runs once.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createSpawner, type Spawner } from '../packages/server/dist/execution/spawner.js';

const plain = (program: string, args: string[]) => ({
  program,
  args,
  env: { PATH: '/usr/bin:/bin' },
  cwd: '/',
  stop: { kind: 'process-group' as const },
});

describe('the launcher of user code', () => {
  let spawner: Spawner;
  afterEach(() => spawner?.stop());

  it('passes 32 MiB of output through whole and in order, and the exit code', async () => {
    spawner = createSpawner();
    const script =
      'import sys\nfor i in range(1 << 15):\n    sys.stdout.write(("%07d" % i) * 146 + "\\n")\nsys.exit(3)\n';
    const child = await spawner.spawn(plain('/usr/bin/python3', ['-c', script]));
    child.stderr.resume();
    const got = createHash('sha256');
    let bytes = 0;
    child.stdout.on('data', (d: Buffer) => {
      got.update(d);
      bytes += d.length;
    });
    expect(await child.closed).toEqual({ code: 3, signal: null });
    const want = createHash('sha256');
    for (let i = 0; i < 1 << 15; i++) want.update(String(i).padStart(7, '0').repeat(146) + '\n');
    expect(bytes).toBe((1 << 15) * (7 * 146 + 1));
    expect(got.digest('hex')).toBe(want.digest('hex'));
    expect(await child.init).toBeUndefined();
  });

  it('the last output has reached its reader when the end is reported', async () => {
    spawner = createSpawner();
    for (let i = 0; i < 40; i++) {
      const child = await spawner.spawn(plain('/bin/sh', ['-c', `echo out-${i}; echo err-${i} >&2`]));
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      await child.closed;
      expect([out, err]).toEqual([`out-${i}\n`, `err-${i}\n`]);
    }
  });

  it('feeds a run its standard input when asked, in order, and closes it at the end', async () => {
    spawner = createSpawner();
    const child = await spawner.spawn(plain('/usr/bin/sha256sum', []), { input: true });
    child.stderr.resume();
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const want = createHash('sha256');
    for (let i = 0; i < 2000; i++) {
      const line = `line ${i} ${'x'.repeat(i % 300)}\n`;
      want.update(line);
      child.stdin!.write(line);
    }
    child.stdin!.end();
    expect(await child.closed).toEqual({ code: 0, signal: null });
    expect(out.split(' ')[0]).toBe(want.digest('hex'));
  });

  it('gives a run no standard input unless asked', async () => {
    spawner = createSpawner();
    const child = await spawner.spawn(plain('/bin/sh', ['-c', 'cat; echo "read: $?"']));
    expect(child.stdin).toBeUndefined();
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.resume();
    await child.closed;
    expect(out).toBe('read: 0\n');
  });

  it('holds nothing of the server’s environment', async () => {
    process.env.COFFER_TEST_LAUNCHER_CANARY = 'must-not-reach-the-launcher';
    try {
      spawner = createSpawner();
      const child = await spawner.spawn(plain('/bin/sh', ['-c', 'echo $PPID']));
      child.stderr.resume();
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await child.closed;
      const environ = readFileSync(`/proc/${out.trim()}/environ`, 'utf8').split('\0').filter(Boolean);
      // Node's own IPC channel variables aside, only PATH.
      expect(environ.filter((v) => !v.startsWith('NODE_CHANNEL_'))).toEqual(['PATH=/usr/bin:/bin']);
    } finally {
      delete process.env.COFFER_TEST_LAUNCHER_CANARY;
    }
  });

  it('a run whose launcher dies ends with it, killed', async () => {
    spawner = createSpawner();
    const child = await spawner.spawn(plain('/bin/sh', ['-c', 'echo $PPID; exec sleep 300']));
    child.stderr.resume();
    const launcher = await new Promise<number>((resolve) =>
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
    process.kill(launcher, 'SIGKILL');
    expect(await child.closed).toEqual({ code: null, signal: 'SIGKILL' });
    process.kill(child.pid, 'SIGKILL'); // a plain process has no --die-with-parent: the caller ends it
  });
});
