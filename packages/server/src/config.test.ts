import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('configuration', () => {
  it('defaults to SQLite in ./data on 127.0.0.1:11200 with the key file in the data dir', () => {
    const c = loadConfig({}, '/srv/coffer');
    expect(c).toMatchObject({
      dataDir: '/srv/coffer/data',
      host: '127.0.0.1',
      port: 11200,
      databaseUrl: undefined,
    });
    expect(c.masterKey).toEqual({ kind: 'data-dir-file', path: '/srv/coffer/data/master.key' });
    expect(c.limits.secretsPerUser).toBe(1000);
  });

  it('reports every problem at once', () => {
    try {
      loadConfig({
        COFFER_PORT: 'abc',
        COFFER_MAX_SECRETS_PER_USER: '0',
        COFFER_DATABASE_URL: 'mysql://x',
        COFFER_LOG_LEVEL: 'loud',
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toMatch(/COFFER_PORT/);
      expect(problems).toMatch(/COFFER_MAX_SECRETS_PER_USER/);
      expect(problems).toMatch(/COFFER_DATABASE_URL/);
      expect(problems).toMatch(/COFFER_LOG_LEVEL/);
    }
  });

  it('refuses two master key sources at once', () => {
    expect(() => loadConfig({ COFFER_MASTER_KEY: 'x', COFFER_MASTER_KEY_FILE: '/k' })).toThrow(
      /only one master key source/,
    );
  });

  it('takes each master key source', () => {
    expect(loadConfig({ COFFER_MASTER_KEY: 'abc' }).masterKey).toEqual({ kind: 'env', value: 'abc' });
    expect(loadConfig({ COFFER_MASTER_KEY_FILE: '/k' }).masterKey).toEqual({ kind: 'file', path: '/k' });
    expect(loadConfig({ COFFER_MASTER_KEY_COMMAND: 'vault read' }).masterKey).toEqual({
      kind: 'command',
      command: 'vault read',
    });
  });

  it('reads a JSON config file, with the environment taking precedence', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/coffer-config-`);
    writeFileSync(`${dir}/c.json`, JSON.stringify({ COFFER_PORT: 12000, COFFER_HOST: '0.0.0.0' }));
    const c = loadConfig({ COFFER_CONFIG_FILE: `${dir}/c.json`, COFFER_HOST: '127.0.0.2' });
    expect(c.port).toBe(12000);
    expect(c.host).toBe('127.0.0.2');
    writeFileSync(`${dir}/bad.json`, JSON.stringify({ COFFER_PROT: 1 }));
    expect(() => loadConfig({ COFFER_CONFIG_FILE: `${dir}/bad.json` })).toThrow(
      /unknown setting COFFER_PROT/,
    );
  });
});
