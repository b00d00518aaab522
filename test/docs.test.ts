/*
 * The documentation stays navigable from a clone of the repository alone: the README is a front page
 * that fits on two screens, every link in it and under docs/ leads to a file (and heading) that is in
 * the repository, and the decisions are numbered 0001..N with no gap, each titled with its own number.
 * Pure file reads: no server, no store.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const README_MAX_LINES = 170;

function markdownUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return markdownUnder(p);
    return e.name.endsWith('.md') ? [p] : [];
  });
}

const DOCS = [path.join(ROOT, 'README.md'), ...markdownUnder(path.join(ROOT, 'docs'))];

/** Text outside fenced blocks and inline code: a link-like string in an example is not a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Link targets: inline links and images, reference definitions, and autolinks. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const defs = [...text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!);
  const auto = [...text.matchAll(/<([a-z][a-z0-9+.-]*:[^>\s]+)>/gi)].map((m) => m[1]!);
  return [...inline, ...defs, ...auto];
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
    .matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

type FileSystem = { exists(p: string): boolean; read(p: string): string };
const disk: FileSystem = { exists: (p) => existsSync(p), read: (p) => readFileSync(p, 'utf8') };

/** What is wrong with the links of one markdown file, one message per bad link. */
function linkProblems(file: string, markdown: string, fs: FileSystem = disk): string[] {
  const problems: string[] = [];
  const where = path.relative(ROOT, file);
  for (const target of linkTargets(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) {
      problems.push(`${where}: ${target} leaves the repository (links must be relative)`);
      continue;
    }
    const [rawPath = '', anchor] = target.split('#', 2) as [string, string | undefined];
    const filePath = decodeURI(rawPath);
    const resolved = filePath === '' ? file : path.resolve(path.dirname(file), filePath);
    const inRepo = path.relative(ROOT, resolved);
    if (inRepo.startsWith('..') || path.isAbsolute(inRepo) || /(^|\/)shared\//.test(filePath)) {
      problems.push(`${where}: ${target} points outside the repository`);
      continue;
    }
    if (!fs.exists(resolved)) {
      problems.push(`${where}: ${target} does not exist`);
      continue;
    }
    if (anchor !== undefined && resolved.endsWith('.md') && !anchors(fs.read(resolved)).has(anchor))
      problems.push(`${where}: ${target} names no heading of ${path.relative(ROOT, resolved)}`);
  }
  return problems;
}

describe('the documentation', () => {
  it('README.md fits on two screens, with the reference under docs/', () => {
    const lines = readFileSync(path.join(ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length;
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it('every link in README.md and docs/ resolves to a file (and heading) in the repository', () => {
    expect(DOCS.length).toBeGreaterThan(10);
    const problems = DOCS.flatMap((f) => linkProblems(f, readFileSync(f, 'utf8')));
    expect(problems).toEqual([]);
  });

  it('every page under docs/ is reachable from README.md or another page', () => {
    const linked = new Set<string>();
    for (const f of DOCS)
      for (const t of linkTargets(readFileSync(f, 'utf8'))) {
        const p = t.split('#')[0];
        if (p) linked.add(path.resolve(path.dirname(f), decodeURI(p)));
      }
    const orphans = DOCS.filter((f) => f !== path.join(ROOT, 'README.md') && !linked.has(f)).map((f) =>
      path.relative(ROOT, f),
    );
    expect(orphans).toEqual([]);
  });

  it('the link check refuses a missing file, a missing heading, an escape from the repository and a web link', () => {
    const file = path.join(ROOT, 'docs', 'page.md');
    const other = path.join(ROOT, 'docs', 'other.md');
    const ok = '# Top\n\n[a](other.md) [b](other.md#exit-codes) [c](#top)\n\n`[not a link](../../x.md)`\n';
    const fs: FileSystem = {
      exists: (p) => p === file || p === other,
      read: (p) => (p === file ? ok : '# Other page\n\n## Exit codes\n'),
    };
    expect(linkProblems(file, ok, fs)).toEqual([]);
    expect(linkProblems(file, '[a](missing.md)', fs)).toEqual(['docs/page.md: missing.md does not exist']);
    expect(linkProblems(file, '[a](other.md#nowhere)', fs)).toEqual([
      'docs/page.md: other.md#nowhere names no heading of docs/other.md',
    ]);
    expect(linkProblems(file, '[a](../../shared/spec/x.md)', fs)).toEqual([
      'docs/page.md: ../../shared/spec/x.md points outside the repository',
    ]);
    expect(linkProblems(file, '[a](https://example.com/) <https://example.org>', fs)).toHaveLength(2);
  });

  it('decisions are numbered 0001..N without a gap, each titled with its own number and listed', () => {
    const dir = path.join(ROOT, 'docs', 'adr');
    const files = readdirSync(dir)
      .filter((f) => /^\d{4}-.+\.md$/.test(f) && statSync(path.join(dir, f)).isFile())
      .sort();
    expect(files.length).toBeGreaterThan(0);
    expect(files.map((f) => Number(f.slice(0, 4)))).toEqual(files.map((_, i) => i + 1));
    const index = readFileSync(path.join(dir, 'README.md'), 'utf8');
    for (const f of files) {
      const title = readFileSync(path.join(dir, f), 'utf8').split('\n', 1)[0];
      expect(title, f).toMatch(new RegExp(`^# ${Number(f.slice(0, 4))}\\. \\S`));
      expect(index, `docs/adr/README.md lists ${f}`).toContain(`](${f})`);
    }
  });
});
