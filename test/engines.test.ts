import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

/*
 * The machines run Node 20. A locked package that declares a newer Node makes `npm ci` print EBADENGINE
 * warnings, and may one day use an API Node 20 lacks. package.json's overrides pin such transitive
 * packages (cookie, content-disposition) to releases that declare Node 20; this keeps that true of the
 * whole lockfile, so a later bump that brings one back fails here rather than in an operator's terminal.
 */
describe('the lockfile installs on Node 20 without EBADENGINE', () => {
  const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as {
    packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
  };
  const declared = Object.entries(lock.packages).flatMap(([where, p]) =>
    p.engines && !Array.isArray(p.engines) && p.engines.node
      ? [{ where: where || '(root)', version: p.version, node: p.engines.node }]
      : [],
  );

  it('reads the engines of the locked packages (cookie among them)', () => {
    expect(declared.find((p) => p.where === 'node_modules/cookie')).toBeTruthy();
  });

  it.each(['20.19.0', process.versions.node])('every locked package accepts Node %s', (node) => {
    const refused = declared.filter((p) => !semver.satisfies(node, p.node, { includePrerelease: true }));
    expect(refused).toEqual([]);
  });
});
