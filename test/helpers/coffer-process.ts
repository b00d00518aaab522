import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpRequest, type Reply } from '../support/test-server.js';
import { databaseFor, dropDatabasesUnder, testStore } from '../support/test-store.js';

/*
 * Runs the real `coffer` command (packages/cli/bin/coffer.js, built by `npm run build`) as child
 * processes. Every child and temporary directory made here is tracked, so a suite's afterEach/afterAll
 * can kill and remove all of them even when a test failed half way.
 */

export const CLI = fileURLToPath(new URL('../../packages/cli/bin/coffer.js', import.meta.url));

const children = new Set<ChildProcess>();
/** Children a test (or the cleanup) ended on purpose; any other exit of a served child is reported. */
const endedOnPurpose = new WeakSet<ChildProcess>();
const tempDirs = new Set<string>();

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/**
 * Removes every temporary directory made here, and on the PostgreSQL run the databases of the data
 * directories inside them (their servers must be stopped first: connections left are cut).
 */
export async function removeTempDirs(): Promise<void> {
  for (const dir of tempDirs) {
    rmSync(dir, { recursive: true, force: true });
    await dropDatabasesUnder(dir);
  }
  tempDirs.clear();
}

const isRunning = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

/** SIGKILLs every child still running and waits until each has exited. */
export async function killAllChildren(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const c of children) {
    if (isRunning(c)) {
      waits.push(new Promise((resolve) => c.once('exit', resolve)));
      endedOnPurpose.add(c);
      c.kill('SIGKILL');
    }
  }
  children.clear();
  await Promise.all(waits);
}

/** Only what the command needs: the suite's own COFFER_* settings never leak in from the caller's shell. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { LANG: 'C.UTF-8' };
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'SYSTEMROOT']) if (process.env[k]) out[k] = process.env[k];
  return { ...out, ...env };
}

/** A Unix account to run a command as (the test suite runs as root on CI). */
export interface RunAs {
  uid: number;
  gid: number;
}

function track(args: string[], env: Record<string, string>, as?: RunAs): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: childEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(as ? { uid: as.uid, gid: as.gid } : {}),
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * On the PostgreSQL run, a data directory's commands and servers share one database of their own, as
 * the SQLite run's share the file in it. A test that names its database keeps it.
 */
export async function withStore(env: Record<string, string>): Promise<Record<string, string>> {
  if (testStore !== 'postgres' || env.COFFER_DATABASE_URL || !env.COFFER_DATA_DIR) return env;
  return { ...env, COFFER_DATABASE_URL: await databaseFor(env.COFFER_DATA_DIR) };
}

/** Runs one `coffer` command to completion; stdin gets `input` (or nothing) and is then closed. */
export async function runCli(
  args: string[],
  opts: { env: Record<string, string>; input?: string; timeoutMs?: number; as?: RunAs },
): Promise<CliResult> {
  const child = track(args, await withStore(opts.env), opts.as);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.on('error', () => {}); // the command may exit before reading stdin
  child.stdin!.end(opts.input ?? '');
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 30_000);
  return new Promise((resolve, reject) => {
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

export interface LogLine {
  level?: number;
  msg?: string;
  [k: string]: unknown;
}

export interface ServeHandle {
  readonly child: ChildProcess;
  readonly url: string;
  /** JSON log lines the server printed on stdout, in order. */
  readonly lines: LogLine[];
  readonly stderr: () => string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (graceful shutdown), then waits for exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL now (no shutdown code runs), then waits for exit. */
  kill9(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `coffer serve` and resolves once it logs "Coffer is listening", with the address it logged.
 * Rejects (and kills the child) if it exits first or does not come up in time.
 */
export async function startServe(
  env: Record<string, string>,
  opts: { timeoutMs?: number; as?: RunAs } = {},
): Promise<ServeHandle> {
  const child = track(
    ['serve'],
    { COFFER_PORT: '0', COFFER_LOG_LEVEL: 'info', ...(await withStore(env)) },
    opts.as,
  );
  child.stdin!.end();
  const lines: LogLine[] = [];
  let stderr = '';
  let partial = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`coffer serve did not log "Coffer is listening" in time; stderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    let started = false;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      partial += d;
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const text of parts) {
        if (!text.trim()) continue;
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          line = { msg: text };
        }
        lines.push(line);
        if (!started && line.msg === 'Coffer is listening' && typeof line.address === 'string') {
          started = true;
          clearTimeout(timer);
          const handle: ServeHandle = {
            child,
            url: line.address,
            lines,
            stderr: () => stderr,
            exited,
            stop: async () => {
              endedOnPurpose.add(child);
              if (isRunning(child)) child.kill('SIGTERM');
              return exited;
            },
            kill9: async () => {
              endedOnPurpose.add(child);
              if (isRunning(child)) child.kill('SIGKILL');
              return exited;
            },
          };
          resolve(handle);
        }
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      // A server that dies under a test shows up as refused connections; say why it died instead.
      if (started && !endedOnPurpose.has(child)) {
        console.error(
          `coffer serve (pid ${child.pid}) exited while in use (code ${code}, signal ${signal}); stderr: ${stderr.slice(-2000)}\nlast log lines: ${lines
            .slice(-10)
            .map((l) => JSON.stringify(l))
            .join('\n')}`,
        );
      }
      if (!started) {
        reject(
          new Error(
            `coffer serve exited (code ${code}, signal ${signal}) before listening; stderr: ${stderr}`,
          ),
        );
      }
    });
  });
}

export type { Reply };

/** One HTTP request to a server started as a child; `key` is sent as HTTP Basic, as dataikuapi does. */
export const request = httpRequest;

/** SHA-256 of every file under dir (relative path → hash), to prove that nothing was written. */
export function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

export const modeOf = (p: string): number => statSync(p).mode & 0o777;
