import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Invalid } from '../../errors.js';
import { authErrors, ErrorBody } from '../../http/schemas.js';
import { ProjectParams } from '../projects/project.schema.js';
import {
  NotebookBody,
  NotebookInfo,
  NotebookParams,
  NotebookRename,
  NotebookView,
} from './notebook.schema.js';
import type { NotebookService } from './notebook.service.js';

/**
 * Coffer's own notebook calls, for the web UI and scripts: list, read (the .ipynb document with its
 * revision: the export), create or replace (the import), rename, delete. Members read; a change needs the
 * member's own hand, as a change of a recipe does: a notebook is code other members run as themselves.
 */
export const notebookRoutes: FastifyPluginAsyncTypebox<{ notebooks: NotebookService }> = async (
  app,
  { notebooks },
) => {
  const tags = ['notebooks'];
  const config = { access: 'user' as const };
  const ownProject = { ...config, ticket: 'own-project' as const };
  const byOwnHand = { ...config, ownCredential: true, action: 'change notebooks (code)' };

  app.get('/api/v1/projects/:key/notebooks', {
    config: ownProject,
    schema: {
      tags,
      summary: 'The notebooks of a project',
      params: ProjectParams,
      response: { 200: Type.Object({ notebooks: Type.Array(NotebookInfo) }), ...authErrors },
    },
    handler: async (req) => ({ notebooks: await notebooks.list(req.caller!, req.params.key) }),
  });

  app.get('/api/v1/projects/:key/notebooks/:name', {
    config: ownProject,
    schema: {
      tags,
      summary: 'A notebook with its nbformat 4 document (what Export downloads)',
      params: NotebookParams,
      response: { 200: NotebookView, ...authErrors },
    },
    handler: async (req) => {
      const { info, document } = await notebooks.get(req.caller!, req.params.key, req.params.name);
      return { ...info, content: document as unknown as Record<string, unknown> };
    },
  });

  app.put('/api/v1/projects/:key/notebooks/:name', {
    config: byOwnHand,
    schema: {
      tags,
      summary:
        'Create a notebook (an empty one for `language`, or `content`, an imported .ipynb) or replace one (contributors and owners)',
      params: NotebookParams,
      body: NotebookBody,
      response: { 200: NotebookInfo, 201: NotebookInfo, 409: ErrorBody, ...authErrors },
    },
    handler: async (req, reply) => {
      const { content, language, baseRevision } = req.body;
      if ((content === undefined) === (language === undefined))
        throw new Invalid('give either content (an .ipynb document) or language (python or r), not both');
      const r = await notebooks.save(
        req.caller!,
        req.params.key,
        req.params.name,
        content !== undefined ? { document: content } : { language: language! },
        { baseRevision },
      );
      return reply.status(r.created ? 201 : 200).send(r.info);
    },
  });

  app.patch('/api/v1/projects/:key/notebooks/:name', {
    config: byOwnHand,
    schema: {
      tags,
      summary: 'Rename a notebook within its project (contributors and owners)',
      params: NotebookParams,
      body: NotebookRename,
      response: { 200: NotebookInfo, 409: ErrorBody, ...authErrors },
    },
    handler: async (req) => notebooks.rename(req.caller!, req.params.key, req.params.name, req.body.name),
  });

  app.delete('/api/v1/projects/:key/notebooks/:name', {
    config: byOwnHand,
    schema: {
      tags,
      summary: 'Delete a notebook (contributors and owners)',
      params: NotebookParams,
      response: { 204: Type.Null(), ...authErrors },
    },
    handler: async (req, reply) => {
      await notebooks.delete(req.caller!, req.params.key, req.params.name);
      return reply.status(204).send(null);
    },
  });
};
