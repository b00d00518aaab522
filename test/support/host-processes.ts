import { readdirSync, readFileSync } from 'node:fs';

/*
 * Processes of this machine, as the host sees them (not as a sandbox does): how a test finds what a
 * recipe started inside its sandbox, whose pids there mean nothing here. Recipes start marker commands
 * (`sleep 3001`, a number no other test uses) that these look for.
 */

/** Host pids of processes whose argv is exactly `argv`. */
export function hostPidsRunning(argv: readonly string[]): number[] {
  const want = argv.join('\0');
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.replace(/\0$/, '') === want) out.push(Number(name));
  }
  return out;
}

/** The uid a host process runs as. */
export function uidOf(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Uid:'));
    return line ? Number(line.split(/\s+/)[1]) : undefined;
  } catch {
    return undefined;
  }
}
