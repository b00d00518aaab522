import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError, Invalid, NotFound } from '../../errors.js';
import { parseQueryBool } from '../../http/dss-wire.js';
import { archiveTooLargeMessage } from './plugin-archive.js';
import { DEFAULT_ARCHIVE_LIMITS } from './plugin.model.js';
import type { PluginService } from './plugin.service.js';
import { PluginParams } from './plugin.schema.js';

/**
 * The plugin calls of the current dataikuapi (dssclient.py, dss/plugin.py), under each DSS prefix:
 * install and update from a zip (multipart field `file`), list, the plugin-level settings with their
 * presets (read and saved whole), usages, and delete with `force`, which answers a future that has
 * finished (and `futures/{jobId}`, where the client asks for it again). Administrators only, as in DSS.
 * Settings never carry a user's credential: presets hold only what is shared.
 */
export const pluginDssRoutes: FastifyPluginAsyncTypebox<{ plugins: PluginService }> = async (
  app,
  { plugins },
) => {
  const hide = { hide: true } as const;
  const admin = { access: 'admin' as const };
  const limits = DEFAULT_ARCHIVE_LIMITS;
  await app.register(multipart, { limits: { fileSize: limits.maxArchiveBytes, files: 1, fields: 10 } });

  app.get('/plugins', {
    config: admin,
    schema: { ...hide, response: { 200: Type.Array(Type.Record(Type.String(), Type.Unknown())) } },
    handler: async (req) =>
      (await plugins.listAll(req.caller!)).map((p) => ({
        id: p.id,
        version: p.version,
        isDev: false,
        meta: { label: p.label, description: p.description ?? '', author: p.author ?? '' },
        installedBy: p.installedBy,
        installedOn: p.installedAt,
      })),
  });

  app.post('/plugins/actions/installFromZip', {
    config: admin,
    schema: hide,
    handler: async (req) => {
      const detail = await plugins.install(req.caller!, await uploadedZip(req));
      return { pluginId: detail.id, version: detail.version };
    },
  });

  app.post('/plugins/:id/actions/updateFromZip', {
    config: admin,
    schema: { ...hide, params: PluginParams },
    handler: async (req) => {
      const detail = await plugins.install(req.caller!, await uploadedZip(req), { expectId: req.params.id });
      return { pluginId: detail.id, version: detail.version };
    },
  });

  app.get('/plugins/:id/settings', {
    config: admin,
    schema: {
      ...hide,
      params: PluginParams,
      querystring: Type.Object({ projectKey: Type.Optional(Type.String()) }, { additionalProperties: false }),
    },
    handler: async (req) => {
      refuseProjectLevel(req.query.projectKey);
      return plugins.dssSettings(req.caller!, req.params.id);
    },
  });

  app.post('/plugins/:id/settings', {
    config: admin,
    schema: {
      ...hide,
      params: PluginParams,
      querystring: Type.Object({ projectKey: Type.Optional(Type.String()) }, { additionalProperties: false }),
    },
    handler: async (req) => {
      refuseProjectLevel(req.query.projectKey);
      await plugins.saveDssSettings(req.caller!, req.params.id, req.body);
      return {};
    },
  });

  app.get('/plugins/:id/actions/listUsages', {
    config: admin,
    schema: {
      ...hide,
      params: PluginParams,
      querystring: Type.Object({ projectKey: Type.Optional(Type.String()) }, { additionalProperties: false }),
    },
    handler: async (req) => ({
      usages: (await plugins.usages(req.caller!, req.params.id, req.query.projectKey || undefined)).map(
        (u) => ({
          elementKind: 'custom-recipes',
          elementType: `CustomCode_${req.params.id}-${u.component}`,
          objectId: u.recipe,
          objectType: 'RECIPE',
          projectKey: u.projectKey,
        }),
      ),
      missingTypes: [],
    }),
  });

  app.post('/plugins/:id/actions/delete', {
    config: admin,
    schema: { ...hide, params: PluginParams },
    handler: async (req) => {
      const force = forceOf(req.body);
      return finishedFuture(await plugins.remove(req.caller!, req.params.id, { force }));
    },
  });

  app.get('/futures/:jobId', {
    config: admin,
    schema: {
      ...hide,
      params: Type.Object({ jobId: Type.String({ maxLength: 2000 }) }, { additionalProperties: false }),
      querystring: Type.Object({ peek: Type.Optional(Type.String()) }, { additionalProperties: false }),
    },
    handler: async (req) => {
      parseQueryBool(req.query.peek, 'peek', false);
      return futureState(req.params.jobId);
    },
  });
};

/*
 * DSS answers a long action with a future (dataikuapi's dss/future.py). Coffer's plugin actions finish
 * before they answer, so their future has finished already; dataikuapi asks for it all the same:
 * DSSFuture.from_resp() counts the answer as a peek, so get_result() first GETs /futures/{jobId}. The
 * id therefore carries the (small) result itself, and any replica answers it with nothing stored.
 */
const FINISHED = 'finished.';

/** A future that has finished with `result`, as DSS's future state reads. */
function finishedFuture(result: Record<string, unknown>) {
  const jobId = FINISHED + Buffer.from(JSON.stringify(result)).toString('base64url');
  return { jobId, hasResult: true, aborted: false, alive: false, result };
}

/** The state of a future whose id an answer of Coffer gave; NotFound for any other id. */
function futureState(jobId: string) {
  let result: unknown;
  try {
    if (jobId.startsWith(FINISHED))
      result = JSON.parse(Buffer.from(jobId.slice(FINISHED.length), 'base64url').toString('utf8'));
  } catch {
    result = undefined;
  }
  if (typeof result !== 'object' || result === null || Array.isArray(result))
    throw new NotFound(
      `there is no future ${JSON.stringify(jobId.slice(0, 100))}: Coffer's futures have finished when they are answered, and their ids come from those answers`,
    );
  return finishedFuture(result as Record<string, unknown>);
}

/** DSS's project-level plugin settings (project presets) do not exist in Coffer: presets are the instance's. */
function refuseProjectLevel(projectKey: string | undefined): void {
  if (projectKey)
    throw new Invalid(
      'Coffer has no project-level plugin settings: presets are created for the whole instance (drop projectKey)',
    );
}

function forceOf(body: unknown): boolean {
  if (body === undefined || body === null) return false;
  if (typeof body !== 'object' || Array.isArray(body))
    throw new Invalid('the body must be {"force": true|false}');
  const force = (body as { force?: unknown }).force;
  if (force === undefined) return false;
  if (typeof force === 'boolean') return force;
  return parseQueryBool(String(force), 'force', false);
}

/** The archive of a multipart upload in field `file`, as dataikuapi sends it. */
async function uploadedZip(req: FastifyRequest): Promise<Buffer> {
  if (!req.isMultipart())
    throw new Invalid('send the plugin archive as multipart/form-data, in a field named "file"');
  const part = await req.file();
  if (!part) throw new Invalid('the upload holds no file: send the plugin archive in a field named "file"');
  if (part.fieldname !== 'file')
    throw new Invalid(`the upload's file is in field ${JSON.stringify(part.fieldname)}; name it "file"`);
  try {
    return await part.toBuffer();
  } catch (e) {
    if ((e as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE')
      throw new AppError('payload_too_large', archiveTooLargeMessage());
    throw e;
  }
}
