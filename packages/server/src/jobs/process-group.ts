import { readdirSync, readFileSync } from 'node:fs';

/*
 * Job processes run detached (their own process group), so they outlive a server killed with SIGKILL.
 * The runner records each group leader's pid and start time; a restarted server uses them to stop what
 * the crash left behind. The start time tells the leader from a later process that reused its pid, and
 * members are only those started after the leader, so an unrelated group that reused the id is spared.
 */

interface ProcStat {
  pgrp: number;
  /** Clock ticks since boot; a decimal string, compared as a number. */
  started: string;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const pgrp = Number(fields[2]);
  const started = fields[19];
  if (!Number.isInteger(pgrp) || started === undefined) return undefined;
  return { pgrp, started };
}

/** The start time of a process, to record beside its pid; undefined where /proc is not available. */
export function processStartTime(pid: number): string | undefined {
  return readStat(pid)?.started;
}

/**
 * SIGKILLs every process of the group a job's leader started, if any is left. Answers how many were
 * signalled. Without /proc (not Linux) it does nothing rather than guess.
 */
export function killLeftoverGroup(leader: number, leaderStarted: string): number {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return 0;
  }
  const since = BigInt(leaderStarted);
  let killed = 0;
  for (const name of pids) {
    const pid = Number(name);
    const stat = readStat(pid);
    if (!stat || stat.pgrp !== leader || BigInt(stat.started) < since) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}
