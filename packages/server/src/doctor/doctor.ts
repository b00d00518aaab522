import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { DecryptionError, Keyring, loadMasterKey, MasterKeyError, parseMasterKey } from '../crypto/index.js';
import { checkSandbox } from '../execution/index.js';
import { CODE_PATH, JUPYTER_PYTHON, resolveProgram } from '../execution/runtimes.js';
import { matchKeyVersions } from '../modules/keys/key-versions.js';
import { listMasterKeys, wrappedDataKeys } from '../modules/keys/master-key.repo.js';
import { countUsers } from '../modules/users/user.repo.js';
import { inspectStore, type StoreInspection } from '../store/inspect.js';
import { storeOptionsOf } from '../store/store.js';
import { StoreUnreachable } from '../store/unavailable.js';

/*
 * `coffer doctor`: what a server started with these settings would find on this machine, each with
 * what to do about it. It looks and changes nothing: the store is opened read-only and never made or
 * migrated, and no master key is ever written (a first start does both). The one thing it makes is
 * what the server makes to check its sandbox: a test sandbox in a run directory of
 * COFFER_JOB_WORK_DIR, removed at once.
 */

/**
 * `problem`: something Coffer needs is broken (the command exits non-zero). `warning`: Coffer works,
 * but a feature some users may want does not, or something the operator chose deserves a look.
 */
export type Status = 'ok' | 'warning' | 'problem';

export interface Finding {
  readonly check: string;
  readonly status: Status;
  readonly summary: string;
  /** What to do (a command where there is one); set for every warning and problem. */
  readonly fix?: string;
}

const ok = (check: string, summary: string): Finding => ({ check, status: 'ok', summary });
const bad = (check: string, status: Exclude<Status, 'ok'>, summary: string, fix: string): Finding => ({
  check,
  status,
  summary,
  fix,
});

/** Runs every check for a loaded configuration, in the order an operator would fix them. */
export async function diagnose(config: Config): Promise<Finding[]> {
  const findings: Finding[] = [];
  let store: StoreInspection | undefined;
  try {
    store = await inspectStore(storeOptionsOf(config));
    findings.push(storeFinding(config, store));
  } catch (err) {
    findings.push(storeFailure(config, err));
  }
  try {
    findings.push(await masterKeyFinding(config, store));
  } finally {
    if (store?.state === 'present') await store.close();
  }
  findings.push(await sandboxFinding(config));
  findings.push(...(await interpreterFindings(config)));
  findings.push(...(await jupyterFindings()));
  return findings;
}

// --- Store -----------------------------------------------------------------------------------------

function storeFinding(config: Config, store: StoreInspection): Finding {
  if (store.state === 'absent') {
    if (config.databaseUrl)
      return ok('store', `${store.where}: an empty database; the first start creates the tables`);
    const writable = nearestWritable(config.dataDir);
    return writable
      ? ok('store', `no store yet (${store.where}): the first start creates it`)
      : bad(
          'store',
          'problem',
          `no store yet, and ${config.dataDir} cannot be created or written by this account`,
          `mkdir -p ${config.dataDir} && chown "$(id -un)" ${config.dataDir} && chmod 700 ${config.dataDir} (as the account the server runs as), or set COFFER_DATA_DIR`,
        );
  }
  if (store.unknown.length > 0)
    return bad(
      'store',
      'problem',
      `${store.where} was migrated by a newer Coffer (${store.unknown.join(', ')} unknown to this one)`,
      'run the Coffer version that wrote it (or a later one), or restore a backup made by this version',
    );
  if (store.pending.length > 0)
    return bad(
      'store',
      'warning',
      `${store.where} opens; ${store.pending.length} migration${store.pending.length > 1 ? 's' : ''} pending (${store.pending.join(', ')}): the next start applies ${store.pending.length > 1 ? 'them' : 'it'}`,
      'back the store up before starting this version: coffer backup <file>',
    );
  return ok('store', `${store.where} opens; its schema is current`);
}

function storeFailure(config: Config, err: unknown): Finding {
  if (err instanceof StoreUnreachable)
    return bad(
      'store',
      'problem',
      err.message,
      err.refused
        ? 'fix the user, password or database name in COFFER_DATABASE_URL (or create the database: createdb -O <user> <database>)'
        : 'start PostgreSQL or fix the host and port in COFFER_DATABASE_URL; pg_isready -h <host> -p <port> says when it answers',
    );
  const file = path.join(config.dataDir, 'coffer.db');
  return bad(
    'store',
    'problem',
    `${config.databaseUrl ? 'the PostgreSQL store' : file} cannot be read: ${(err as Error).message}`,
    config.databaseUrl
      ? 'check COFFER_DATABASE_URL'
      : `check that ${file} is Coffer's SQLite file and that the account the server runs as owns it (chown it, chmod 600)`,
  );
}

/** Whether dir exists and is writable, or its nearest existing parent is (so it can be made). */
function nearestWritable(dir: string): boolean {
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      accessSync(d, constants.W_OK | constants.X_OK);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(d) === d) return false;
    }
  }
}

// --- Master key ------------------------------------------------------------------------------------

const MAKE_KEY = 'coffer keys generate';

async function masterKeyFinding(config: Config, store: StoreInspection | undefined): Promise<Finding> {
  const source = config.masterKey;
  const rows = store?.state === 'present' ? await listMasterKeys(store.db).catch(() => []) : [];
  // As at start (openRuntime): a store with users or key versions is not new, whatever its schema.
  const users = store?.state === 'present' ? await countUsers(store.db).catch(() => 0) : 0;
  const holdsData = rows.length > 0 || users > 0;
  let key: Buffer;
  let from: string;
  if (source.kind === 'data-dir-file' || source.kind === 'file') {
    const setting = source.kind === 'file' ? 'COFFER_MASTER_KEY_FILE' : 'the default key file';
    let mode: number;
    const unreadable = (err: unknown) =>
      bad(
        'master key',
        'problem',
        `${source.path} cannot be read by this account (uid ${process.getuid?.() ?? '?'}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        `run coffer as the account the server runs as, or give that account the file: chown <account> ${source.path} && chmod 600 ${source.path}`,
      );
    try {
      const st = statSync(source.path);
      if (!st.isFile())
        return bad(
          'master key',
          'problem',
          `${source.path} (${setting}) is not a file`,
          `put the master key file there (it was backed up when it was made), or set COFFER_MASTER_KEY_FILE`,
        );
      mode = st.mode & 0o777;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return unreadable(err);
      if (source.kind === 'data-dir-file' && !holdsData)
        return ok('master key', `none yet: the first start writes ${source.path} (0600); back it up then`);
      return bad(
        'master key',
        'problem',
        `${source.path} (${setting}) is missing${holdsData ? ' and the store holds data sealed under it' : ''}`,
        holdsData
          ? `restore ${source.path} from your backup of it (mode 0600); never let a new key be made for this store, or every secret in it is lost`
          : `write a key there: ${MAKE_KEY} > ${source.path} && chmod 600 ${source.path}`,
      );
    }
    if ((mode & 0o077) !== 0)
      return bad(
        'master key',
        'problem',
        `${source.path} can be read by other accounts (mode 0${mode.toString(8)}): whoever reads it can open every secret`,
        `chmod 600 ${source.path}`,
      );
    let text: string;
    try {
      text = readFileSync(source.path, 'utf8');
    } catch (err) {
      return unreadable(err);
    }
    try {
      key = parseMasterKey(text, `${source.path} (${setting})`);
    } catch (err) {
      return keyRefused(err);
    }
    from = `${source.path} (mode 0${mode.toString(8)})`;
  } else {
    try {
      key = await loadMasterKey(source, false);
    } catch (err) {
      return keyRefused(err);
    }
    from = source.kind === 'env' ? 'COFFER_MASTER_KEY' : 'COFFER_MASTER_KEY_COMMAND';
  }
  if (store?.state !== 'present' || !holdsData)
    return ok('master key', `${from} holds a valid key; the store has none yet, so it becomes version 1`);
  if (rows.length === 0)
    // A store from before key versions (a migration pending): the next start registers this key.
    return bad(
      'master key',
      'warning',
      `${from} holds a valid key; the store records no key version yet, so it cannot be checked against it`,
      'make sure it is the key this store was written with before starting this version',
    );

  let previous: Buffer[];
  let match: ReturnType<typeof matchKeyVersions>;
  try {
    previous = config.previousMasterKeys.map((k, i) =>
      parseMasterKey(k, `COFFER_PREVIOUS_MASTER_KEYS (key ${i + 1})`),
    );
    match = matchKeyVersions(rows, key, previous);
  } catch (err) {
    return keyRefused(err);
  }
  if (!match.known)
    return bad(
      'master key',
      'warning',
      `${from} is new to the store, and the keys in use are given in COFFER_PREVIOUS_MASTER_KEYS: the next start begins a rotation to it`,
      'then run coffer keys rotate, and remove the old key from COFFER_PREVIOUS_MASTER_KEYS when it says so',
    );
  const keyring = new Keyring(key, match.known.version, { previous: match.given });
  const wrapped = await wrappedDataKeys(store.db);
  const failed = wrapped.filter((w) => {
    try {
      keyring.unwrapDataKey(w.user_id, w.version, w.wrapped);
      return false;
    } catch (err) {
      if (err instanceof DecryptionError) return true;
      throw err;
    }
  });
  if (failed.length > 0)
    return bad(
      'master key',
      'problem',
      `${failed.length} of ${wrapped.length} data keys do not open with ${from} (version ${match.known.version})`,
      'give the master keys the store was written with (COFFER_PREVIOUS_MASTER_KEYS during a rotation); restore the store from a backup if they are lost',
    );
  return ok(
    'master key',
    `${from} is version ${match.known.version} and opens all ${wrapped.length} data key${wrapped.length === 1 ? '' : 's'} of the store`,
  );
}

function keyRefused(err: unknown): Finding {
  if (!(err instanceof MasterKeyError)) throw err;
  return bad(
    'master key',
    'problem',
    err.message,
    `give the key this store was created with (from your backup of it); for a new store, make one with ${MAKE_KEY}`,
  );
}

// --- Sandbox ---------------------------------------------------------------------------------------

async function sandboxFinding(config: Config): Promise<Finding> {
  const r = await checkSandbox(config);
  if (r === 'off')
    return bad(
      'sandbox',
      'warning',
      "COFFER_SANDBOX=off: users' code runs without a sandbox and can read the server's files",
      'only on a single-user machine; elsewhere remove COFFER_SANDBOX=off (and apt-get install -y bubblewrap)',
    );
  if (r) return bad('sandbox', 'problem', `${r.cause}: users' code would be refused`, r.fix);
  return ok('sandbox', `a test sandbox starts (${config.sandbox.bwrap}, network ${config.sandbox.network})`);
}

// --- Interpreters and Jupyter ----------------------------------------------------------------------

type Ran = { ok: true; stdout: string } | { ok: false; why: string };

function run(program: string, args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      program,
      args,
      { timeout: 60_000, env: { PATH: CODE_PATH, LANG: 'C.UTF-8' } },
      (err, stdout, stderr) =>
        resolve(
          err
            ? {
                ok: false,
                why:
                  (err as NodeJS.ErrnoException).code === 'ENOENT'
                    ? `${program} was not found`
                    : stderr.trim().split('\n').slice(-2).join(' ') || err.message,
              }
            : { ok: true, stdout: stdout.trim() },
        ),
    );
  });
}

async function interpreterFindings(config: Config): Promise<Finding[]> {
  const python = resolveProgram(config.jobs.python);
  const rscript = resolveProgram(config.jobs.rscript);
  const node = resolveProgram(config.jobs.node);
  const [py, r, js] = await Promise.all([
    run(python, ['-c', 'import sys; print(sys.version.split()[0])']),
    run(rscript, [
      '-e',
      'cat(paste(R.version$major, R.version$minor, sep = "."), "\\n"); for (p in c("jsonlite", "httr")) if (!requireNamespace(p, quietly = TRUE)) cat("missing", p, "\\n")',
    ]),
    run(node, ['--version']),
  ]);
  const findings: Finding[] = [];
  findings.push(
    py.ok
      ? ok('python', `Python ${py.stdout} (${python})`)
      : bad(
          'python',
          'problem',
          `Python recipes cannot run: ${py.why}`,
          'apt-get install -y python3, or set COFFER_JOB_PYTHON to a Python 3',
        ),
  );
  if (!r.ok)
    findings.push(
      bad(
        'R',
        'warning',
        `R recipes and R notebooks cannot run: ${r.why}`,
        'apt-get install -y r-base-core r-cran-jsonlite r-cran-httr, or set COFFER_JOB_RSCRIPT',
      ),
    );
  else {
    const missing = [...r.stdout.matchAll(/^missing (\S+)/gm)].map((m) => m[1]!);
    const version = r.stdout.split('\n')[0]?.trim();
    findings.push(
      missing.length > 0
        ? bad(
            'R',
            'warning',
            `R ${version} lacks ${missing.join(' and ')}, which the R client needs: R recipes fail`,
            `apt-get install -y ${missing.map((p) => `r-cran-${p}`).join(' ')}`,
          )
        : ok('R', `R ${version} with jsonlite and httr (${rscript})`),
    );
  }
  findings.push(
    js.ok
      ? ok('node', `Node ${js.stdout} (${node})`)
      : bad(
          'node',
          'problem',
          `JavaScript recipes cannot run: ${js.why}`,
          'set COFFER_JOB_NODE to a Node 20 or later',
        ),
  );
  return findings;
}

/** Which kernelspecs Debian's Jupyter finds, as the kernel bridge looks them up (and IRkernel's R side). */
const JUPYTER_PROBE = `
import json
found = {}
try:
    import jupyter_client, ipykernel, zmq
    from jupyter_client.kernelspec import KernelSpecManager
    found["jupyter"] = "jupyter_client %s, ipykernel %s" % (jupyter_client.__version__, ipykernel.__version__)
    specs = KernelSpecManager()
    for name in ("python3", "ir"):
        try:
            found[name] = specs.get_kernel_spec(name).argv[0]
        except Exception as e:
            found[name] = None
except ImportError as e:
    found["missing"] = e.name
print(json.dumps(found))
`;

async function jupyterFindings(): Promise<Finding[]> {
  const r = await run(JUPYTER_PYTHON, ['-c', JUPYTER_PROBE]);
  const notebooks = 'apt-get install -y python3-ipykernel python3-jupyter-client python3-zmq';
  if (!r.ok) return [bad('jupyter', 'warning', `notebooks cannot run: ${r.why}`, notebooks)];
  const found = JSON.parse(r.stdout) as {
    jupyter?: string;
    missing?: string;
    python3?: string | null;
    ir?: string | null;
  };
  if (found.missing)
    return [
      bad('jupyter', 'warning', `notebooks cannot run: ${JUPYTER_PYTHON} lacks ${found.missing}`, notebooks),
    ];
  const out: Finding[] = [
    found.python3
      ? ok('jupyter', `${found.jupyter}; the python3 kernel is installed`)
      : bad(
          'jupyter',
          'warning',
          'Python notebooks cannot run: no python3 kernelspec',
          'apt-get install -y python3-ipykernel',
        ),
  ];
  // The kernelspec starts R (its argv[0]) with IRkernel::main(): the same R must have the package.
  const irkernel = found.ir
    ? await run(resolveProgram(found.ir), [
        '--vanilla',
        '--slave',
        '-e',
        'if (!requireNamespace("IRkernel", quietly = TRUE)) quit(status = 1)',
      ])
    : undefined;
  out.push(
    irkernel?.ok
      ? ok('IRkernel', 'the R kernel (ir) is installed')
      : bad(
          'IRkernel',
          'warning',
          `R notebooks cannot run: ${found.ir ? 'the R package IRkernel is missing' : 'no ir kernelspec'}`,
          'apt-get install -y r-cran-irkernel',
        ),
  );
  return out;
}
