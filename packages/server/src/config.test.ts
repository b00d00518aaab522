import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, SETTINGS } from './config.js';
import { DEFAULT_MASK_MIN_LENGTH } from './execution/log-masker.js';

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

  it('takes the PostgreSQL pool settings, with defaults of 10 connections, 3 s to connect and 30 s per statement', () => {
    expect(loadConfig({ COFFER_DATABASE_URL: 'postgres://u:p@db:5432/coffer' })).toMatchObject({
      databaseUrl: 'postgres://u:p@db:5432/coffer',
      databasePoolMax: 10,
      databaseConnectTimeoutSeconds: 3,
      databaseStatementTimeoutSeconds: 30,
    });
    expect(
      loadConfig({
        COFFER_DATABASE_URL: 'postgresql:///coffer?host=/run/postgresql',
        COFFER_DATABASE_POOL_MAX: '4',
        COFFER_DATABASE_CONNECT_TIMEOUT_SECONDS: '1',
        COFFER_DATABASE_STATEMENT_TIMEOUT_SECONDS: '120',
      }),
    ).toMatchObject({
      databasePoolMax: 4,
      databaseConnectTimeoutSeconds: 1,
      databaseStatementTimeoutSeconds: 120,
    });
  });

  it('never repeats the database URL (it holds the password) when refusing it', () => {
    for (const bad of [
      'postgres://coffer:s3cr3t-pw@',
      'mysql://coffer:s3cr3t-pw@db/x',
      'postgres://coffer:s3cr3t-pw@[db/x',
    ]) {
      try {
        loadConfig({ COFFER_DATABASE_URL: bad });
        expect.unreachable();
      } catch (err) {
        const problems = (err as ConfigError).problems.join('\n');
        expect(problems).toMatch(/COFFER_DATABASE_URL: must be a postgres:\/\/ URL/);
        expect(problems).not.toContain('s3cr3t-pw');
      }
    }
  });

  it('reads the database URL from COFFER_DATABASE_URL_FILE, and refuses both forms at once', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/coffer-config-`);
    writeFileSync(`${dir}/url`, 'postgres://coffer:s3cr3t-pw@db:5432/coffer\n');
    expect(loadConfig({ COFFER_DATABASE_URL_FILE: `${dir}/url` }).databaseUrl).toBe(
      'postgres://coffer:s3cr3t-pw@db:5432/coffer',
    );
    expect(() =>
      loadConfig({ COFFER_DATABASE_URL_FILE: `${dir}/url`, COFFER_DATABASE_URL: 'postgres://db/x' }),
    ).toThrow(/only one of COFFER_DATABASE_URL and COFFER_DATABASE_URL_FILE/);
    expect(() => loadConfig({ COFFER_DATABASE_URL_FILE: `${dir}/missing` })).toThrow(
      /cannot be read \(ENOENT\)/,
    );
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

  it('sandboxes user code by default, with the host network, a uid range and limits', () => {
    const c = loadConfig({}, '/srv/coffer');
    expect(c.sandbox).toEqual({
      mode: 'bubblewrap',
      bwrap: '/usr/bin/bwrap',
      prlimit: '/usr/bin/prlimit',
      network: 'host',
      uidRange: { min: 2_000_000, max: 2_999_999 },
      accountPattern: undefined,
      limits: { memoryBytes: 2 * 1024 ** 3, processes: 256, cpuSeconds: 3600, fileBytes: 1024 ** 3 },
    });
  });

  it('takes the sandbox settings, and refuses bad ones naming each', () => {
    const c = loadConfig({
      COFFER_SANDBOX: 'off',
      COFFER_SANDBOX_NETWORK: 'coffer-only',
      COFFER_SANDBOX_UIDS: '5000000-5000999',
      COFFER_SANDBOX_ACCOUNT_PATTERN: 'dss-{login}',
      COFFER_SANDBOX_MEMORY_MIB: '512',
      COFFER_SANDBOX_PROCESSES: '64',
      COFFER_SANDBOX_CPU_SECONDS: '60',
      COFFER_SANDBOX_FILES_MIB: '100',
    });
    expect(c.sandbox).toMatchObject({
      mode: 'off',
      network: 'coffer-only',
      uidRange: { min: 5_000_000, max: 5_000_999 },
      accountPattern: 'dss-{login}',
      limits: { memoryBytes: 512 * 1024 ** 2, processes: 64, cpuSeconds: 60, fileBytes: 100 * 1024 ** 2 },
    });
    try {
      loadConfig({
        COFFER_SANDBOX: 'maybe',
        COFFER_SANDBOX_NETWORK: 'none',
        COFFER_SANDBOX_UIDS: '0-100',
        COFFER_SANDBOX_ACCOUNT_PATTERN: 'everyone',
        COFFER_SANDBOX_PROCESSES: '1',
      });
      expect.unreachable();
    } catch (err) {
      const problems = (err as ConfigError).problems;
      expect(problems).toHaveLength(5);
      expect(problems.join('\n')).toMatch(/COFFER_SANDBOX="maybe": must be on \(the default\) or off/);
      expect(problems.join('\n')).toMatch(/COFFER_SANDBOX_UIDS="0-100": must be a range/);
      expect(problems.join('\n')).toMatch(
        /COFFER_SANDBOX_ACCOUNT_PATTERN="everyone": must contain \{login\}/,
      );
    }
  });

  it('refuses COFFER_JOB_USER, saying what replaced it and where the upgrade is described', () => {
    expect(() => loadConfig({ COFFER_JOB_USER: 'nobody' })).toThrow(
      /COFFER_JOB_USER is replaced: .*account of its own .*COFFER_SANDBOX_UIDS.*Upgrading from COFFER_JOB_USER/,
    );
  });

  it('masks values of 4 characters and more by default, as the masker does; the floor can be set', () => {
    expect(loadConfig({}).jobs.maskMinLength).toBe(DEFAULT_MASK_MIN_LENGTH);
    expect(DEFAULT_MASK_MIN_LENGTH).toBe(4);
    expect(loadConfig({ COFFER_JOB_MASK_MIN_LENGTH: '6' }).jobs.maskMinLength).toBe(6);
    for (const bad of ['0', '2000', 'four'])
      expect(() => loadConfig({ COFFER_JOB_MASK_MIN_LENGTH: bad })).toThrow(/COFFER_JOB_MASK_MIN_LENGTH/);
  });

  it('keeps audit records 90 days unless COFFER_AUDIT_RETENTION_DAYS says otherwise', () => {
    expect(loadConfig({}).audit).toEqual({ retentionDays: 90 });
    expect(loadConfig({ COFFER_AUDIT_RETENTION_DAYS: '400' }).audit).toEqual({ retentionDays: 400 });
  });

  it('refuses a retention that is not a whole number of days from 1, saying what it is for', () => {
    for (const bad of ['0', '-1', '7d', '1.5', 'forever', '36501']) {
      try {
        loadConfig({ COFFER_AUDIT_RETENTION_DAYS: bad });
        expect.unreachable();
      } catch (err) {
        expect((err as ConfigError).problems).toEqual([
          `COFFER_AUDIT_RETENTION_DAYS=${JSON.stringify(bad)}: must be a whole number from 1 to 36500 (days of audit records to keep; export them with \`coffer audit export\` to keep them longer elsewhere)`,
        ]);
      }
    }
  });
});

describe('the settings table', () => {
  it('names each setting once', () => {
    const names = SETTINGS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('holds every COFFER_ name config.ts mentions: there is no setting it reads outside the table', () => {
    const source = readFileSync(new URL('./config.ts', import.meta.url), 'utf8');
    const mentioned = new Set(source.match(/COFFER_[A-Z0-9_]+/g));
    const listed = new Set<string>(SETTINGS.map((s) => s.name));
    expect([...mentioned].filter((n) => !listed.has(n))).toEqual([]);
  });

  it.each(SETTINGS.filter((s) => 'default' in s).map((s) => [s.name, (s as { default: string }).default]))(
    'the default shown for %s (%s) is the one in force when it is unset',
    (name, shown) => {
      expect(loadConfig({ [name]: shown }, '/srv/coffer')).toEqual(loadConfig({}, '/srv/coffer'));
    },
  );

  it('a setting with no default shown changes nothing when unset', () => {
    const unset = SETTINGS.filter((s) => !('default' in s) && !('computed' in s)).map((s) => s.name);
    expect(unset).toContain('COFFER_DATABASE_URL');
    expect(loadConfig({}, '/srv/coffer')).toMatchObject({
      databaseUrl: undefined,
      publicUrl: undefined,
      metricsToken: undefined,
      previousMasterKeys: [],
      masterKey: { kind: 'data-dir-file' },
    });
  });
});
