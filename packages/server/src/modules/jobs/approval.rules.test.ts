import { applyPatch } from 'diff';
import { describe, expect, it } from 'vitest';
import { approvalProblem, codeDiff } from './approval.rules.js';

const change = (revision: number, by: string, authorId: string | null = `id-${by}`) => ({
  revision,
  by,
  authorId,
  at: 1,
});

describe('approvalProblem', () => {
  const base = { runnerId: 'id-alice', recipe: 'report' };

  it('asks nothing when every change since the last run is the runner’s own, or there is none', () => {
    expect(
      approvalProblem({ ...base, current: 3, lastRun: 1, changes: [change(2, 'alice'), change(3, 'alice')] }),
    ).toBeNull();
    expect(approvalProblem({ ...base, current: 3, lastRun: 3, changes: [] })).toBeNull();
    expect(approvalProblem({ ...base, current: 1, lastRun: null, changes: [change(1, 'alice')] })).toBeNull();
  });

  it('names everyone else who changed the code, once each, and the revision to approve', () => {
    const changes = [change(2, 'mallory'), change(3, 'alice'), change(4, 'bob'), change(5, 'mallory')];
    expect(approvalProblem({ ...base, current: 5, lastRun: 1, changes })).toBe(
      'mallory and bob changed recipe report since you last ran it: review the changes and approve revision 5 to run it',
    );
    expect(approvalProblem({ ...base, current: 5, lastRun: 1, changes, approved: 5 })).toBeNull();
  });

  it('a change whose author no longer exists is nobody’s own', () => {
    expect(approvalProblem({ ...base, current: 2, lastRun: 1, changes: [change(2, 'alice', null)] })).toMatch(
      /^alice changed recipe report/,
    );
  });

  it('a first run of code someone else wrote says so', () => {
    expect(
      approvalProblem({
        ...base,
        current: 2,
        lastRun: null,
        changes: [change(1, 'mallory'), change(2, 'alice')],
      }),
    ).toBe(
      'recipe report was written by mallory and you have not run it before: review the changes and approve revision 2 to run it',
    );
  });

  it('an approval of another revision than the current one is refused, whoever changed it', () => {
    expect(
      approvalProblem({
        ...base,
        current: 3,
        lastRun: 1,
        changes: [change(2, 'mallory'), change(3, 'mallory')],
        approved: 2,
      }),
    ).toBe(
      'you approved revision 2 of recipe report, but it is at revision 3 now (by mallory): review the changes and approve revision 3 to run it',
    );
    expect(
      approvalProblem({
        ...base,
        current: 3,
        lastRun: 1,
        changes: [change(2, 'alice'), change(3, 'alice')],
        approved: 2,
      }),
    ).toMatch(/^you approved revision 2 of recipe report, but it is at revision 3 now: /);
  });
});

describe('codeDiff', () => {
  const code = (revision: number, text: string, language: 'python' | 'r' = 'python') => ({
    revision,
    language,
    code: text,
  });
  const before = code(1, 'a\nb\nc\nd\ne\nf\ng\nh\n');
  const after = code(4, 'a\nb\nc\nd\ne\nf\nG\nh\ni', 'r');

  it('is a unified diff from the code last run to the code that would run, naming both revisions', async () => {
    const d = await codeDiff('report', before, after);
    expect(d).toBe(
      [
        '--- report@1\trevision 1 (python)',
        '+++ report@4\trevision 4 (r)',
        '@@ -4,5 +4,6 @@',
        ' d',
        ' e',
        ' f',
        '-g',
        '+G',
        ' h',
        '+i',
        '\\ No newline at end of file',
        '',
      ].join('\n'),
    );
    expect(applyPatch(before.code, d)).toBe(after.code);
  });

  it('from nothing when the runner never ran the recipe', async () => {
    const d = await codeDiff('report', null, code(1, 'x\ny\n'));
    expect(d).toBe(
      '--- /dev/null\tnot run before\n+++ report@1\trevision 1 (python)\n@@ -0,0 +1,2 @@\n+x\n+y\n',
    );
    expect(applyPatch('', d)).toBe('x\ny\n');
  });

  it('when the diff takes too long, removes all the old code and adds all the new: still a correct patch', async () => {
    const d = await codeDiff('report', before, after, { timeoutMs: -1 });
    expect(d).toContain('@@ -1,8 +1,9 @@\n-a\n-b\n');
    expect(d).toContain('+h\n+i\n\\ No newline at end of file\n');
    expect(applyPatch(before.code, d)).toBe(after.code);
    const none = await codeDiff('report', null, code(1, 'x'), { timeoutMs: -1 });
    expect(applyPatch('', none)).toBe('x');
  });
});
