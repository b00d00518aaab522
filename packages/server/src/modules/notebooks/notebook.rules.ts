import { Invalid, NotFound } from '../../errors.js';
import type { JupyterKernel } from '../../execution/runtimes.js';
import type { NotebookLanguage } from '../../store/schema.js';
import { checkText, line, multiline } from '../../text-rules.js';

/*
 * What a notebook must be to be stored: a name that is one path segment in Jupyter's contents API
 * (`<PROJECTKEY>/<name>.ipynb`), and an nbformat 4 document whose kernel Coffer can start. Every problem
 * is named with where it is, so a person (or a script) can find it in a document of many cells.
 */

export const MAX_NOTEBOOK_CELLS = 10_000;

/** The kernels Coffer starts, by the Jupyter kernelspec name Debian installs for each. */
export const KERNELS: Record<
  NotebookLanguage,
  { name: JupyterKernel; display_name: string; language: string }
> = {
  python: { name: 'python3', display_name: 'Python 3', language: 'python' },
  r: { name: 'ir', display_name: 'R', language: 'R' },
};

/** `<PROJECTKEY>/<name>.ipynb`, a notebook's path in Jupyter's API, as its project and name. */
export function notebookAt(path: string): { key: string; name: string } | undefined {
  const m = /^([^/]+)\/([^/]+)\.ipynb$/.exec(path);
  return m ? { key: m[1]!, name: m[2]! } : undefined;
}

/** `name.ipynb`, a file in Jupyter's paths, as its notebook's name; nothing else lives in a project. */
export function notebookNameOf(file: string): string {
  const m = /^(.+)\.ipynb$/.exec(file);
  if (!m) throw new NotFound(`${JSON.stringify(file)}: only notebooks (.ipynb) live in a project`);
  return m[1]!;
}

export function checkNotebookName(name: string): string {
  checkText('notebook name', name, line(100));
  const problem = /[/\\]/.test(name)
    ? 'cannot contain / or \\ (a notebook is one file in its project)'
    : name.startsWith('.')
      ? 'cannot start with a dot'
      : name.trim() !== name || name.length === 0
        ? 'cannot be empty, or start or end with spaces'
        : /\.ipynb$/i.test(name)
          ? 'is given without its .ipynb extension'
          : undefined;
  if (problem) throw new Invalid(`notebook name ${JSON.stringify(name)} ${problem}`);
  return name;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const OUTPUT_TYPES = new Set(['stream', 'display_data', 'execute_result', 'error', 'update_display_data']);

/** A cell's source as one text, however it is stored (a string, or a list of lines). */
export function sourceOf(cell: { source: string | string[] }): string {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
}

export interface NotebookCell {
  cell_type: 'code' | 'markdown' | 'raw';
  source: string | string[];
  metadata: Record<string, unknown>;
  outputs?: unknown[];
  execution_count?: number | null;
  [k: string]: unknown;
}

export interface NotebookDocument {
  nbformat: 4;
  nbformat_minor: number;
  metadata: Record<string, unknown> & { kernelspec?: { name?: unknown } };
  cells: NotebookCell[];
}

/**
 * Checks an nbformat 4 document and says which kernel it runs on. Only the structure Jupyter's
 * front end and Coffer rely on is checked; other fields (nbformat allows many) are kept as they are.
 */
export function checkNotebook(doc: unknown): { doc: NotebookDocument; language: NotebookLanguage } {
  if (!isObject(doc)) throw new Invalid('a notebook must be a JSON object (an .ipynb document)');
  if (doc.nbformat !== 4)
    throw new Invalid(
      `notebook format ${JSON.stringify(doc.nbformat)} is not supported; save it as nbformat 4 (Jupyter's File → Download as .ipynb does)`,
    );
  if (!Number.isInteger(doc.nbformat_minor) || (doc.nbformat_minor as number) < 0)
    throw new Invalid('nbformat_minor must be a whole number');
  if (!isObject(doc.metadata)) throw new Invalid('metadata must be a JSON object');
  if (!Array.isArray(doc.cells)) throw new Invalid('cells must be a list');
  if (doc.cells.length > MAX_NOTEBOOK_CELLS)
    throw new Invalid(
      `a notebook may have at most ${MAX_NOTEBOOK_CELLS} cells; this one has ${doc.cells.length}`,
    );
  doc.cells.forEach((cell, i) => {
    const at = `cells[${i}]`;
    if (!isObject(cell)) throw new Invalid(`${at} must be a JSON object`);
    if (!['code', 'markdown', 'raw'].includes(cell.cell_type as string))
      throw new Invalid(`${at}.cell_type must be code, markdown or raw`);
    const source = cell.source;
    if (typeof source !== 'string' && !(Array.isArray(source) && source.every((l) => typeof l === 'string')))
      throw new Invalid(`${at}.source must be a text or a list of lines`);
    checkText(`${at}.source`, sourceOf(cell as { source: string | string[] }), multiline());
    if (cell.metadata !== undefined && !isObject(cell.metadata))
      throw new Invalid(`${at}.metadata must be a JSON object`);
    cell.metadata ??= {};
    if (cell.cell_type !== 'code') return;
    cell.outputs ??= [];
    if (!Array.isArray(cell.outputs)) throw new Invalid(`${at}.outputs must be a list`);
    cell.outputs.forEach((o, j) => {
      if (!isObject(o) || !OUTPUT_TYPES.has(o.output_type as string))
        throw new Invalid(
          `${at}.outputs[${j}].output_type must be stream, display_data, execute_result or error`,
        );
    });
    cell.execution_count ??= null;
    if (cell.execution_count !== null && !Number.isInteger(cell.execution_count))
      throw new Invalid(`${at}.execution_count must be a whole number or null`);
  });
  return { doc: doc as unknown as NotebookDocument, language: languageOf(doc.metadata) };
}

function languageOf(metadata: Record<string, unknown>): NotebookLanguage {
  const spec = metadata.kernelspec;
  const name = isObject(spec) ? spec.name : undefined;
  for (const [language, kernel] of Object.entries(KERNELS))
    if (name === kernel.name) return language as NotebookLanguage;
  throw new Invalid(
    `metadata.kernelspec.name must be ${Object.values(KERNELS)
      .map((k) => JSON.stringify(k.name))
      .join(' or ')} (the Python and R kernels); it is ${JSON.stringify(name ?? null)}`,
  );
}

/** An empty notebook for a kernel: what New notebook makes. */
export function emptyNotebook(language: NotebookLanguage): NotebookDocument {
  const kernel = KERNELS[language];
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: kernel,
      language_info: { name: kernel.language },
    },
    cells: [],
  };
}
