/*
 * The exit-code table of docs/cli.md is true: each code it lists is what `coffer` exits with in that
 * case, checked by running the real command. Usage errors (an unknown command or option, a missing
 * argument) exit 64 like every other usage error, help and --version 0.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllChildren, makeTempDir, removeTempDirs, runCli } from './helpers/coffer-process.js';

const CLI_DOC = readFileSync(path.resolve(import.meta.dirname, '../docs/cli.md'), 'utf8');
const VERSION = (
  JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../packages/cli/package.json'), 'utf8')) as {
    version: string;
  }
).version;

/** The exit-code table of docs/cli.md, as code → when. */
function documentedCodes(): Map<number, string> {
  const codes = new Map<number, string>();
  for (const m of CLI_DOC.matchAll(/^\| (\d+) +\| (.+?) +\|$/gm)) codes.set(Number(m[1]), m[2]!);
  return codes;
}

afterAll(async () => {
  await killAllChildren();
  await removeTempDirs();
});

describe('coffer exit codes', () => {
  let env: Record<string, string>;
  beforeAll(() => {
    env = { COFFER_DATA_DIR: path.join(makeTempDir('coffer-exit-'), 'data') };
  });

  it('docs/cli.md documents these codes', () => {
    const codes = documentedCodes();
    expect([...codes.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 64, 69, 70, 78, 130]);
    expect(codes.get(64)).toMatch(/^usage/i);
  });

  it('0: success, help and --version', async () => {
    expect((await runCli(['keys', 'generate'], { env })).code).toBe(0);
    expect((await runCli(['--help'], { env })).code).toBe(0);
    const v = await runCli(['--version'], { env });
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(VERSION);
  });

  it('64: an unknown command, an unknown option, a missing argument', async () => {
    for (const args of [['bogus'], ['users', 'list', '--nope'], ['users', 'create']]) {
      const r = await runCli(args, { env });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(64);
      expect(r.stderr).toMatch(/error: /);
    }
  });

  it('1: refused by a rule; 2: not found', async () => {
    const first = await runCli(['users', 'create', 'dora'], { env, input: 'pw-dora-0123456789\n' });
    expect(first.code, first.stderr).toBe(0);
    const again = await runCli(['users', 'create', 'dora'], { env, input: 'pw-dora-0123456789\n' });
    expect(again.code, again.stderr).toBe(1);
    const nobody = await runCli(['users', 'disable', 'nobody'], { env });
    expect(nobody.code, nobody.stderr).toBe(2);
  });

  it('3: coffer doctor found something Coffer needs broken; 0 when it did not', async () => {
    const fine = await runCli(['doctor'], { env, timeoutMs: 120_000 });
    expect(fine.code, fine.stdout + fine.stderr).toBe(0);
    const broken = await runCli(['doctor'], {
      env: { ...env, COFFER_SANDBOX_BWRAP: '/nonexistent/bwrap' },
      timeoutMs: 120_000,
    });
    expect(broken.code, broken.stdout + broken.stderr).toBe(3);
    expect(broken.stdout).toMatch(/^PROBLEM +sandbox/m);
  });

  it('69: the server cannot be reached; 78: a setting is wrong', async () => {
    const unreachable = await runCli(['run', 'P', 'r'], {
      env: {
        ...env,
        DKU_DSS_URL: 'http://127.0.0.1:9',
        DKU_API_KEY: 'cofk_x.y',
        HOME: makeTempDir('coffer-home-'),
      },
    });
    expect(unreachable.code, unreachable.stderr).toBe(69);
    const misconfigured = await runCli(['users', 'list'], { env: { ...env, COFFER_PORT: 'not-a-port' } });
    expect(misconfigured.code, misconfigured.stderr).toBe(78);
  });
});
