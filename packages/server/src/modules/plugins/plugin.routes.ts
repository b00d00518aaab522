import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { authErrors, ErrorBody } from '../../http/schemas.js';
import { archiveTooLargeMessage } from './plugin-archive.js';
import { DEFAULT_ARCHIVE_LIMITS } from './plugin.model.js';
import type { PluginCredentialService } from './plugin-credential.service.js';
import type { PluginService } from './plugin.service.js';
import {
  CredentialBody,
  CredentialParams,
  CredentialRequest,
  PluginConfigBody,
  PluginConfigView,
  PluginDetail,
  PluginParams,
  PluginSummary,
  PresetBody,
  PresetParams,
  PresetView,
  RemoveQuery,
} from './plugin.schema.js';

/**
 * Plugins in Coffer's own API. Every user lists them and reads their forms (to add their recipes);
 * administrators install, remove and make presets; each user enters their own credentials for presets,
 * which nobody else, administrators included, can read or set. A job's ticket does none of this.
 */
export const pluginRoutes: FastifyPluginAsyncTypebox<{
  plugins: PluginService;
  credentials: PluginCredentialService;
}> = async (app, { plugins, credentials }) => {
  const tags = ['plugins'];
  const user = { access: 'user' as const, action: 'read the installed plugins' };
  const admin = { access: 'admin' as const };
  const own = { access: 'user' as const, ownCredential: true, action: 'manage your plugin credentials' };

  // A plugin archive is the one body that is not JSON.
  const zipLimit = DEFAULT_ARCHIVE_LIMITS.maxArchiveBytes;
  for (const type of ['application/zip', 'application/octet-stream'])
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: zipLimit }, (_req, body, done) =>
      done(null, body),
    );

  app.get('/api/v1/plugins', {
    config: user,
    schema: {
      tags,
      summary: 'Installed plugins',
      response: { 200: Type.Object({ plugins: Type.Array(PluginSummary) }), ...authErrors },
    },
    handler: async (req) => ({ plugins: await plugins.list(req.caller!) }),
  });

  app.get('/api/v1/plugins/:id', {
    config: user,
    schema: {
      tags,
      summary: "A plugin's recipes, parameter sets and presets (pluginConfig for administrators)",
      params: PluginParams,
      response: { 200: PluginDetail, ...authErrors },
    },
    handler: (req) => plugins.get(req.caller!, req.params.id),
  });

  app.post('/api/v1/admin/plugins', {
    config: { ...admin, tooLarge: archiveTooLargeMessage() },
    bodyLimit: zipLimit,
    schema: {
      tags,
      summary: 'Install a plugin from its zip (body: the archive, application/zip); replaces the same id',
      response: { 201: PluginDetail, 413: ErrorBody, ...authErrors },
    },
    handler: async (req, reply) =>
      reply.status(201).send(await plugins.install(req.caller!, bodyBytes(req.body))),
  });

  app.delete('/api/v1/admin/plugins/:id', {
    config: admin,
    schema: {
      tags,
      summary: 'Remove a plugin; refused (409) while recipes use it unless force=true',
      params: PluginParams,
      querystring: RemoveQuery,
      response: { 200: Type.Object({ brokenRecipes: Type.Integer() }), 409: ErrorBody, ...authErrors },
    },
    handler: (req) => plugins.remove(req.caller!, req.params.id, { force: req.query.force === 'true' }),
  });

  app.get('/api/v1/admin/plugins/:id/usages', {
    config: admin,
    schema: {
      tags,
      summary: 'The recipes that use a plugin',
      params: PluginParams,
      response: {
        200: Type.Object({
          usages: Type.Array(
            Type.Object({ projectKey: Type.String(), recipe: Type.String(), component: Type.String() }),
          ),
        }),
        ...authErrors,
      },
    },
    handler: async (req) => ({ usages: await plugins.usages(req.caller!, req.params.id) }),
  });

  app.put('/api/v1/admin/plugins/:id/config', {
    config: admin,
    schema: {
      tags,
      summary:
        "Save the plugin-level settings (plugin.json params, the code's get_plugin_config()); refused (409) if another administrator changed them since settingsRevision",
      params: PluginParams,
      body: PluginConfigBody,
      response: { 200: PluginConfigView, 409: ErrorBody, ...authErrors },
    },
    handler: (req) => plugins.putConfig(req.caller!, req.params.id, req.body),
  });

  app.put('/api/v1/admin/plugins/:id/presets/:set/:name', {
    config: admin,
    schema: {
      tags,
      summary: 'Create or replace an instance-wide preset of a parameter set',
      params: PresetParams,
      body: PresetBody,
      response: { 200: PresetView, ...authErrors },
    },
    handler: (req) =>
      plugins.putPreset(req.caller!, req.params.id, req.params.set, req.params.name, req.body),
  });

  app.delete('/api/v1/admin/plugins/:id/presets/:set/:name', {
    config: admin,
    schema: {
      tags,
      summary: "Delete a preset, and every user's credentials for it",
      params: PresetParams,
      response: { 204: Type.Null(), ...authErrors },
    },
    handler: async (req, reply) => {
      await plugins.deletePreset(req.caller!, req.params.id, req.params.set, req.params.name);
      return reply.status(204).send(null);
    },
  });

  app.get('/api/v1/me/plugin-credentials', {
    config: own,
    schema: {
      tags,
      summary: 'The credentials presets ask you for, and which you have entered (never values)',
      response: { 200: Type.Object({ credentials: Type.Array(CredentialRequest) }), ...authErrors },
    },
    handler: async (req) => ({ credentials: await credentials.list(req.caller!) }),
  });

  app.put('/api/v1/me/plugin-credentials/:plugin/:set/:preset/:param', {
    config: own,
    schema: {
      tags,
      summary: 'Enter or replace your own credential for a preset ({value}, or {user, password} for BASIC)',
      params: CredentialParams,
      body: CredentialBody,
      response: { 204: Type.Null(), ...authErrors },
    },
    handler: async (req, reply) => {
      await credentials.set(req.caller!, placeOf(req.params), req.body);
      return reply.status(204).send(null);
    },
  });

  app.delete('/api/v1/me/plugin-credentials/:plugin/:set/:preset/:param', {
    config: own,
    schema: {
      tags,
      summary: 'Delete your own credential for a preset',
      params: CredentialParams,
      response: { 204: Type.Null(), ...authErrors },
    },
    handler: async (req, reply) => {
      await credentials.delete(req.caller!, placeOf(req.params));
      return reply.status(204).send(null);
    },
  });
};

const placeOf = (p: { plugin: string; set: string; preset: string; param: string }) => ({
  plugin: p.plugin,
  parameterSet: p.set,
  preset: p.preset,
  param: p.param,
});

/** The archive as sent; anything but bytes (a JSON body, say) is an empty archive, refused as such. */
function bodyBytes(body: unknown): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.alloc(0);
}
