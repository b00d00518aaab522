/*
 * The `coffer` command at a terminal, driven through a real pseudo-terminal (support/pty.ts): logs a
 * person can read, and passwords asked twice. Piped, the same commands keep their machine forms.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killAllChildren, makeTempDir, removeTempDirs, startServe } from './helpers/coffer-process.js';
import { runCliInPty } from './support/pty.js';

afterAll(async () => {
  await killAllChildren();
  await removeTempDirs();
});

const dataDirEnv = () => ({ COFFER_DATA_DIR: path.join(makeTempDir('coffer-tty-'), 'data') });

describe('coffer serve logs', () => {
  it('at a terminal: one readable line per event (time, level, message), no JSON', async () => {
    const r = await runCliInPty(['serve'], {
      env: { ...dataDirEnv(), COFFER_PORT: '0', COFFER_JOBS_ENABLED: 'false' },
      steps: [{ expect: 'Coffer is listening', signal: 'SIGTERM' }],
    });
    expect(r.unmet, r.output).toEqual([]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: A new master key was written to .*master\.key/m,
    );
    expect(r.output).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: No users yet/m);
    expect(r.output).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: Coffer is listening$/m);
    expect(r.output).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: shutting down$/m);
    expect(r.output).not.toMatch(/^\{"level"/m);
  });

  it('piped (a file, journald, a collector): every line is a JSON object', async () => {
    const server = await startServe({ ...dataDirEnv(), COFFER_JOBS_ENABLED: 'false' });
    await server.stop();
    expect(server.lines.length).toBeGreaterThan(2);
    for (const line of server.lines) expect(typeof line.level, JSON.stringify(line)).toBe('number');
  });
});
