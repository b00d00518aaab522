import { readdirSync, readFileSync } from 'node:fs';

/*
 * What /proc says about processes: the tree under a run's first process (for its limits), and the
 * leftovers of a server that died (for restart recovery). Runs start detached (their own process
 * group); the runner records the first process's pid and start time, and a restarted server stops what
 * a crash left behind. The start time tells the leader from a later process that reused its pid, and
 * members are only those started after it, so an unrelated group that reused the id is spared.
 */

export interface ProcStat {
  ppid: number;
  pgrp: number;
  /** Clock ticks since boot; a decimal string, compared as a number. */
  started: string;
  threads: number;
  /** User and system time of the process and of its children it has waited for, in clock ticks. */
  cpuTicks: number;
  rssPages: number;
}

/** Linux reports times in USER_HZ, which is 100 on every architecture it runs on today. */
export const TICKS_PER_SECOND = 100;
export const PAGE_BYTES = 4096;

export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  // fields[0] is field 3 of proc(5), so field N is fields[N - 3].
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const num = (n: number) => Number(f[n - 3]);
  const started = f[22 - 3];
  if (started === undefined || !Number.isInteger(num(5))) return undefined;
  return {
    ppid: num(4),
    pgrp: num(5),
    started,
    threads: num(20),
    cpuTicks: num(14) + num(15) + num(16) + num(17),
    rssPages: num(24),
  };
}

/**
 * Memory a process really holds: its proportional set size (pages shared with other processes, such as
 * those a fork has not yet copied, count in part). Resident size, where the kernel has no rollup.
 */
export function memoryBytes(pid: number, stat: ProcStat): number {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const pss = /^Pss:\s+(\d+) kB$/m.exec(rollup);
    if (pss) return Number(pss[1]) * 1024;
  } catch {
    // gone, or no rollup on this kernel
  }
  return stat.rssPages * PAGE_BYTES;
}

/** Every process of the machine by pid; empty where there is no /proc. */
export function scanProcesses(): Map<number, ProcStat> {
  const all = new Map<number, ProcStat>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return all;
  }
  for (const name of names) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const stat = readStat(Number(name));
    if (stat) all.set(Number(name), stat);
  }
  return all;
}

/** The pids of `root` and everything under it. */
export function treeOf(root: number, procs: Map<number, ProcStat>): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, s] of procs) {
    const list = children.get(s.ppid);
    if (list) list.push(pid);
    else children.set(s.ppid, [pid]);
  }
  if (!procs.has(root)) return [];
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

/** The start time of a process, to record beside its pid; undefined where /proc is not available. */
export function processStartTime(pid: number): string | undefined {
  return readStat(pid)?.started;
}

/**
 * SIGKILLs every process of the group a run's first process started, if any is left. Answers how many
 * were signalled. Without /proc (not Linux) it does nothing rather than guess.
 */
export function killLeftoverGroup(leader: number, leaderStarted: string): number {
  const since = BigInt(leaderStarted);
  let killed = 0;
  for (const [pid, stat] of scanProcesses()) {
    if (stat.pgrp !== leader || BigInt(stat.started) < since) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}
