import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { WebSocket } from 'ws';
import { Forbidden, Invalid, NotFound } from '../../errors.js';
import type { KernelService, KernelView } from './kernels.js';
import { notebookAt } from './notebook.rules.js';

/**
 * The part of Jupyter Server's API that runs kernels (docs/adr/0020): sessions (one per user and
 * notebook, with its kernel) and a kernel's channels over a WebSocket. Served to the signed-in user and
 * to personal API keys (`Authorization: token <key>` as Jupyter clients send it, or Bearer/Basic). A
 * kernel runs code with its user's values, so it needs the user's own hand: no job ticket, no key an
 * administrator made for them.
 */
export const jupyterRoutes: FastifyPluginAsyncTypebox<{ kernels: KernelService }> = async (
  app,
  { kernels },
) => {
  const tags = ['jupyter'];
  const config = { access: 'user' as const, ownCredential: true, action: 'run notebook kernels' };

  const KernelModel = Type.Object({
    id: Type.String(),
    name: Type.String(),
    last_activity: Type.String(),
    execution_state: Type.String(),
    connections: Type.Integer(),
  });
  const SessionModel = Type.Object({
    id: Type.String(),
    path: Type.String(),
    name: Type.String(),
    type: Type.Literal('notebook'),
    kernel: KernelModel,
    notebook: Type.Object({ path: Type.String(), name: Type.String() }),
  });
  const session = (k: KernelView) => {
    const path = `${k.projectKey}/${k.notebook}.ipynb`;
    return {
      id: k.sessionId,
      path,
      name: `${k.notebook}.ipynb`,
      type: 'notebook' as const,
      kernel: {
        id: k.id,
        name: k.name,
        last_activity: new Date(k.lastActivity).toISOString(),
        execution_state: k.executionState,
        connections: k.connections,
      },
      notebook: { path, name: `${k.notebook}.ipynb` },
    };
  };
  const SessionParams = Type.Object({ id: Type.String() }, { additionalProperties: false });

  app.post('/jupyter/api/sessions', {
    config,
    schema: {
      tags,
      summary: 'Open a notebook: your kernel for it, started in your sandbox (or the one you have)',
      body: Type.Object({
        path: Type.String({ description: '<PROJECTKEY>/<name>.ipynb' }),
        type: Type.Optional(Type.String()),
        name: Type.Optional(Type.String()),
        kernel: Type.Optional(Type.Object({ name: Type.Optional(Type.String()) })),
      }),
      response: { 201: SessionModel },
    },
    handler: async (req, reply) => {
      const at = notebookAt(req.body.path);
      if (!at) throw new Invalid('path must be <PROJECTKEY>/<notebook name>.ipynb');
      const k = await kernels.open(req.caller!, at.key, at.name);
      return reply.status(201).send(session(k));
    },
  });

  app.get('/jupyter/api/sessions', {
    config,
    schema: { tags, summary: 'Your running notebook sessions', response: { 200: Type.Array(SessionModel) } },
    handler: async (req) => (await kernels.list(req.caller!)).map(session),
  });

  app.get('/jupyter/api/sessions/:id', {
    config,
    schema: { tags, summary: 'One of your sessions', params: SessionParams, response: { 200: SessionModel } },
    handler: async (req) => session(await kernels.bySession(req.caller!, req.params.id)),
  });

  app.delete('/jupyter/api/sessions/:id', {
    config,
    schema: {
      tags,
      summary: 'Close a session: its kernel stops and its ticket is refused from then on',
      params: SessionParams,
      response: { 204: Type.Null() },
    },
    handler: async (req, reply) => {
      const k = await kernels.bySession(req.caller!, req.params.id, { admin: true });
      await kernels.stop(req.caller!, k.id);
      return reply.status(204).send(null);
    },
  });

  app.patch('/jupyter/api/sessions/:id', {
    config,
    schema: {
      tags,
      summary: "Follow a renamed notebook (the session's path); a kernel stays in its project",
      params: SessionParams,
      body: Type.Object({
        path: Type.Optional(Type.String()),
        name: Type.Optional(Type.String()),
        type: Type.Optional(Type.String()),
        kernel: Type.Optional(Type.Object({ name: Type.Optional(Type.String()) })),
      }),
      response: { 200: SessionModel },
    },
    handler: async (req) => {
      const k = await kernels.bySession(req.caller!, req.params.id);
      if (req.body.kernel?.name !== undefined && req.body.kernel.name !== k.name)
        throw new Invalid(
          `a notebook's kernel follows its language (${k.name}); change the notebook's language instead`,
        );
      if (req.body.path === undefined) return session(k);
      const at = notebookAt(req.body.path);
      if (!at) throw new Invalid('path must be <PROJECTKEY>/<name>.ipynb');
      return session(await kernels.rename(req.caller!, k.id, at.key, at.name));
    },
  });

  app.get('/jupyter/api/kernels', {
    config,
    schema: { tags, summary: 'Your running kernels', response: { 200: Type.Array(KernelModel) } },
    handler: async (req) => (await kernels.list(req.caller!)).map((k) => session(k).kernel),
  });

  app.get('/jupyter/api/kernels/:id', {
    config,
    schema: { tags, summary: 'One of your kernels', params: SessionParams, response: { 200: KernelModel } },
    handler: async (req) => session(await kernels.get(req.caller!, req.params.id)).kernel,
  });

  app.delete('/jupyter/api/kernels/:id', {
    config,
    schema: {
      tags,
      summary: 'Stop a kernel: its ticket is refused from then on',
      params: SessionParams,
      response: { 204: Type.Null() },
    },
    handler: async (req, reply) => {
      await kernels.stop(req.caller!, req.params.id);
      return reply.status(204).send(null);
    },
  });

  app.post('/jupyter/api/kernels/:id/interrupt', {
    config,
    schema: {
      tags,
      summary: 'Interrupt what your kernel is running',
      params: SessionParams,
      response: { 204: Type.Null() },
    },
    handler: async (req, reply) => {
      await kernels.interrupt(req.caller!, req.params.id);
      return reply.status(204).send(null);
    },
  });

  app.post('/jupyter/api/kernels/:id/restart', {
    config,
    schema: {
      tags,
      summary: 'Restart your kernel: a fresh process in the same session, sandbox and ticket',
      params: SessionParams,
      response: { 200: KernelModel },
    },
    handler: async (req) => session(await kernels.restart(req.caller!, req.params.id)).kernel,
  });

  app.route({
    method: 'GET',
    url: '/jupyter/api/kernels/:id/channels',
    config,
    schema: { params: SessionParams },
    // Before any upgrade: someone else's kernel is not found, and a page of another site gets no socket.
    preHandler: async (req) => {
      await kernels.get(req.caller!, (req.params as { id: string }).id);
      const caller = req.caller!;
      const origin = req.headers.origin;
      const sameSite =
        origin !== undefined && URL.canParse(origin) && new URL(origin).host === req.headers.host;
      if (caller.kind === 'user' && caller.source === 'SESSION' && origin !== undefined && !sameSite)
        throw new Forbidden("a kernel's channels open only from Coffer's own pages");
    },
    // Without an Upgrade, the route still says whose kernel it is: 404 for anyone else.
    handler: async (_req, reply) => {
      // Jupyter's error shape, as every other answer under /jupyter (http/error-handler.ts).
      return reply.status(426).send({
        message: "a kernel's channels are a WebSocket: connect with an Upgrade",
        reason: 'upgrade_required',
      });
    },
    wsHandler: (socket: WebSocket, req) => {
      const id = (req.params as { id: string }).id;
      const caller = req.caller!;
      let unlisten: () => void;
      try {
        unlisten = kernels.listen(caller, id, (message) => {
          if (message === null) socket.close(1000, 'the kernel has ended');
          else socket.send(message);
        });
      } catch (e) {
        socket.close(1008, e instanceof NotFound ? e.message : 'refused');
        return;
      }
      socket.on('close', () => unlisten());
      socket.on('message', (data) => {
        let msg: { channel?: unknown; header?: unknown; [k: string]: unknown };
        try {
          msg = JSON.parse(data.toString()) as typeof msg;
        } catch {
          socket.send(JSON.stringify({ error: 'not a JSON message' }));
          return;
        }
        const { channel, ...rest } = msg;
        if (channel !== 'shell' && channel !== 'control' && channel !== 'stdin') {
          socket.send(JSON.stringify({ error: 'channel must be shell, control or stdin' }));
          return;
        }
        try {
          kernels.send(caller, id, { channel, msg: rest });
        } catch (e) {
          socket.close(1011, e instanceof Error ? e.message.slice(0, 120) : 'kernel gone');
        }
      });
    },
  });
};
