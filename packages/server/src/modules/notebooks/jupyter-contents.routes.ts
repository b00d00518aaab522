import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Invalid } from '../../errors.js';
import type { ProjectService } from '../projects/project.service.js';
import { notebookAt, notebookNameOf } from './notebook.rules.js';
import type { NotebookInfo, NotebookService } from './notebook.service.js';

/**
 * Jupyter's contents API over the notebooks in the store (docs/adr/0020): the root lists the caller's
 * projects as directories, a project lists its notebooks, and `<PROJECTKEY>/<name>.ipynb` reads,
 * saves, renames and deletes one. What Jupyter's front end and its clients call; the rules are the
 * notebook service's (members read, contributors write with their own hand, no value in a cell).
 */
export const jupyterContentsRoutes: FastifyPluginAsyncTypebox<{
  notebooks: NotebookService;
  projects: Pick<ProjectService, 'list'>;
}> = async (app, { notebooks, projects }) => {
  const tags = ['jupyter'];
  const read = { access: 'user' as const, ticket: 'own-project' as const };
  const write = { access: 'user' as const, ownCredential: true, action: 'change notebooks (code)' };
  const iso = (ms: number) => new Date(ms).toISOString();

  const Model = Type.Object({
    name: Type.String(),
    path: Type.String(),
    type: Type.Union([Type.Literal('notebook'), Type.Literal('directory')]),
    format: Type.Union([Type.String(), Type.Null()]),
    mimetype: Type.Null(),
    content: Type.Unknown(),
    created: Type.String(),
    last_modified: Type.String(),
    writable: Type.Boolean(),
  });
  const notebookModel = (
    key: string,
    n: NotebookInfo,
    content: unknown = null,
    format: string | null = null,
  ) => ({
    name: `${n.name}.ipynb`,
    path: `${key}/${n.name}.ipynb`,
    type: 'notebook' as const,
    format,
    mimetype: null,
    content,
    created: iso(n.createdAt),
    last_modified: iso(n.updatedAt),
    writable: true,
  });
  const directory = (name: string, path: string, content: unknown, at = 0) => ({
    name,
    path,
    type: 'directory' as const,
    format: content === null ? null : 'json',
    mimetype: null,
    content,
    created: iso(at),
    last_modified: iso(at),
    writable: false,
  });
  const Query = Type.Object(
    {
      content: Type.Optional(Type.String()),
      type: Type.Optional(Type.String()),
      format: Type.Optional(Type.String()),
      /** The cache-buster jQuery adds to the front end's reads. */
      _: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  );
  const wantsContent = (q: { content?: string }) => q.content === undefined || q.content !== '0';
  const DirParams = Type.Object({ key: Type.String() }, { additionalProperties: false });
  const FileParams = Type.Object(
    { key: Type.String(), file: Type.String() },
    { additionalProperties: false },
  );

  app.get('/jupyter/api/contents', {
    config: { access: 'user' as const, action: 'list projects beyond its own' },
    schema: {
      tags,
      summary: 'The root: your projects, as directories',
      querystring: Query,
      response: { 200: Model },
    },
    handler: async (req) => {
      const mine = await projects.list(req.caller!);
      const entries = mine.map((p) => directory(p.key, p.key, null, p.updatedAt));
      return directory('', '', wantsContent(req.query) ? entries : null);
    },
  });

  app.get('/jupyter/api/contents/:key', {
    config: read,
    schema: {
      tags,
      summary: "A project's notebooks",
      params: DirParams,
      querystring: Query,
      response: { 200: Model },
    },
    handler: async (req) => {
      const list = await notebooks.list(req.caller!, req.params.key);
      return directory(
        req.params.key,
        req.params.key,
        wantsContent(req.query) ? list.map((n) => notebookModel(req.params.key, n)) : null,
      );
    },
  });

  app.post('/jupyter/api/contents/:key', {
    config: write,
    schema: {
      tags,
      summary: 'A new notebook in a project: an empty one (Untitled, Untitled1, …), or a copy',
      params: DirParams,
      body: Type.Optional(
        Type.Object({
          type: Type.Optional(Type.String()),
          copy_from: Type.Optional(Type.String()),
          ext: Type.Optional(Type.String()),
          language: Type.Optional(Type.Union([Type.Literal('python'), Type.Literal('r')])),
        }),
      ),
      response: { 201: Model },
    },
    handler: async (req, reply) => {
      const key = req.params.key;
      const body = req.body ?? {};
      if (body.type !== undefined && body.type !== 'notebook')
        throw new Invalid('only notebooks can be created in a project');
      let input: Parameters<NotebookService['save']>[3] = { language: body.language ?? 'python' };
      let base = 'Untitled';
      if (body.copy_from !== undefined) {
        const from = notebookAt(body.copy_from);
        if (!from || from.key !== key)
          throw new Invalid('copy_from must be a notebook of the same project: <KEY>/<name>.ipynb');
        const source = await notebooks.get(req.caller!, key, from.name);
        input = { document: source.document };
        base = `${from.name}-Copy`;
      }
      const name = await notebooks.freeName(req.caller!, key, base);
      const saved = await notebooks.save(req.caller!, key, name, input, { baseRevision: 0 });
      return reply.status(201).send(notebookModel(key, saved.info));
    },
  });

  app.get('/jupyter/api/contents/:key/:file', {
    config: read,
    schema: { tags, summary: 'A notebook', params: FileParams, querystring: Query, response: { 200: Model } },
    handler: async (req) => {
      const { info, document } = await notebooks.get(
        req.caller!,
        req.params.key,
        notebookNameOf(req.params.file),
      );
      return wantsContent(req.query)
        ? notebookModel(req.params.key, info, document, 'json')
        : notebookModel(req.params.key, info);
    },
  });

  app.put('/jupyter/api/contents/:key/:file', {
    config: write,
    schema: {
      tags,
      summary:
        'Save a notebook (create or replace). A document read from here carries its revision in its metadata: a save of an older one gets 409',
      params: FileParams,
      body: Type.Object({
        type: Type.Optional(Type.String()),
        format: Type.Optional(Type.String()),
        content: Type.Unknown(),
        name: Type.Optional(Type.String()),
        path: Type.Optional(Type.String()),
      }),
      response: { 200: Model, 201: Model },
    },
    handler: async (req, reply) => {
      if (req.body.type !== undefined && req.body.type !== 'notebook')
        throw new Invalid('only notebooks can be saved in a project (type must be notebook)');
      if (req.body.format !== undefined && req.body.format !== 'json')
        throw new Invalid('format must be json');
      const r = await notebooks.save(req.caller!, req.params.key, notebookNameOf(req.params.file), {
        document: req.body.content,
      });
      return reply.status(r.created ? 201 : 200).send(notebookModel(req.params.key, r.info));
    },
  });

  app.patch('/jupyter/api/contents/:key/:file', {
    config: write,
    schema: {
      tags,
      summary: 'Rename a notebook within its project',
      params: FileParams,
      body: Type.Object({ path: Type.String() }),
      response: { 200: Model },
    },
    handler: async (req) => {
      const to = notebookAt(req.body.path);
      if (!to || to.key !== req.params.key)
        throw new Invalid(
          'a notebook can only be renamed within its project: path must be <KEY>/<new name>.ipynb',
        );
      const info = await notebooks.rename(
        req.caller!,
        req.params.key,
        notebookNameOf(req.params.file),
        to.name,
      );
      return notebookModel(req.params.key, info);
    },
  });

  const Checkpoint = Type.Object({ id: Type.String(), last_modified: Type.String() });
  const checkpointModel = (c: { id: string; at: number }) => ({ id: c.id, last_modified: iso(c.at) });
  const CheckpointParams = Type.Object(
    { key: Type.String(), file: Type.String(), id: Type.String() },
    { additionalProperties: false },
  );

  app.get('/jupyter/api/contents/:key/:file/checkpoints', {
    config: read,
    schema: {
      tags,
      summary: "A notebook's checkpoint (Jupyter keeps one per file)",
      params: FileParams,
      querystring: Query,
      response: { 200: Type.Array(Checkpoint) },
    },
    handler: async (req) =>
      (await notebooks.checkpoints(req.caller!, req.params.key, notebookNameOf(req.params.file))).map(
        checkpointModel,
      ),
  });

  app.post('/jupyter/api/contents/:key/:file/checkpoints', {
    config: write,
    schema: {
      tags,
      summary: 'Save and Checkpoint: keep a copy of the notebook as stored now',
      params: FileParams,
      response: { 201: Checkpoint },
    },
    handler: async (req, reply) =>
      reply
        .status(201)
        .send(
          checkpointModel(
            await notebooks.checkpoint(req.caller!, req.params.key, notebookNameOf(req.params.file)),
          ),
        ),
  });

  app.post('/jupyter/api/contents/:key/:file/checkpoints/:id', {
    config: write,
    schema: {
      tags,
      summary: 'Revert to Checkpoint: save the checkpoint as the notebook',
      params: CheckpointParams,
      response: { 204: Type.Null() },
    },
    handler: async (req, reply) => {
      const { key, file, id } = req.params;
      await notebooks.restoreCheckpoint(req.caller!, key, notebookNameOf(file), id);
      return reply.status(204).send(null);
    },
  });

  app.delete('/jupyter/api/contents/:key/:file/checkpoints/:id', {
    config: write,
    schema: {
      tags,
      summary: 'Drop the checkpoint',
      params: CheckpointParams,
      response: { 204: Type.Null() },
    },
    handler: async (req, reply) => {
      const { key, file, id } = req.params;
      await notebooks.deleteCheckpoint(req.caller!, key, notebookNameOf(file), id);
      return reply.status(204).send(null);
    },
  });

  app.delete('/jupyter/api/contents/:key/:file', {
    config: write,
    schema: { tags, summary: 'Delete a notebook', params: FileParams, response: { 204: Type.Null() } },
    handler: async (req, reply) => {
      await notebooks.delete(req.caller!, req.params.key, notebookNameOf(req.params.file));
      return reply.status(204).send(null);
    },
  });
};
