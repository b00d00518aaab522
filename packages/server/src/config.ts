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

/**
 * Every setting, with its default and what it means: the one list that loadConfig reads from, that
 * `coffer serve --help` prints, and that a JSON config file may name. A setting read anywhere else
 * would be one an operator cannot find (config.test.ts and test/cli-serve-help.test.ts hold this).
 * `default` is the value in force when the setting is unset, parsed like a value given; `computed`
 * says in words a default that depends on the machine; neither means unset.
 */
export const SETTINGS = [
  {
    group: 'Server',
    name: 'COFFER_CONFIG_FILE',
    meaning: 'A JSON file whose keys are these names; the environment wins over it.',
  },
  {
    group: 'Server',
    name: 'COFFER_DATA_DIR',
    default: './data',
    meaning: 'Data directory: the SQLite database and the default master key file.',
  },
  { group: 'Server', name: 'COFFER_HOST', default: '127.0.0.1', meaning: 'Address to listen on.' },
  {
    group: 'Server',
    name: 'COFFER_PORT',
    default: '11200',
    meaning: 'Port to listen on (0 picks a free one).',
  },
  {
    group: 'Server',
    name: 'COFFER_PUBLIC_URL',
    meaning: 'The URL users reach Coffer at; https:// makes session cookies Secure.',
  },
  {
    group: 'Server',
    name: 'COFFER_TRUST_PROXY',
    default: 'false',
    meaning: 'Trust X-Forwarded-* from a reverse proxy (client address, TLS).',
  },
  {
    group: 'Server',
    name: 'COFFER_WEB_DIR',
    computed: 'the installed web UI (packages/web/dist)',
    meaning: "Where the web UI's built files are.",
  },
  {
    group: 'Server',
    name: 'COFFER_LOG_LEVEL',
    default: 'info',
    meaning: 'fatal, error, warn, info, debug, trace or silent.',
  },
  {
    group: 'Server',
    name: 'COFFER_METRICS_TOKEN',
    meaning: 'Bearer token (24+ characters) for GET /metrics; unset, there is no /metrics.',
  },
  {
    group: 'Store',
    name: 'COFFER_DATABASE_URL',
    meaning: 'postgres://user:password@host:5432/db for PostgreSQL instead of SQLite in the data directory.',
  },
  {
    group: 'Store',
    name: 'COFFER_DATABASE_URL_FILE',
    meaning: 'A file holding that URL (it contains the database password); set one of the two.',
  },
  {
    group: 'Store',
    name: 'COFFER_DATABASE_POOL_MAX',
    default: '10',
    meaning: 'Most PostgreSQL connections one server opens.',
  },
  {
    group: 'Store',
    name: 'COFFER_DATABASE_CONNECT_TIMEOUT_SECONDS',
    default: '3',
    meaning: 'How long a request waits for a PostgreSQL connection before it is answered 503.',
  },
  {
    group: 'Store',
    name: 'COFFER_DATABASE_STATEMENT_TIMEOUT_SECONDS',
    default: '30',
    meaning: 'Longest one PostgreSQL statement may run (statement_timeout).',
  },
  {
    group: 'Master key',
    name: 'COFFER_MASTER_KEY',
    meaning: 'The master key itself (32 bytes, base64); unset, COFFER_DATA_DIR/master.key.',
  },
  { group: 'Master key', name: 'COFFER_MASTER_KEY_FILE', meaning: 'A file holding the master key.' },
  {
    group: 'Master key',
    name: 'COFFER_MASTER_KEY_COMMAND',
    meaning: 'A command that prints the master key (an external key manager).',
  },
  {
    group: 'Master key',
    name: 'COFFER_PREVIOUS_MASTER_KEYS',
    meaning: 'During a rotation: the previous master key(s), comma-separated.',
  },
  {
    group: 'Limits',
    name: 'COFFER_MAX_SECRETS_PER_USER',
    default: '1000',
    meaning: 'Most secrets one user may hold.',
  },
  {
    group: 'Limits',
    name: 'COFFER_MAX_BODY_BYTES',
    default: '4194304',
    meaning: 'Largest request body, in bytes.',
  },
  {
    group: 'Limits',
    name: 'COFFER_SESSION_IDLE_MINUTES',
    default: '480',
    meaning: 'A web session ends after this long without use…',
  },
  {
    group: 'Limits',
    name: 'COFFER_SESSION_MAX_HOURS',
    default: '168',
    meaning: '…and after this long in any case.',
  },
  {
    group: 'Limits',
    name: 'COFFER_LOGIN_MAX_FAILURES',
    default: '10',
    meaning: 'Failed sign-ins per login per window before sign-in is refused.',
  },
  {
    group: 'Limits',
    name: 'COFFER_LOGIN_WINDOW_MINUTES',
    default: '15',
    meaning: 'The sign-in rate-limit window.',
  },
  {
    group: 'Limits',
    name: 'COFFER_AUDIT_RETENTION_DAYS',
    default: '90',
    meaning: 'Days audit records are kept; older ones are removed (export them first).',
  },
  {
    group: 'Jobs',
    name: 'COFFER_JOBS_ENABLED',
    default: 'true',
    meaning: 'Whether this server runs jobs (any server still queues, shows and cancels them).',
  },
  { group: 'Jobs', name: 'COFFER_JOB_CONCURRENCY', default: '2', meaning: 'Jobs this server runs at once.' },
  {
    group: 'Jobs',
    name: 'COFFER_JOB_TIMEOUT_SECONDS',
    default: '3600',
    meaning: 'Longest a job may run; then it is stopped as timed out.',
  },
  {
    group: 'Jobs',
    name: 'COFFER_JOB_MAX_LOG_BYTES',
    default: '10485760',
    meaning: 'Most output a job may write; beyond it the job is stopped and failed.',
  },
  {
    group: 'Jobs',
    name: 'COFFER_JOB_MASK_MIN_LENGTH',
    default: '4',
    meaning: 'Secret values shorter than this are not masked (shorter than 8: only as whole words).',
  },
  {
    group: 'Jobs',
    name: 'COFFER_JOB_PYTHON',
    default: 'python3',
    meaning: 'Python for recipes; a bare name is looked up on /usr/local/bin:/usr/bin:/bin.',
  },
  {
    group: 'Jobs',
    name: 'COFFER_JOB_RSCRIPT',
    default: 'Rscript',
    meaning: 'Rscript for R recipes, looked up the same way.',
  },
  {
    group: 'Jobs',
    name: 'COFFER_JOB_NODE',
    computed: 'the Node running Coffer',
    meaning: 'Node for JavaScript recipes.',
  },
  {
    group: 'Jobs',
    name: 'COFFER_JOB_WORK_DIR',
    computed: '$TMPDIR/coffer-jobs',
    meaning: 'Where each job gets a fresh directory (removed when it ends); outside the data directory.',
  },
  {
    group: 'Jobs',
    name: 'COFFER_CLIENTS_DIR',
    computed: "the repository's clients/",
    meaning: 'The Python and R client packages given to jobs.',
  },
  {
    group: 'Jobs',
    name: 'COFFER_JOB_HEARTBEAT_SECONDS',
    default: '5',
    meaning: 'How often a server says its jobs still run; 6 missed beats and another server fails them.',
  },
  {
    group: 'Jobs',
    name: 'COFFER_KERNEL_IDLE_SECONDS',
    default: '3600',
    meaning: 'A notebook kernel idle this long (no client connected) is stopped.',
  },
  {
    group: 'Jobs',
    name: 'COFFER_JOB_USER',
    meaning: 'Replaced by the sandbox: refused at start; remove it.',
  },
  {
    group: 'Sandbox',
    name: 'COFFER_SANDBOX',
    default: 'on',
    meaning: "off runs users' code without a sandbox: only for a single-user machine.",
  },
  {
    group: 'Sandbox',
    name: 'COFFER_SANDBOX_BWRAP',
    default: '/usr/bin/bwrap',
    meaning: 'The bubblewrap program.',
  },
  {
    group: 'Sandbox',
    name: 'COFFER_SANDBOX_NETWORK',
    default: 'host',
    meaning: "host: code has the machine's network; coffer-only: loopback and Coffer alone.",
  },
  {
    group: 'Sandbox',
    name: 'COFFER_SANDBOX_UIDS',
    default: '2000000-2999999',
    meaning: "As root: uids given to users' code, one per user; no account of the machine may be in it.",
  },
  {
    group: 'Sandbox',
    name: 'COFFER_SANDBOX_ACCOUNT_PATTERN',
    meaning: "As root, instead: run each user's code as the existing account this names (coffer-{login}).",
  },
  {
    group: 'Sandbox',
    name: 'COFFER_SANDBOX_MEMORY_MIB',
    default: '2048',
    meaning: 'Memory of one run (all its processes).',
  },
  {
    group: 'Sandbox',
    name: 'COFFER_SANDBOX_PROCESSES',
    default: '256',
    meaning: 'Processes and threads of one run.',
  },
  { group: 'Sandbox', name: 'COFFER_SANDBOX_CPU_SECONDS', default: '3600', meaning: 'CPU time of one run.' },
  {
    group: 'Sandbox',
    name: 'COFFER_SANDBOX_FILES_MIB',
    default: '1024',
    meaning: "Space one run's files may take (each file, and all together).",
  },
] as const satisfies readonly Setting[];

export interface Setting {
  readonly group: string;
  readonly name: string;
  readonly default?: string;
  readonly computed?: string;
  readonly meaning: string;
}

export type SettingName = (typeof SETTINGS)[number]['name'];

const NAMES: ReadonlySet<string> = new Set(SETTINGS.map((s) => s.name));
const DEFAULTS = new Map<string, string>(
  SETTINGS.flatMap((s) => ('default' in s ? [[s.name, s.default] as [string, string]] : [])),
);

/**
 * Reads the configuration once: from an optional JSON file (COFFER_CONFIG_FILE, keys named like the
 * variables) overlaid by the environment. Every problem is collected so the operator fixes them in one go.
 */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const problems: string[] = [];
  const merged: Partial<Record<SettingName, string>> = {};
  const file = env.COFFER_CONFIG_FILE;
  if (file) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(path.resolve(cwd, file), 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        problems.push(`COFFER_CONFIG_FILE ${file}: must hold a JSON object`);
      } else {
        for (const [k, v] of Object.entries(parsed)) {
          if (!NAMES.has(k) || k === 'COFFER_CONFIG_FILE') {
            problems.push(`COFFER_CONFIG_FILE ${file}: unknown setting ${k}`);
          } else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
            merged[k as SettingName] = String(v);
          } else {
            problems.push(`COFFER_CONFIG_FILE ${file}: ${k} must be a string, number or boolean`);
          }
        }
      }
    } catch (err) {
      problems.push(`COFFER_CONFIG_FILE ${file}: cannot be read as JSON (${(err as Error).message})`);
    }
  }
  for (const { name } of SETTINGS) if (env[name] !== undefined && env[name] !== '') merged[name] = env[name];
  /** A setting as given, or else its default from SETTINGS (undefined: unset, no default). */
  const setting = (name: SettingName): string | undefined => merged[name] ?? DEFAULTS.get(name);
  /** A setting that has a default, so always a value. */
  const value = (name: SettingName): string => setting(name) ?? '';

  /** `what` says what the number is, where its name alone does not. */
  const int = (name: SettingName, min: number, max: number, what?: string): number => {
    const raw = setting(name) ?? '';
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(
        `${name}=${JSON.stringify(raw)}: must be a whole number from ${min} to ${max}${what ? ` (${what})` : ''}`,
      );
      return Number(DEFAULTS.get(name));
    }
    return n;
  };

  const dataDir = path.resolve(cwd, value('COFFER_DATA_DIR'));
  const host = value('COFFER_HOST');
  const port = int('COFFER_PORT', 0, 65535);

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

  const keySources = (
    ['COFFER_MASTER_KEY', 'COFFER_MASTER_KEY_FILE', 'COFFER_MASTER_KEY_COMMAND'] as const
  ).filter((k) => merged[k] !== undefined);
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
  const logLevel = value('COFFER_LOG_LEVEL') as Config['logLevel'];
  if (!levels.includes(logLevel)) {
    problems.push(`COFFER_LOG_LEVEL=${JSON.stringify(logLevel)}: must be one of ${levels.join(', ')}`);
  }
  const trustRaw = value('COFFER_TRUST_PROXY').toLowerCase();
  if (!['true', 'false'].includes(trustRaw)) problems.push('COFFER_TRUST_PROXY: must be true or false');

  const limits = {
    secretsPerUser: int('COFFER_MAX_SECRETS_PER_USER', 1, 1_000_000),
    bodyBytes: int('COFFER_MAX_BODY_BYTES', 1024, 512 * 1024 * 1024),
    sessionIdleMinutes: int('COFFER_SESSION_IDLE_MINUTES', 1, 7 * 24 * 60),
    sessionMaxHours: int('COFFER_SESSION_MAX_HOURS', 1, 90 * 24),
    loginFailuresPerWindow: int('COFFER_LOGIN_MAX_FAILURES', 1, 10_000),
    loginWindowMinutes: int('COFFER_LOGIN_WINDOW_MINUTES', 1, 24 * 60),
  };

  const jobsEnabled = value('COFFER_JOBS_ENABLED').toLowerCase();
  if (!['true', 'false'].includes(jobsEnabled)) problems.push('COFFER_JOBS_ENABLED: must be true or false');
  if (merged.COFFER_JOB_USER !== undefined)
    problems.push(
      'COFFER_JOB_USER is replaced: each user’s code now runs in a sandbox, as an account of its own when the server runs as root (COFFER_SANDBOX_UIDS). Remove the setting (docs/isolation.md: "Upgrading from COFFER_JOB_USER")',
    );
  const jobs: JobsConfig = {
    enabled: jobsEnabled === 'true',
    concurrency: int('COFFER_JOB_CONCURRENCY', 1, 256),
    timeoutSeconds: int('COFFER_JOB_TIMEOUT_SECONDS', 1, 7 * 24 * 3600),
    maxLogBytes: int('COFFER_JOB_MAX_LOG_BYTES', 1024, 1024 * 1024 * 1024),
    maskMinLength: int('COFFER_JOB_MASK_MIN_LENGTH', 1, 1024),
    python: value('COFFER_JOB_PYTHON'),
    rscript: value('COFFER_JOB_RSCRIPT'),
    node: merged.COFFER_JOB_NODE ?? process.execPath,
    workRoot: path.resolve(cwd, merged.COFFER_JOB_WORK_DIR ?? path.join(tmpdir(), 'coffer-jobs')),
    clientsDir: path.resolve(cwd, merged.COFFER_CLIENTS_DIR ?? bundledClientsDir()),
    heartbeatSeconds: int('COFFER_JOB_HEARTBEAT_SECONDS', 1, 3600),
    kernelIdleSeconds: int('COFFER_KERNEL_IDLE_SECONDS', 1, 7 * 24 * 3600),
  };

  const sandboxMode = value('COFFER_SANDBOX').toLowerCase();
  if (!['on', 'off'].includes(sandboxMode))
    problems.push(
      `COFFER_SANDBOX=${JSON.stringify(merged.COFFER_SANDBOX)}: must be on (the default) or off (a single-user machine only)`,
    );
  const network = value('COFFER_SANDBOX_NETWORK');
  if (network !== 'host' && network !== 'coffer-only')
    problems.push(`COFFER_SANDBOX_NETWORK=${JSON.stringify(network)}: must be host or coffer-only`);
  const uidRange = { min: 2_000_000, max: 2_999_999 };
  {
    const uids = value('COFFER_SANDBOX_UIDS');
    const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(uids);
    const [min, max] = [Number(m?.[1]), Number(m?.[2])];
    if (!m || min < 1000 || max < min || max > 4_294_967_294)
      problems.push(
        `COFFER_SANDBOX_UIDS=${JSON.stringify(uids)}: must be a range FIRST-LAST of uids from 1000 up, e.g. 2000000-2999999`,
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
    bwrap: value('COFFER_SANDBOX_BWRAP'),
    prlimit: '/usr/bin/prlimit',
    network: network === 'coffer-only' ? 'coffer-only' : 'host',
    uidRange,
    accountPattern,
    limits: {
      memoryBytes: int('COFFER_SANDBOX_MEMORY_MIB', 64, 1024 * 1024) * MIB,
      processes: int('COFFER_SANDBOX_PROCESSES', 16, 65536),
      cpuSeconds: int('COFFER_SANDBOX_CPU_SECONDS', 1, 30 * 24 * 3600),
      fileBytes: int('COFFER_SANDBOX_FILES_MIB', 1, 1024 * 1024) * MIB,
    },
  };

  const databasePoolMax = int('COFFER_DATABASE_POOL_MAX', 1, 1000);
  const databaseConnectTimeoutSeconds = int('COFFER_DATABASE_CONNECT_TIMEOUT_SECONDS', 1, 600);
  const databaseStatementTimeoutSeconds = int('COFFER_DATABASE_STATEMENT_TIMEOUT_SECONDS', 1, 86_400);
  const metricsToken = merged.COFFER_METRICS_TOKEN;
  if (metricsToken !== undefined && !/^[\x21-\x7e]{24,256}$/.test(metricsToken))
    problems.push(
      'COFFER_METRICS_TOKEN: must be 24 to 256 printable characters without spaces (e.g. `openssl rand -hex 24`)',
    );

  const audit = {
    retentionDays: int(
      'COFFER_AUDIT_RETENTION_DAYS',
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
