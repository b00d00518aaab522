import { execFile } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { RecipeLanguage } from '../store/schema.js';
import type { CodeView, SharedDir } from './sandbox.js';

/*
 * The interpreters user code runs with, and the client packages each finds on its path: the Python
 * package `dataiku` on PYTHONPATH, the R package `dataiku` in an R library, and @coffer/client for
 * JavaScript (ESM ignores NODE_PATH, so the run's home gets a node_modules link to it as well). Each
 * is a read-only shared directory that the sandbox places where the code sees it.
 */

export interface RuntimesConfig {
  readonly python: string;
  readonly rscript: string;
  readonly node: string;
  /** Where the R package is installed for code: a directory the code's accounts can read. */
  readonly workRoot: string;
  /** The repository's clients/ (python/ and r/dataiku). */
  readonly clientsDir: string;
}

/** How to start code of one language, as the code sees it. */
export interface CodeCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
  shared: SharedDir[];
}

const FILES: Record<RecipeLanguage, string> = {
  python: 'recipe.py',
  r: 'recipe.R',
  javascript: 'recipe.mjs',
};

export function recipeFile(language: RecipeLanguage): string {
  return FILES[language];
}

/** The Jupyter kernels a notebook runs on, by their Debian kernelspec names. */
export type JupyterKernel = 'python3' | 'ir';

/** Debian's Jupyter (jupyter_client, ipykernel) lives with Debian's Python, whatever recipes run with. */
export const JUPYTER_PYTHON = '/usr/bin/python3';

/** Where code looks for programs; also where a bare interpreter name is looked up. */
export const CODE_PATH = '/usr/local/bin:/usr/bin:/bin';

export function createRuntimes(config: RuntimesConfig) {
  const python = resolveProgram(config.python);
  const rscript = resolveProgram(config.rscript);
  const node = resolveProgram(config.node);
  const pythonClient: SharedDir = { name: 'python', host: path.join(config.clientsDir, 'python') };
  const jupyterBridge: SharedDir = { name: 'jupyter', host: path.join(config.clientsDir, 'jupyter') };
  const rPackage = path.join(config.clientsDir, 'r', 'dataiku');
  const nodeClient: SharedDir = {
    name: 'node-client',
    host: path.dirname(createRequire(import.meta.url).resolve('@coffer/client/package.json')),
  };
  let rLibrary: SharedDir | undefined;
  let rInstall: Promise<SharedDir> | undefined;

  /**
   * Installs the R package into an R library of its own per version of its sources, under the work
   * root (code cannot enter the data directory). Installed into a temporary library then renamed, so
   * servers sharing the directory never see a half-installed package.
   */
  function ensureRPackage(): Promise<SharedDir> {
    if (rLibrary) return Promise.resolve(rLibrary);
    rInstall ??= (async () => {
      const library = path.join(config.workRoot, `r-lib-${fnv1a(sourceStamp(rPackage))}`);
      if (!existsSync(path.join(library, 'dataiku', 'DESCRIPTION'))) {
        mkdirSync(config.workRoot, { recursive: true, mode: 0o711 });
        const temp = mkdtempSync(`${library}.tmp-`);
        chmodSync(temp, 0o755);
        const r = rscript.includes('/') ? path.join(path.dirname(rscript), 'R') : 'R';
        await new Promise<void>((resolve, reject) => {
          execFile(
            r,
            ['CMD', 'INSTALL', '--no-test-load', `--library=${temp}`, rPackage],
            (err, _o, stderr) =>
              err
                ? reject(
                    new Error(`could not install the R package dataiku: ${stderr.trim() || err.message}`),
                  )
                : resolve(),
          );
        });
        try {
          renameSync(temp, library);
        } catch {
          rmSync(temp, { recursive: true, force: true }); // another server installed it first
        }
      }
      rLibrary = { name: 'r-library', host: library };
      return rLibrary;
    })().catch((e: unknown) => {
      rInstall = undefined;
      throw e;
    });
    return rInstall;
  }

  return {
    /**
     * Directories outside /usr that the interpreters live in: the sandbox binds them read-only where
     * they are (a Node or Python installed under /opt, say).
     */
    systemDirs(): string[] {
      const dirs = new Set<string>();
      for (const program of [python, rscript, node]) {
        const prefix = installPrefix(program);
        if (prefix) dirs.add(prefix);
      }
      return [...dirs];
    },

    /** Node, for what the server itself runs in a sandbox (the network relay). */
    node,

    /**
     * How to start a notebook's kernel beside its bridge, with the client package of the kernel's
     * language on its path (the kernel inherits the bridge's environment).
     */
    async prepareKernel(kernel: JupyterKernel, view: CodeView): Promise<CodeCommand> {
      const bridge = `${view.shared(jupyterBridge)}/coffer_kernel_bridge.py`;
      const base = { command: JUPYTER_PYTHON, args: ['-u', bridge, kernel] };
      if (kernel === 'python3')
        return {
          ...base,
          env: { PYTHONPATH: view.shared(pythonClient), PYTHONDONTWRITEBYTECODE: '1' },
          shared: [jupyterBridge, pythonClient],
        };
      const library = await ensureRPackage();
      return {
        ...base,
        env: { R_LIBS: view.shared(library), R_LIBS_USER: view.home, PYTHONDONTWRITEBYTECODE: '1' },
        shared: [jupyterBridge, library],
      };
    },

    /**
     * Prepares the run's home (`home`, on the host) for the language and says how to start its recipe
     * there, as the code sees it (`view`).
     */
    async prepare(
      language: RecipeLanguage,
      home: string,
      view: CodeView,
      /** A plugin's code file (relative to the home) and its python-lib, instead of the recipe file. */
      plugin?: { file: string; pythonPath: readonly string[] },
    ): Promise<CodeCommand> {
      const file = plugin?.file ?? FILES[language];
      switch (language) {
        case 'python':
          return {
            command: python,
            args: ['-u', file],
            env: {
              PYTHONPATH: [view.shared(pythonClient), ...(plugin?.pythonPath ?? [])].join(':'),
              PYTHONUNBUFFERED: '1',
              PYTHONDONTWRITEBYTECODE: '1',
            },
            shared: [pythonClient],
          };
        case 'r': {
          const library = await ensureRPackage();
          return {
            command: rscript,
            args: ['--no-save', '--no-restore', file],
            env: { R_LIBS: view.shared(library), R_LIBS_USER: view.home },
            shared: [library],
          };
        }
        case 'javascript': {
          const scope = path.join(home, 'node_modules', '@coffer');
          mkdirSync(scope, { recursive: true });
          symlinkSync(view.shared(nodeClient), path.join(scope, 'client'), 'dir');
          return {
            command: node,
            args: [file],
            env: { NODE_PATH: path.join(view.home, 'node_modules') },
            shared: [nodeClient],
          };
        }
      }
    },
  };
}

export type Runtimes = ReturnType<typeof createRuntimes>;

/**
 * An interpreter by absolute path. A bare name is looked up on the code's PATH, not the server's: a
 * server started from a shell with a version manager (pyenv's shims, nvm) must not hand code a
 * shim that needs the operator's home.
 */
export function resolveProgram(program: string): string {
  if (program.includes('/')) return path.resolve(program);
  for (const dir of CODE_PATH.split(':')) {
    const candidate = path.join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return program; // not installed: the run fails naming it
}

/** The install prefix of a program outside /usr (`/opt/node` for `/opt/node/bin/node`), if any. */
function installPrefix(program: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(program);
  } catch {
    return undefined;
  }
  if (real.startsWith('/usr/')) return undefined;
  const prefix = path.dirname(path.dirname(real));
  return prefix === '/' ? path.dirname(real) : prefix;
}

/** Names, sizes and times of the package's files: changes when the sources do. */
function sourceStamp(dir: string): string {
  const parts: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else parts.push(`${path.relative(dir, p)}:${s.size}:${s.mtimeMs}`);
    }
  };
  if (existsSync(dir)) walk(dir);
  return parts.join('\n');
}

/** A short, stable name for a text (FNV-1a); not a security measure. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
