import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** How this replica runs recipes (see docs/projects-and-jobs.md). */
export interface JobsConfig {
  /** Whether this replica runs jobs at all (every replica can still queue and show them). */
  readonly enabled: boolean;
  readonly concurrency: number;
  readonly timeoutSeconds: number;
  readonly maxLogBytes: number;
  /**
   * Values shorter than this (in characters) are not masked at all, and values shorter than 8 only
   * where they stand as a whole word: masking a short string wherever it occurs would shred ordinary
   * words and, by where the stars fall, still show what the value is.
   */
  readonly maskMinLength: number;
  readonly python: string;
  readonly rscript: string;
  readonly node: string;
  /**
   * Where job working directories are made; each job gets a fresh one, removed afterwards. Outside the
   * data directory, which job processes must not be able to enter.
   */
  readonly workRoot: string;
  /** The Python and R client packages (clients/python, clients/r) put on the jobs' paths. */
  readonly clientsDir: string;
  /** How often a replica says its jobs still run; after 6 missed beats another replica fails them. */
  readonly heartbeatSeconds: number;
  /** A notebook kernel with no activity for this long is stopped (and its ticket revoked). */
  readonly kernelIdleSeconds: number;
}

/** How user code is isolated (see execution/ and docs/isolation.md). */
export interface SandboxConfig {
  /** `bubblewrap` (the default) or `off`: the explicit opt-out for a single-user machine. */
  readonly mode: 'bubblewrap' | 'off';
  readonly bwrap: string;
  readonly prlimit: string;
  readonly network: 'host' | 'coffer-only';
  /** When the server runs as root: uids allocated to users' code. */
  readonly uidRange: { readonly min: number; readonly max: number };
  /** When the server runs as root: map each login to an existing account instead (`coffer-{login}`). */
  readonly accountPattern: string | undefined;
  readonly limits: {
    readonly memoryBytes: number;
    readonly processes: number;
    readonly cpuSeconds: number;
    readonly fileBytes: number;
  };
}

/** Where the master key comes from. Exactly one source is in force. */
export type MasterKeySource =
  | { kind: 'data-dir-file'; path: string }
  | { kind: 'env'; value: string }
  | { kind: 'file'; path: string }
  | { kind: 'command'; command: string };

export interface Config {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  /** Unset means the embedded SQLite store in the data directory. */
  readonly databaseUrl: string | undefined;
  /** Most connections one replica opens to PostgreSQL. */
  readonly databasePoolMax: number;
  /** How long a request waits for a PostgreSQL connection before it fails with 503. */
  readonly databaseConnectTimeoutSeconds: number;
  /** Longest a PostgreSQL statement may run (statement_timeout). */
  readonly databaseStatementTimeoutSeconds: number;
  readonly publicUrl: string | undefined;
  /** The built web UI (index.html and assets/); undefined when none is installed. */
  readonly webDir: string | undefined;
  readonly jobs: JobsConfig;
  readonly sandbox: SandboxConfig;
  readonly masterKey: MasterKeySource;
  /** During a rotation: the master keys in use before the current one (base64, parsed at start). */
  readonly previousMasterKeys: readonly string[];
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly trustProxy: boolean;
  /** Bearer token a Prometheus scraper sends for /metrics; unset, /metrics does not exist. */
  readonly metricsToken: string | undefined;
  readonly audit: {
    /** Records older than this many days are removed in the background (docs/adr/0016). */
    readonly retentionDays: number;
  };
  readonly limits: {
    readonly secretsPerUser: number;
    readonly bodyBytes: number;
    readonly sessionIdleMinutes: number;
    readonly sessionMaxHours: number;
    readonly loginFailuresPerWindow: number;
    readonly loginWindowMinutes: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const KNOWN = [
  'COFFER_CONFIG_FILE',
  'COFFER_DATA_DIR',
  'COFFER_HOST',
  'COFFER_PORT',
  'COFFER_DATABASE_URL',
  'COFFER_PUBLIC_URL',
  'COFFER_MASTER_KEY',
  'COFFER_MASTER_KEY_FILE',
  'COFFER_MASTER_KEY_COMMAND',
  'COFFER_LOG_LEVEL',
  'COFFER_TRUST_PROXY',
  'COFFER_MAX_SECRETS_PER_USER',
  'COFFER_MAX_BODY_BYTES',
  'COFFER_SESSION_IDLE_MINUTES',
  'COFFER_SESSION_MAX_HOURS',
  'COFFER_LOGIN_MAX_FAILURES',
  'COFFER_LOGIN_WINDOW_MINUTES',
  'COFFER_WEB_DIR',
  'COFFER_JOBS_ENABLED',
  'COFFER_JOB_CONCURRENCY',
  'COFFER_JOB_TIMEOUT_SECONDS',
  'COFFER_JOB_MAX_LOG_BYTES',
  'COFFER_JOB_MASK_MIN_LENGTH',
  'COFFER_JOB_USER',
  'COFFER_KERNEL_IDLE_SECONDS',
  'COFFER_SANDBOX',
  'COFFER_SANDBOX_BWRAP',
  'COFFER_SANDBOX_NETWORK',
  'COFFER_SANDBOX_UIDS',
  'COFFER_SANDBOX_ACCOUNT_PATTERN',
  'COFFER_SANDBOX_MEMORY_MIB',
  'COFFER_SANDBOX_PROCESSES',
  'COFFER_SANDBOX_CPU_SECONDS',
  'COFFER_SANDBOX_FILES_MIB',
  'COFFER_JOB_PYTHON',
  'COFFER_JOB_RSCRIPT',
  'COFFER_JOB_NODE',
  'COFFER_JOB_WORK_DIR',
  'COFFER_CLIENTS_DIR',
  'COFFER_JOB_HEARTBEAT_SECONDS',
  'COFFER_METRICS_TOKEN',
  'COFFER_DATABASE_POOL_MAX',
  'COFFER_DATABASE_URL_FILE',
  'COFFER_DATABASE_CONNECT_TIMEOUT_SECONDS',
  'COFFER_DATABASE_STATEMENT_TIMEOUT_SECONDS',
  'COFFER_PREVIOUS_MASTER_KEYS',
  'COFFER_AUDIT_RETENTION_DAYS',
] as const;

/**
 * Reads the configuration once: from an optional JSON file (COFFER_CONFIG_FILE, keys named like the
 * variables) overlaid by the environment. Every problem is collected so the operator fixes them in one go.
 */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const problems: string[] = [];
  const merged: Env = {};
  const file = env.COFFER_CONFIG_FILE;
  if (file) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(path.resolve(cwd, file), 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        problems.push(`COFFER_CONFIG_FILE ${file}: must hold a JSON object`);
      } else {
        for (const [k, v] of Object.entries(parsed)) {
          if (!(KNOWN as readonly string[]).includes(k) || k === 'COFFER_CONFIG_FILE') {
            problems.push(`COFFER_CONFIG_FILE ${file}: unknown setting ${k}`);
          } else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
            merged[k] = String(v);
          } else {
            problems.push(`COFFER_CONFIG_FILE ${file}: ${k} must be a string, number or boolean`);
          }
        }
      }
    } catch (err) {
      problems.push(`COFFER_CONFIG_FILE ${file}: cannot be read as JSON (${(err as Error).message})`);
    }
  }
  for (const k of KNOWN) if (env[k] !== undefined && env[k] !== '') merged[k] = env[k];

  /** `what` says what the number is, where its name alone does not. */
  const int = (name: string, def: number, min: number, max: number, what?: string): number => {
    const raw = merged[name];
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(
        `${name}=${JSON.stringify(raw)}: must be a whole number from ${min} to ${max}${what ? ` (${what})` : ''}`,
      );
      return def;
    }
    return n;
  };

  const dataDir = path.resolve(cwd, merged.COFFER_DATA_DIR ?? './data');
  const host = merged.COFFER_HOST ?? '127.0.0.1';
  const port = int('COFFER_PORT', 11200, 0, 65535);

  // The URL holds the database password: no message here repeats it.
  let databaseUrl = merged.COFFER_DATABASE_URL;
  let urlSetting = 'COFFER_DATABASE_URL';
  if (merged.COFFER_DATABASE_URL_FILE !== undefined) {
    urlSetting = 'COFFER_DATABASE_URL_FILE';
    const urlFile = path.resolve(cwd, merged.COFFER_DATABASE_URL_FILE);
    if (databaseUrl !== undefined) {
      problems.push('set only one of COFFER_DATABASE_URL and COFFER_DATABASE_URL_FILE');
    } else {
      try {
        databaseUrl = readFileSync(urlFile, 'utf8').trim();
      } catch (err) {
        problems.push(
          `COFFER_DATABASE_URL_FILE ${urlFile}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
    }
  }
  if (databaseUrl !== undefined && !validDatabaseUrl(databaseUrl)) {
    problems.push(
      `${urlSetting}: must be a postgres:// URL with a host, e.g. postgres://coffer:PASSWORD@db.example:5432/coffer (leave it unset for the embedded SQLite store)`,
    );
  }

  const publicUrl = merged.COFFER_PUBLIC_URL;
  if (publicUrl !== undefined) {
    try {
      const u = new URL(publicUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    } catch {
      problems.push(`COFFER_PUBLIC_URL=${JSON.stringify(publicUrl)}: must be an http:// or https:// URL`);
    }
  }

  const keySources = ['COFFER_MASTER_KEY', 'COFFER_MASTER_KEY_FILE', 'COFFER_MASTER_KEY_COMMAND'].filter(
    (k) => merged[k] !== undefined,
  );
  let masterKey: MasterKeySource = { kind: 'data-dir-file', path: path.join(dataDir, 'master.key') };
  if (keySources.length > 1) {
    problems.push(`set only one master key source; found ${keySources.join(', ')}`);
  } else if (merged.COFFER_MASTER_KEY !== undefined) {
    masterKey = { kind: 'env', value: merged.COFFER_MASTER_KEY };
  } else if (merged.COFFER_MASTER_KEY_FILE !== undefined) {
    masterKey = { kind: 'file', path: path.resolve(cwd, merged.COFFER_MASTER_KEY_FILE) };
  } else if (merged.COFFER_MASTER_KEY_COMMAND !== undefined) {
    masterKey = { kind: 'command', command: merged.COFFER_MASTER_KEY_COMMAND };
  }

  let webDir: string | undefined;
  if (merged.COFFER_WEB_DIR !== undefined) {
    webDir = path.resolve(cwd, merged.COFFER_WEB_DIR);
    if (!existsSync(path.join(webDir, 'index.html')))
      problems.push(`COFFER_WEB_DIR=${JSON.stringify(merged.COFFER_WEB_DIR)}: no index.html there`);
  } else {
    webDir = installedWebUi();
  }

  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
  const logLevel = (merged.COFFER_LOG_LEVEL ?? 'info') as Config['logLevel'];
  if (!levels.includes(logLevel)) {
    problems.push(`COFFER_LOG_LEVEL=${JSON.stringify(logLevel)}: must be one of ${levels.join(', ')}`);
  }
  const trustRaw = (merged.COFFER_TRUST_PROXY ?? 'false').toLowerCase();
  if (!['true', 'false'].includes(trustRaw)) problems.push('COFFER_TRUST_PROXY: must be true or false');

  const limits = {
    secretsPerUser: int('COFFER_MAX_SECRETS_PER_USER', 1000, 1, 1_000_000),
    bodyBytes: int('COFFER_MAX_BODY_BYTES', 4 * 1024 * 1024, 1024, 512 * 1024 * 1024),
    sessionIdleMinutes: int('COFFER_SESSION_IDLE_MINUTES', 8 * 60, 1, 7 * 24 * 60),
    sessionMaxHours: int('COFFER_SESSION_MAX_HOURS', 7 * 24, 1, 90 * 24),
    loginFailuresPerWindow: int('COFFER_LOGIN_MAX_FAILURES', 10, 1, 10_000),
    loginWindowMinutes: int('COFFER_LOGIN_WINDOW_MINUTES', 15, 1, 24 * 60),
  };

  const jobsEnabled = (merged.COFFER_JOBS_ENABLED ?? 'true').toLowerCase();
  if (!['true', 'false'].includes(jobsEnabled)) problems.push('COFFER_JOBS_ENABLED: must be true or false');
  if (merged.COFFER_JOB_USER !== undefined)
    problems.push(
      'COFFER_JOB_USER is replaced: each user’s code now runs in a sandbox, as an account of its own when the server runs as root (COFFER_SANDBOX_UIDS). Remove the setting (docs/isolation.md: "Upgrading from COFFER_JOB_USER")',
    );
  const jobs: JobsConfig = {
    enabled: jobsEnabled === 'true',
    concurrency: int('COFFER_JOB_CONCURRENCY', 2, 1, 256),
    timeoutSeconds: int('COFFER_JOB_TIMEOUT_SECONDS', 3600, 1, 7 * 24 * 3600),
    maxLogBytes: int('COFFER_JOB_MAX_LOG_BYTES', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maskMinLength: int('COFFER_JOB_MASK_MIN_LENGTH', 4, 1, 1024),
    python: merged.COFFER_JOB_PYTHON ?? 'python3',
    rscript: merged.COFFER_JOB_RSCRIPT ?? 'Rscript',
    node: merged.COFFER_JOB_NODE ?? process.execPath,
    workRoot: path.resolve(cwd, merged.COFFER_JOB_WORK_DIR ?? path.join(tmpdir(), 'coffer-jobs')),
    clientsDir: path.resolve(cwd, merged.COFFER_CLIENTS_DIR ?? bundledClientsDir()),
    heartbeatSeconds: int('COFFER_JOB_HEARTBEAT_SECONDS', 5, 1, 3600),
    kernelIdleSeconds: int('COFFER_KERNEL_IDLE_SECONDS', 3600, 1, 7 * 24 * 3600),
  };

  const sandboxMode = (merged.COFFER_SANDBOX ?? 'on').toLowerCase();
  if (!['on', 'off'].includes(sandboxMode))
    problems.push(
      `COFFER_SANDBOX=${JSON.stringify(merged.COFFER_SANDBOX)}: must be on (the default) or off (a single-user machine only)`,
    );
  const network = merged.COFFER_SANDBOX_NETWORK ?? 'host';
  if (network !== 'host' && network !== 'coffer-only')
    problems.push(`COFFER_SANDBOX_NETWORK=${JSON.stringify(network)}: must be host or coffer-only`);
  const uidRange = { min: 2_000_000, max: 2_999_999 };
  if (merged.COFFER_SANDBOX_UIDS !== undefined) {
    const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(merged.COFFER_SANDBOX_UIDS);
    const [min, max] = [Number(m?.[1]), Number(m?.[2])];
    if (!m || min < 1000 || max < min || max > 4_294_967_294)
      problems.push(
        `COFFER_SANDBOX_UIDS=${JSON.stringify(merged.COFFER_SANDBOX_UIDS)}: must be a range FIRST-LAST of uids from 1000 up, e.g. 2000000-2999999`,
      );
    else Object.assign(uidRange, { min, max });
  }
  const accountPattern = merged.COFFER_SANDBOX_ACCOUNT_PATTERN;
  if (accountPattern !== undefined && !accountPattern.includes('{login}'))
    problems.push(
      `COFFER_SANDBOX_ACCOUNT_PATTERN=${JSON.stringify(accountPattern)}: must contain {login}, e.g. coffer-{login}`,
    );
  const MIB = 1024 * 1024;
  const sandbox: SandboxConfig = {
    mode: sandboxMode === 'off' ? 'off' : 'bubblewrap',
    bwrap: merged.COFFER_SANDBOX_BWRAP ?? '/usr/bin/bwrap',
    prlimit: '/usr/bin/prlimit',
    network: network === 'coffer-only' ? 'coffer-only' : 'host',
    uidRange,
    accountPattern,
    limits: {
      memoryBytes: int('COFFER_SANDBOX_MEMORY_MIB', 2048, 64, 1024 * 1024) * MIB,
      processes: int('COFFER_SANDBOX_PROCESSES', 256, 16, 65536),
      cpuSeconds: int('COFFER_SANDBOX_CPU_SECONDS', 3600, 1, 30 * 24 * 3600),
      fileBytes: int('COFFER_SANDBOX_FILES_MIB', 1024, 1, 1024 * 1024) * MIB,
    },
  };

  const databasePoolMax = int('COFFER_DATABASE_POOL_MAX', 10, 1, 1000);
  const databaseConnectTimeoutSeconds = int('COFFER_DATABASE_CONNECT_TIMEOUT_SECONDS', 3, 1, 600);
  const databaseStatementTimeoutSeconds = int('COFFER_DATABASE_STATEMENT_TIMEOUT_SECONDS', 30, 1, 86_400);
  const metricsToken = merged.COFFER_METRICS_TOKEN;
  if (metricsToken !== undefined && !/^[\x21-\x7e]{24,256}$/.test(metricsToken))
    problems.push(
      'COFFER_METRICS_TOKEN: must be 24 to 256 printable characters without spaces (e.g. `openssl rand -hex 24`)',
    );

  const audit = {
    retentionDays: int(
      'COFFER_AUDIT_RETENTION_DAYS',
      90,
      1,
      36_500,
      'days of audit records to keep; export them with `coffer audit export` to keep them longer elsewhere',
    ),
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    dataDir,
    host,
    port,
    databaseUrl,
    publicUrl,
    webDir,
    jobs,
    sandbox,
    masterKey,
    logLevel,
    trustProxy: trustRaw === 'true',
    metricsToken,
    audit,
    databasePoolMax,
    databaseConnectTimeoutSeconds,
    databaseStatementTimeoutSeconds,
    previousMasterKeys: (merged.COFFER_PREVIOUS_MASTER_KEYS ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter((k) => k !== ''),
    limits,
  };
}

/** The web UI that ships with the server: the @coffer/web package's build, if it is installed. */
function installedWebUi(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('@coffer/web/package.json');
    return path.join(path.dirname(pkg), 'dist');
  } catch {
    return undefined;
  }
}

/** clients/ of the repository this server was built in (packages/server/dist → ../../../clients). */
function bundledClientsDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../clients');
}

function validDatabaseUrl(url: string): boolean {
  if (!/^postgres(ql)?:\/\//.test(url)) return false;
  try {
    const u = new URL(url);
    // postgres:///db?host=/run/postgresql is a Unix socket.
    return u.hostname !== '' || u.searchParams.has('host');
  } catch {
    return false;
  }
}
