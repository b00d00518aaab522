import { execFile } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { JobsConfig } from '../config.js';
import type { RecipeLanguage } from '../store/schema.js';

/*
 * How each recipe language is started, and the client packages each one finds on its path: the Python
 * package `dataiku` on PYTHONPATH, the R package `dataiku` in an R library, and @coffer/client for
 * JavaScript (ESM ignores NODE_PATH, so the job's directory gets a node_modules link to it as well).
 */

export interface Launch {
  command: string;
  args: string[];
  env: Record<string, string>;
}

const FILES: Record<RecipeLanguage, string> = {
  python: 'recipe.py',
  r: 'recipe.R',
  javascript: 'recipe.mjs',
};

export function recipeFile(language: RecipeLanguage): string {
  return FILES[language];
}

export function createRuntimes(config: JobsConfig) {
  const pythonPath = path.join(config.clientsDir, 'python');
  const rPackage = path.join(config.clientsDir, 'r', 'dataiku');
  let rLibrary = '';
  const clientPackage = path.dirname(createRequire(import.meta.url).resolve('@coffer/client/package.json'));
  let rInstall: Promise<void> | undefined;

  /**
   * Installs the R package into an R library of its own per version of its sources, under the jobs'
   * directory (job accounts cannot enter the data directory). Installed into a temporary library then
   * renamed, so servers sharing the directory never see a half-installed package.
   */
  function ensureRPackage(): Promise<void> {
    rInstall ??= (async () => {
      const library = path.join(config.workRoot, `r-lib-${fnv1a(sourceStamp(rPackage))}`);
      if (!existsSync(path.join(library, 'dataiku', 'DESCRIPTION'))) {
        mkdirSync(config.workRoot, { recursive: true, mode: 0o711 });
        const temp = mkdtempSync(`${library}.tmp-`);
        chmodSync(temp, 0o755);
        const r = config.rscript.includes('/') ? path.join(path.dirname(config.rscript), 'R') : 'R';
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
      rLibrary = library;
    })().catch((e: unknown) => {
      rInstall = undefined;
      throw e;
    });
    return rInstall;
  }

  return {
    /** Prepares the job directory for the language and says how to start the recipe in it. */
    async prepare(language: RecipeLanguage, workdir: string): Promise<Launch> {
      const file = FILES[language];
      switch (language) {
        case 'python':
          return {
            command: config.python,
            args: ['-u', file],
            env: { PYTHONPATH: pythonPath, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
          };
        case 'r':
          await ensureRPackage();
          return {
            command: config.rscript,
            args: ['--no-save', '--no-restore', file],
            env: { R_LIBS: rLibrary, R_LIBS_USER: workdir },
          };
        case 'javascript': {
          const scope = path.join(workdir, 'node_modules', '@coffer');
          mkdirSync(scope, { recursive: true });
          symlinkSync(clientPackage, path.join(scope, 'client'), 'dir');
          return {
            command: config.node,
            args: [file],
            env: { NODE_PATH: path.join(workdir, 'node_modules') },
          };
        }
      }
    },
  };
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

export type Runtimes = ReturnType<typeof createRuntimes>;

/** A short, stable name for a text (FNV-1a); not a security measure. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
