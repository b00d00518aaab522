import { existsSync } from 'node:fs';
import path from 'node:path';
import { fastifyCookie } from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NotFound } from '../../errors.js';
import { notebookPage, type JupyterFrontEnd } from './jupyter-front-end.js';
import { KERNELS, notebookNameOf } from './notebook.rules.js';
import { REVISION_KEY, type NotebookService } from './notebook.service.js';

/** Where Debian installs the kernelspecs (python3-ipykernel, r-cran-irkernel). */
const KERNELSPECS_DIR = '/usr/share/jupyter/kernels';
/** The kernelspec files the front end loads: logos, and IRkernel's kernel.js (its CodeMirror mode). */
const KERNELSPEC_FILES = new Set(['logo-32x32.png', 'logo-64x64.png', 'logo-svg.svg', 'kernel.js']);
type NotebookLanguage = keyof typeof KERNELS;

/**
 * Jupyter's notebook page and what it loads besides the API (docs/adr/0020): the page itself for a
 * signed-in member, the front end's static files, Coffer's custom.js, the kernelspecs, the front
 * end's settings, and Download as .ipynb. Everything under /jupyter answers in Jupyter's error shape;
 * the page answers in HTML (http/error-handler.ts), and an anonymous visitor is sent to sign in.
 */
export const jupyterPageRoutes: FastifyPluginAsyncTypebox<{
  notebooks: NotebookService;
  frontEnd: JupyterFrontEnd;
  clientsDir: string;
}> = async (app, { notebooks, frontEnd, clientsDir }) => {
  // The web UI's registration brings reply.sendFile; a server without a built web UI has none yet.
  if (!app.hasReplyDecorator('sendFile'))
    await app.register(fastifyStatic, { root: path.join(clientsDir, 'jupyter'), serve: false });
  const publicFile = { config: { access: 'public' as const }, schema: { hide: true } };
  const FileParams = Type.Object(
    { key: Type.String(), file: Type.String() },
    { additionalProperties: false },
  );

  app.get('/jupyter/notebooks/:key/:file', {
    config: { access: 'user', page: true, action: 'open notebooks' },
    schema: { hide: true, params: FileParams },
    handler: async (req, reply) => {
      const { key, file } = req.params;
      const name = notebookNameOf(file);
      await notebooks.get(req.caller!, key, name); // a member's, and it exists
      const page = notebookPage(await frontEnd.get(), { key, name });
      // Jupyter's front end sends the `_xsrf` cookie back as X-XSRFToken; Coffer checks it as its CSRF
      // header (http/auth.hook.ts). Readable by the page's scripts, sent only under /jupyter.
      if (req.csrfToken)
        void reply.header(
          'set-cookie',
          fastifyCookie.serialize('_xsrf', req.csrfToken, {
            path: '/jupyter',
            sameSite: 'strict',
            httpOnly: false,
            secure: req.protocol === 'https',
          }),
        );
      return reply
        .header('content-security-policy', page.csp)
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(page.html);
    },
  });

  app.get<{ Params: { '*': string } }>('/jupyter/static/*', publicFile, async (req, reply) => {
    const { staticDir } = await frontEnd.get();
    return reply.sendFile(req.params['*'], staticDir, { maxAge: '1d' });
  });

  // The front end asks for the widgets extension, which Coffer does not ship: a script's 404, so the
  // browser reports a missing file rather than a wrong type.
  app.get('/jupyter/nbextensions/*', publicFile, async (_req, reply) =>
    reply
      .status(404)
      .type('text/javascript; charset=utf-8')
      .send('// Coffer serves no notebook extensions\n'),
  );

  app.get('/jupyter/custom/custom.js', publicFile, async (_req, reply) =>
    reply.sendFile('custom.js', path.join(clientsDir, 'jupyter'), { maxAge: 0 }),
  );
  app.get('/jupyter/custom/custom.css', publicFile, async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=86400').send(''),
  );

  app.get<{ Params: { name: string; file: string } }>(
    '/jupyter/kernelspecs/:name/:file',
    publicFile,
    async (req, reply) => {
      const { name, file } = req.params;
      if (!Object.values(KERNELS).some((k) => k.name === name) || !KERNELSPEC_FILES.has(file))
        throw new NotFound(`no kernelspec file ${name}/${file}`);
      const dir = path.join(KERNELSPECS_DIR, name);
      if (!existsSync(path.join(dir, file))) throw new NotFound(`no kernelspec file ${name}/${file}`);
      return reply.sendFile(file, dir, { maxAge: '1d' });
    },
  );

  const spec = (language: NotebookLanguage) => {
    const k = KERNELS[language];
    const resources: Record<string, string> = {};
    for (const f of ['logo-32x32.png', 'logo-64x64.png'])
      if (existsSync(path.join(KERNELSPECS_DIR, k.name, f)))
        resources[f.replace('.png', '')] = `/jupyter/kernelspecs/${k.name}/${f}`;
    return {
      name: k.name,
      spec: {
        argv: [],
        display_name: k.display_name,
        language: k.language,
        interrupt_mode: 'signal',
        env: {},
        metadata: {},
      },
      resources,
    };
  };
  const frontEndConfig = { access: 'user' as const, action: "use Jupyter's front end" };
  app.get('/jupyter/api/kernelspecs', {
    config: frontEndConfig,
    schema: { tags: ['jupyter'], summary: 'The kernels a notebook can run on: Python 3 and R' },
    handler: async () => ({
      default: KERNELS.python.name,
      kernelspecs: Object.fromEntries(
        (Object.keys(KERNELS) as NotebookLanguage[]).map((l) => [KERNELS[l].name, spec(l)]),
      ),
    }),
  });

  // The front end's own settings (keyboard shortcuts, toolbar). Coffer keeps none: each page starts
  // from Jupyter's defaults, and a change lasts as long as the page.
  const Section = Type.Object({ section: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) });
  app.get('/jupyter/api/config/:section', {
    config: frontEndConfig,
    schema: { tags: ['jupyter'], summary: 'Front-end settings: none kept', params: Section },
    handler: async () => ({}),
  });
  app.patch('/jupyter/api/config/:section', {
    config: frontEndConfig,
    schema: {
      tags: ['jupyter'],
      summary: 'Front-end settings: accepted for the page, not kept',
      params: Section,
      body: Type.Record(Type.String(), Type.Unknown()),
    },
    handler: async (req) => req.body,
  });

  // File → Download as → Notebook: the stored document, without Coffer's revision.
  app.get('/jupyter/nbconvert/:format/:key/:file', {
    config: { access: 'user', ticket: 'own-project' },
    schema: {
      hide: true,
      params: Type.Object({ format: Type.String(), key: Type.String(), file: Type.String() }),
    },
    handler: async (req, reply) => {
      const { format, key, file } = req.params;
      if (format !== 'notebook')
        throw new NotFound(
          `${JSON.stringify(format)}: Coffer converts no notebooks; download the notebook (.ipynb) instead`,
        );
      const { document } = await notebooks.get(req.caller!, key, notebookNameOf(file));
      delete document.metadata[REVISION_KEY]; // the file is the notebook alone
      return reply
        .type('application/x-ipynb+json')
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(file)}`)
        .header('cache-control', 'no-store')
        .send(JSON.stringify(document, null, 1));
    },
  });

  // File → Open and the directory links lead to Jupyter's file tree, which Coffer does not have: a
  // project's notebooks are on its page.
  app.get<{ Params: { '*': string } }>('/jupyter/tree/*', publicFile, async (req, reply) => {
    const key = req.params['*'].split('/')[0];
    return reply.redirect(key ? `/projects/${encodeURIComponent(key)}` : '/projects', 302);
  });
};
