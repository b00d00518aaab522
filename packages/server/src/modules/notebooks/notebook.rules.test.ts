import { describe, expect, it } from 'vitest';
import { checkNotebook, checkNotebookName, emptyNotebook } from './notebook.rules.js';

describe('notebook rules', () => {
  it('takes a name that is one path segment, without its extension', () => {
    for (const ok of ['explore', 'Sales 2026 (draft)', 'é-notes', 'a.b'])
      expect(checkNotebookName(ok)).toBe(ok);
    for (const bad of ['', 'a/b', 'a\\b', '.env', ' x', 'x ', 'n.ipynb', 'a\u0000b', 'x'.repeat(101)])
      expect(() => checkNotebookName(bad), JSON.stringify(bad)).toThrow(/notebook name/);
  });

  it('says which kernel a document runs on, and makes empty ones for each', () => {
    expect(checkNotebook(emptyNotebook('python')).language).toBe('python');
    expect(checkNotebook(emptyNotebook('r')).language).toBe('r');
  });

  it('fills what nbformat lets a writer leave out, and keeps fields it does not know', () => {
    const doc = {
      nbformat: 4,
      nbformat_minor: 4,
      metadata: { kernelspec: { name: 'python3' }, custom: { a: 1 } },
      cells: [{ cell_type: 'code', source: 'x', extra: true }],
    };
    const { doc: checked } = checkNotebook(doc);
    expect(checked.cells[0]).toEqual({
      cell_type: 'code',
      source: 'x',
      extra: true,
      metadata: {},
      outputs: [],
      execution_count: null,
    });
    expect(checked.metadata.custom).toEqual({ a: 1 });
  });

  it('names where a document is wrong', () => {
    const base = emptyNotebook('python');
    const cases: [unknown, RegExp][] = [
      [[], /JSON object/],
      [{ ...base, nbformat: 3 }, /nbformat 4/],
      [{ ...base, nbformat_minor: 1.5 }, /nbformat_minor/],
      [{ ...base, metadata: [] }, /metadata must be/],
      [{ ...base, cells: {} }, /cells must be a list/],
      [{ ...base, cells: [{ cell_type: 'code', source: ['a', 1] }] }, /cells\[0\]\.source/],
      [{ ...base, cells: [{ cell_type: 'code', source: 'a', execution_count: 'one' }] }, /execution_count/],
      [{ ...base, cells: [{ cell_type: 'raw', source: '', metadata: 'x' }] }, /cells\[0\]\.metadata/],
      [{ ...base, cells: [{ cell_type: 'code', source: '\ud800' }] }, /cells\[0\]\.source/],
      [{ ...base, metadata: { kernelspec: { name: 'julia-1.9' } } }, /"python3" or "ir".*"julia-1.9"/],
    ];
    for (const [doc, message] of cases) expect(() => checkNotebook(doc), String(message)).toThrow(message);
  });
});
