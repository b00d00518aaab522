import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { newId } from '../../crypto/index.js';
import { Unavailable } from '../../errors.js';

/*
 * Jupyter's classic notebook page (notebook 6.4 from Debian's python3-notebook), served by Coffer
 * behind its own sign-in (docs/adr/0020). The page is Jupyter's own template, rendered once by
 * Jupyter's own Jinja environment (clients/jupyter/render_notebook_page.py); per request only the
 * notebook's path and name and the scripts' nonce change.
 */

const run = promisify(execFile);

export interface FrontEnd {
  /** notebook.html with placeholder words for the notebook's path and name. */
  readonly html: string;
  /** The notebook package's version, shown in Jupyter's About dialog. */
  readonly version: string;
  /** The front end's static files (python3-notebook's notebook/static). */
  readonly staticDir: string;
}

/**
 * What a notebook page may run and reach. Scripts: the front end's files, and the page's inline
 * scripts by nonce; not `eval`, not scripts a kernel's output puts in the page (HTML or JavaScript
 * outputs), so code a colleague wrote cannot act with the viewer's session in the browser. Styles
 * inline, as Jupyter sets them. Connections to Coffer only (its API and the kernels' WebSockets);
 * images also from data: URLs, as plots come.
 */
export function notebookPageCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

/** Renders the page for one notebook: its path and name, and a fresh nonce on each script. */
export function notebookPage(
  frontEnd: FrontEnd,
  at: { key: string; name: string },
): { html: string; csp: string } {
  const nonce = newId(); // 128 random bits, fresh for each page
  const file = `${at.name}.ipynb`;
  // The template urlencodes these into data-* attributes, which the front end decodes.
  const html = frontEnd.html
    .replaceAll('cofferplaceholdernotebookpath', `${encodeURIComponent(at.key)}/${encodeURIComponent(file)}`)
    .replaceAll('cofferplaceholdernotebookname', encodeURIComponent(file))
    .replaceAll('<script', `<script nonce="${nonce}"`);
  return { html, csp: notebookPageCsp(nonce) };
}

/**
 * Renders Jupyter's template once per process, on the first page asked for; a failure (no
 * python3-notebook on this machine) is answered 503 naming the package, and tried again next time.
 */
export function jupyterFrontEnd(opts: { python: string; clientsDir: string }) {
  let pending: Promise<FrontEnd> | undefined;
  const render = async (): Promise<FrontEnd> => {
    const script = path.join(opts.clientsDir, 'jupyter', 'render_notebook_page.py');
    try {
      const { stdout } = await run(opts.python, [script], {
        cwd: '/',
        env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
        maxBuffer: 8 * 1024 * 1024,
        timeout: 60_000,
      });
      return JSON.parse(stdout) as FrontEnd;
    } catch (e) {
      const detail = e instanceof Error ? (e as Error & { stderr?: string }).stderr || e.message : String(e);
      throw new Unavailable(
        `Jupyter's notebook page cannot be rendered on this server (install Debian's python3-notebook): ${detail.trim().split('\n').pop()}`,
      );
    }
  };
  return {
    get(): Promise<FrontEnd> {
      pending ??= render().catch((e: unknown) => {
        pending = undefined;
        throw e;
      });
      return pending;
    },
  };
}

export type JupyterFrontEnd = ReturnType<typeof jupyterFrontEnd>;
