import { formatPatch, structuredPatch, type StructuredPatch } from 'diff';
import type { RevisionCode, RevisionInfo } from '../projects/project.service.js';

/*
 * When a run needs its runner's approval (ADR 0014). Code runs with the runner's credentials, so a
 * contributor who edits a recipe could make it send the next runner's secrets away; the runner is shown
 * what others changed since they last ran it, and approves that exact revision. Pure: no I/O.
 */

export interface ApprovalRequest {
  runnerId: string;
  recipe: string;
  /** The revision that would run. */
  current: number;
  /** The last revision the runner ran (or approved); null if they never ran this recipe. */
  lastRun: number | null;
  /** The revisions after the last one the runner ran (or approved), up to `current`. */
  changes: readonly RevisionInfo[];
  /** The revision the run call approved, if any. */
  approved?: number | undefined;
}

/**
 * Why the run needs (another) approval, or null when it may run. Any change by someone else since the
 * runner's last run needs the runner to approve exactly `current`; an approval of any other revision is
 * refused whoever changed it since, since what would run is not what the runner read.
 */
export function approvalProblem(r: ApprovalRequest): string | null {
  const others = [
    ...new Set(r.changes.filter((c) => c.authorId === null || c.authorId !== r.runnerId).map((c) => c.by)),
  ];
  const wantsApproval = `review the changes and approve revision ${r.current} to run it`;
  if (r.approved !== undefined && r.approved !== r.current) {
    const by = others.length > 0 ? ` (by ${listOf(others)})` : '';
    return `you approved revision ${r.approved} of recipe ${r.recipe}, but it is at revision ${r.current} now${by}: ${wantsApproval}`;
  }
  if (others.length === 0 || r.approved === r.current) return null;
  return r.lastRun === null
    ? `recipe ${r.recipe} was written by ${listOf(others)} and you have not run it before: ${wantsApproval}`
    : `${listOf(others)} changed recipe ${r.recipe} since you last ran it: ${wantsApproval}`;
}

function listOf(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** Past this, a diff is given up and shown as all of the old code removed and all of the new added. */
const DIFF_TIMEOUT_MS = 500;

/**
 * A unified diff from the code the runner last ran (nothing, when they never ran it) to the code that
 * would run. Computed off the event loop's critical path, and bounded: code up to 256 KiB on each side
 * can make a line diff slow, and the answer must not wait on it.
 */
export async function codeDiff(
  recipe: string,
  before: RevisionCode | null,
  after: RevisionCode,
  opts: { timeoutMs?: number } = {},
): Promise<string> {
  const oldName = before ? `${recipe}@${before.revision}` : '/dev/null';
  const newName = `${recipe}@${after.revision}`;
  const oldHeader = before ? `revision ${before.revision} (${before.language})` : 'not run before';
  const newHeader = `revision ${after.revision} (${after.language})`;
  const oldCode = before?.code ?? '';
  const patch = await new Promise<StructuredPatch | undefined>((resolve) =>
    structuredPatch(oldName, newName, oldCode, after.code, oldHeader, newHeader, {
      context: 3,
      timeout: opts.timeoutMs ?? DIFF_TIMEOUT_MS,
      callback: resolve,
    }),
  );
  return formatPatch(patch ?? replaceAll(oldName, newName, oldHeader, newHeader, oldCode, after.code), {
    includeIndex: false,
    includeUnderline: false,
    includeFileHeaders: true,
  });
}

/** The patch that removes every old line and adds every new one: correct, if not minimal. */
function replaceAll(
  oldFileName: string,
  newFileName: string,
  oldHeader: string,
  newHeader: string,
  oldCode: string,
  newCode: string,
): StructuredPatch {
  const side = (code: string, mark: '-' | '+') => {
    if (code === '') return [];
    const lines = code.split('\n');
    const ended = lines[lines.length - 1] === '';
    if (ended) lines.pop();
    const marked = lines.map((l) => mark + l);
    return ended ? marked : [...marked, '\\ No newline at end of file'];
  };
  const removed = side(oldCode, '-');
  const added = side(newCode, '+');
  const count = (l: string[]) => l.filter((x) => !x.startsWith('\\')).length;
  return {
    oldFileName,
    newFileName,
    oldHeader,
    newHeader,
    hunks: [
      {
        // As jsdiff numbers them: an empty side starts at 1 and formatPatch writes it as 0,0.
        oldStart: 1,
        oldLines: count(removed),
        newStart: 1,
        newLines: count(added),
        lines: [...removed, ...added],
      },
    ],
  };
}
