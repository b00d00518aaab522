import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { parseQueryBool } from '../../http/dss-wire.js';
import { DssNotebookItem, NotebookDocument, NotebookParams } from './notebook.schema.js';
import type { NotebookInfo, NotebookService } from './notebook.service.js';
import { ProjectParams } from '../projects/project.schema.js';

/**
 * The notebook calls of the current dataikuapi (dss/jupyternotebook.py, project.py), under each DSS
 * prefix: list, create with content, read, save, delete, clear outputs. A read carries the notebook's
 * revision inside its metadata, so the client's get_content() … save() is refused with 409 when
 * someone saved in between, instead of overwriting them.
 */
export const notebookDssRoutes: FastifyPluginAsyncTypebox<{ notebooks: NotebookService }> = async (
  app,
  { notebooks },
) => {
  const hide = { hide: true } as const;
  const ownProject = { access: 'user' as const, ticket: 'own-project' as const };
  const byOwnHand = { access: 'user' as const, ownCredential: true, action: 'change notebooks (code)' };
  const item = (key: string, n: NotebookInfo) => {
    const kernel = notebooks.kernels[n.language];
    return {
      projectKey: key,
      name: n.name,
      language: n.language === 'r' ? 'R' : 'python',
      kernelSpec: kernel,
      tags: [],
      lastModifiedOn: n.updatedAt,
      lastModifiedBy: n.updatedBy,
    };
  };

  app.get('/projects/:key/jupyter-notebooks', {
    config: ownProject,
    schema: {
      ...hide,
      params: ProjectParams,
      querystring: Type.Object({ active: Type.Optional(Type.String()) }, { additionalProperties: false }),
      response: { 200: Type.Array(DssNotebookItem) },
    },
    handler: async (req) => {
      // Kernels are not started yet in this version: no notebook is active.
      const activeOnly = parseQueryBool(req.query.active, 'active', false);
      const all = await notebooks.list(req.caller!, req.params.key);
      return (activeOnly ? [] : all).map((n) => item(req.params.key, n));
    },
  });

  app.post('/projects/:key/jupyter-notebooks/:name', {
    config: byOwnHand,
    schema: { ...hide, params: NotebookParams, body: NotebookDocument, response: { 200: DssNotebookItem } },
    handler: async (req) => {
      const r = await notebooks.save(
        req.caller!,
        req.params.key,
        req.params.name,
        { document: req.body },
        { baseRevision: 0 },
      );
      return item(req.params.key, r.info);
    },
  });

  app.get('/projects/:key/jupyter-notebooks/:name', {
    config: ownProject,
    schema: { ...hide, params: NotebookParams, response: { 200: NotebookDocument } },
    handler: async (req) =>
      (await notebooks.get(req.caller!, req.params.key, req.params.name)).document as unknown as Record<
        string,
        unknown
      >,
  });

  app.put('/projects/:key/jupyter-notebooks/:name', {
    config: byOwnHand,
    schema: { ...hide, params: NotebookParams, body: NotebookDocument, response: { 200: DssNotebookItem } },
    handler: async (req) => {
      const r = await notebooks.save(
        req.caller!,
        req.params.key,
        req.params.name,
        { document: req.body },
        { mustExist: true },
      );
      return item(req.params.key, r.info);
    },
  });

  app.delete('/projects/:key/jupyter-notebooks/:name', {
    config: byOwnHand,
    schema: { ...hide, params: NotebookParams },
    handler: async (req) => {
      await notebooks.delete(req.caller!, req.params.key, req.params.name);
      return {};
    },
  });

  app.delete('/projects/:key/jupyter-notebooks/:name/outputs', {
    config: byOwnHand,
    schema: { ...hide, params: NotebookParams, response: { 200: DssNotebookItem } },
    handler: async (req) =>
      item(req.params.key, await notebooks.clearOutputs(req.caller!, req.params.key, req.params.name)),
  });
};
