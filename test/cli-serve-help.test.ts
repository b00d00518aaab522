/*
 * `coffer serve --help` lists every setting the server reads, each with its default: every COFFER_
 * name in config.ts (where alone settings are read) must have a line of its own in the real help.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../packages/server/src/config.js';
import { killAllChildren, makeTempDir, removeTempDirs, runCli } from './helpers/coffer-process.js';

const CONFIG_SOURCE = readFileSync(
  path.resolve(import.meta.dirname, '../packages/server/src/config.ts'),
  'utf8',
);

afterAll(async () => {
  await killAllChildren();
  await removeTempDirs();
});

describe('coffer serve --help', () => {
  it('lists every setting config.ts reads, with its default and a meaning, and exits 0', async () => {
    const r = await runCli(['serve', '--help'], {
      env: { COFFER_DATA_DIR: path.join(makeTempDir('coffer-help-'), 'data') },
    });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const read = [...new Set(CONFIG_SOURCE.match(/COFFER_[A-Z0-9_]+/g))];
    expect(read.length).toBeGreaterThan(40);
    for (const name of read) {
      const i = lines.findIndex((l) => l.trim().split(/\s+/)[0] === name);
      expect(i, `${name} is not listed`).toBeGreaterThanOrEqual(0);
      const s = SETTINGS.find((x) => x.name === name);
      expect(s, `${name} is not in the settings table`).toBeDefined();
      const shown = s && 'default' in s ? s.default : s && 'computed' in s ? s.computed : 'unset';
      expect(lines[i]!.trim().slice(name.length).trim(), name).toBe(shown);
      expect(lines[i + 1]!.trim(), `${name} has no meaning under it`).toBe(s!.meaning);
    }
  });

  it('shows the defaults the server starts with, as docs/configuration.md states them', async () => {
    const r = await runCli(['serve', '--help'], { env: {} });
    expect(r.stdout).toMatch(/^ {2}COFFER_PORT +11200$/m);
    expect(r.stdout).toMatch(/^ {2}COFFER_DATA_DIR +\.\/data$/m);
    expect(r.stdout).toMatch(/^ {2}COFFER_SANDBOX_BWRAP +\/usr\/bin\/bwrap$/m);
    expect(r.stdout).toMatch(/^ {2}COFFER_DATABASE_URL +unset$/m);
  });
});
