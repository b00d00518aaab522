import { Command, CommanderError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AppError,
  BackupFileError,
  createBackup,
  Keyring,
  loadMasterKey,
  openStore,
  storeOptionsOf,
  restoreBackup,
  rotate,
  RestoreRefused,
  StoreCannotWrite,
  StoreUnreachable,
  ConfigError,
  SETTINGS,
  createLogger,
  createServices,
  diagnose,
  type Finding,
  exportAuditTrail,
  generateMasterKey,
  loadConfig,
  MasterKeyError,
  newKeyWarning,
  openRuntime,
  startServer,
  type Caller,
} from '@coffer/server';
import { CofferUnreachable } from '@coffer/client';
import { apiClient } from '@coffer/client/node';
import { closeExportFile, newExportFile, writeJsonLines } from './audit-export.js';
import { pluginArchiveFrom } from './plugin-archive.js';
import { progressBar } from './progress.js';
import { Interrupted, PasswordsDiffer, readNewPassword } from './read-secret.js';
import { askOnTerminal, describeClientError, exitStatusOf, NotApproved, runAndFollow } from './run-recipe.js';
import { parseSince, SINCE_FORMS } from './since.js';

/*
 * The `coffer` command. Administration commands work on the data directory (or database) directly, as
 * the operator of the machine: that is how the first administrator is made, before anyone can sign in.
 */

const operator: Caller = { kind: 'operator', name: 'cli' };

class UsageError extends Error {}

/** The version in packages/cli/package.json, read where the command is installed. */
function cliVersion(): string {
  const file = new URL('../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

async function withServices<T>(fn: (s: ReturnType<typeof createServices>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const { store, keyring, newKeyFile } = await openRuntime(config);
  if (newKeyFile) process.stderr.write(`coffer: ${newKeyWarning(newKeyFile)}\n`);
  try {
    return await fn(createServices({ config, store, keyring, clock: { now: () => Date.now() } }));
  } finally {
    await store.close();
  }
}

/**
 * Every setting with its default and meaning, from the server's one table of them: a setting added
 * there is listed here without anyone remembering to.
 */
function settingsHelp(): string {
  const width = Math.max(...SETTINGS.map((s) => s.name.length)) + 2;
  const lines = [
    '',
    'Settings: environment variables, or the keys of a JSON file named by COFFER_CONFIG_FILE (the',
    'environment wins). Every problem is reported at once and the server exits 78.',
    '',
    `  ${'Setting'.padEnd(width)}Default`,
  ];
  let group = '';
  for (const s of SETTINGS) {
    if (s.group !== group) {
      group = s.group;
      lines.push('', `${group}:`);
    }
    const shown = 'default' in s ? s.default : 'computed' in s ? s.computed : 'unset';
    lines.push(`  ${s.name.padEnd(width)}${shown}`, `      ${s.meaning}`);
  }
  return lines.join('\n');
}

const program = new Command()
  .name('coffer')
  .description('Coffer: personal, encrypted secrets for data-platform users')
  .version(cliVersion(), '-V, --version', 'print the version of coffer')
  .showHelpAfterError()
  .exitOverride();

program
  .command('serve')
  .description('start the server (settings come from COFFER_* environment variables)')
  .addHelpText('after', settingsHelp())
  .action(async () => {
    const config = loadConfig();
    // A person at a terminal reads lines; anything else (a file, journald, a collector) gets JSON.
    const logger = createLogger(config, undefined, { pretty: process.stdout.isTTY === true });
    const starting = startServer(config, { logger });
    // Listened for from the start: a signal that comes while the server starts (or just as it says it
    // listens) still shuts it down cleanly, once it has started, instead of killing it half way.
    const stop = async (signal: string) => {
      const server = await starting;
      server.app.log.info({ signal }, 'shutting down');
      await server.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
    await starting;
  });

/** `coffer doctor` found something Coffer needs broken (docs/cli.md: exit codes). */
const DOCTOR_FOUND_PROBLEMS = 3;

program
  .command('doctor')
  .description(
    'check, changing nothing, what a server started with these settings needs: the settings, the store, the master key, the sandbox, the interpreters and Jupyter; say what to fix. Exits 0 when all that is needed is in order, 3 otherwise',
  )
  .action(async () => {
    let findings: Finding[];
    try {
      const config = loadConfig();
      findings = [{ check: 'settings', status: 'ok', summary: 'valid' }, ...(await diagnose(config))];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      findings = [
        {
          check: 'settings',
          status: 'problem',
          summary: err.problems.join('; '),
          fix: 'correct the settings named (coffer serve --help lists them all); the other checks need them',
        },
      ];
    }
    const label = { ok: 'ok', warning: 'warning', problem: 'PROBLEM' } as const;
    const width = Math.max(...findings.map((f) => f.check.length)) + 2;
    for (const f of findings) {
      process.stdout.write(`${label[f.status].padEnd(9)}${f.check.padEnd(width)}${f.summary}\n`);
      if (f.fix) process.stdout.write(`${' '.repeat(9 + width)}fix: ${f.fix}\n`);
    }
    const problems = findings.filter((f) => f.status === 'problem').length;
    const warnings = findings.filter((f) => f.status === 'warning').length;
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    process.stdout.write(
      problems > 0
        ? `coffer doctor: ${plural(problems, 'problem')} to fix${warnings ? `, ${plural(warnings, 'warning')}` : ''}\n`
        : `coffer doctor: everything Coffer needs is in order${warnings ? ` (${plural(warnings, 'warning')})` : ''}\n`,
    );
    if (problems > 0) process.exitCode = DOCTOR_FOUND_PROBLEMS;
  });

const users = program.command('users').description('manage users');

users
  .command('create <login>')
  .description('create a user; the password is read from stdin')
  .option('--admin', 'make the user an administrator')
  .option('--display-name <name>', 'display name')
  .option('--email <email>', 'email address')
  .option('--group <group...>', 'groups the user belongs to')
  .action(
    async (
      login: string,
      opts: { admin?: boolean; displayName?: string; email?: string; group?: string[] },
    ) => {
      const password = await readNewPassword(`Password for ${login}: `, `Password for ${login} again: `);
      if (!password) throw new UsageError('no password given on stdin');
      const groups = [...(opts.group ?? []), ...(opts.admin ? ['administrators'] : [])];
      const user = await withServices((s) =>
        s.users.create(operator, {
          login,
          password,
          displayName: opts.displayName,
          email: opts.email,
          groups,
        }),
      );
      process.stderr.write(`created user ${user.login}${user.isAdmin ? ' (administrator)' : ''}\n`);
    },
  );

users
  .command('list')
  .description('list users')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const list = await withServices((s) => s.users.list(operator));
    if (opts.json) {
      process.stdout.write(
        JSON.stringify(
          list.map((u) => ({
            login: u.login,
            displayName: u.displayName,
            email: u.email,
            groups: u.groups,
            enabled: u.enabled,
            admin: u.isAdmin,
          })),
          null,
          2,
        ) + '\n',
      );
      return;
    }
    for (const u of list) {
      process.stdout.write(
        `${u.login}\t${u.enabled ? 'enabled' : 'disabled'}\t${u.isAdmin ? 'admin' : 'user'}\t${u.displayName}\t${u.email}\n`,
      );
    }
  });

for (const [name, enabled] of [
  ['disable', false],
  ['enable', true],
] as const) {
  users
    .command(`${name} <login>`)
    .description(
      enabled ? 'enable a user' : 'disable a user: their sessions, tickets and API keys stop working at once',
    )
    .action(async (login: string) => {
      await withServices((s) => s.users.update(operator, login, { enabled }));
      process.stderr.write(`${name}d user ${login}\n`);
    });
}

users
  .command('reset-password <login>')
  .description(
    "set a user's password (read from stdin); the operator holds the master key, so their secrets are kept",
  )
  .action(async (login: string) => {
    const password = await readNewPassword(
      `New password for ${login}: `,
      `New password for ${login} again: `,
    );
    if (!password) throw new UsageError('no password given on stdin');
    await withServices((s) => s.users.resetPassword(operator, login, password));
    process.stderr.write(`set a new password for ${login}; their secrets are kept\n`);
  });

users
  .command('delete <login>')
  .description('delete a user with their data key: their secrets and credentials become unrecoverable')
  .option('--yes', 'confirm: this cannot be undone')
  .action(async (login: string, opts: { yes?: boolean }) => {
    if (!opts.yes)
      throw new UsageError(
        `deleting ${login} destroys their secrets and credentials for good; run again with --yes to confirm`,
      );
    await withServices((s) => s.users.delete(operator, login));
    process.stderr.write(`deleted user ${login}\n`);
  });

const apiKeys = program.command('api-keys').description('manage personal API keys');

apiKeys
  .command('list [login]')
  .description("list live personal API keys (everyone's, or one user's); never the keys themselves")
  .option('--json', 'print JSON')
  .action(async (login: string | undefined, opts: { json?: boolean }) => {
    const all = await withServices((s) => s.apiKeys.listAll(operator));
    const list = login === undefined ? all : all.filter((k) => k.user === login);
    if (opts.json) {
      process.stdout.write(JSON.stringify(list, null, 2) + '\n');
      return;
    }
    for (const k of list)
      process.stdout.write(
        `${k.id}\t${k.user}\t…${k.last4}\t${k.label}\t${new Date(k.createdOn).toISOString()}${k.delegated ? '\tdelegated' : ''}\n`,
      );
  });

apiKeys
  .command('revoke <id>')
  .description('revoke a personal API key at once (its id, from api-keys list)')
  .action(async (id: string) => {
    await withServices((s) => s.apiKeys.revoke(operator, id));
    process.stderr.write(`revoked API key ${id}\n`);
  });

apiKeys
  .command('create <login>')
  .description('create a personal API key for a user and print it (only the key, on stdout)')
  .option('--label <label>', 'label shown in the key list')
  .option('--description <text>', 'description')
  .action(async (login: string, opts: { label?: string; description?: string }) => {
    const r = await withServices((s) =>
      s.apiKeys.create(operator, { forLogin: login, label: opts.label, description: opts.description }),
    );
    process.stdout.write(r.key + '\n');
  });

const plugins = program.command('plugins').description('install, list and remove plugins (DSS layout)');

plugins
  .command('install <source>')
  .description(
    "install a plugin from a zip or a plugin's folder; a plugin with the same id is replaced (an update)",
  )
  .action(async (source: string) => {
    const zip = await pluginArchiveFrom(source).catch((e: unknown) => {
      throw new UsageError((e as Error).message);
    });
    const p = await withServices((s) => s.plugins.install(operator, zip));
    process.stderr.write(
      `installed plugin ${p.id} ${p.version}: ${p.recipes.length} recipe${p.recipes.length === 1 ? '' : 's'}, ${p.parameterSets.length} parameter set${p.parameterSets.length === 1 ? '' : 's'}\n`,
    );
  });

plugins
  .command('list')
  .description('list installed plugins')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const list = await withServices((s) => s.plugins.listAll(operator));
    if (opts.json) {
      process.stdout.write(JSON.stringify(list, null, 2) + '\n');
      return;
    }
    for (const p of list) process.stdout.write(`${p.id}\t${p.version}\t${p.recipes} recipes\t${p.label}\n`);
  });

plugins
  .command('remove <id>')
  .description("remove a plugin, its presets and users' credentials for them")
  .option('--force', 'remove it even while recipes use it (they stay, marked broken)')
  .action(async (id: string, opts: { force?: boolean }) => {
    const r = await withServices((s) => s.plugins.remove(operator, id, { force: opts.force === true }));
    process.stderr.write(
      `removed plugin ${id}${r.brokenRecipes > 0 ? `; ${r.brokenRecipes} recipe${r.brokenRecipes === 1 ? '' : 's'} that used it cannot run until it is installed again` : ''}\n`,
    );
  });

const keys = program.command('keys').description('master keys');

keys
  .command('generate')
  .description('print a new random master key (32 bytes, base64)')
  .action(() => {
    process.stdout.write(generateMasterKey() + '\n');
  });

keys
  .command('rotate')
  .description(
    're-wrap every data key under the current master key (COFFER_MASTER_KEY…), with the old key in COFFER_PREVIOUS_MASTER_KEYS; retires versions nothing uses. Safe beside running servers; rerun to resume.',
  )
  .option('--reseal', 'also give every user a new data key and seal every value again under it')
  .action(async (opts: { reseal?: boolean }) => {
    const config = loadConfig();
    const { store, keyring } = await openRuntime(config);
    const rewrapBar = progressBar('re-wrap data keys', 'keys');
    const resealBar = progressBar('re-seal users', 'users');
    try {
      const r = await rotate(store, keyring, {
        reseal: Boolean(opts.reseal),
        now: () => Date.now(),
        onRewrap: (d, t) => rewrapBar.update(d, t),
        onReseal: (d, t) => {
          rewrapBar.stop();
          resealBar.update(d, t);
        },
      });
      rewrapBar.stop();
      resealBar.stop();
      process.stderr.write(
        `coffer: master key version ${keyring.masterVersion}: re-wrapped ${r.rewrapped} data keys` +
          (opts.reseal ? `, re-sealed ${r.resealedValues} values of ${r.resealedUsers} users` : '') +
          (r.retired.length > 0
            ? `; retired version ${r.retired.join(', ')} (remove ${r.retired.length > 1 ? 'those keys' : 'that key'} from COFFER_PREVIOUS_MASTER_KEYS)`
            : '') +
          '\n',
      );
    } finally {
      rewrapBar.stop();
      resealBar.stop();
      await store.close();
    }
  });

program
  .command('backup <file>')
  .description(
    'write a consistent snapshot of the store to <file> (values stay encrypted: useless without the master key); servers keep running',
  )
  .action(async (file: string) => {
    const config = loadConfig();
    if (!config.databaseUrl && !existsSync(path.join(config.dataDir, 'coffer.db')))
      throw new UsageError(
        `there is no store to back up in ${config.dataDir} (set COFFER_DATA_DIR or COFFER_DATABASE_URL)`,
      );
    if (existsSync(file)) throw new UsageError(`${file} already exists: choose a new file name`);
    const store = await openStore(storeOptionsOf(config));
    const bar = progressBar('backup');
    try {
      const { rows } = await createBackup(store, file, (d, t) => bar.update(d, t));
      bar.stop();
      process.stderr.write(`coffer: backed up ${rows} rows to ${file}\n`);
    } finally {
      bar.stop();
      await store.close();
    }
  });

program
  .command('restore <file>')
  .description(
    'restore a backup into a new, empty store (SQLite or PostgreSQL: also how to move between them); needs the master key the backup was made under',
  )
  .action(async (file: string) => {
    const config = loadConfig();
    if (!existsSync(file)) throw new UsageError(`${file} does not exist`);
    if (config.masterKey.kind === 'data-dir-file' && !existsSync(config.masterKey.path))
      throw new UsageError(
        `restore needs the master key the backup was made under: put it in ${config.masterKey.path}, or set COFFER_MASTER_KEY, COFFER_MASTER_KEY_FILE or COFFER_MASTER_KEY_COMMAND`,
      );
    const keyring = new Keyring(await loadMasterKey(config.masterKey, false));
    const store = await openStore(storeOptionsOf(config));
    const bar = progressBar('restore');
    try {
      const { rows, header } = await restoreBackup(store, keyring, file, (d, t) => bar.update(d, t));
      bar.stop();
      process.stderr.write(
        `coffer: restored ${rows} rows (a ${header.store} backup of ${new Date(header.createdAt).toISOString()}); users sign in again: sessions are not in backups\n`,
      );
    } finally {
      bar.stop();
      await store.close();
    }
  });

program
  .command('audit')
  .description('the audit trail')
  .command('export')
  .description(
    'write the audit records from --since on to stdout (or --output) as JSON lines, one record per line, oldest first: who, how, which credential, which secret names, never a value. Run it more often than COFFER_AUDIT_RETENTION_DAYS, which removes older records. Servers keep running',
  )
  .option('--since <time>', `where to start (required): ${SINCE_FORMS}`)
  .option('--output <file>', 'write to this new file (mode 0600) instead of stdout')
  .action(async (opts: { since?: string; output?: string }) => {
    if (opts.since === undefined) throw new UsageError(`audit export needs --since: ${SINCE_FORMS}`);
    const since = parseSince(opts.since, Date.now());
    if ('problem' in since) throw new UsageError(`--since ${JSON.stringify(opts.since)} ${since.problem}`);
    if (opts.output !== undefined && existsSync(opts.output))
      throw new UsageError(`${opts.output} already exists: choose a new file name`);
    const config = loadConfig();
    if (!config.databaseUrl && !existsSync(path.join(config.dataDir, 'coffer.db')))
      throw new UsageError(
        `there is no store to export from in ${config.dataDir} (set COFFER_DATA_DIR or COFFER_DATABASE_URL)`,
      );
    const store = await openStore(storeOptionsOf(config));
    try {
      const out = opts.output !== undefined ? newExportFile(opts.output) : process.stdout;
      const { count, lastId } = await writeJsonLines(exportAuditTrail(store, { since: since.at }), out);
      if (out !== process.stdout) await closeExportFile(out);
      process.stderr.write(
        `coffer: exported ${count} audit records since ${new Date(since.at).toISOString()}` +
          (lastId !== undefined ? ` (the last has id ${lastId})` : '') +
          (opts.output !== undefined ? ` to ${opts.output}` : '') +
          '\n',
      );
    } finally {
      await store.close();
    }
  });

program
  .command('run <project> <recipe>')
  .description(
    'run a recipe on the server as you (the user of DKU_DSS_URL + DKU_API_KEY or ~/.dataiku/config.json), following its masked log; Ctrl-C cancels it. If someone else changed the recipe since you last ran it, prints who changed what and the diff, and asks you to approve (at a terminal) or takes --approve-revision',
  )
  .option('--timeout <seconds>', 'time limit for this run', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1)
      throw new UsageError(`--timeout must be a whole number of seconds, not ${v}`);
    return n;
  })
  .option(
    '--approve-revision <n>',
    'approve revision n of the recipe, changed by someone else, without being asked (it must be the revision that would run: read its diff first)',
    (v) => {
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1)
        throw new UsageError(`--approve-revision must be a revision number, not ${v}`);
      return n;
    },
  )
  .action(async (project: string, recipe: string, opts: { timeout?: number; approveRevision?: number }) => {
    let client;
    try {
      client = apiClient();
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const job = await runAndFollow(client, project, recipe, {
      timeoutSeconds: opts.timeout,
      approvedRevision: opts.approveRevision,
      // Only a person at a terminal can approve; piped input is no one's answer.
      ask: process.stdin.isTTY ? askOnTerminal : undefined,
      out: process.stdout,
      err: process.stderr,
    });
    process.stderr.write(
      `coffer: job ${job.id} ${job.state.replace('_', ' ')}${job.error ? `: ${job.error}` : ''}\n`,
    );
    process.exitCode = exitStatusOf(job);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and --version asked for are successes; anything else commander refuses is a usage error.
    const asked = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code);
    process.exit(asked ? 0 : 64);
  } else if (err instanceof ConfigError || err instanceof MasterKeyError) {
    process.stderr.write(`coffer: ${err.message}\n`);
    process.exit(78);
  } else if (err instanceof StoreUnreachable) {
    process.stderr.write(`coffer: ${err.message}\n`);
    // Refused (credentials, no such database) is configuration; unreachable may pass by itself.
    process.exit(err.refused ? 78 : 69);
  } else if (err instanceof StoreCannotWrite) {
    process.stderr.write(`coffer: ${err.message}\n`);
    process.exit(74); // EX_IOERR
  } else if (err instanceof RestoreRefused || err instanceof BackupFileError || err instanceof NotApproved) {
    process.stderr.write(`coffer: ${err.message}\n`);
    process.exit(1);
  } else if (err instanceof UsageError || err instanceof PasswordsDiffer) {
    process.stderr.write(`coffer: ${err.message}\n`);
    process.exit(64);
  } else if (err instanceof Interrupted) {
    process.stderr.write('coffer: interrupted; nothing was changed\n');
    process.exit(130);
  } else if (
    (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ||
    (err as NodeJS.ErrnoException).code === 'EACCES'
  ) {
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    process.stderr.write(
      `coffer: cannot listen on ${e.address ?? ''}:${e.port ?? ''} (${e.code === 'EADDRINUSE' ? 'already in use' : 'permission denied'}); set COFFER_HOST / COFFER_PORT\n`,
    );
    process.exit(69);
  } else if (describeClientError(err)) {
    process.stderr.write(`coffer: ${describeClientError(err)}\n`);
    process.exit(err instanceof CofferUnreachable ? 69 : 1);
  } else if (err instanceof AppError) {
    process.stderr.write(`coffer: ${err.message}\n`);
    process.exit(err.code === 'not_found' ? 2 : 1);
  } else {
    process.stderr.write(`coffer: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(70);
  }
}
