import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NotFound } from '../../errors.js';
import { parseQueryBool } from '../../http/dss-wire.js';
import { DssNotebookItem, NotebookDocument, NotebookParams } from './notebook.schema.js';
import type { KernelService, KernelView } from './kernels.js';
import { KERNELS } from './notebook.rules.js';
import type { NotebookInfo, NotebookService } from './notebook.service.js';
import { ProjectParams } from '../projects/project.schema.js';

/**
 * The notebook calls of the current dataikuapi (dss/jupyternotebook.py, project.py, dssclient.py),
 * under each DSS prefix: list (all, or those with a kernel running), create with content, read, save,
 * delete, clear outputs; a notebook's running sessions and unloading one; an administrator's list of
 * every running notebook. A read carries the notebook's revision inside its metadata, so the client's
 * get_content() … save() is refused with 409 when someone saved in between, instead of overwriting.
 * A notebook's sessions are listed to its members: names and times, never anything a kernel holds.
 */
export const notebookDssRoutes: FastifyPluginAsyncTypebox<{
  notebooks: NotebookService;
  kernels: KernelService;
}> = async (app, { notebooks, kernels }) => {
  const hide = { hide: true } as const;
  const ownProject = { access: 'user' as const, ticket: 'own-project' as const };
  const byOwnHand = { access: 'user' as const, ownCredential: true, action: 'change notebooks (code)' };
  const item = (key: string, n: NotebookInfo) => {
    const kernel = KERNELS[n.language];
    return {
      projectKey: key,
      name: n.name,
      // DSS names the languages as the kernelspecs do: python, R.
      language: kernel.language,
      kernelSpec: kernel,
      tags: [],
      lastModifiedOn: n.updatedAt,
      lastModifiedBy: n.updatedBy,
    };
  };

  const sessionItem = (k: KernelView) => ({
    projectKey: k.projectKey,
    notebookName: k.notebook,
    sessionCreator: k.owner,
    sessionCreatorDisplayName: k.owner,
    sessionId: k.sessionId,
    kernelId: k.id,
    kernelConnections: k.connections,
    kernelLastActivityTime: k.lastActivity,
    kernelExecutionState: k.executionState,
    sessionStartTime: k.startedAt,
  });
  const SessionItem = Type.Object({
    projectKey: Type.String(),
    notebookName: Type.String(),
    sessionCreator: Type.String(),
    sessionCreatorDisplayName: Type.String(),
    sessionId: Type.String(),
    kernelId: Type.String(),
    kernelConnections: Type.Integer(),
    kernelLastActivityTime: Type.Integer(),
    kernelExecutionState: Type.String(),
    sessionStartTime: Type.Integer(),
  });
  /** Running sessions by notebook (`KEY/name`): what DSS calls a notebook's `activeSessions`. */
  const activeSessions = (running: KernelView[]) => {
    const by = new Map<string, ReturnType<typeof sessionItem>[]>();
    for (const k of running) {
      const at = `${k.projectKey}/${k.notebook}`;
      by.set(at, [...(by.get(at) ?? []), sessionItem(k)]);
    }
    return by;
  };
  /**
   * A notebook in a project's list, with its running sessions: dataikuapi's DSSNotebook (get_sessions,
   * unload) reads them there.
   */
  const listItem = (key: string, n: NotebookInfo, sessions: ReturnType<typeof activeSessions>) => ({
    ...item(key, n),
    activeSessions: sessions.get(`${key}/${n.name}`) ?? [],
  });
  /**
   * Every running session, an item each, as Coffer's own admin page reads them; each item is also the
   * DSSNotebook that dataikuapi's list_running_notebooks() makes of it: `projectKey` and `name`, and as
   * its state its notebook's `activeSessions` (every session of that notebook, this one among them).
   */
  const runningNotebooks = (all: KernelView[]) => {
    const sessions = activeSessions(all);
    return all.map((k) => ({
      ...sessionItem(k),
      name: k.notebook,
      activeSessions: sessions.get(`${k.projectKey}/${k.notebook}`) ?? [],
    }));
  };

  app.get('/projects/:key/jupyter-notebooks', {
    config: ownProject,
    schema: {
      ...hide,
      params: ProjectParams,
      querystring: Type.Object({ active: Type.Optional(Type.String()) }, { additionalProperties: false }),
      response: {
        200: Type.Array(
          Type.Object({ ...DssNotebookItem.properties, activeSessions: Type.Array(SessionItem) }),
        ),
      },
    },
    handler: async (req) => {
      const activeOnly = parseQueryBool(req.query.active, 'active', false);
      const all = await notebooks.list(req.caller!, req.params.key);
      const sessions = activeSessions(await kernels.running(req.params.key));
      return all
        .filter((n) => !activeOnly || sessions.has(`${req.params.key}/${n.name}`))
        .map((n) => listItem(req.params.key, n, sessions));
    },
  });

  const SessionParams = Type.Object(
    { key: Type.String(), name: Type.String(), sessionId: Type.String() },
    { additionalProperties: false },
  );

  app.get('/projects/:key/jupyter-notebooks/:name/sessions', {
    config: ownProject,
    schema: { ...hide, params: NotebookParams, response: { 200: Type.Array(SessionItem) } },
    handler: async (req) => {
      await notebooks.get(req.caller!, req.params.key, req.params.name);
      return (await kernels.running(req.params.key))
        .filter((k) => k.notebook === req.params.name)
        .map(sessionItem);
    },
  });

  app.delete('/projects/:key/jupyter-notebooks/:name/sessions/:sessionId', {
    config: { access: 'user' as const, action: 'stop notebook kernels' },
    schema: { ...hide, params: SessionParams },
    handler: async (req) => {
      // Your own session, or any as an administrator: unloading stops the kernel and ends its ticket.
      const k = await kernels.bySession(req.caller!, req.params.sessionId, { admin: true });
      if (k.projectKey !== req.params.key || k.notebook !== req.params.name)
        throw new NotFound(`session ${JSON.stringify(req.params.sessionId)} is not one of this notebook's`);
      await kernels.stop(req.caller!, k.id);
      return {};
    },
  });

  const RunningNotebook = Type.Object({
    ...SessionItem.properties,
    name: Type.String(),
    activeSessions: Type.Array(SessionItem),
  });
  app.get('/admin/notebooks', {
    config: { access: 'admin' as const },
    schema: { ...hide, response: { 200: Type.Array(RunningNotebook) } },
    handler: async (req) => runningNotebooks(await kernels.list(req.caller!, { all: true })),
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
