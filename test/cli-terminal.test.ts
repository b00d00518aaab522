/*
 * The `coffer` command at a terminal, driven through a real pseudo-terminal (support/pty.ts): logs a
 * person can read, and passwords asked twice. Piped, the same commands keep their machine forms.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  killAllChildren,
  makeTempDir,
  removeTempDirs,
  request,
  runCli,
  startServe,
} from './helpers/coffer-process.js';
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

describe('passwords typed at a terminal', () => {
  const PW = 'tina-Pässword-0123456789';
  const NEW_PW = 'tina-new-pw-9876543210';
  let env: Record<string, string>;
  const type = (first: string, second: string) => [
    { expect: 'Password for \\w+: ', send: `${first}\r` },
    { expect: 'Password for \\w+ again: ', send: `${second}\r` },
  ];
  const logins = async () =>
    (JSON.parse((await runCli(['users', 'list', '--json'], { env })).stdout) as { login: string }[]).map(
      (u) => u.login,
    );

  it('users create asks twice, unseen, and creates the user when both match', async () => {
    env = dataDirEnv();
    const r = await runCliInPty(['users', 'create', 'tina'], { env, steps: type(PW, PW) });
    expect(r.unmet, r.output).toEqual([]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/created user tina/);
    expect(r.output).not.toContain(PW);
  });

  it('users create refuses passwords that differ (exit 64, as a usage error) and creates no one', async () => {
    const r = await runCliInPty(['users', 'create', 'uma'], {
      env,
      steps: type('uma-pw-0123456789', 'uma-pw-0123456780'),
    });
    expect(r.unmet, r.output).toEqual([]);
    expect(r.code, r.output).toBe(64);
    expect(r.output).toMatch(/the two passwords typed differ; nothing was changed/);
    expect(r.output).not.toMatch(/uma-pw/);
    expect(await logins()).toEqual(['tina']);
  });

  it('Ctrl-C at the prompt ends the command (exit 130) and creates no one', async () => {
    const r = await runCliInPty(['users', 'create', 'vic'], {
      env,
      steps: [{ expect: 'Password for vic: ', send: '\x03' }],
    });
    expect(r.code, r.output).toBe(130);
    expect(r.output).toMatch(/interrupted; nothing was changed/);
    expect(await logins()).toEqual(['tina']);
  });

  it('users reset-password asks twice too: a mismatch keeps the old password, a match sets the new one', async () => {
    const differ = await runCliInPty(['users', 'reset-password', 'tina'], {
      env,
      steps: [
        { expect: 'New password for tina: ', send: `${NEW_PW}\r` },
        { expect: 'New password for tina again: ', send: 'something-else-0123\r' },
      ],
    });
    expect(differ.code, differ.output).toBe(64);
    expect(differ.output).toMatch(/the two passwords typed differ/);

    const server = await startServe({ ...env, COFFER_JOBS_ENABLED: 'false' });
    try {
      const signIn = (password: string) =>
        request(server.url, 'POST', '/api/v1/session', { body: { login: 'tina', password } });
      expect((await signIn(PW)).status).toBe(200);

      const match = await runCliInPty(['users', 'reset-password', 'tina'], {
        env,
        steps: [
          { expect: 'New password for tina: ', send: `${NEW_PW}\r` },
          { expect: 'New password for tina again: ', send: `${NEW_PW}\r` },
        ],
      });
      expect(match.code, match.output).toBe(0);
      expect(match.output).not.toContain(NEW_PW);
      expect((await signIn(PW)).status).toBe(401);
      expect((await signIn(NEW_PW)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('piped, the password is read once: the first line of stdin', async () => {
    const r = await runCli(['users', 'create', 'wes'], {
      env,
      input: 'wes-pw-0123456789\nnot-asked-again\n',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/again/);
    expect(await logins()).toEqual(['tina', 'wes']);
  });
});
