import { expect } from 'vitest';

/*
 * How the attack suites that run code as a job (sandbox-attacks: recipes; plugin-attacks: plugin
 * recipes) report: the code defines attack(name, fn), which runs one attack and prints
 * `ATTACK <name> BLOCKED|GOT <detail>`; the test reads those lines back from the job's log.
 */

/**
 * Python defining attack(name, fn). A refusal's detail is the exception's name and its errno, or for an
 * HTTP error its status (`HTTPError 403`), so a test can tell the server's refusal from a network fault.
 */
export const ATTACK_PRELUDE = `import ctypes, errno, os, sys
def attack(name, fn):
    try:
        got = fn()
        print("ATTACK", name, "GOT" if got else "BLOCKED", got if got else "(nothing)", flush=True)
    except Exception as e:
        print("ATTACK", name, "BLOCKED", type(e).__name__, getattr(e, "code", None) or getattr(e, "errno", ""), flush=True)
`;

export interface AttackOutcome {
  name: string;
  outcome: string;
  detail: string;
}

/** The attacks a log reports, in order. */
export function attacks(log: string): AttackOutcome[] {
  return [...log.matchAll(/^ATTACK (\S+) (BLOCKED|GOT) ?(.*)$/gm)].map((m) => ({
    name: m[1]!,
    outcome: m[2]!,
    detail: m[3]!,
  }));
}

/** Exactly `names` were tried, and each was blocked. */
export function expectAllBlocked(job: { log: string }, names: string[]): void {
  const seen = attacks(job.log);
  expect(seen.map((a) => a.name).sort(), job.log).toEqual([...names].sort());
  for (const a of seen) expect(a.outcome, `${a.name}: ${a.detail}\n${job.log}`).toBe('BLOCKED');
}
