/*
 * What one run of user code may use. Each limit is enforced twice: by the kernel per process
 * (setrlimit, through util-linux `prlimit` run inside the sandbox, so the process count is that of the
 * sandbox's own user namespace), and for the run as a whole by the process watch, which adds up every
 * process of the run and stops it when a total reaches its limit. Either way the run fails with a
 * message that names the limit.
 */

export interface Limits {
  /** Resident memory of all the run's processes together; also each process's data segment. */
  readonly memoryBytes: number;
  /** Processes and threads of the run (the kernel counts threads as processes). */
  readonly processes: number;
  /** CPU time of all the run's processes together, in seconds. */
  readonly cpuSeconds: number;
  /** Bytes the run's files may hold: each file, and its directory as a whole. */
  readonly fileBytes: number;
}

export type LimitName = keyof Limits;

export const DEFAULT_LIMITS: Limits = {
  memoryBytes: 2 * 1024 ** 3,
  processes: 256,
  cpuSeconds: 3600,
  fileBytes: 1024 ** 3,
};

/** "2 GiB", "512 MiB", "1.5 GiB": how an operator wrote it, give or take. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (n >= size) return `${Number((n / size).toFixed(1))} ${unit}`;
  }
  return `${n} bytes`;
}

/** The message a run fails with when it reaches a limit. */
export function limitReached(name: LimitName, limits: Limits): string {
  switch (name) {
    case 'memoryBytes':
      return `memory limit of ${formatBytes(limits.memoryBytes)} reached`;
    case 'processes':
      return `process limit of ${limits.processes} reached`;
    case 'cpuSeconds':
      return `CPU time limit of ${limits.cpuSeconds} s reached`;
    case 'fileBytes':
      return `file size limit of ${formatBytes(limits.fileBytes)} reached`;
  }
}

/**
 * `prlimit` options that set each limit (soft = hard, so code cannot raise them; CPU time's hard limit
 * is a second later, so the kernel's SIGXCPU, which names the cause, comes before its SIGKILL). The
 * process count is left out where it would count more than the run: a plain process shares its
 * account with the server.
 */
export function prlimitOptions(limits: Limits, opts: { processes: boolean }): string[] {
  return [
    `--data=${limits.memoryBytes}`,
    `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 1}`,
    `--fsize=${limits.fileBytes}`,
    `--core=0`,
    ...(opts.processes ? [`--nproc=${limits.processes}`] : []),
  ];
}

/**
 * What the end of a run says about its limits, when the process watch did not stop it: killed by
 * SIGXCPU or SIGXFSZ (a sandbox's first process exits with 128 + the signal), a file that grew to
 * exactly the file limit, or the runtime's own words for a refused allocation in what it printed last.
 */
export function limitBehindExit(
  end: { exitCode: number | null; signal: string | null },
  evidence: { largestFile: number; stderrTail: string },
  limits: Limits,
): LimitName | undefined {
  if (end.exitCode === 0) return undefined;
  const signal = end.signal ?? (end.exitCode !== null && end.exitCode > 128 ? end.exitCode - 128 : null);
  // The signals the kernel sends at a per-process CPU or file size limit.
  if (signal === 'SIGXCPU' || signal === 24) return 'cpuSeconds';
  if (signal === 'SIGXFSZ' || signal === 25) return 'fileBytes';
  if (evidence.largestFile >= limits.fileBytes) return 'fileBytes';
  if (OUT_OF_MEMORY.test(evidence.stderrTail)) return 'memoryBytes';
  return undefined;
}

/**
 * How Python, R, Node and C++ say an allocation was refused. Under the data-segment limit these are
 * what code sees when it asks for more than the limit in one go, before the watch could notice.
 */
const OUT_OF_MEMORY =
  /\bMemoryError\b|cannot allocate (vector|memory)|JavaScript heap out of memory|Array buffer allocation failed|std::bad_alloc|Cannot allocate memory/;
