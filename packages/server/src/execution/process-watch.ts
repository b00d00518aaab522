import type { LimitName, Limits } from './limits.js';
import { memoryBytes, scanProcesses, TICKS_PER_SECOND, treeOf } from './process-tree.js';
import type { RunDirs } from './sandbox.js';
import { diskUsage } from './workdir.js';

/*
 * The limits of a run as a whole. The kernel holds each process to its own limits; this adds up all
 * the processes of a run (its tree under the first process: inside a sandbox every orphan is
 * re-parented to the sandbox's init, so nothing leaves the tree) — their threads, CPU time and
 * proportional memory, so forked workers sharing pages are not counted many times — and the bytes its
 * directories hold, and says which limit a run reached, once. One scan of /proc serves every run.
 */

export interface WatchedRun {
  readonly pid: number;
  /** The first process is the sandbox's wrapper, outside the run's namespaces: not counted. */
  readonly wrapperFirst: boolean;
  readonly dirs: RunDirs;
  readonly limits: Limits;
  onLimit(name: LimitName): void;
}

export interface ProcessWatch {
  /** Watches a run until the returned function is called or a limit is reached. */
  watch(run: WatchedRun): () => void;
  stop(): void;
}

export function createProcessWatch(
  opts: { intervalMs?: number; diskEveryTicks?: number } = {},
): ProcessWatch {
  const intervalMs = opts.intervalMs ?? 250;
  const diskEvery = opts.diskEveryTicks ?? 4;
  const runs = new Set<WatchedRun>();
  let timer: NodeJS.Timeout | undefined;
  let ticks = 0;
  let measuringDisk = false;

  const reached = (run: WatchedRun, name: LimitName) => {
    if (!runs.delete(run)) return;
    run.onLimit(name);
  };

  function tick(): void {
    const procs = scanProcesses();
    for (const run of runs) {
      const pids = treeOf(run.pid, procs);
      let threads = 0;
      let ticksUsed = 0;
      let memory = 0;
      for (const pid of run.wrapperFirst ? pids.slice(1) : pids) {
        const s = procs.get(pid)!;
        threads += s.threads;
        ticksUsed += s.cpuTicks;
        memory += memoryBytes(pid, s);
      }
      if (threads >= run.limits.processes) reached(run, 'processes');
      else if (memory >= run.limits.memoryBytes) reached(run, 'memoryBytes');
      else if (ticksUsed >= run.limits.cpuSeconds * TICKS_PER_SECOND) reached(run, 'cpuSeconds');
    }
    if (++ticks % diskEvery === 0 && !measuringDisk && runs.size > 0) {
      measuringDisk = true;
      void (async () => {
        for (const run of [...runs]) {
          const usage = await diskUsage(run.dirs);
          if (usage.bytes >= run.limits.fileBytes || usage.largestFile >= run.limits.fileBytes)
            reached(run, 'fileBytes');
        }
      })()
        .catch(() => undefined)
        .finally(() => {
          measuringDisk = false;
        });
    }
  }

  return {
    watch(run) {
      runs.add(run);
      timer ??= setInterval(() => {
        if (runs.size === 0) {
          clearInterval(timer);
          timer = undefined;
          return;
        }
        tick();
      }, intervalMs);
      timer.unref();
      return () => void runs.delete(run);
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      runs.clear();
    },
  };
}
